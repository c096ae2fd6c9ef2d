"""Signals: a deleted corpus takes its on-disk similarity index with it; a deleted document has
its corpus's index checked (and rebuilt when enough of it is gone); a deleted trained model (its
corpus deleted) takes its files and leaves this process's registry."""

from functools import partial

from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import post_delete
from django.dispatch import receiver

from annotations.models import Corpus, Document
from detection.model_loop.training import trained_model_files_delete, trained_models_register
from detection.models import TrainedModel
from detection.similarity import similarity_cache_forget
from detection.similarity_index import similarity_index_check_after_delete, similarity_index_delete


@receiver(post_delete, sender=Corpus, dispatch_uid="similarity-index-of-deleted-corpus")
def corpus_similarity_index_delete(sender, instance: Corpus, **kwargs) -> None:
    transaction.on_commit(partial(similarity_index_delete, corpus_id=instance.pk))
    # Other web processes drop theirs when they recycle: no request of theirs reads a deleted corpus.
    transaction.on_commit(partial(similarity_cache_forget, instance.pk))


@receiver(post_delete, sender=Document, dispatch_uid="similarity-index-check-after-document-delete")
def document_similarity_index_check(sender, instance: Document, origin=None, **kwargs) -> None:
    # A corpus deleted with its documents takes its index with it: no check for each of them.
    if (origin.model if isinstance(origin, QuerySet) else type(origin)) is Corpus:
        return
    transaction.on_commit(partial(similarity_index_check_after_delete, corpus_id=instance.corpus_id))


@receiver(post_delete, sender=TrainedModel, dispatch_uid="files-of-deleted-trained-model")
def trained_model_files_delete_after_delete(sender, instance: TrainedModel, **kwargs) -> None:
    transaction.on_commit(partial(trained_model_files_delete, file=instance.file))
    # Other processes drop it at their next sync (a worker's before each page detection).
    transaction.on_commit(trained_models_register)
