"""`manage.py export_labelme --document ID --out PATH`: one LabelMe JSON and JPEG per page, in a folder or PATH.zip."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotations.exports.options import ExportOptions
from annotations.exports.services import export_to_path
from annotations.models import Document, ExportKind, ReviewStatus


class Command(BaseCommand):
    help = "Export a document's faces as LabelMe JSON (+ JPEGs at the exported size) to a folder or a .zip."

    def add_arguments(self, parser):
        parser.add_argument("--document", type=int, required=True, help="Document id")
        parser.add_argument("--out", required=True, help="Output folder, or a path ending in .zip")
        parser.add_argument("--max-size", type=int, default=None, help="Longest image side in pixels (default: full)")
        parser.add_argument("--no-images", action="store_true", help="Write the JSON files only")
        parser.add_argument("--include-rejected", action="store_true", help="Add rejected boxes as not_face shapes")
        parser.add_argument("--reviewed-only", action="store_true", help="Only pages marked reviewed")
        parser.add_argument("--base-url", default="", help="Site URL that makes our canvas and image URLs absolute")

    def handle(self, *args, document: int, out: str, **options):
        if not Document.objects.filter(pk=document).exists():
            raise CommandError(f"No document with id {document}")
        if options["max_size"] is not None and options["max_size"] < 16:
            raise CommandError("--max-size must be at least 16 pixels")
        scope = {"document": document, "review_status": ReviewStatus.REVIEWED if options["reviewed_only"] else None}
        result = export_to_path(
            kind=ExportKind.LABELME,
            scope=scope,
            out=Path(out),
            options=ExportOptions(
                include_rejected=options["include_rejected"],
                with_images=not options["no_images"],
                image_size=options["max_size"],
                base_url=options["base_url"],
            ),
        )
        for skipped in result.skipped:
            self.stderr.write(f"skipped {skipped}")
        self.stdout.write(f"Exported {result.faces} faces on {result.pages - len(result.skipped)} pages to {out}")
