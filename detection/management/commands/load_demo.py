"""`manage.py load_demo [--folder demo] [--corpus Demo] [--no-detect]`: the bundled offline demo, ready to explore.

Imports every scan folder of the demo (each holds a `metadata.json` with its label and date) into
one corpus, then detects faces on each document that has no detection run yet, so the first
`/stats/` draws faces per year. Running it again updates the documents in place and detects nothing twice.
"""

from argparse import BooleanOptionalAction
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from annotations.ingest.manifests import (
    FOLDER_METADATA_FILE,
    corpus_get_or_create,
    document_import_run,
    document_request_import,
)
from detection.models import DetectionRun
from detection.services import run_create, run_execute
from webapp.jobs import JobStatus


def demo_folders(root: Path) -> list[Path]:
    """The scan folders under `root` (any depth), found by their metadata.json, in name order."""
    return sorted(sidecar.parent for sidecar in root.rglob(FOLDER_METADATA_FILE))


class Command(BaseCommand):
    help = "Import the bundled demo (real Gallica pages over several years, and a synthetic issue) and detect faces."

    def add_arguments(self, parser):
        parser.add_argument("--folder", default=str(settings.BASE_DIR / "demo"), help="Folder holding the demo")
        parser.add_argument("--corpus", default="Demo", help="Corpus name (created public when missing)")
        parser.add_argument(
            "--detect", action=BooleanOptionalAction, default=True, help="Detect faces on documents never run"
        )

    def handle(self, *args, folder: str, corpus: str, detect: bool, **options):
        folders = demo_folders(Path(folder))
        if not folders:
            raise CommandError(f"No demo folders (with a {FOLDER_METADATA_FILE}) under {folder}")
        # The demo is for anyone who opens the site: its corpus is public.
        target = corpus_get_or_create(name=corpus, is_public=True)
        for path in folders:
            document = document_import_run(
                document_id=document_request_import(corpus=target, source=str(path.resolve())).pk
            )
            if document is None or document.import_status != JobStatus.DONE:
                error = document.import_error if document else "another import of it is running"
                self.stderr.write(f"{path}: import failed: {error}")
                continue
            line = f"{document.pk}  {document.date_text or '-':>14}  {document.label}"
            if detect and not DetectionRun.objects.filter(document=document).exists():
                run = run_execute(run=run_create(user=None, document=document, enqueue=False))
                line += f"  ({run.faces_found} faces)"
            self.stdout.write(line)
