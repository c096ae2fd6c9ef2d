"""The fetcher connects to the address it checked: no DNS rebinding, no IPv4 hidden in IPv6, no leaked addresses."""

from __future__ import annotations

import ipaddress
import socket
from collections import Counter

import pytest

from annotations.iiif.fetch import Fetcher, FetchError, FetchPolicy
from tests.support.http_server import LocalServer, Scripted

PUBLIC = "93.184.216.34"
OTHER_PUBLIC = "93.184.216.35"
INTERNAL_TARGETS = ["127.0.0.1", "10.0.0.1", "169.254.169.254"]
TEREDO_SERVER = int(ipaddress.IPv4Address("65.54.227.120"))


class FakeDNS:
    """Stands in for `socket.getaddrinfo`, used both by the fetcher's check and by the connection itself.

    `answers[name]` lists what successive lookups of a name return (the last repeats), each a comma-separated
    list of addresses; `routes[address]` sends connections to a fake public address to a loopback test server
    instead of the network.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[str]] = {}
        self.routes: dict[str, int] = {}
        self.lookups: Counter[str] = Counter()
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)

    def getaddrinfo(self, host, port, *args, **kwargs):
        self.lookups[host] += 1
        if host in self.routes:
            return self._real("127.0.0.1", self.routes[host], *args, **kwargs)
        if host in self.answers:
            answers = self.answers[host]
            addresses = answers[min(self.lookups[host], len(answers)) - 1].split(",")
            return [self._info(address, port) for address in addresses]
        return self._real(host, port, *args, **kwargs)

    @staticmethod
    def _info(address: str, port: int) -> tuple:
        if ":" in address:
            return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0))
        return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))


@pytest.fixture
def dns(monkeypatch):
    return FakeDNS(monkeypatch)


@pytest.fixture
def public_server():
    """The server behind the fake public addresses."""
    server = LocalServer().start()
    yield server
    server.stop()


@pytest.fixture
def internal_server():
    """A loopback service an attacker would like the fetcher to reach."""
    server = LocalServer().start()
    server.add("/secret", b"internal", "text/plain")
    yield server
    server.stop()


def fetcher(*, allow_private_hosts: bool = False) -> Fetcher:
    return Fetcher(
        FetchPolicy(
            user_agent="Visages/test",
            timeout=5.0,
            max_retries=0,
            allow_private_hosts=allow_private_hosts,
            default_min_interval=0.0,
        )
    )


def internal_port(server: LocalServer) -> int:
    return server.httpd.server_address[1]


def test_a_host_that_rebinds_after_the_check_is_fetched_from_the_checked_address(dns, public_server, internal_server):
    public_server.add("/secret", b"public", "text/plain")
    dns.answers["rebind.test"] = [PUBLIC, "127.0.0.1"]
    dns.routes[PUBLIC] = internal_port(public_server)
    port = internal_port(internal_server)

    body = fetcher().get_bytes(f"http://rebind.test:{port}/secret", max_bytes=1000)

    assert body == b"public"
    assert internal_server.requests == []
    assert dns.lookups["rebind.test"] == 1
    assert public_server.requests[0][1]["Host"] == f"rebind.test:{port}"


def test_a_redirect_to_a_host_that_rebinds_never_reaches_the_internal_server(dns, public_server, internal_server):
    port = internal_port(internal_server)
    public_server.script("/start", Scripted(302, headers={"Location": f"http://rebind.test:{port}/secret"}))
    public_server.add("/secret", b"public", "text/plain")
    dns.answers["start.test"] = [OTHER_PUBLIC]
    dns.answers["rebind.test"] = [PUBLIC, "127.0.0.1"]
    dns.routes[OTHER_PUBLIC] = internal_port(public_server)
    dns.routes[PUBLIC] = internal_port(public_server)

    body = fetcher().get_bytes("http://start.test/start", max_bytes=1000)

    assert body == b"public"
    assert internal_server.requests == []
    assert (dns.lookups["start.test"], dns.lookups["rebind.test"]) == (1, 1)
    assert [path for path, _ in public_server.requests] == ["/start", "/secret"]


def test_a_redirect_to_a_host_on_a_private_address_is_refused(dns, public_server, internal_server):
    port = internal_port(internal_server)
    public_server.script("/start", Scripted(302, headers={"Location": f"http://inside.test:{port}/secret"}))
    dns.answers["start.test"] = [OTHER_PUBLIC]
    dns.answers["inside.test"] = ["127.0.0.1"]
    dns.routes[OTHER_PUBLIC] = internal_port(public_server)

    with pytest.raises(FetchError, match="not allowed"):
        fetcher().get_bytes("http://start.test/start", max_bytes=1000)

    assert internal_server.requests == []


def test_redirect_hops_are_capped(dns, public_server):
    public_server.script("/loop", Scripted(302, headers={"Location": "/loop"}))
    dns.answers["loop.test"] = [PUBLIC]
    dns.routes[PUBLIC] = internal_port(public_server)

    with pytest.raises(FetchError, match="Too many redirects"):
        fetcher().get_bytes("http://loop.test/loop", max_bytes=1000)

    assert len(public_server.requests) == 6


def embeddings(ipv4: str) -> dict[str, str]:
    """The IPv6 forms that carry an IPv4 address, each built around `ipv4`."""
    v4 = int(ipaddress.IPv4Address(ipv4))
    forms = {
        "mapped": (0xFFFF << 32) | v4,
        "compatible": v4,
        "nat64": (0x0064FF9B << 96) | v4,
        "nat64-local": (0x0064FF9B0001 << 80) | v4,
        "6to4": (0x2002 << 112) | (v4 << 80) | 1,
        "teredo": (0x20010000 << 96) | (TEREDO_SERVER << 64) | (0x8000 << 48) | (0x63BF << 32) | (v4 ^ 0xFFFFFFFF),
        "isatap": (0x2A00145040010C1C << 64) | (0x00005EFE << 32) | v4,
        "isatap-universal": (0x2A00145040010C1C << 64) | (0x02005EFE << 32) | v4,
    }
    return {name: str(ipaddress.IPv6Address(value)) for name, value in forms.items()}


EMBEDDED_INTERNAL = [
    pytest.param(address, id=f"{form}-{target}")
    for target in INTERNAL_TARGETS
    for form, address in embeddings(target).items()
]


@pytest.mark.parametrize("address", EMBEDDED_INTERNAL)
def test_ipv6_forms_embedding_an_internal_ipv4_address_are_refused(dns, address):
    dns.answers["embedded.test"] = [address]

    with pytest.raises(FetchError, match="not allowed") as refused:
        fetcher().get_bytes("http://embedded.test/manifest.json", max_bytes=1000)

    assert dns.lookups["embedded.test"] == 1, "refused before any connection"
    assert address not in str(refused.value)


@pytest.mark.parametrize(
    "address",
    [
        "100.64.0.1",  # carrier-grade NAT
        "224.0.0.1",  # multicast
        "239.255.255.250",
        "240.0.0.1",  # reserved
        "0.0.0.0",
        "192.0.2.10",  # documentation
        "198.18.0.1",  # benchmarking
        "fec0::1",  # deprecated site-local
        "ff0e::1",  # global-scope multicast
        "fd00::1",  # unique local
        "fe80::1",
        "::",
    ],
)
def test_other_non_public_addresses_are_refused(dns, address):
    dns.answers["odd.test"] = [address]

    with pytest.raises(FetchError, match="not allowed"):
        fetcher().get_bytes("http://odd.test/manifest.json", max_bytes=1000)


@pytest.mark.parametrize("form", ["mapped", "nat64", "6to4", "isatap"])
def test_ipv6_forms_embedding_a_public_ipv4_address_are_fetched(dns, public_server, form):
    """NAT64 (DNS64 networks) and 6to4 of public hosts stay usable: only what they carry decides."""
    address = embeddings(PUBLIC)[form]
    public_server.add("/m.json", b"{}")
    dns.answers["v6.test"] = [address]
    dns.routes[address] = internal_port(public_server)

    assert fetcher().get_bytes("http://v6.test/m.json", max_bytes=1000) == b"{}"


def test_one_internal_address_among_public_ones_refuses_the_host(dns):
    dns.answers["mixed.test"] = [f"{PUBLIC},10.9.8.7"]

    with pytest.raises(FetchError, match="not allowed") as refused:
        fetcher().get_bytes("http://mixed.test/m.json", max_bytes=1000)

    assert "10.9.8.7" not in str(refused.value)


def test_a_refusal_names_the_host_but_not_the_resolved_address(dns):
    dns.answers["internal.test"] = ["10.1.2.3"]

    with pytest.raises(FetchError) as refused:
        fetcher().get_bytes("http://internal.test/m.json", max_bytes=1000)

    message = str(refused.value)
    assert "internal.test" in message
    assert "not allowed" in message
    assert "10.1.2.3" not in message


def test_a_connection_failure_names_the_host_but_not_the_resolved_address(dns):
    """Even where private hosts are allowed (tests, intranets), messages shown to curators keep addresses out."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    dns.answers["closed.test"] = ["127.0.0.1"]

    with pytest.raises(FetchError) as failed:
        fetcher(allow_private_hosts=True).get_bytes(f"http://closed.test:{port}/m.json", max_bytes=1000)

    message = str(failed.value)
    assert "closed.test" in message
    assert "127.0.0.1" not in message


def test_allowing_private_hosts_still_connects_to_the_one_resolved_address(dns, public_server, internal_server):
    """The test-only loopback switch skips the address check, not the pinning."""
    public_server.add("/secret", b"first answer", "text/plain")
    dns.answers["flip.test"] = ["127.0.0.2", "127.0.0.1"]
    dns.routes["127.0.0.2"] = internal_port(public_server)
    port = internal_port(internal_server)

    body = fetcher(allow_private_hosts=True).get_bytes(f"http://flip.test:{port}/secret", max_bytes=1000)

    assert body == b"first answer"
    assert internal_server.requests == []
