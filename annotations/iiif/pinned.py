"""A requests transport that connects to one address chosen beforehand (the one the fetcher checked).

Resolving a host name twice, once to check it and once to connect, lets a DNS server answer a public
address to the check and an internal one to the connection (DNS rebinding). This adapter never resolves
the URL's host: it opens the TCP connection to the pinned address and keeps the host name everywhere
else, in the Host header, in TLS SNI and for certificate verification.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from requests import PreparedRequest
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool

DEFAULT_PORTS = {"http": 80, "https": 443}


def host_header(url: str) -> str:
    """The Host header for a URL: its host name (IPv6 literals in brackets), with the port unless it is the default."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


class PinnedAddressAdapter(HTTPAdapter):
    """Sends requests to `address` whatever host their URL names."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(max_retries=0)

    def get_connection_with_tls_context(
        self, request: PreparedRequest, verify, proxies=None, cert=None
    ) -> HTTPConnectionPool:
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        hostname = host_params["host"]
        if host_params["scheme"] == "https":
            # The certificate must be valid for the host name, and the server must see it in SNI.
            pool_kwargs = {**pool_kwargs, "server_hostname": hostname, "assert_hostname": hostname}
        return self.poolmanager.connection_from_host(**{**host_params, "host": self.address}, pool_kwargs=pool_kwargs)

    def add_headers(self, request: PreparedRequest, **kwargs) -> None:
        request.headers.setdefault("Host", host_header(request.url or ""))
