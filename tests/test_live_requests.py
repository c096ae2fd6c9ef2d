"""The browser tests' request counter: a test ends only once the live server has answered its page."""

from __future__ import annotations

import threading

import pytest

from tests.support.live_requests import InFlightRequests


def streaming_application(chunks_sent: threading.Event, may_finish: threading.Event):
    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            yield b"first"
            chunks_sent.set()
            may_finish.wait(5)
            yield b"last"

        return body()

    return application


def test_a_request_counts_until_its_answer_is_closed_and_the_wait_ends_then():
    chunks_sent, may_finish = threading.Event(), threading.Event()
    requests = InFlightRequests(streaming_application(chunks_sent, may_finish))
    answer = requests({}, lambda status, headers: None)
    assert requests.count == 1
    served = threading.Thread(target=lambda: (list(answer), answer.close()))
    served.start()
    chunks_sent.wait(5)
    assert requests.wait_until_idle(timeout=0.05) is False
    may_finish.set()
    assert requests.wait_until_idle(timeout=5) is True
    served.join()
    assert requests.count == 0


def test_an_application_that_raises_is_not_counted_as_still_answering():
    def failing(environ, start_response):
        raise ValueError("broken view")

    requests = InFlightRequests(failing)
    with pytest.raises(ValueError):
        requests({}, lambda status, headers: None)
    assert requests.count == 0
    assert requests.wait_until_idle(timeout=0) is True
