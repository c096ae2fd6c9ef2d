"""Export benchmark: 100,000 faces in a fresh database, exported as CSV, COCO, LabelMe and the index.

    .venv/bin/python bench/export_bench.py [--faces 100000] [--faces-per-page 10]

The database is a temporary SQLite file, or a new PostgreSQL database when DATABASE_URL names a server.

Each export runs in a fresh child process so its peak RSS (getrusage ru_maxrss) is its own;
the table also shows the child's RSS right after Django started, for comparison.
Targets (issue 7): under 60 s and under 300 MB per export.
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

from _django import fresh_database_url

ROOT = Path(__file__).resolve().parents[1]
KINDS = [
    ("csv", {}, "faces.csv"),
    ("coco", {"with_images": False}, "coco.json"),
    ("labelme", {"with_images": False, "image_size": 2000}, "labelme.zip"),
    ("index", {"index_format": "json"}, "index.json"),
]
BATCH = 5000


def _django(media: Path) -> None:
    """Point Django at the benchmark database (DATABASE_URL, set by the parent) before anything imports settings."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "webapp.settings"
    os.environ["VISAGES_DATA_DIR"] = str(media.parent)
    os.environ["MEDIA_ROOT"] = str(media)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return _peak_rss_mb()


def populate(faces_total: int, per_page: int) -> dict:
    """Bulk insert a corpus of Gallica-like pages carrying `faces_total` faces, in bounded batches."""
    from django.core.management import call_command

    from annotations.models import Corpus, Document, Face, FaceStatus, Gender, Page
    from annotations.services import page_counts_refresh

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    corpus = Corpus.objects.create(name="Bench", is_public=True)
    pages_total = -(-faces_total // per_page)
    pages_per_document = 1000
    genders = [Gender.FEMALE, Gender.MALE, Gender.UNKNOWN]
    statuses = [FaceStatus.PREDICTED, FaceStatus.ACCEPTED, FaceStatus.EDITED, FaceStatus.ADDED]
    made = 0
    for doc_index in range(-(-pages_total // pages_per_document)):
        ark = f"bpt6k{4600000 + doc_index}"
        document = Document.objects.create(
            corpus=corpus,
            source=f"ark:/12148/{ark}",
            manifest_url=f"https://gallica.bnf.fr/iiif/ark:/12148/{ark}/manifest.json",
            label=f"Excelsior {doc_index}",
            date_text="1915",
            import_status="done",
        )
        count = min(pages_per_document, pages_total - doc_index * pages_per_document)
        Page.objects.bulk_create(
            [
                Page(
                    document=document,
                    order=n,
                    canvas_id=f"https://gallica.bnf.fr/iiif/ark:/12148/{ark}/canvas/f{n}",
                    label=f"f{n}",
                    width=6000,
                    height=8000,
                    image_service_id=f"https://gallica.bnf.fr/iiif/ark:/12148/{ark}/f{n}",
                    image_service_version="1",
                    is_front_page=n == 1,
                )
                for n in range(1, count + 1)
            ],
            batch_size=BATCH,
        )
        page_ids = list(Page.objects.filter(document=document).values_list("id", flat=True))
        faces = []
        for page_id in page_ids:
            for k in range(min(per_page, faces_total - made)):
                faces.append(
                    Face(
                        page_id=page_id,
                        x=100 + 500 * k,
                        y=200 + 300 * k,
                        w=180,
                        h=220,
                        confidence=0.5 + (k % 5) / 10,
                        age=20 + k,
                        gender=genders[k % 3],
                        child=k % 7 == 0,
                        source="res10",
                        status=statuses[k % 4],
                    )
                )
                made += 1
            if len(faces) >= BATCH:
                Face.objects.bulk_create(faces, batch_size=BATCH)
                faces = []
        Face.objects.bulk_create(faces, batch_size=BATCH)
        page_counts_refresh(page_ids=page_ids)
    return {"faces": made, "pages": pages_total, "seconds": time.perf_counter() - started}


def run_one(kind: str, options: dict, out: Path) -> dict:
    """Export everything as one kind; returns time, peak RSS and sizes."""
    from annotations.exports.options import ExportOptions
    from annotations.exports.services import export_to_path

    baseline = _current_rss_mb()
    started = time.perf_counter()
    result = export_to_path(kind=kind, scope={}, out=out, options=ExportOptions(**options))
    seconds = time.perf_counter() - started
    return {
        "kind": kind,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "baseline_rss_mb": round(baseline, 1),
        "pages": result.pages,
        "faces": result.faces,
        "bytes": out.stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--faces-per-page", type=int, default=10)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run:
        workdir = Path(args.workdir)
        _django(workdir / "media")
        kind, options, name = next(k for k in KINDS if k[0] == args.run)
        print(json.dumps(run_one(kind, options, workdir / name)))
        return

    with tempfile.TemporaryDirectory(prefix="visages-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "media").mkdir()
        # The children export from the same database: they inherit DATABASE_URL.
        os.environ["DATABASE_URL"] = fresh_database_url("export", workdir / "bench.sqlite3")
        _django(workdir / "media")
        made = populate(args.faces, args.faces_per_page)
        from django.db import connection

        print(
            f"Inserted {made['faces']:,} faces on {made['pages']:,} pages in {made['seconds']:.1f} s "
            f"({connection.display_name})"
        )
        rows = []
        for kind, _, _ in KINDS:
            child = subprocess.run(
                [sys.executable, __file__, "--run", kind, "--workdir", str(workdir)],
                check=True,
                capture_output=True,
                text=True,
            )
            rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print()
        print("| export | faces | pages | time (s) | peak RSS (MB) | RSS after start (MB) | output (MB) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for row in rows:
            print(
                f"| {row['kind']} | {row['faces']:,} | {row['pages']:,} | {row['seconds']:.1f} | "
                f"{row['peak_rss_mb']:.0f} | {row['baseline_rss_mb']:.0f} | {row['bytes'] / 1e6:.1f} |"
            )
        slow = [row["kind"] for row in rows if row["seconds"] >= 60 or row["peak_rss_mb"] >= 300]
        print()
        print("targets (< 60 s, < 300 MB):", "met" if not slow else f"missed by {', '.join(slow)}")


if __name__ == "__main__":
    main()
