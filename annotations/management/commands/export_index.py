"""`manage.py export_index --format csv|json --out PATH`: the GallicaPix-style index, one record per page."""

from pathlib import Path

from django.core.management.base import BaseCommand

from annotations.exports.options import ExportOptions
from annotations.exports.services import export_to_path
from annotations.models import ExportKind


class Command(BaseCommand):
    help = "Write the GallicaPix-style index of faces (one record per page) as CSV or JSON; see docs/formats.md."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "json"], required=True)
        parser.add_argument("--out", required=True, help="Output file")
        parser.add_argument("--corpus", type=int, default=None, help="Only this corpus id")
        parser.add_argument("--document", type=int, default=None, help="Only this document id")

    def handle(self, *args, format: str, out: str, corpus: int | None, document: int | None, **options):
        result = export_to_path(
            kind=ExportKind.INDEX,
            scope={"corpus": corpus, "document": document},
            out=Path(out),
            options=ExportOptions(index_format=format),
        )
        self.stdout.write(f"Indexed {result.pages} pages and {result.faces} faces to {out}")
