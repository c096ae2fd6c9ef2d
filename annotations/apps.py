from django.apps import AppConfig
from django.db.models.signals import post_delete


class AnnotationsConfig(AppConfig):
    name = "annotations"

    def ready(self) -> None:
        from annotations.local_scans import document_deleted
        from annotations.models import Document

        # A signal, not a service: the admin and corpus cascades delete documents too.
        post_delete.connect(document_deleted, sender=Document, dispatch_uid="document_local_scans_delete")
