"""Load benchmark: concurrent reviewers saving face edits against a local gunicorn on PostgreSQL.

    .venv/bin/python bench/load_bench.py                     # throwaway PostgreSQL cluster (run as root)
    .venv/bin/python bench/load_bench.py --database-url postgres://user@host:5432/loadbench
    .venv/bin/python bench/load_bench.py --reviewers 50 --seconds 60 --web-workers 4

Each simulated reviewer owns one page of 40 faces and, in a loop, PATCHes the next face's
gender and box with the version it last saw (as the review canvas autosave does), then thinks
for --think seconds (default 1: a very fast curator; 0 hammers the server). Traffic goes
to 127.0.0.1 only; the loop is bounded by --seconds. Prints throughput, latency percentiles and
errors (any non-2xx). Targets: 0 errors, p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

FACES_PER_PAGE = 40
GENDERS = ("female", "male", "unknown")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(reviewers: int) -> list[tuple[str, list[int]]]:
    """Migrate, then create a corpus, one curator with a token and one page of faces per reviewer."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotations.models import Corpus, CorpusMembership, CorpusRole, Document, Face, ImportStatus, Page

    corpus = Corpus.objects.create(name=f"load-{random.randrange(10**9)}", is_public=False)
    document = Document.objects.create(corpus=corpus, source="bench", label="bench", import_status=ImportStatus.DONE)
    plan = []
    for index in range(reviewers):
        user = get_user_model().objects.create_user(f"reviewer{index}-{corpus.pk}")
        CorpusMembership.objects.create(corpus=corpus, user=user, role=CorpusRole.CURATOR)
        page = Page.objects.create(document=document, order=index + 1, canvas_id=f"c{index}", width=4000, height=6000)
        faces = Face.objects.bulk_create(
            Face(page=page, x=50 * n, y=100, w=40, h=50, confidence=0.8, source="res10@bench")
            for n in range(FACES_PER_PAGE)
        )
        plan.append((Token.objects.create(user=user).key, [face.pk for face in faces]))
    return plan


def reviewer(
    base: str, token: str, face_ids: list[int], deadline: float, think: float, results: list, lock: threading.Lock
) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    versions = dict.fromkeys(face_ids, 1)
    latencies, errors, statuses = [], 0, {}
    step = 0
    while time.monotonic() < deadline:
        face_id = face_ids[step % len(face_ids)]
        body = {"version": versions[face_id], "gender": GENDERS[step % 3], "w": 40 + step % 7}
        started = time.perf_counter()
        try:
            response = session.patch(f"{base}/api/faces/{face_id}/", json=body, timeout=30)
            status = response.status_code
        except requests.RequestException:
            status = 0
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            versions[face_id] = response.json()["version"]
        else:
            errors += 1
        step += 1
        time.sleep(think * random.uniform(0.5, 1.5))
    with lock:
        results.append((latencies, errors, statuses))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--reviewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between a reviewer's saves")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="visages-load."))
    cluster = None
    server = None
    try:
        url = args.database_url
        if not url:
            from search_bench import PostgresCluster

            cluster = PostgresCluster(workdir / "pg")
            url = cluster.start()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "webapp.settings",
            "DATABASE_URL": url,
            "DATABASE_CONN_MAX_AGE": "60",
            "DEBUG": "0",
            "SECRET_KEY": "load-bench-only",
            "ALLOWED_HOSTS": "127.0.0.1",
            "VISAGES_DATA_DIR": str(workdir / "data"),
        }
        os.environ.update(env)
        plan = prepare(args.reviewers)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "webapp.wsgi:application", "-b", f"127.0.0.1:{port}"]
            + ["-w", str(args.web_workers), "-k", "gthread", "--threads", "8", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(f"{base}/api/corpora/", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        results: list = []
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=reviewer, args=(base, token, faces, deadline, args.think, results, lock))
            for token, faces in plan
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        if cluster:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    latencies = sorted(value for result in results for value in result[0])
    errors = sum(result[1] for result in results)
    statuses: dict[int, int] = {}
    for result in results:
        for status, count in result[2].items():
            statuses[status] = statuses.get(status, 0) + count
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(
        f"# load_bench: {args.reviewers} reviewers, think {args.think} s, {args.seconds:.0f} s, "
        f"gunicorn {args.web_workers}x8 threads, PostgreSQL"
    )
    print(f"{'requests':<16}{len(latencies):>10}")
    print(f"{'throughput':<16}{len(latencies) / elapsed:>10.1f} req/s")
    print(f"{'p50 latency':<16}{p(0.50):>10.1f} ms")
    print(f"{'p95 latency':<16}{p(0.95):>10.1f} ms   target < 200 ms")
    print(f"{'p99 latency':<16}{p(0.99):>10.1f} ms")
    print(f"{'mean latency':<16}{statistics.mean(latencies) * 1000:>10.1f} ms")
    print(f"{'errors':<16}{errors:>10}   target 0   statuses {dict(sorted(statuses.items()))}")


if __name__ == "__main__":
    main()
