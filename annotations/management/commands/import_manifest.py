"""`manage.py import_manifest SOURCE [--corpus NAME]`: import in the foreground, print the document id."""

from django.core.management.base import BaseCommand, CommandError

from annotations.ingest.manifests import (
    ImportFailed,
    corpus_get_or_create,
    document_import_run,
    document_request_import,
)
from webapp.jobs import JobStatus


class Command(BaseCommand):
    help = "Import a IIIF manifest (URL, file, Gallica ARK) or a folder/zip of images; prints the document id last."

    def add_arguments(self, parser):
        parser.add_argument("source", help="Manifest URL, manifest file, ark:/12148/..., folder or zip of images")
        parser.add_argument("--corpus", default="Default", help="Corpus name (created when missing)")

    def handle(self, *args, source: str, corpus: str, **options):
        try:
            document = document_request_import(corpus=corpus_get_or_create(name=corpus), source=source)
        except ImportFailed as exc:
            raise CommandError(str(exc)) from exc
        document = document_import_run(document_id=document.pk)
        if document is None:
            raise CommandError("Another import of this source is running; try again when it ends")
        report = document.import_report
        if document.import_status != JobStatus.DONE:
            for manifest in report.get("collection", {}).get("manifests", []):
                self.stdout.write(f"  {manifest.get('id')}  {manifest.get('label', '')}")
            raise CommandError(f"Import failed: {document.import_error}")
        for skipped in report.get("skipped", []):
            self.stdout.write(f"skipped {skipped['canvas_id']}: {skipped['reason']}")
        self.stdout.write(
            f"Imported {report['pages']} pages ({report['created']} new, {report['updated']} updated) "
            f"into corpus {document.corpus.name!r}: {document.label}"
        )
        self.stdout.write(str(document.pk))
