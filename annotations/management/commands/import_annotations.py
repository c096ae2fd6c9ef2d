"""`manage.py import_annotations FILE --document ID [--format F] [--source S]`: faces from LabelMe/COCO/W3C/IIIF."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotations.ingest.annotation_files import IMPORT_FORMATS, annotations_import
from annotations.management.import_options import face_source_checked, importing_user
from annotations.models import CURATOR_SOURCE, Document


class Command(BaseCommand):
    help = "Import faces from a LabelMe JSON, a COCO file, W3C/IIIF annotations or a zip of them into a document."

    def add_arguments(self, parser):
        parser.add_argument("file", help="A JSON file or a zip of JSON files (LabelMe: with their images)")
        parser.add_argument("--document", type=int, required=True, help="Target document id")
        parser.add_argument("--format", choices=IMPORT_FORMATS, default="auto")
        parser.add_argument("--source", default=CURATOR_SOURCE, help="`curator` or the model that made the faces")
        parser.add_argument("--user", default=None, help="Username recorded in the face revisions")

    def handle(self, *args, file: str, document: int, format: str, source: str, user: str | None, **options):
        source = face_source_checked(source)
        target = Document.objects.filter(pk=document).first()
        if target is None:
            raise CommandError(f"No document with id {document}")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        actor = importing_user(user)
        report = annotations_import(
            document=target, user=actor, name=path.name, content=path.read_bytes(), fmt=format, source=source
        )
        self.stdout.write(json.dumps(report.as_dict(), indent=2))
        if not report.ok:
            raise CommandError("Some files were rejected: see the report above")
