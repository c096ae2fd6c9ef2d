"""A local HTTP server for tests: serves files and scripted responses (429, 403, bad JSON, slow) on loopback.

It records when each request arrived and what it answered (`arrivals`), and may stand for a host with a
rate limit (`limit_rate`): a request that comes too soon after the last one it served gets a 429.
"""

from __future__ import annotations

import itertools
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Scripted:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds the answer waits before it is sent (a slow server, or one a client gives up on).
    delay: float = 0.0


class LocalServer:
    """Serves `routes` (path → bytes or a queue of Scripted responses) and records each request."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes | deque[Scripted]] = {}
        self.content_types: dict[str, str] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.hits: dict[str, int] = defaultdict(int)
        self.proxies: dict[str, str] = {}
        self.prefix_routes: dict[str, tuple[bytes, str]] = {}
        # (time.monotonic() on arrival, path, refused with a 429 by the rate limit), in order of arrival.
        self.arrivals: list[tuple[float, str, bool]] = []
        self.min_gap: float | None = None
        self.retry_after = "1"
        self._last_served: float | None = None
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                path = self.path.split("?", 1)[0]
                server.requests.append((path, dict(self.headers)))
                server.hits[path] += 1
                if not server._admit(path):
                    self._send(429, b"slow down", {"Retry-After": server.retry_after})
                    return
                route = server.routes.get(path)
                prefix = next((p for p in server.proxies if path.startswith(p)), None)
                served_under = next((p for p in server.prefix_routes if path.startswith(p)), None)
                if route is None and served_under is not None:
                    body, content_type = server.prefix_routes[served_under]
                    self._send(200, body, {"Content-Type": content_type})
                elif route is None and prefix is not None:
                    self._forward(server.proxies[prefix] + self.path[len(prefix) :])
                elif route is None:
                    self._send(404, b"not found", {})
                elif isinstance(route, deque):
                    reply = route.popleft() if len(route) > 1 else route[0]
                    time.sleep(reply.delay)
                    self._send(reply.status, reply.body, reply.headers)
                else:
                    self._send(200, route, {"Content-Type": server.content_types.get(path, "application/json")})

            def _forward(self, url: str) -> None:
                try:
                    with urllib.request.urlopen(url, timeout=10) as reply:
                        status, body, headers = reply.status, reply.read(), reply.headers
                except urllib.error.HTTPError as exc:
                    status, body, headers = exc.code, exc.read(), exc.headers
                kept = ("Content-Type", "Access-Control-Allow-Origin")
                self._send(status, body, {name: headers[name] for name in kept if headers[name]})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                try:
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away (gave up, or was killed) while the answer waited

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def limit_rate(self, min_gap: float, retry_after: str = "1") -> None:
        """Answer 429 (with this Retry-After) to a request arriving under `min_gap` s after the last one served."""
        self.min_gap = min_gap
        self.retry_after = retry_after

    def _admit(self, path: str) -> bool:
        with self._lock:
            now = time.monotonic()
            served = self.min_gap is None or self._last_served is None or now - self._last_served >= self.min_gap
            if served:
                self._last_served = now
            self.arrivals.append((now, path, not served))
            return served

    def gaps(self) -> list[float]:
        """Seconds between successive arrivals."""
        times = [arrival for arrival, _, _ in self.arrivals]
        return [later - earlier for earlier, later in itertools.pairwise(times)]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, body: bytes | str, content_type: str = "application/json") -> str:
        self.routes[path] = body.encode() if isinstance(body, str) else body
        self.content_types[path] = content_type
        return self.url(path)

    def add_file(self, path: str, file: Path, content_type: str) -> str:
        return self.add(path, file.read_bytes(), content_type)

    def add_under(self, prefix: str, body: bytes, content_type: str) -> str:
        """Answer every GET whose path starts with `prefix` with this body (an image service's every size)."""
        self.prefix_routes[prefix] = (body, content_type)
        return self.url(prefix)

    def proxy(self, prefix: str, target: str) -> str:
        """Forward GETs under `prefix` to `target` + the rest of the path: another server's URLs."""
        self.proxies[prefix] = target
        return self.url(prefix)

    def script(self, path: str, *replies: Scripted) -> str:
        """Answer successive requests with these replies (the last one repeats)."""
        self.routes[path] = deque(replies)
        return self.url(path)

    def start(self) -> LocalServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
