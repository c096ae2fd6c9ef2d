"""The live server's requests still being answered, so a browser test ends only once they are done.

A browser test's page may still be loading images when the test returns; on PostgreSQL the
transactional test's TRUNCATE then deadlocks with the live server's queries (each takes its
table locks in its own order), and the next test starts on an unflushed database.
"""

from __future__ import annotations

import threading
import time


class InFlightRequests:
    """A WSGI wrapper that counts the requests the wrapped application has not finished answering."""

    def __init__(self, application):
        self.application = application
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        self._add(1)
        try:
            response = self.application(environ, start_response)
        except BaseException:
            self._add(-1)
            raise
        return _Answered(response, lambda: self._add(-1))

    def _add(self, change: int) -> None:
        with self._lock:
            self.count += change

    def wait_until_idle(self, timeout: float) -> bool:
        """True once no request is being answered; False if some still are after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


class _Answered:
    """The response's iterable; the server closes it once the answer is sent or the client went away."""

    def __init__(self, response, done):
        self._response = response
        self._done = done

    def __iter__(self):
        return iter(self._response)

    def close(self) -> None:
        try:
            if hasattr(self._response, "close"):
                self._response.close()
        finally:
            self._done()


def counted(live_server) -> InFlightRequests:
    """The live server's application, wrapped once in a request counter."""
    server = live_server.thread.httpd
    application = server.get_app()
    if not isinstance(application, InFlightRequests):
        application = InFlightRequests(application)
        server.set_app(application)
    return application
