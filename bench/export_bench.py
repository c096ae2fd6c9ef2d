"""Export benchmark: a million faces in a fresh database, exported as CSV, COCO, LabelMe and the index.

    .venv/bin/python bench/export_bench.py [--faces 1000000] [--faces-per-page 10]

The database is a temporary SQLite file, or a new PostgreSQL database when DATABASE_URL names a server.

Each export runs in a fresh child process so its peak RSS (getrusage ru_maxrss) is its own;
the table also shows the child's RSS right after Django started ("RSS at start"), for comparison, its CPU time
(user and system, steadier than wall time on a shared machine) and the load average when the export started.
Targets (issue 19): 1 M faces in under 5 minutes and under 300 MB per export.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _django import bulk_insert, fresh_database_url

ROOT = Path(__file__).resolve().parents[1]
KINDS = [
    ("csv", {}, "faces.csv"),
    ("coco", {"with_images": False}, "coco.json"),
    ("labelme", {"with_images": False, "image_size": 2000}, "labelme.zip"),
    ("index", {"index_format": "json"}, "index.json"),
]


def _django(media: Path) -> None:
    """Point Django at the benchmark database (DATABASE_URL, set by the parent) before anything imports settings."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "webapp.settings"
    os.environ["VISAGES_DATA_DIR"] = str(media.parent)
    os.environ["MEDIA_ROOT"] = str(media)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """CPU time of this process (user and system): steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return _peak_rss_mb()


PAGE_COLUMNS = (
    "id", "document_id", "order", "canvas_id", "label", "width", "height", "image_service_id",
    "image_service_version", "is_front_page",
)  # fmt: skip
FACE_COLUMNS = (
    "id", "page_id", "x", "y", "w", "h", "confidence", "age", "gender", "child", "source", "status",
)  # fmt: skip
PAGES_PER_DOCUMENT = 1000
# Issue 19: a million faces exported in under 5 minutes, under 300 MB, whatever the format.
TARGET_SECONDS = 300
TARGET_MB = 300


def populate(faces_total: int, per_page: int) -> dict:
    """Bulk load a corpus of Gallica-like pages carrying `faces_total` faces; page counts as the app keeps them.

    Documents go through the ORM; pages and faces are streamed in (bench/_django.py bulk_insert), every
    other column at its model default. On SQLite the throwaway file is written without syncing to disk.
    """
    from django.core.management import call_command
    from django.db import connection

    from annotations.models import Corpus, Document, Face, FaceStatus, Gender, Page
    from annotations.services import page_counts_refresh

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # Only this bench's own database: a crash mid-load loses nothing that matters. A 256 MB page
            # cache keeps the face indexes, written out of order, in memory during the load.
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-262144")
    corpus = Corpus.objects.create(name="Bench", is_public=True)
    pages_total = -(-faces_total // per_page)
    arks = [f"bpt6k{4600000 + n}" for n in range(-(-pages_total // PAGES_PER_DOCUMENT))]
    documents = Document.objects.bulk_create(
        [
            Document(
                corpus=corpus,
                source=f"ark:/12148/{ark}",
                manifest_url=f"https://gallica.bnf.fr/iiif/ark:/12148/{ark}/manifest.json",
                label=f"Excelsior {n}",
                date_text="1915",
                import_status="done",
            )
            for n, ark in enumerate(arks)
        ]
    )
    # A fresh database: pages and faces take ids from 1 (bulk_insert moves PostgreSQL's sequences past them).
    page_ids = range(1, pages_total + 1)

    def page_rows():
        for page_id in page_ids:
            index, n = divmod(page_id - 1, PAGES_PER_DOCUMENT)
            n += 1
            iiif = f"https://gallica.bnf.fr/iiif/ark:/12148/{arks[index]}"
            yield (page_id, documents[index].pk, n, f"{iiif}/canvas/f{n}", f"f{n}", 6000, 8000, f"{iiif}/f{n}", "1",
                   n == 1)  # fmt: skip

    genders = [Gender.FEMALE, Gender.MALE, Gender.UNKNOWN]
    statuses = [FaceStatus.PREDICTED, FaceStatus.ACCEPTED, FaceStatus.EDITED, FaceStatus.ADDED]

    def face_rows():
        for face_id in range(1, faces_total + 1):
            page_id, k = divmod(face_id - 1, per_page)
            yield (face_id, page_id + 1, 100 + 500 * k, 200 + 300 * k, 180, 220, 0.5 + (k % 5) / 10, 20 + k,
                   genders[k % 3], k % 7 == 0, "res10", statuses[k % 4])  # fmt: skip

    bulk_insert(Page, PAGE_COLUMNS, page_rows())
    bulk_insert(Face, FACE_COLUMNS, face_rows())
    for first in range(1, pages_total + 1, PAGES_PER_DOCUMENT):
        page_counts_refresh(page_ids=page_ids[first - 1 : first - 1 + PAGES_PER_DOCUMENT])
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # Fold the load out of the write-ahead log, as a long-running server's checkpoints would.
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"faces": faces_total, "pages": pages_total, "seconds": time.perf_counter() - started}


def run_one(kind: str, options: dict, out: Path) -> dict:
    """Export everything as one kind; returns time, peak RSS and sizes."""
    from annotations.exports.options import ExportOptions
    from annotations.exports.services import export_to_path

    baseline = _current_rss_mb()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    result = export_to_path(kind=kind, scope={}, out=out, options=ExportOptions(**options))
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    return {
        "kind": kind,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "baseline_rss_mb": round(baseline, 1),
        "pages": result.pages,
        "faces": result.faces,
        "bytes": out.stat().st_size,
    }


def _child(workdir: Path, *args: str) -> dict:
    """Run this script in a fresh interpreter (it inherits DATABASE_URL); returns the JSON of its last line."""
    done = subprocess.run(
        [sys.executable, __file__, *args, "--workdir", str(workdir)], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--faces-per-page", type=int, default=10)
    parser.add_argument("--populate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.populate or args.run:
        workdir = Path(args.workdir)
        _django(workdir / "media")
        if args.populate:
            from django.db import connection

            print(json.dumps({**populate(args.faces, args.faces_per_page), "database": connection.display_name}))
        else:
            kind, options, name = next(k for k in KINDS if k[0] == args.run)
            print(json.dumps(run_one(kind, options, workdir / name)))
        return

    # This process never loads Django nor the data: a child's peak RSS (ru_maxrss) counts its parent's
    # resident memory at the fork, so the load runs in a child of its own, as each export does.
    with tempfile.TemporaryDirectory(prefix="visages-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "media").mkdir()
        os.environ["DATABASE_URL"] = url = fresh_database_url("export", workdir / "bench.sqlite3")
        print(
            f"# export_bench: {args.faces:,} faces, {args.faces_per_page} per page, {url.split(':', 1)[0]}; "
            f"load average {_load()} on {os.cpu_count()} CPUs",
            flush=True,
        )
        made = _child(workdir, "--populate", "--faces", str(args.faces), "--faces-per-page", str(args.faces_per_page))
        print(
            f"Inserted {made['faces']:,} faces on {made['pages']:,} pages in {made['seconds']:.1f} s "
            f"({made['database']})",
            flush=True,
        )
        rows = []
        for kind, _, _ in KINDS:
            load = _load()
            rows.append({**_child(workdir, "--run", kind), "load": load})
        print()
        print(
            "| export | faces | pages | time (s) | CPU (s) | peak RSS (MB) | RSS at start (MB) | output (MB) "
            "| load at start |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for row in rows:
            print(
                f"| {row['kind']} | {row['faces']:,} | {row['pages']:,} | {row['seconds']:.1f} | "
                f"{row['cpu_seconds']:.1f} | {row['peak_rss_mb']:.0f} | {row['baseline_rss_mb']:.0f} | "
                f"{row['bytes'] / 1e6:.1f} | {row['load']} |"
            )
        missed = [row["kind"] for row in rows if row["seconds"] >= TARGET_SECONDS or row["peak_rss_mb"] >= TARGET_MB]
        print()
        print(f"load average {_load()} at the end")
        print(
            f"targets (< {TARGET_SECONDS} s, < {TARGET_MB} MB per export):",
            "met" if not missed else f"missed by {', '.join(missed)}",
        )


if __name__ == "__main__":
    main()
