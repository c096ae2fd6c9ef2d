"""The pinned transport: it connects to the checked address and keeps the host name for Host, SNI and certificates."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
import requests

from annotations.iiif.pinned import PinnedAddressAdapter
from tests.support.http_server import LocalServer

PUBLIC = "93.184.216.34"


def test_https_pinning_keeps_sni_and_certificate_checks_for_the_host_name():
    adapter = PinnedAddressAdapter(PUBLIC)
    request = requests.Request("GET", "https://iiif.example.org/iiif/page/full/max/0/default.jpg").prepare()

    pool = adapter.get_connection_with_tls_context(request, verify=True)
    connection = pool._new_conn()  # built, not connected

    assert (pool.host, pool.port) == (PUBLIC, 443)
    assert pool.cert_reqs == "CERT_REQUIRED"
    assert pool.assert_hostname == "iiif.example.org"
    assert connection.host == PUBLIC
    assert connection.server_hostname == "iiif.example.org"
    assert connection.assert_hostname == "iiif.example.org"


def test_pinned_requests_carry_the_original_host_header():
    adapter = PinnedAddressAdapter("2606:4700::1111")
    request = requests.Request("GET", "https://iiif.example.org:8443/manifest.json").prepare()

    adapter.add_headers(request)
    pool = adapter.get_connection_with_tls_context(request, verify=True)

    assert request.headers["Host"] == "iiif.example.org:8443"
    assert (pool.host, pool.port) == ("2606:4700::1111", 8443)


def test_plain_http_pinning_uses_the_checked_address():
    adapter = PinnedAddressAdapter(PUBLIC)
    request = requests.Request("GET", "http://iiif.example.org/manifest.json").prepare()

    adapter.add_headers(request)
    pool = adapter.get_connection_with_tls_context(request, verify=True)

    assert (pool.scheme, pool.host, pool.port) == ("http", PUBLIC, 80)
    assert request.headers["Host"] == "iiif.example.org"


@pytest.fixture
def tls_server(tmp_path):
    """A loopback HTTPS server whose self-signed certificate names only `rebind.test`; records the SNI it sees."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=rebind.test",
            "-addext",
            "subjectAltName=DNS:rebind.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = LocalServer()
    server.add("/m.json", b"{}")
    server.sni: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _socket, name, _context: server.sni.append(name)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.start()
    yield server, cert
    server.stop()


def test_a_pinned_https_connection_verifies_the_certificate_for_the_host_name(tls_server):
    server, cert = tls_server
    port = server.httpd.server_address[1]
    adapter = PinnedAddressAdapter("127.0.0.1")

    good = adapter.send(requests.Request("GET", f"https://rebind.test:{port}/m.json").prepare(), verify=str(cert))
    with pytest.raises(requests.exceptions.SSLError):
        adapter.send(requests.Request("GET", f"https://other.test:{port}/m.json").prepare(), verify=str(cert))

    assert good.status_code == 200
    assert server.sni[0] == "rebind.test"
    assert server.requests[0][1]["Host"] == f"rebind.test:{port}"
    assert len(server.requests) == 1
