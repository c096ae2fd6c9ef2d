"""Export files do not outlive their data or their time: deleted with a corpus or document, and after retention.

A deleted export loses its row and its file (there is no "expired" state to read): the requester
sees it leave the list and asks for a new one.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from annotations.models import Corpus, Export
from webapp.jobs import JobStatus

# Exports deleted per transaction by the retention purge.
EXPORT_PURGE_BATCH = 500


def exports_delete(*, exports: QuerySet[Export]) -> int:
    """Delete these exports' rows now and their files once the transaction commits; returns how many."""
    with transaction.atomic():
        doomed = list(exports.values_list("pk", "file"))
        Export.objects.filter(pk__in=[pk for pk, _ in doomed]).delete()
        files = [name for _, name in doomed if name]
        if files:
            # On commit: a rolled-back deletion keeps its rows, and so must keep their files.
            transaction.on_commit(partial(_files_delete, files))
    return len(doomed)


def _files_delete(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


@transaction.atomic
def exports_delete_holding(*, corpus_id: int, document_id: int | None = None) -> int:
    """Delete the exports whose file holds pages of the corpus or, with `document_id`, may hold that document.

    Exports record corpora, not documents: every export of the corpus may hold one of its documents,
    except an export scoped to another document.
    """
    # Locked as export_build locks it before recording the corpora it wrote: a build finishing now
    # either is found here or finds the corpus gone and fails.
    list(Corpus.objects.select_for_update().filter(pk=corpus_id).values_list("pk", flat=True))
    exports = Export.objects.filter(corpora=corpus_id)
    if document_id is not None:
        exports = exports.filter(Q(scope__document__isnull=True) | Q(scope__document=document_id))
    return exports_delete(exports=exports)


def exports_purge_expired() -> int:
    """Delete finished exports (rows and files) that finished over EXPORT_RETENTION_DAYS ago, in bounded batches."""
    cutoff = timezone.now() - timedelta(days=settings.EXPORT_RETENTION_DAYS)
    expired = Export.objects.filter(status__in=[JobStatus.DONE, JobStatus.FAILED], finished_at__lt=cutoff).order_by(
        "pk"
    )
    purged = 0
    while batch := list(expired.values_list("pk", flat=True)[:EXPORT_PURGE_BATCH]):
        purged += exports_delete(exports=Export.objects.filter(pk__in=batch))
    return purged
