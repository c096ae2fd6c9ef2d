"""Load benchmark: concurrent reviewers saving face edits against a local gunicorn on PostgreSQL.

    .venv/bin/python bench/load_bench.py                     # throwaway PostgreSQL cluster (run as root)
    DATABASE_URL=postgres://user@host:5432/x .venv/bin/python bench/load_bench.py   # a new database on that server
    .venv/bin/python bench/load_bench.py --database-url postgres://user@host:5432/loadbench
    .venv/bin/python bench/load_bench.py --sqlite            # a fresh SQLite file (smoke runs, not the target)
    .venv/bin/python bench/load_bench.py --reviewers 50 --seconds 60 --web-workers 3

Each simulated reviewer owns one page of 40 faces and, in a loop, PATCHes the next face's
gender and box with the version it last saw (as the review canvas autosave does), then thinks
for --think seconds (default 1: a very fast curator; 0 hammers the server). Traffic goes
to 127.0.0.1 only; the loop is bounded by --seconds. First, as the baseline measured in the same
run, the same reviewers at the same pace GET the faces (--baseline-seconds): what the stack costs
for a request that writes nothing. Prints, per phase, throughput, latency percentiles, the p95 as
a ratio to the baseline's, and errors (any non-2xx). Targets for saves: 0 errors, p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _django import fresh_database_url  # noqa: E402

FACES_PER_PAGE = 40
GENDERS = ("female", "male", "unknown")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(reviewers: int) -> list[tuple[str, list[int], dict[int, int]]]:
    """Migrate, then create a corpus, one curator with a token and one page of faces per reviewer."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotations.models import Corpus, CorpusMembership, CorpusRole, Document, Face, Page
    from webapp.jobs import JobStatus

    corpus = Corpus.objects.create(name=f"load-{random.randrange(10**9)}", is_public=False)
    document = Document.objects.create(corpus=corpus, source="bench", label="bench", import_status=JobStatus.DONE)
    plan = []
    for index in range(reviewers):
        user = get_user_model().objects.create_user(f"reviewer{index}-{corpus.pk}")
        CorpusMembership.objects.create(corpus=corpus, user=user, role=CorpusRole.CURATOR)
        page = Page.objects.create(document=document, order=index + 1, canvas_id=f"c{index}", width=4000, height=6000)
        faces = Face.objects.bulk_create(
            Face(page=page, x=50 * n, y=100, w=40, h=50, confidence=0.8, source="res10@bench")
            for n in range(FACES_PER_PAGE)
        )
        # The version of each face the reviewer last saw, kept across phases (as the review canvas keeps them).
        versions = {face.pk: 1 for face in faces}
        plan.append((Token.objects.create(user=user).key, list(versions), versions))
    return plan


def reviewer(
    base: str,
    token: str,
    face_ids: list[int],
    versions: dict[int, int],
    deadline: float,
    think: float,
    save: bool,
    results: list,
    lock,
) -> None:
    """One reviewer's loop: PATCH the next face with the version it last saw (save), or GET it (read)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    latencies, statuses = [], {}
    step = 0
    while time.monotonic() < deadline:
        face_id = face_ids[step % len(face_ids)]
        url = f"{base}/api/faces/{face_id}/"
        started = time.perf_counter()
        try:
            if save:
                body = {"version": versions[face_id], "gender": GENDERS[step % 3], "w": 40 + step % 7}
                response = session.patch(url, json=body, timeout=30)
            else:
                response = session.get(url, timeout=30)
            status = response.status_code
        except requests.RequestException:
            status = 0
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            versions[face_id] = response.json()["version"]
        step += 1
        time.sleep(think * random.uniform(0.5, 1.5))
    with lock:
        results.append((latencies, statuses))


@dataclass
class Phase:
    """One phase's requests: every latency (sorted, seconds) and the count of each HTTP status (0: no answer)."""

    name: str
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300)

    def percentile_ms(self, q: float) -> float:
        return self.latencies[min(len(self.latencies) - 1, int(q * len(self.latencies)))] * 1000


def run_phase(name: str, base: str, plan: list, seconds: float, think: float, save: bool) -> Phase:
    """Every reviewer at once for `seconds`."""
    results: list = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=reviewer, args=(base, token, faces, versions, deadline, think, save, results, lock))
        for token, faces, versions in plan
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses: dict[int, int] = {}
    for _, counts in results:
        for status, count in counts.items():
            statuses[status] = statuses.get(status, 0) + count
    latencies = sorted(value for result in results for value in result[0])
    return Phase(name, time.monotonic() - started, latencies, statuses)


def report(phases: list[Phase], args: argparse.Namespace, loads: tuple[float, float], database: str) -> None:
    print(
        f"# load_bench: {args.reviewers} reviewers, think {args.think} s, "
        f"gunicorn {args.web_workers}x{args.web_threads} threads, {database}; "
        f"load average {loads[0]:.1f} before, {loads[1]:.1f} after, {os.cpu_count()} CPUs"
    )
    print(
        f"{'phase':<22}{'s':>4}{'requests':>10}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'p95 ratio':>11}{'errors':>8}  statuses"
    )
    baseline_p95 = phases[0].percentile_ms(0.95)
    for phase in phases:
        print(
            f"{phase.name:<22}{phase.seconds:>4.0f}{len(phase.latencies):>10}"
            f"{len(phase.latencies) / phase.seconds:>8.1f}"
            f"{phase.percentile_ms(0.5):>9.1f}{phase.percentile_ms(0.95):>9.1f}{phase.percentile_ms(0.99):>9.1f}"
            f"{phase.latencies[-1] * 1000:>9.1f}{phase.percentile_ms(0.95) / baseline_p95:>11.2f}"
            f"{phase.errors:>8}  {dict(sorted(phase.statuses.items()))}"
        )
    saves = phases[-1]
    met = saves.errors == 0 and saves.percentile_ms(0.95) < 200
    print(
        f"saves against the targets (0 errors, p95 < 200 ms): {saves.errors} errors, "
        f"p95 {saves.percentile_ms(0.95):.1f} ms: {'met' if met else 'not met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", default="", help="an existing database (default: a new one, see above)")
    where.add_argument("--sqlite", action="store_true", help="a fresh SQLite file instead of PostgreSQL")
    parser.add_argument("--reviewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn processes (the image: WEB_CONCURRENCY=3)")
    parser.add_argument("--web-threads", type=int, default=8, help="threads per process (the image: WEB_THREADS=8)")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between a reviewer's saves")
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="length of the read (baseline) phase")
    parser.add_argument("--warmup-seconds", type=float, default=10.0, help="unreported saves before measuring")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="visages-load."))
    cluster = None
    server = None
    try:
        url = args.database_url
        if args.sqlite:
            url = fresh_database_url("load", workdir / "load-bench.sqlite3", sqlite=True)
        elif not url and os.environ.get("DATABASE_URL"):
            url = fresh_database_url("load", workdir / "load-bench.sqlite3")
        elif not url:
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
        from django.db import connection

        database = connection.display_name
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "webapp.wsgi:application", "-b", f"127.0.0.1:{port}"]
            + ["-w", str(args.web_workers), "-k", "gthread", "--threads", str(args.web_threads), "--keep-alive", "75"]
            + ["--log-level", "warning"],
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
        # Warm every gunicorn process (first requests import and connect lazily); not reported.
        run_phase("warm-up", base, plan, args.warmup_seconds, args.think, save=True)
        load_before = os.getloadavg()[0]
        # The baseline first: the same reviewers, at the same pace, reading the faces they then save.
        phases = [
            run_phase("read (GET, baseline)", base, plan, args.baseline_seconds, args.think, save=False),
            run_phase("save (PATCH)", base, plan, args.seconds, args.think, save=True),
        ]
        loads = (load_before, os.getloadavg()[0])
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        if cluster:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    report(phases, args, loads, database)


if __name__ == "__main__":
    main()
