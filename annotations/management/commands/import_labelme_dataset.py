"""`manage.py import_labelme_dataset FOLDER --corpus NAME [--source S] [--user NAME]`: a LabelMe dataset as
documents to review (annotations/ingest/datasets.py)."""

import json
import re
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotations.ingest.annotation_files import FACE_SOURCE_PATTERN, FACE_SOURCE_RULE
from annotations.ingest.datasets import dataset_files, labelme_dataset_import
from annotations.ingest.manifests import CorpusNameAmbiguous, corpus_for_operator
from annotations.models import CURATOR_SOURCE


class Command(BaseCommand):
    help = (
        "Import a folder of LabelMe files and their images (a Visages LabelMe export, say) as documents to "
        "review: one per d<document> of files named d<document>_p<order>, one for the other files."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="Folder of LabelMe JSON files beside their images")
        parser.add_argument(
            "--corpus",
            default="Default",
            help="Corpus name, exact: the shared corpus of that name, else the only one, else a new shared corpus",
        )
        parser.add_argument("--public", action="store_true", help="Make a corpus this import creates public")
        parser.add_argument(
            "--source",
            default=CURATOR_SOURCE,
            help="`curator` (the faces stand as curated) or who made them (they await a curator's review)",
        )
        parser.add_argument("--user", default=None, help="Username recorded as the importer and in face revisions")

    def handle(self, *args, folder: str, corpus: str, public: bool, source: str, user: str | None, **options):
        if not re.fullmatch(FACE_SOURCE_PATTERN, source):
            raise CommandError(f"--source must be {FACE_SOURCE_RULE}, not {source!r}")
        path = Path(folder)
        if not path.is_dir():
            raise CommandError(f"No such folder: {folder}")
        if not dataset_files(path):
            raise CommandError(f"No LabelMe JSON file in {folder}")
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"No user named {user!r}")
        try:
            target = corpus_for_operator(name=corpus, is_public=public)
        except CorpusNameAmbiguous as exc:
            raise CommandError(str(exc)) from exc
        report = labelme_dataset_import(folder=path, corpus=target, user=actor, source=source)
        self.stdout.write(json.dumps(report.as_dict(), indent=2))
        if not report.ok:
            raise CommandError("Some files or documents were not imported: see the report above")
