"""The per-host request spacing holds across processes: a budget shared in Redis (#19 point 2).

Separate OS processes (tests/support/budget_client.py) fetch from one loopback host that records when
each request arrived; with the Redis budget their requests together keep the interval one process would,
and a 429 seen by one of them holds back the others.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.conf import settings

from annotations.iiif.fetch import Fetcher, FetchError, FetchPolicy
from annotations.iiif.host_budget import HostBudgetUnavailable, MemoryHostBudget, RedisHostBudget
from tests.support.http_server import LocalServer
from tests.support.worker import redis_answers

pytestmark = pytest.mark.worker

INTERVAL = 0.4
# Scheduling jitter on a loaded machine: a request may land this much early on its slot (per-process
# spacing, as before the shared budget, lands requests of different processes a fraction of a millisecond apart).
TOLERANCE = 0.15


@pytest.fixture
def redis_url():
    if not redis_answers(settings.REDIS_URL):
        pytest.skip(f"no Redis answers at REDIS_URL ({settings.REDIS_URL})")
    return settings.REDIS_URL


@pytest.fixture
def prefix(redis_url):
    """Keys of this test only, removed afterwards."""
    import redis

    name = f"visages-test:host-budget:{uuid.uuid4().hex}"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


@pytest.fixture
def image_host():
    server = LocalServer().start()
    server.add("/page.jpg", b"\xff\xd8 not really a jpeg", "image/jpeg")
    yield server
    server.stop()


def run_clients(
    url: str, *, processes: int, count: int, budget: str, prefix: str, interval: float = INTERVAL
) -> list[str]:
    """Start `processes` fetching processes at the same moment; their output lines once all exited."""
    start_at = time.time() + 1.5  # every interpreter has started by then
    command = [sys.executable, "-m", "tests.support.budget_client", url, "--count", str(count)]
    command += ["--interval", str(interval), "--budget", budget, "--prefix", prefix, "--start-at", str(start_at)]
    clients = [
        subprocess.Popen(command, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    lines = []
    for client in clients:
        out, err = client.communicate(timeout=120)
        assert client.returncode == 0, err
        lines += out.splitlines()
    return lines


def test_processes_sharing_the_redis_budget_keep_the_interval_together(image_host, redis_url, prefix):
    lines = run_clients(image_host.url("/page.jpg"), processes=3, count=5, budget=redis_url, prefix=prefix)

    assert lines == ["ok"] * 15
    gaps = image_host.gaps()
    assert len(gaps) == 14
    assert min(gaps) >= INTERVAL - TOLERANCE, [round(gap, 3) for gap in gaps]
    # Together they go no faster than one process would.
    assert image_host.arrivals[-1][0] - image_host.arrivals[0][0] >= 14 * INTERVAL - TOLERANCE


def test_a_429_seen_by_one_process_holds_back_the_others(image_host, redis_url, prefix):
    # The host allows one request per 2 s and says so with Retry-After: 2. Each refusal's Retry-After
    # holds back every process, the one that was refused and the one asleep on its next slot alike.
    image_host.limit_rate(min_gap=2.0, retry_after="2")
    # A slot of the other process that comes while the refused one is still setting the hold goes ahead: the
    # interval leaves that race a wide margin.
    lines = run_clients(
        image_host.url("/page.jpg"), processes=2, count=2, budget=redis_url, prefix=prefix, interval=0.6
    )

    assert lines == ["ok"] * 4
    refused = [arrival for arrival, _, was_refused in image_host.arrivals if was_refused]
    assert refused, "the second process's first request should come under 2 s after the first one"
    for refusal in refused:
        later = [arrival - refusal for arrival, _, _ in image_host.arrivals if arrival > refusal]
        assert not later or min(later) >= 2.0 - TOLERANCE, [round(gap, 3) for gap in later]


def test_the_redis_budget_is_shared_by_threads_and_fetchers_of_one_process_too(image_host, redis_url, prefix):
    policy = FetchPolicy(
        user_agent="test",
        allow_private_hosts=True,
        default_min_interval=INTERVAL,
        budget=RedisHostBudget(redis_url, prefix=prefix),
    )

    def fetch_twice():
        for _ in range(2):
            Fetcher(policy).get_bytes(image_host.url("/page.jpg"), max_bytes=1000)

    threads = [threading.Thread(target=fetch_twice) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert min(image_host.gaps()) >= INTERVAL - TOLERANCE


def test_an_unreachable_redis_budget_waits_a_bounded_time_then_fails_without_fetching(image_host):
    # Nothing listens on port 9 (discard) of loopback: every call fails at once, and is retried until the timeout.
    budget = RedisHostBudget("redis://127.0.0.1:9/0", unavailable_timeout=0.6)
    policy = FetchPolicy(user_agent="test", allow_private_hosts=True, budget=budget)
    started = time.monotonic()

    with pytest.raises(FetchError) as raised:
        Fetcher(policy).get_bytes(image_host.url("/page.jpg"), max_bytes=1000)

    waited = time.monotonic() - started
    assert isinstance(raised.value.__cause__, HostBudgetUnavailable), raised.value
    assert "Did not ask 127.0.0.1: the shared request budget (Redis) did not answer for 0.6 s" in str(raised.value)
    assert 0.25 <= waited < 5, waited
    assert image_host.arrivals == []


def test_the_memory_budget_spaces_threads_of_a_process_and_honours_holds():
    budget = MemoryHostBudget()
    budget.hold_back("example.org", 0.3)
    started = time.monotonic()
    budget.acquire("example.org", 0.2)
    budget.acquire("example.org", 0.2)
    budget.acquire("other.example", 0.2)

    # Held 0.3 s, then one interval between the two requests; another host is not held.
    assert 0.45 <= time.monotonic() - started < 2


def test_fetch_policy_shares_the_budget_in_redis_when_settings_say_so(settings, redis_url):
    from annotations.ingest.manifests import fetch_policy

    settings.IIIF_HOST_BUDGET = "redis"
    first, second = fetch_policy(), fetch_policy()
    assert isinstance(first.budget, RedisHostBudget)
    assert first.budget is second.budget, "one Redis client per process, not one per fetch"

    settings.IIIF_HOST_BUDGET = "process"
    assert fetch_policy().budget is None


def test_the_host_budget_setting_defaults_to_redis_when_redis_url_is_set_and_refuses_unknown_values():
    code = "from django.conf import settings; print(settings.IIIF_HOST_BUDGET)"
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "webapp.settings"}
    environment.pop("IIIF_HOST_BUDGET", None)

    def settings_with(**env):
        return subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            cwd=settings.BASE_DIR,
            env={**environment, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def budget_with(**env):
        done = settings_with(**env)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert budget_with(REDIS_URL="redis://127.0.0.1:6379/0") == "redis"
    environment.pop("REDIS_URL", None)
    assert budget_with() == "process"
    refused = settings_with(IIIF_HOST_BUDGET="shared")
    assert refused.returncode != 0
    assert "IIIF_HOST_BUDGET must be 'redis' or 'process', got 'shared'" in refused.stderr
