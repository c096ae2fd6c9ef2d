"""Receivers that keep derived files and rows in step with what they came from (see AnnotationsConfig.ready)."""

from functools import partial

from django.db import connections, transaction
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from annotations.exports.cleanup import exports_delete_holding
from annotations.ingest.dataset_uploads import dataset_upload_delete
from annotations.ingest.local_scans import local_scans_delete, upload_delete_unused
from annotations.models import Corpus, DatasetImport, Document, FaceYearSummary, PageYearSummary
from annotations.search.summaries import summaries_orphans_delete


# pre_delete, not post_delete: the corpora an export recorded are still there to look up. Deletions
# from the admin, the shell and cascades all pass here.
@receiver(pre_delete, sender=Corpus, dispatch_uid="exports-of-deleted-corpus")
def corpus_exports_delete(sender, instance: Corpus, **kwargs) -> None:
    exports_delete_holding(corpus_id=instance.pk)


@receiver(pre_delete, sender=Document, dispatch_uid="exports-of-deleted-document")
def document_exports_delete(sender, instance: Document, **kwargs) -> None:
    exports_delete_holding(corpus_id=instance.corpus_id, document_id=instance.pk)


# post_delete: the admin and corpus cascades delete documents too; the files go once the delete commits.
@receiver(post_delete, sender=Document, dispatch_uid="local-scans-of-deleted-document")
def document_local_scans_delete(sender, instance: Document, **kwargs) -> None:
    if instance.local_folder:
        transaction.on_commit(partial(local_scans_delete, folder=instance.local_folder))
    if instance.upload_path:
        # Shared by the documents made from the same zip (one file per content): the last one takes it.
        transaction.on_commit(partial(upload_delete_unused, upload_path=instance.upload_path))


# A dataset import deleted before its worker read the zip (its corpus deleted): the zip goes with it.
@receiver(post_delete, sender=DatasetImport, dispatch_uid="upload-of-deleted-dataset-import")
def dataset_import_upload_delete(sender, instance: DatasetImport, **kwargs) -> None:
    if instance.upload_path:
        transaction.on_commit(partial(dataset_upload_delete, upload_path=instance.upload_path))


def summaries_of_gone_corpora_delete(sender, using: str = "default", **kwargs) -> None:
    """After `migrate` or `flush`, drop the summary rows of corpora that no longer exist.

    A flush empties every table with one DELETE each, in no set order (on SQLite, between
    transactional tests): pages deleted before their documents write their counts out into summary
    rows that may already have been emptied, and those rows would count against a corpus that later
    reuses the id. Connected to post_migrate, which `flush` also sends.
    """
    tables = set(connections[using].introspection.table_names())
    if {FaceYearSummary._meta.db_table, PageYearSummary._meta.db_table, Corpus._meta.db_table} <= tables:
        summaries_orphans_delete(using=using)
