"""`manage.py export_labelme --document ID | --corpus ID --out PATH [--names ids|labels]`: one LabelMe JSON and
JPEG per page, in a folder or PATH.zip."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotations.exports.fields import PAGE_NAMES
from annotations.exports.options import ExportOptions
from annotations.exports.services import export_to_path
from annotations.models import Corpus, Document, ExportKind, ReviewStatus


class Command(BaseCommand):
    help = "Export a document's or a corpus's faces as LabelMe JSON (+ JPEGs at the exported size) to a folder or zip."

    def add_arguments(self, parser):
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--document", type=int, help="Document id")
        scope.add_argument("--corpus", type=int, help="Corpus id: every document of it")
        parser.add_argument("--out", required=True, help="Output folder, or a path ending in .zip")
        parser.add_argument("--max-size", type=int, default=None, help="Longest image side in pixels (default: full)")
        parser.add_argument("--no-images", action="store_true", help="Write the JSON files only")
        parser.add_argument("--include-rejected", action="store_true", help="Add rejected boxes as not_face shapes")
        parser.add_argument("--reviewed-only", action="store_true", help="Only pages marked reviewed")
        parser.add_argument("--base-url", default="", help="Site URL that makes our canvas and image URLs absolute")
        parser.add_argument(
            "--names",
            choices=PAGE_NAMES,
            default="ids",
            help=(
                "File names: d<document>_p<order> (ids), or each page's label where it is a safe, unrepeated "
                "file name, as an imported LabelMe dataset's pages are (labels)"
            ),
        )

    def handle(self, *args, document: int | None, corpus: int | None, out: str, **options):
        if document is not None and not Document.objects.filter(pk=document).exists():
            raise CommandError(f"No document with id {document}")
        if corpus is not None and not Corpus.objects.filter(pk=corpus).exists():
            raise CommandError(f"No corpus with id {corpus}")
        if options["max_size"] is not None and options["max_size"] < 16:
            raise CommandError("--max-size must be at least 16 pixels")
        scope = {
            "document": document,
            "corpus": str(corpus) if corpus is not None else "",
            "review_status": ReviewStatus.REVIEWED if options["reviewed_only"] else None,
        }
        result = export_to_path(
            kind=ExportKind.LABELME,
            scope=scope,
            out=Path(out),
            options=ExportOptions(
                include_rejected=options["include_rejected"],
                with_images=not options["no_images"],
                image_size=options["max_size"],
                base_url=options["base_url"],
                page_names=options["names"],
            ),
        )
        for skipped in result.skipped:
            self.stderr.write(f"skipped {skipped}")
        self.stdout.write(f"Exported {result.faces} faces on {result.pages - len(result.skipped)} pages to {out}")
