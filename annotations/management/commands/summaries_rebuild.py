"""`manage.py summaries_rebuild [--corpus ID]`: recount the statistics' year summaries from the faces."""

from django.core.management.base import BaseCommand

from annotations.models import Corpus
from annotations.search.summaries import summaries_orphans_delete, summaries_rebuild


class Command(BaseCommand):
    help = (
        "Recount the year summaries (FaceYearSummary, PageYearSummary) that statistics read, from the faces "
        "and pages: one transaction per corpus, during which face writes wait. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--corpus", type=int, help="Only this corpus id")

    def handle(self, *args, corpus: int | None, **options):
        corpora = Corpus.objects.order_by("pk")
        if corpus is not None:
            corpora = corpora.filter(pk=corpus)
        else:
            dropped = summaries_orphans_delete()
            if dropped:
                self.stdout.write(f"{dropped} rows of deleted corpora dropped")
        for corpus_id, name in corpora.values_list("pk", "name"):
            summaries_rebuild(corpus_id=corpus_id)
            self.stdout.write(f"corpus {corpus_id} ({name}) recounted")
