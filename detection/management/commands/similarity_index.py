"""`manage.py similarity_index (--corpus ID ... | --all) [--force]`: build the on-disk similarity indexes
(`--all` also removes those of corpora deleted since)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from annotations.models import Corpus
from detection.models import FaceEncoding
from detection.similarity import ENCODER_VERSION
from detection.similarity_index import (
    corpus_index_current,
    similarity_index_build,
    similarity_indexes_of_gone_corpora_delete,
)


class Command(BaseCommand):
    help = (
        "Build (or rebuild) corpora's on-disk similarity indexes here, in this process, as the "
        "similarity_index_build_task does: an index already up to date is kept unless --force. "
        "Run it on each web host when SIMILARITY_INDEX_DIR is not shared storage."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--corpus", type=int, nargs="+", metavar="ID", help="these corpora")
        which.add_argument(
            "--all",
            action="store_true",
            help="every corpus with SIMILARITY_INDEX_MIN encodings or more; removes the indexes of deleted corpora",
        )
        parser.add_argument("--force", action="store_true", help="rebuild even an index that is up to date")

    def handle(self, *args, corpus=None, all=False, force=False, **options):
        if all:
            for gone in similarity_indexes_of_gone_corpora_delete():
                self.stdout.write(f"corpus {gone}: deleted, its index removed")
            counts = (
                FaceEncoding.objects.filter(model_version=ENCODER_VERSION)
                .values("corpus_id")
                .annotate(n=Count("id"))
                .filter(n__gte=settings.SIMILARITY_INDEX_MIN)
            )
            corpus = sorted(row["corpus_id"] for row in counts)
        else:
            missing = set(corpus) - set(Corpus.objects.filter(pk__in=corpus).values_list("pk", flat=True))
            if missing:
                raise CommandError(f"No corpus with id {', '.join(map(str, sorted(missing)))}")
        for corpus_id in corpus:
            built = similarity_index_build(corpus_id=corpus_id, force=force)
            if built is not None:
                self.stdout.write(f"corpus {corpus_id}: built, {built.count} encodings ({built.path})")
            elif (current := corpus_index_current(corpus_id)) is not None:
                self.stdout.write(f"corpus {corpus_id}: up to date, {current.count} encodings ({current.path})")
            else:
                self.stdout.write(f"corpus {corpus_id}: no encodings (or a build is running)")
