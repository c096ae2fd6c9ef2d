"""`manage.py import_manifest SOURCE [--corpus NAME]`: import in the foreground, print the document id(s).

A manifest, folder or zip prints its document id last. A IIIF Collection imports every manifest it
lists (nested collections walked) and prints one document id per imported manifest, one per line;
the failed members go to stderr, and the command fails when none could be imported.
"""

from django.core.management.base import BaseCommand, CommandError

from annotations.ingest.manifests import (
    ImportFailed,
    document_import_run,
    document_request_import,
)
from annotations.management.import_options import add_corpus_arguments, corpus_named
from webapp.jobs import JobStatus


class Command(BaseCommand):
    help = (
        "Import a IIIF manifest or collection (URL, file, Gallica ARK) or a folder/zip of images; prints the "
        "document id last, or one id per imported manifest of a collection."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="Manifest or collection URL, manifest file, ark:/12148/..., folder or zip")
        add_corpus_arguments(parser)

    def handle(self, *args, source: str, corpus: str, public: bool, **options):
        try:
            document = document_request_import(corpus=corpus_named(corpus, public=public), source=source)
        except ImportFailed as exc:
            raise CommandError(str(exc)) from exc
        document = document_import_run(document_id=document.pk)
        if document is None:
            raise CommandError("Another import of this source is running; try again when it ends")
        report = document.import_report
        if "members" in report.get("collection", {}):
            self._report_collection(document)
            return
        if document.import_status != JobStatus.DONE:
            raise CommandError(f"Import failed: {document.import_error}")
        for skipped in report.get("skipped", []):
            self.stdout.write(f"skipped {skipped['canvas_id']}: {skipped['reason']}")
        self.stdout.write(
            f"Imported {report['pages']} pages ({report['created']} new, {report['updated']} updated) "
            f"into corpus {document.corpus.name!r}: {document.label}"
        )
        self.stdout.write(str(document.pk))

    def _report_collection(self, document) -> None:
        collection = document.import_report["collection"]
        for member in collection["members"]:
            if member["status"] == JobStatus.DONE:
                self.stdout.write(str(member["document"]))
            else:
                self.stderr.write(f"failed {member['id']}: {member['error']}")
        self.stderr.write(
            f"Collection {collection['label'] or collection['id']!r}: {collection['done']} of "
            f"{collection['total']} manifests imported into corpus {document.corpus.name!r}"
        )
        if document.import_status != JobStatus.DONE:
            raise CommandError(f"Import failed: {document.import_error}")
