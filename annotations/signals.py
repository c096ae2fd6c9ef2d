"""Receivers that keep derived files in step with the rows they came from (connected in AnnotationsConfig.ready)."""

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from annotations.exports.cleanup import exports_delete_holding
from annotations.models import Corpus, Document


# pre_delete, not post_delete: the corpora an export recorded are still there to look up. Deletions
# from the admin, the shell and cascades all pass here.
@receiver(pre_delete, sender=Corpus, dispatch_uid="exports-of-deleted-corpus")
def corpus_exports_delete(sender, instance: Corpus, **kwargs) -> None:
    exports_delete_holding(corpus_id=instance.pk)


@receiver(pre_delete, sender=Document, dispatch_uid="exports-of-deleted-document")
def document_exports_delete(sender, instance: Document, **kwargs) -> None:
    exports_delete_holding(corpus_id=instance.corpus_id, document_id=instance.pk)
