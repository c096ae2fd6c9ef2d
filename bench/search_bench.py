"""Search benchmark: 1,000,000 faces on 200,000 pages, p50/p95 of 20 filter combinations.

    .venv/bin/python bench/search_bench.py                      # SQLite file under /tmp
    .venv/bin/python bench/search_bench.py --postgres           # throwaway PostgreSQL cluster (run as root)
    .venv/bin/python bench/search_bench.py --database-url postgres://user@host:5432/bench
    .venv/bin/python bench/search_bench.py --scale 0.1          # 100,000 faces on 20,000 pages

It builds its own database (never the app's): migrates, bulk-loads the corpus (COPY on
PostgreSQL, executemany in one transaction on SQLite), then times each query through the
real API (`/api/search/pages/`, plus a few `/api/search/faces/` and `/api/stats/faces-by-year/`)
as an anonymous visitor of a public corpus, with DEBUG off. Results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from _django import bulk_insert, fresh_database_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = 200_000
FACES = 1_000_000
PAGES_PER_ISSUE = 6
TITLES = ("Excelsior", "Le Petit Journal", "Le Miroir", "L'Humanité", "Le Matin")
FIRST_DAY = date(1905, 1, 1)
LAST_DAY = date(1935, 12, 31)
# A third of the pages carry no face; the others a skewed number (a few crowded group photos).
SHARE_OF_PAGES_WITH_FACES = 0.65
PAGE_W, PAGE_H = 4000, 6000
SEED = 20261125
# The pages' curated and confident counts, as annotations.models names them (PAGE_COUNT_SELECTORS,
# PAGE_COUNT_CONFIDENCE_STEPS): selectors in this order, steps by column suffix.
COUNT_SELECTORS = ("face", "female", "male", "unknown", "child")
COUNT_STEPS = {0.5: "50", 0.8: "80", 0.9: "90"}

# PostgreSQL settings of the throwaway cluster: the database fits in memory, random reads are cheap
# (SSD, so index-only scans win over sequential scans), and JIT compilation does not pay off for
# queries of a few milliseconds.
PG_SETTINGS = (
    "shared_buffers=512MB",
    "effective_cache_size=4GB",
    "random_page_cost=1.1",
    "jit=off",
    "max_parallel_workers_per_gather=0",
)

# The fixed set: GallicaPix's seed query, the Excelsior study, and every filter alone or combined.
PAGE_QUERIES = [
    "",
    "gender=female",
    "gender=male&min_faces=2",
    "min_faces=5",
    "max_faces=0",
    "min_faces=2&max_faces=4",
    "date_from=1915&date_to=1915",
    "front_page=true&date_from=1910&date_to=1920",
    "front_page=true&gender=female&date_from=1914&date_to=1918",
    "title=excelsior&date_from=1915-01-01&date_to=1915-12-31&gender=faceM&min_confidence=0.5&front_page=true",
    "q=excelsior&date_from=1912&date_to=1913",
    "min_confidence=0.9",
    "gender=female&min_faces=3&min_confidence=0.8",
    "min_size=1",
    "gender=faceC",
    "review_status=reviewed&gender=female",
    "source=curator",
    "ordering=-faces&min_faces=1",
    "gender=female&max_density=2&date_from=1920&date_to=1925",
    "gender=male&max_faces=0&front_page=true",
]
OTHER_QUERIES = [
    "/api/search/faces/?gender=female&min_confidence=0.8",
    "/api/search/faces/?title=excelsior&date_from=1915&date_to=1915&gender=faceM",
    "/api/stats/faces-by-year/?front_page=true&title=excelsior&date_from=1910&date_to=1920",
    "/api/stats/faces-by-year/",
    "/api/stats/faces-by-year/?gender=female&min_confidence=0.5&date_from=1910&date_to=1920",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL cluster")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 1M faces / 200k pages")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per query (after one warm-up)")
    parser.add_argument("--workdir", default="", help="where the SQLite file or cluster goes (default: a tmp dir)")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="visages-bench."))
    workdir.mkdir(parents=True, exist_ok=True)
    cluster = None
    try:
        if args.postgres:
            cluster = PostgresCluster(workdir / "pg")
            url = cluster.start()
        else:
            url = args.database_url or fresh_database_url("search", workdir / "search-bench.sqlite3")
        run(url, workdir, scale=args.scale, repeat=args.repeat)
    finally:
        if cluster:
            cluster.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


class PostgresCluster:
    """A throwaway PostgreSQL cluster owned by the postgres user, as scripts/test.sh starts one."""

    def __init__(self, path: Path):
        self.path = path
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
        if not bins:
            raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = bins[-1].parent

    def _pg(self, *cmd: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True, stdout=subprocess.DEVNULL)

    def start(self) -> str:
        """Start the cluster (created on first use; a --workdir keeps it, and its data, for the next run)."""
        fresh = not (self.path / "PG_VERSION").exists()
        if fresh:
            self.path.mkdir(parents=True)
            os.chmod(self.path.parent, 0o755)
            shutil.chown(self.path, "postgres")
            self._pg(str(self.bin / "initdb"), "-D", str(self.path), "-A", "trust", "-U", "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        # fsync off only speeds up the load; query timings read from memory either way. The rest is
        # the usual tuning of a server whose database fits in RAM on SSDs (see docs/benchmarks.md).
        options = (
            f"-p {port} -k {self.path} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            f"-c {' -c '.join(PG_SETTINGS)}"
        )
        log = str(self.path / "log")
        self._pg(str(self.bin / "pg_ctl"), "-D", str(self.path), "-l", log, "-w", "-o", options, "start")
        if fresh:
            self._pg(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "bench")
        return f"postgres://postgres@127.0.0.1:{port}/bench"

    def stop(self) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D", str(self.path), "-m", "fast", "stop"],
            stdout=subprocess.DEVNULL,
            check=False,
        )


def run(url: str, workdir: Path, *, scale: float, repeat: int) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["VISAGES_DATA_DIR"] = str(workdir / "data")
    os.environ["DEBUG"] = "false"
    # Persistent connections, as .env.example configures production: a request does not pay for a new one.
    os.environ["DATABASE_CONN_MAX_AGE"] = "60"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["STATIC_ROOT"] = str(workdir / "static")
    (workdir / "static").mkdir(exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "webapp.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    applied = bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    if applied:
        print(f"migrated in {time.perf_counter() - started:.1f} s")
    from annotations.models import Face

    if not Face.objects.exists():
        pages, faces = round(PAGES * scale), round(FACES * scale)
        started = time.perf_counter()
        generate(pages=pages, faces=faces)
        analyze()
        elapsed = time.perf_counter() - started
        print(f"generated {faces:,} faces on {pages:,} pages in {elapsed:.1f} s (bulk load + analyze)")
    elif applied:
        # A kept database that the migrations just changed (new columns, indexes).
        analyze()
    measure(repeat=repeat)


def _now() -> datetime:
    return datetime.now(UTC)


def generate(*, pages: int, faces: int) -> None:
    """Bulk-load documents, pages and faces with consistent denormalised counts and summaries."""
    from django.core.management import call_command
    from django.db import connection

    from annotations.models import Corpus, Document, Face, Page

    rng = np.random.default_rng(SEED)
    now = _now()
    issues = -(-pages // PAGES_PER_ISSUE)
    # Each title's issues spread evenly over the years, whatever the scale.
    days_between_issues = (LAST_DAY - FIRST_DAY).days / max(1, issues // len(TITLES))
    documents = []
    # Each document's date span, as its pages copy it (Page.document_date, document_date_end).
    spans = {}
    for doc_id in range(1, issues + 1):
        title = TITLES[(doc_id - 1) % len(TITLES)]
        day = FIRST_DAY + timedelta(days=int((doc_id - 1) // len(TITLES) * days_between_issues))
        # A few catalogue records carry only a year, a few none at all.
        if doc_id % 97 == 0:
            start, end, text = date(day.year, 1, 1), date(day.year, 12, 31), str(day.year)
        elif doc_id % 101 == 0:
            start, end, text = None, None, ""
        else:
            start, end, text = day, day, day.isoformat()
        spans[doc_id] = (start, end)
        label = f"{title} : journal quotidien illustré"
        documents.append(
            (doc_id, 1, f"https://gallica.bnf.fr/ark:/12148/bench{doc_id}", "", "2", label, "", "[]", text,
             start, end, "", "", "", "", "done", "", "{}", None, None, None, now, now)
        )  # fmt: skip

    with_faces = rng.choice(pages, size=round(pages * SHARE_OF_PAGES_WITH_FACES), replace=False)
    weights = rng.lognormal(mean=0.0, sigma=0.8, size=with_faces.size)
    page_of_face = np.sort(rng.choice(with_faces, size=faces, p=weights / weights.sum()))
    gender = rng.choice(np.array(["male", "female", "unknown"]), size=faces, p=[0.6, 0.15, 0.25])
    child = rng.random(faces) < 0.05
    confidence = np.round(rng.uniform(0.2, 1.0, size=faces), 3)
    status = rng.choice(
        np.array(["predicted", "accepted", "edited", "added", "rejected"]), size=faces, p=[0.9, 0.03, 0.02, 0.01, 0.04]
    )
    w = rng.integers(30, 700, size=faces)
    h = (w * rng.uniform(1.1, 1.4, size=faces)).astype(int)
    x = rng.integers(0, PAGE_W - 700, size=faces)
    y = rng.integers(0, PAGE_H - 1000, size=faces)
    counted = status != "rejected"
    per_page = {
        "face": np.bincount(page_of_face[counted], minlength=pages),
        "female": np.bincount(page_of_face[counted & (gender == "female")], minlength=pages),
        "male": np.bincount(page_of_face[counted & (gender == "male")], minlength=pages),
        "child": np.bincount(page_of_face[counted & child], minlength=pages),
        "unknown": np.bincount(page_of_face[counted & (gender == "unknown")], minlength=pages),
    }
    # Each page's extremes of its counted faces (NaN: none), as page_counts_refresh keeps them.
    search_confidence = np.where(np.isin(status, ["accepted", "edited", "added"]), 1.0, confidence)
    share = 100.0 * w.astype(float) * h.astype(float) / (float(PAGE_W) * float(PAGE_H))
    extremes = {}
    for name, values, reduce, start in (
        ("max_confidence", search_confidence, np.maximum, -np.inf),
        ("max_face_share", share, np.maximum, -np.inf),
        ("min_face_share", share, np.minimum, np.inf),
    ):
        column = np.full(pages, start)
        reduce.at(column, page_of_face[counted], values[counted])
        extremes[name] = np.where(np.isfinite(column), column, np.nan)
    # The most confident face of each gender, and among children (what PageYearSummary counts pages by).
    for name, selected in (
        ("max_confidence_female", gender == "female"),
        ("max_confidence_male", gender == "male"),
        ("max_confidence_unknown", gender == "unknown"),
        ("max_confidence_child", child),
    ):
        column = np.full(pages, -np.inf)
        np.maximum.at(column, page_of_face[counted & selected], search_confidence[counted & selected])
        extremes[name] = np.where(np.isfinite(column), column, np.nan)
    # Curated faces, and faces at each confidence step, by gender and among children (page_counts_refresh).
    selectors = [np.ones(faces, dtype=bool), gender == "female", gender == "male", gender == "unknown", child]
    curated = np.isin(status, ["accepted", "edited", "added"])
    split_counts = [np.bincount(page_of_face[counted & curated & selected], minlength=pages) for selected in selectors]
    split_counts += [
        np.bincount(page_of_face[counted & (search_confidence >= step) & selected], minlength=pages)
        for step in COUNT_STEPS
        for selected in selectors
    ]
    split_rows = np.stack(split_counts, axis=1).tolist()
    reviewed = rng.random(pages) < 0.1
    page_rows = []
    for i in range(pages):
        doc_id, order = i // PAGES_PER_ISSUE + 1, i % PAGES_PER_ISSUE + 1
        service = f"https://gallica.bnf.fr/iiif/ark:/12148/bench{doc_id}/f{order}"
        page_rows.append(
            (i + 1, doc_id, order, f"{service}/canvas", f"f{order}", PAGE_W, PAGE_H, "", None, None, service, "1", "",
             order == 1, "reviewed" if reviewed[i] else "unreviewed", None, None,
             int(per_page["face"][i]), int(per_page["female"][i]), int(per_page["male"][i]),
             int(per_page["child"][i]), int(per_page["unknown"][i]),
             *(None if np.isnan(extremes[name][i]) else float(extremes[name][i]) for name in extremes),
             *spans[doc_id], *split_rows[i])
        )  # fmt: skip
    face_rows = (
        (i + 1, int(page_of_face[i]) + 1, int(x[i]), int(y[i]), int(w[i]), int(h[i]),
         1.0 if status[i] == "added" else float(confidence[i]), None, None, str(gender[i]), None, bool(child[i]),
         "curator" if status[i] == "added" else "res10", str(status[i]), None, None, 1, now, now)
        for i in range(faces)
    )  # fmt: skip
    Corpus.objects.create(id=1, name="Bench", is_public=True)
    # Rows come with their denormalised columns and the summaries are recounted below: no trigger per
    # row on PostgreSQL (bulk_insert moves each id sequence past the loaded ids).
    for model, columns, rows in (
        (Document, DOCUMENT_COLUMNS, documents),
        (Page, PAGE_COLUMNS, page_rows),
        (Face, FACE_COLUMNS, face_rows),
    ):
        started = time.perf_counter()
        bulk_insert(model, columns, rows, now=now, triggers=False)
        print(f"  {model._meta.db_table}: {time.perf_counter() - started:.1f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence('annotations_corpus', 'id'), 1)")
    # The year summaries, recounted at once (the load skipped their triggers on PostgreSQL).
    started = time.perf_counter()
    call_command("summaries_rebuild", verbosity=0)
    print(f"  summaries: {time.perf_counter() - started:.1f} s")


def analyze() -> None:
    """Statistics (and PostgreSQL's visibility map) up to date, as after a load or a migration on a live server."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
            # Right after a bulk load, one pass may leave pages not yet marked all-visible (so index-only
            # scans still read the table); a long-running server's autovacuum gets there, so get there too.
            for _ in range(3):
                cursor.execute("SELECT relallvisible >= relpages FROM pg_class WHERE relname = 'annotations_face'")
                if cursor.fetchone()[0]:
                    break
                cursor.execute("VACUUM")
        else:
            cursor.execute("ANALYZE")
            # Fold the load out of the write-ahead log, as a long-running server's checkpoints would.
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"  analyze: {time.perf_counter() - started:.1f} s")


DOCUMENT_COLUMNS = (
    "id", "corpus_id", "source", "manifest_url", "iiif_version", "label", "summary", "metadata", "date_text",
    "date_start", "date_end", "attribution", "license", "related_url", "thumbnail_url", "import_status",
    "import_error", "import_report", "import_started_at", "import_finished_at", "created_by_id", "created_at",
    "updated_at",
)  # fmt: skip
PAGE_COLUMNS = (
    "id", "document_id", "order", "canvas_id", "label", "width", "height", "image_url", "image_width",
    "image_height", "image_service_id", "image_service_version", "local_path", "is_front_page", "review_status",
    "reviewed_by_id", "reviewed_at", "face_count", "female_count", "male_count", "child_count", "unknown_count",
    "max_confidence", "max_face_share", "min_face_share", "max_confidence_female", "max_confidence_male",
    "max_confidence_unknown", "max_confidence_child", "document_date", "document_date_end",
    *(f"curated_{selector}_count" for selector in COUNT_SELECTORS),
    *(f"{selector}_count_{suffix}" for suffix in COUNT_STEPS.values() for selector in COUNT_SELECTORS),
)  # fmt: skip
FACE_COLUMNS = (
    "id", "page_id", "x", "y", "w", "h", "confidence", "age", "age_confidence", "gender", "gender_confidence",
    "child", "source", "status", "person_id", "detection_run_id", "version", "created_at", "updated_at",
)  # fmt: skip


def measure(*, repeat: int) -> None:
    """Time each query through the API; print a table of p50/p95 in milliseconds."""
    from django.test import Client

    # Loaded as a web worker loads it: webapp.wsgi takes what the application loaded out of full
    # garbage collections (gc.freeze), which otherwise add ~60 ms to one search in a few dozen.
    import webapp.wsgi  # noqa: F401

    client = Client()
    print(f"\n{'#':>2}  {'p50 ms':>8}  {'p95 ms':>8}  {'results':>9}  query")
    all_p95 = []
    for n, query in enumerate(PAGE_QUERIES, 1):
        p50, p95, count = _time(client, f"/api/search/pages/?{query}", repeat)
        all_p95.append(p95)
        print(f"{n:>2}  {p50:>8.1f}  {p95:>8.1f}  {count:>9}  search/pages/?{query}")
    worst, median = max(all_p95), statistics.median(all_p95)
    print(f"worst p95 over the 20 page searches: {worst:.1f} ms; median p95: {median:.1f} ms")
    print()
    for query in OTHER_QUERIES:
        p50, p95, count = _time(client, query, repeat)
        print(f"    {p50:>8.1f}  {p95:>8.1f}  {count:>9}  {query.removeprefix('/api/')}")


def _time(client, url: str, repeat: int) -> tuple[float, float, int]:
    response = client.get(url, HTTP_ACCEPT="application/json")
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.content[:300]!r}")
    body = response.json()
    count = body.get("count", 0) if "totals" not in body else body["totals"]["pages"]
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url, HTTP_ACCEPT="application/json")
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return statistics.median(timings), p95, count


if __name__ == "__main__":
    main()
