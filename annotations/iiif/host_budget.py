"""How often each image host may be asked: a request budget per host, in one process or shared by all of them.

Django-free. The fetcher calls `acquire(host, interval)` before every request (it blocks until this
request's turn) and `hold_back(host, seconds)` after a 429 with Retry-After. Each request reserves a
slot `max(now, next_free, hold_until)` and moves `next_free` one interval further, atomically, so N
callers together keep the spacing one caller would.

- `MemoryHostBudget`: the callers are the threads of this process (tests, a single-process setup).
- `RedisHostBudget`: the callers are every process on every machine that uses the same Redis: the
  reservation is one Lua script, timed by the Redis server's clock, so machines need not agree on time.
  When Redis does not answer, it waits and retries up to `unavailable_timeout` seconds, then the fetch
  fails with `HostBudgetUnavailable` (a request is never sent outside the budget).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod

from annotations.iiif.messages import MessageError, gettext_noop


class HostBudgetUnavailable(MessageError):
    """The shared budget could not be reached in time: no request was sent."""


class HostBudget(ABC):
    """The budget interface: reserve a slot per host, wait for it, and honour holds set by anyone."""

    def acquire(self, host: str, interval: float) -> None:
        """Block until this request to `host` may go: `interval` after the previous one, and after any hold."""
        while True:
            delay = self._reserve(host, interval)
            if delay <= 0:
                return
            time.sleep(delay)
            # Someone may have been told to back off (429) while this caller slept on its slot.
            held = self._held(host)
            if held <= 0:
                return
            time.sleep(held)

    @abstractmethod
    def hold_back(self, host: str, seconds: float) -> None:
        """Nobody sharing this budget asks `host` again before `seconds` from now (after a 429)."""

    @abstractmethod
    def _reserve(self, host: str, interval: float) -> float:
        """Reserve the next slot for `host`; the seconds to wait until it."""

    @abstractmethod
    def _held(self, host: str) -> float:
        """Seconds left of a hold on `host` (0 when none)."""


class MemoryHostBudget(HostBudget):
    """The budget of one process, shared by its threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_free: dict[str, float] = {}
        self._hold_until: dict[str, float] = {}

    def _reserve(self, host: str, interval: float) -> float:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_free.get(host, 0.0), self._hold_until.get(host, 0.0))
            self._next_free[host] = slot + interval
        return slot - now

    def _held(self, host: str) -> float:
        with self._lock:
            return max(0.0, self._hold_until.get(host, 0.0) - time.monotonic())

    def hold_back(self, host: str, seconds: float) -> None:
        with self._lock:
            self._hold_until[host] = max(self._hold_until.get(host, 0.0), time.monotonic() + seconds)


# Times are seconds on the Redis server's clock. Keys expire a little after they stop mattering.
_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 "
_RESERVE = (
    _NOW
    + """
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or 0), tonumber(redis.call('GET', KEYS[2]) or 0))
local next_free = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.6f', next_free), 'PX', math.ceil((next_free - now) * 1000) + 1000)
return string.format('%.6f', slot - now)
"""
)
_HOLD = (
    _NOW
    + """
local hold_until = now + tonumber(ARGV[1])
if hold_until > tonumber(redis.call('GET', KEYS[1]) or 0) then
  redis.call('SET', KEYS[1], string.format('%.6f', hold_until), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""
)
_HELD = _NOW + "return string.format('%.6f', math.max(0, tonumber(redis.call('GET', KEYS[1]) or 0) - now))"


class RedisHostBudget(HostBudget):
    """The budget shared by every process and machine using this Redis database."""

    def __init__(self, url: str, *, prefix: str = "visages:host-budget", unavailable_timeout: float = 30.0) -> None:
        import redis

        self._redis_errors = (redis.RedisError, OSError)
        self._client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._scripts = {name: self._client.register_script(body) for name, body in _SCRIPTS.items()}
        self.prefix = prefix
        self.unavailable_timeout = unavailable_timeout

    def _keys(self, host: str) -> tuple[str, str]:
        return f"{self.prefix}:{host}:next", f"{self.prefix}:{host}:hold"

    def _call(self, script: str, keys: list[str], args: list[float]) -> float:
        deadline = time.monotonic() + self.unavailable_timeout
        pause = 0.1
        while True:
            try:
                return float(self._scripts[script](keys=keys, args=args))
            except self._redis_errors as exc:
                if time.monotonic() + pause > deadline:
                    raise HostBudgetUnavailable(
                        gettext_noop("the shared request budget (Redis) did not answer for %(seconds)s s: %(error)s"),
                        seconds=f"{self.unavailable_timeout:g}",
                        error=exc.__class__.__name__,
                    ) from exc
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    def _reserve(self, host: str, interval: float) -> float:
        return self._call("reserve", list(self._keys(host)), [interval])

    def _held(self, host: str) -> float:
        return self._call("held", [self._keys(host)[1]], [])

    def hold_back(self, host: str, seconds: float) -> None:
        self._call("hold", [self._keys(host)[1]], [seconds])


_SCRIPTS = {"reserve": _RESERVE, "hold": _HOLD, "held": _HELD}
