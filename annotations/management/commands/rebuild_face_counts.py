"""`manage.py rebuild_face_counts [--corpus ID] [--document ID] [--batch-size N]`: recount faces per page."""

from django.core.management.base import BaseCommand
from django.db import transaction

from annotations.models import Page
from annotations.services import page_counts_refresh

DEFAULT_BATCH_SIZE = 1000


class Command(BaseCommand):
    help = "Recompute the denormalised face counts of pages (search and statistics read them) in bounded batches."

    def add_arguments(self, parser):
        parser.add_argument("--corpus", type=int, help="Only the pages of this corpus id")
        parser.add_argument("--document", type=int, help="Only the pages of this document id")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Pages per transaction")

    def handle(self, *args, corpus: int | None, document: int | None, batch_size: int, **options):
        pages = Page.objects.order_by("pk")
        if corpus is not None:
            pages = pages.filter(document__corpus_id=corpus)
        if document is not None:
            pages = pages.filter(document_id=document)
        done, last_id = 0, 0
        # Keyset batches: each is one short transaction, so readers and writers are not held up.
        while batch := list(pages.filter(pk__gt=last_id).values_list("pk", flat=True)[: max(1, batch_size)]):
            with transaction.atomic():
                page_counts_refresh(page_ids=batch)
            done += len(batch)
            last_id = batch[-1]
            self.stdout.write(f"{done} pages recounted", ending="\r")
        self.stdout.write(f"{done} pages recounted")
