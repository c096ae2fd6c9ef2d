from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AnnotationsConfig(AppConfig):
    name = "annotations"

    def ready(self) -> None:
        from annotations import signals

        post_migrate.connect(signals.summaries_of_gone_corpora_delete, sender=self, dispatch_uid="summaries-orphans")
