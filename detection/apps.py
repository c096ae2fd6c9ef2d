from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "detection"

    def ready(self) -> None:
        from celery.signals import task_prerun, worker_init, worker_process_init

        from detection import signals  # noqa: F401  (connects the receivers)
        from detection.model_loop.training import registry_sync_before_detection, registry_sync_on_worker_start

        # Every worker serves the models trained here: the main process before it forks its pool,
        # each pool process again, and before each page detection (a model trained meanwhile).
        worker_init.connect(registry_sync_on_worker_start, weak=False)
        worker_process_init.connect(registry_sync_on_worker_start, weak=False)
        task_prerun.connect(registry_sync_before_detection, weak=False)
