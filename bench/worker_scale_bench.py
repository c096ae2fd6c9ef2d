"""Worker scaling benchmark: pages/s of 1, 2, 4 detection workers under one image host's request budget.

    .venv/bin/python bench/worker_scale_bench.py                  # 40 pages, 1 2 4 workers, 0.2 s/page, 8 req/s
    .venv/bin/python bench/worker_scale_bench.py --smoke          # a few pages, 1 and 2 workers (tests)
    DATABASE_URL=postgres://postgres@127.0.0.1:5433/x .venv/bin/python bench/worker_scale_bench.py

Real Celery worker processes (tests/support/fixed_cost_worker.py: the fake "fixed-cost" detector sleeps
--cost s per page, then finds one face) on a private redis-server detect the pages of a document served
by a loopback IIIF server. That host allows --rate requests/s: the workers' per-host interval is
1/rate, shared by all of them in Redis (IIIF_HOST_BUDGET=redis), and the server answers 429 with
Retry-After: 1 to a request arriving under half an interval after the last one it served (the slack is
for scheduling jitter of a loaded machine; the budget is judged on the arrival times below).

For each number of workers N, on a fresh document of --pages pages: pages/s from the run's creation to
its end; the floor 0.8 x min(N x one worker's pages/s, rate) (N times one worker until the host budget
binds); the host's view: requests, 429s, most requests in any 1 s window, and the mean request rate
over the run, against the budget; pages lost (not done) and done twice (a page with more than its one
face). With --compare-process, one more row runs the most workers with IIIF_HOST_BUDGET=process (each
process spacing its own requests, as before the shared budget) to show what the host saw then.
Results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _django import setup

SERVER_SLACK = 0.5  # the host refuses arrivals under this share of an interval after the last one served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--cost", type=float, default=0.2, help="seconds the fake detector takes per page")
    parser.add_argument("--rate", type=float, default=8.0, help="the image host's budget, requests per second")
    parser.add_argument("--compare-process", action="store_true", help="add a row with per-process spacing")
    parser.add_argument("--smoke", action="store_true", help="6 pages, 1 and 2 workers, 0.05 s/page, 20 req/s")
    args = parser.parse_args()
    if args.smoke:
        args.pages, args.workers, args.cost, args.rate = 6, [1, 2], 0.05, 20.0
    if shutil.which("redis-server") is None:
        sys.exit("worker_scale_bench needs redis-server on PATH (it runs a private one)")
    # The bench process's own fetches (the manifests) stay out of the workers' shared budget.
    os.environ["IIIF_HOST_BUDGET"] = "process"
    data_dir = setup("workers")

    from django.db import connection

    from tests.support.http_server import LocalServer
    from tests.support.manifests import jpeg_bytes
    from tests.support.worker import RedisServer

    database = connection.vendor
    load = os.getloadavg()
    sys.stdout.write(
        f"# worker_scale_bench: {args.pages} pages, fixed cost {args.cost:g} s/page, host budget {args.rate:g} req/s, "
        f"{database}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs\n"
    )
    redis_dir = Path(tempfile.mkdtemp(prefix="redis-", dir=data_dir))
    redis = RedisServer(redis_dir).start()
    host = LocalServer().start()
    host.limit_rate(min_gap=SERVER_SLACK / args.rate, retry_after="1")
    image = jpeg_bytes(400, 600)
    rows = []
    try:
        plans = [(count, "redis") for count in args.workers]
        if args.compare_process:
            plans.append((max(args.workers), "process"))
        for index, (count, budget) in enumerate(plans):
            host.add_under(f"/iiif/doc{index}/f", image, "image/jpeg")
            document = import_document(host, index, args.pages)
            rows.append(measure(document, host, index, count, budget, args, redis.url, data_dir))
    finally:
        host.stop()
        redis.stop()
    sys.stdout.write("\n" + table(rows, args) + "\n")


def import_document(host, index: int, pages: int):
    from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
    from tests.support.manifests import p2_manifest
    from webapp.jobs import JobStatus

    manifest = p2_manifest(host.base_url, pages)
    text = json.dumps(manifest).replace("/iiif/doc/", f"/iiif/doc{index}/")
    url = host.add(f"/iiif/doc{index}/manifest.json", text)
    corpus = corpus_get_or_create(name="Worker scale bench")
    document = document_import_run(document_id=document_request_import(corpus=corpus, source=url).pk)
    if document.import_status != JobStatus.DONE:
        sys.exit(f"import failed: {document.import_error}")
    return document


def start_workers(count: int, budget: str, args, redis_url: str, data_dir: Path) -> list:
    from tests.support.worker import WorkerProcess

    environment = {
        "REDIS_URL": redis_url,
        "IIIF_HOST_BUDGET": budget,
        "IIIF_DEFAULT_MIN_INTERVAL": str(1 / args.rate),
        "IIIF_ALLOW_PRIVATE_HOSTS": "1",
        "FIXED_COST_DETECTOR_SECONDS": str(args.cost),
        "DETECTION_MAX_DERIVATIVE": "1000",
    }
    workers = [
        WorkerProcess(
            data_dir / f"worker-{budget}-{count}-{number}.log",
            broker_url=redis_url,
            extra_env=environment,
            app="tests.support.fixed_cost_worker",
        )
        for number in range(count)
    ]
    deadline = time.monotonic() + 120
    while not all(" ready." in worker.log_path.read_text() for worker in workers):
        if time.monotonic() > deadline or not all(worker.alive() for worker in workers):
            for worker in workers:
                worker.stop()
            sys.exit("a worker did not start:\n" + "\n".join(worker.log_tail() for worker in workers))
        time.sleep(0.1)
    return workers


def measure(document, host, index: int, count: int, budget: str, args, redis_url: str, data_dir: Path) -> dict:
    from annotations.models import Face
    from detection.models import DetectionRun
    from detection.services import run_create
    from tests.support.fixed_cost import registered
    from tests.test_fault_tolerance import broker
    from webapp.jobs import JobStatus

    workers = start_workers(count, budget, args, redis_url, data_dir)
    try:
        with broker(redis_url), registered() as detector:
            started = time.monotonic()
            run = run_create(user=None, document=document, detector=detector, attribute_model="", tiling=False)
            deadline = started + 60 + 10 * args.pages * (args.cost + 1 / args.rate)
            while not (run := DetectionRun.objects.get(pk=run.pk)).is_finished:
                if time.monotonic() > deadline:
                    sys.exit("the run did not finish:\n" + "\n".join(worker.log_tail() for worker in workers))
                time.sleep(0.05)
            elapsed = time.monotonic() - started
    finally:
        for worker in workers:
            worker.stop()
    prefix = f"/iiif/doc{index}/f"
    arrivals = [(arrival, refused) for arrival, path, refused in host.arrivals if path.startswith(prefix)]
    times = [arrival for arrival, _ in arrivals]
    faces = list(Face.objects.filter(page__document=document).values_list("page_id", flat=True))
    done = run.page_tasks.filter(status=JobStatus.DONE).count()
    return {
        "workers": count,
        "budget": "shared (Redis)" if budget == "redis" else "per process",
        "pages_per_s": args.pages / elapsed,
        "requests": len(times),
        "refused": sum(refused for _, refused in arrivals),
        "max_1s": max_in_window(times, 1.0),
        "mean_rate": (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0,
        "lost": args.pages - done,
        "twice": len(faces) - len(set(faces)),
    }


def max_in_window(times: list[float], window: float) -> int:
    """The most arrivals in any half-open window [t, t + window)."""
    return max((bisect.bisect_left(times, start + window) - i for i, start in enumerate(times)), default=0)


def table(rows: list[dict], args) -> str:
    single = next((row["pages_per_s"] for row in rows if row["workers"] == 1 and row["budget"] != "per process"), None)
    lines = [
        "| workers | host budget | pages/s | floor | vs floor | requests | 429s | max in 1 s | mean req/s "
        "| budget req/s | lost | done twice |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        floor = 0.8 * min(row["workers"] * single, args.rate) if single else 0.0
        ratio = f"{row['pages_per_s'] / floor:.2f}" if floor else "-"
        lines.append(
            f"| {row['workers']} | {row['budget']} | {row['pages_per_s']:.2f} | {floor:.2f} | {ratio} "
            f"| {row['requests']} | {row['refused']} | {row['max_1s']} | {row['mean_rate']:.2f} | {args.rate:g} "
            f"| {row['lost']} | {row['twice']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
