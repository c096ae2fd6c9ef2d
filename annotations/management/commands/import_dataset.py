"""`manage.py import_dataset FOLDER --corpus NAME [--source S] [--user NAME] [--boxes-only]`: a dataset (LabelMe
or COCO files and their images) as documents to review (annotations/ingest/datasets.py)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotations.ingest.datasets import dataset_files, dataset_import
from annotations.management.import_options import (
    add_corpus_arguments,
    corpus_named,
    face_source_checked,
    importing_user,
)
from annotations.models import CURATOR_SOURCE


class Command(BaseCommand):
    help = (
        "Import a folder of LabelMe files or COCO files and their images (a Visages export, say) as documents "
        "to review: one per d<document> of pages named d<document>_p<order>, one for the other pages."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="Folder of LabelMe JSON files beside their images")
        add_corpus_arguments(parser)
        parser.add_argument(
            "--source",
            default=CURATOR_SOURCE,
            help="`curator` (the faces stand as curated) or who made them (they await a curator's review)",
        )
        parser.add_argument("--user", default=None, help="Username recorded as the importer and in face revisions")
        parser.add_argument(
            "--boxes-only",
            action="store_true",
            help="Leave out the files' gender, child and age: a blind check, where the curator labels every face",
        )

    def handle(
        self, *args, folder: str, corpus: str, public: bool, source: str, user: str | None, boxes_only: bool, **options
    ):
        source = face_source_checked(source)
        path = Path(folder)
        if not path.is_dir():
            raise CommandError(f"No such folder: {folder}")
        if not dataset_files(path):
            raise CommandError(f"No LabelMe or COCO JSON file in {folder}")
        actor = importing_user(user)
        report = dataset_import(
            folder=path, corpus=corpus_named(corpus, public=public), user=actor, source=source, boxes_only=boxes_only
        )
        self.stdout.write(json.dumps(report.as_dict(), indent=2))
        if not report.ok:
            raise CommandError("Some files or documents were not imported: see the report above")
