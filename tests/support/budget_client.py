"""A fetching process for tests of the per-host budget: `python -m tests.support.budget_client URL ...`.

Django-free, like the fetcher: it fetches URL `--count` times, one after the other, spacing requests
`--interval` s apart through the budget named by `--budget` ("process", or a Redis URL), starting at
the wall-clock time `--start-at` so that several of them overlap. Prints one line per fetch: ok or the error.
"""

from __future__ import annotations

import argparse
import time

from annotations.iiif.fetch import Fetcher, FetchError, FetchPolicy
from annotations.iiif.host_budget import RedisHostBudget


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--interval", type=float, required=True)
    parser.add_argument("--budget", required=True, help='"process" or a redis:// URL')
    parser.add_argument("--prefix", default="visages:host-budget", help="Redis key prefix (one per test)")
    parser.add_argument("--start-at", type=float, default=0.0, help="time.time() to start at")
    args = parser.parse_args()
    budget = None if args.budget == "process" else RedisHostBudget(args.budget, prefix=args.prefix)
    policy = FetchPolicy(
        user_agent="visages-budget-test",
        allow_private_hosts=True,
        default_min_interval=args.interval,
        backoff_base=0.05,
        max_retry_after=5.0,
        budget=budget,
    )
    fetcher = Fetcher(policy)
    time.sleep(max(0.0, args.start_at - time.time()))
    for _ in range(args.count):
        try:
            fetcher.get_bytes(args.url, max_bytes=1_000_000)
            print("ok", flush=True)
        except FetchError as exc:
            print(f"error {exc}", flush=True)


if __name__ == "__main__":
    main()
