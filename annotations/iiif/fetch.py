"""One polite, bounded and safe HTTP client for manifests and images (SPECS.md §3.4).

Django-free: callers pass a `FetchPolicy` built from settings.
"""

from __future__ import annotations

import email.utils
import hashlib
import ipaddress
import json
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from annotations.iiif.addresses import is_public_address
from annotations.iiif.host_budget import HostBudget, HostBudgetUnavailable, MemoryHostBudget
from annotations.iiif.messages import Message, MessageError, gettext_noop
from annotations.iiif.pinned import DEFAULT_PORTS, PinnedAddressAdapter

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class FetchError(MessageError):
    """A fetch that failed for good, with a message a curator can act on.

    The URL and the HTTP status (if any) are parameters of the message, whether or not its template shows them.
    """

    def __init__(self, template: str, /, *, url: str, status: int | None = None, **params: object) -> None:
        super().__init__(template, url=url, status=status, **params)
        self.status = status
        self.url = url


@dataclass(frozen=True)
class FetchPolicy:
    """How to fetch: identity, limits, politeness and safety."""

    user_agent: str
    timeout: float = 30.0
    max_retries: int = 4
    backoff_base: float = 1.0
    max_retry_after: float = 120.0
    allow_private_hosts: bool = False
    default_min_interval: float = 0.2
    host_min_intervals: dict[str, float] = field(default_factory=dict)
    cache_dir: Path | None = None
    # Who else spends the same per-host budget: None for this process only, a RedisHostBudget for all workers.
    budget: HostBudget | None = field(default=None, compare=False)


def resolve_allowed(url: str, *, allow_private_hosts: bool) -> str:
    """The one address to connect to for `url`: its host resolved once, every address it has checked (SSRF).

    Refuses non-http(s) URLs and, unless private hosts are allowed, hosts with any address that is not
    public (see `addresses.is_public_address`). Messages name the host, never the addresses it resolved to.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise FetchError(
            gettext_noop("Refused URL scheme %(scheme)r: only http and https are allowed"),
            url=url,
            scheme=parts.scheme or Message(gettext_noop("(none)")),
        )
    host = parts.hostname
    if not host:
        raise FetchError(gettext_noop("URL has no host"), url=url)
    try:
        infos = socket.getaddrinfo(host, parts.port or DEFAULT_PORTS[parts.scheme], type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(
            gettext_noop("Host %(host)r could not be resolved: %(error)s"), url=url, host=host, error=str(exc)
        ) from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not allow_private_hosts and not all(is_public_address(address) for address in addresses):
        raise FetchError(
            gettext_noop(
                "Refused %(host)r: it resolves to an address that is not allowed "
                "(private, loopback or link-local, or an IPv6 form of one)"
            ),
            url=url,
            host=host,
        )
    return str(addresses[0])


# Requests of fetchers given no budget are spaced per host across the threads of this process.
_process_budget = MemoryHostBudget()


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    parsed = email.utils.parsedate_to_datetime(value) if value else None
    if parsed is None:
        return None
    return max(0.0, parsed.timestamp() - time.time())


def _status_error(status: int, url: str) -> FetchError:
    host = urlsplit(url).hostname
    if status == 403:
        template = gettext_noop("Access refused (HTTP 403) by %(host)s: the server does not allow this download")
    elif status == 404:
        template = gettext_noop("Not found (HTTP 404): %(url)s")
    elif status == 429:
        template = gettext_noop("Rate limited (HTTP 429) by %(host)s even after waiting and retrying")
    else:
        template = gettext_noop("HTTP %(status)s from %(url)s")
    return FetchError(template, url=url, status=status, host=host)


def _describe_failure(exc: requests.RequestException) -> Message | str:
    # Not str(exc): urllib3 names the connection's address in it, and that may be an internal one.
    if isinstance(exc, requests.exceptions.SSLError):
        return Message(gettext_noop("the TLS handshake or certificate check failed"))
    if isinstance(exc, requests.Timeout):
        return Message(gettext_noop("the connection timed out"))
    if isinstance(exc, requests.ConnectionError):
        return Message(gettext_noop("the connection failed"))
    return exc.__class__.__name__


class Fetcher:
    """Fetches URLs under a policy: pacing, retries with back-off, size limits, cache."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        self.budget = policy.budget or _process_budget

    def _interval_for(self, host: str) -> float:
        for suffix, interval in self.policy.host_min_intervals.items():
            if host == suffix or host.endswith("." + suffix):
                return interval
        return self.policy.default_min_interval

    def get_bytes(
        self, url: str, *, max_bytes: int, accept: str = "*/*", use_cache: bool = False, redirects_left: int = 5
    ) -> bytes:
        """GET a URL and return its body, or raise FetchError with a clear message.

        The host is resolved and checked once, and the connection goes to that checked address; each
        redirect is followed here, resolved, checked and pinned again.
        """
        address = resolve_allowed(url, allow_private_hosts=self.policy.allow_private_hosts)
        adapter = PinnedAddressAdapter(address)
        try:
            return self._get_pinned(
                url, adapter, max_bytes=max_bytes, accept=accept, use_cache=use_cache, redirects_left=redirects_left
            )
        finally:
            adapter.close()

    def _get_pinned(
        self,
        url: str,
        adapter: PinnedAddressAdapter,
        *,
        max_bytes: int,
        accept: str,
        use_cache: bool,
        redirects_left: int,
    ) -> bytes:
        cached = self._cache_read(url) if use_cache else None
        headers = {**requests.utils.default_headers(), "User-Agent": self.policy.user_agent, "Accept": accept}
        if cached:
            if cached.get("etag"):
                headers["If-None-Match"] = cached["etag"]
            if cached.get("last_modified"):
                headers["If-Modified-Since"] = cached["last_modified"]
        request = requests.Request("GET", url, headers=headers).prepare()
        host = urlsplit(url).hostname or ""
        for attempt in range(self.policy.max_retries + 1):
            try:
                self.budget.acquire(host, self._interval_for(host))
            except HostBudgetUnavailable as exc:
                raise FetchError(
                    gettext_noop("Did not ask %(host)s: %(reason)s"), url=url, host=host, reason=exc
                ) from exc
            try:
                response = adapter.send(request, stream=True, timeout=self.policy.timeout, verify=True)
            except requests.RequestException as exc:
                if attempt >= self.policy.max_retries:
                    raise FetchError(
                        gettext_noop("Could not reach %(host)s: %(reason)s"),
                        url=url,
                        host=host,
                        reason=_describe_failure(exc),
                    ) from exc
                time.sleep(self._backoff(attempt))
                continue
            with response:
                if response.is_redirect:
                    if redirects_left <= 0:
                        raise FetchError(gettext_noop("Too many redirects from %(url)s"), url=url)
                    return self.get_bytes(
                        requests.compat.urljoin(url, response.headers.get("Location", "")),
                        max_bytes=max_bytes,
                        accept=accept,
                        use_cache=use_cache,
                        redirects_left=redirects_left - 1,
                    )
                if response.status_code == 304 and cached:
                    return self._cache_body(url)
                if response.status_code in RETRY_STATUSES and attempt < self.policy.max_retries:
                    wait = _retry_after_seconds(response.headers.get("Retry-After"))
                    wait = self._backoff(attempt) if wait is None else min(wait, self.policy.max_retry_after)
                    if response.status_code == 429:
                        self._hold_back(host, wait, url)
                    time.sleep(wait)
                    continue
                if response.status_code >= 400:
                    raise _status_error(response.status_code, url)
                body = self._read_limited(response, max_bytes, url)
                if use_cache:
                    self._cache_write(url, body, response.headers)
                return body
        raise FetchError(
            gettext_noop("Gave up on %(url)s after %(attempts)s attempts"),
            url=url,
            attempts=self.policy.max_retries + 1,
        )

    def _hold_back(self, host: str, seconds: float, url: str) -> None:
        try:
            self.budget.hold_back(host, seconds)
        except HostBudgetUnavailable as exc:
            raise FetchError(
                gettext_noop("Rate limited (HTTP 429) by %(host)s, and %(reason)s"),
                url=url,
                status=429,
                host=host,
                reason=exc,
            ) from exc

    def get_json(self, url: str, *, max_bytes: int) -> object:
        """GET and decode JSON (manifests are cached and revalidated)."""
        body = self.get_bytes(url, max_bytes=max_bytes, accept="application/ld+json, application/json", use_cache=True)
        try:
            return json.loads(body)
        except ValueError as exc:
            raise FetchError(
                gettext_noop("The response from %(url)s is not valid JSON (%(error)s)"), url=url, error=str(exc)
            ) from exc

    def _backoff(self, attempt: int) -> float:
        return self.policy.backoff_base * (2**attempt)

    @staticmethod
    def _read_limited(response: requests.Response, max_bytes: int, url: str) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(
                gettext_noop("Response too large (%(size)s bytes, limit %(limit)s): %(url)s"),
                url=url,
                size=int(declared),
                limit=max_bytes,
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(
                    gettext_noop("Response too large (over %(limit)s bytes): %(url)s"), url=url, limit=max_bytes
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _cache_paths(self, url: str) -> tuple[Path, Path] | None:
        if self.policy.cache_dir is None:
            return None
        key = hashlib.sha256(url.encode()).hexdigest()
        return self.policy.cache_dir / f"{key}.body", self.policy.cache_dir / f"{key}.json"

    def _cache_read(self, url: str) -> dict | None:
        paths = self._cache_paths(url)
        if not paths or not paths[1].exists() or not paths[0].exists():
            return None
        try:
            return json.loads(paths[1].read_text())
        except ValueError:
            return None

    def _cache_body(self, url: str) -> bytes:
        paths = self._cache_paths(url)
        assert paths is not None
        return paths[0].read_bytes()

    def _cache_write(self, url: str, body: bytes, headers: requests.structures.CaseInsensitiveDict) -> None:
        paths = self._cache_paths(url)
        if not paths or not (headers.get("ETag") or headers.get("Last-Modified")):
            return
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        paths[0].write_bytes(body)
        paths[1].write_text(json.dumps({"etag": headers.get("ETag"), "last_modified": headers.get("Last-Modified")}))
