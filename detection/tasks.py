"""Celery adapters for detection: they take ids and call one service."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils.translation import gettext_noop

from annotations.iiif.messages import Message
from detection.errors import PageFetchRetry


# https://docs.celeryq.dev/en/stable/userguide/tasks.html#automatic-retry-for-known-exceptions
# Only transient image fetch errors are retried, with exponential back-off from 30 s (jittered);
# acks_late lets a page whose worker died be redelivered, and the claim makes that harmless.
@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(PageFetchRetry,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=settings.DETECTION_FETCH_RETRIES,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def detect_page_task(self, page_detection_id: int) -> None:
    """Detect the faces of one page of a run (claims it first; a duplicate delivery is a no-op)."""
    from detection.services import page_detect, page_detection_fail

    try:
        page_detect(page_detection_id=page_detection_id, final_attempt=self.request.retries >= self.max_retries)
    except SoftTimeLimitExceeded:
        too_long = gettext_noop("Time limit exceeded (%(seconds)s s): retry it, or use a faster detector")
        page_detection_fail(
            page_detection_id=page_detection_id,
            error=Message(too_long, {"seconds": settings.CELERY_TASK_SOFT_TIME_LIMIT}),
        )


@shared_task(acks_late=True, ignore_result=True)
def run_dispatch_task(run_id: int, after_id: int = 0) -> None:
    """Queue the next batch of a run's page tasks (large runs are queued a batch at a time)."""
    from detection.services import run_dispatch

    run_dispatch(run_id=run_id, after_id=after_id)


# The model loop: training from curated faces, and face encodings for similarity search.
# Training acknowledges on receipt: a redelivery while it still runs would only find the job claimed.
@shared_task(
    ignore_result=True,
    soft_time_limit=settings.TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.TRAINING_TIME_LIMIT,
)
def train_model_task(job_id: int) -> None:
    """Train the model of one training job (claims it first; a duplicate delivery is a no-op)."""
    from detection.model_loop.training import training_job_run

    training_job_run(job_id=job_id)


@shared_task(
    acks_late=True,
    ignore_result=True,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def encode_faces_task(document_id: int, after_page_id: int = 0) -> None:
    """Encode the faces of a document that lack an encoding, one batch of pages; re-queues itself for the rest."""
    from detection.similarity import document_faces_encode

    document_faces_encode(document_id=document_id, after_page_id=after_page_id)


# Model work a request asked for (evaluating a detector, encoding a face): on the inference queue,
# so the web process never loads a model; acks_late and the claim make a redelivery harmless.
@shared_task(
    acks_late=True,
    ignore_result=True,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def inference_job_task(job_id: int) -> None:
    """Do one inference job (claims it first; a duplicate delivery is a no-op)."""
    from detection.model_loop.inference_jobs import inference_job_run

    inference_job_run(job_id=job_id)


@shared_task(ignore_result=True)
def inference_jobs_purge_task() -> None:
    """Delete inference jobs finished over INFERENCE_JOB_RETENTION_DAYS ago (celery beat; idempotent)."""
    from detection.model_loop.inference_jobs import inference_jobs_purge

    inference_jobs_purge()


@shared_task(ignore_result=True)
def training_exports_purge_task() -> None:
    """Delete the page exports of training jobs that are not pending or running (celery beat; idempotent)."""
    from detection.model_loop.training import training_exports_purge

    training_exports_purge()


# Time limits of training: a build reads every encoding of its corpus (minutes at 10 M). Acknowledged on
# receipt, as training: a redelivery while it still runs would only find the build lock taken, and a
# lost build is queued again by the next encodings stored (or `manage.py similarity_index`).
@shared_task(
    ignore_result=True,
    soft_time_limit=settings.TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.TRAINING_TIME_LIMIT,
)
def similarity_index_build_task(corpus_id: int) -> None:
    """Build the corpus's on-disk similarity index unless it is up to date (a duplicate delivery is a no-op)."""
    from detection.similarity_index import similarity_index_build

    similarity_index_build(corpus_id=corpus_id)


@shared_task(ignore_result=True)
def similarity_index_check_task(corpus_id: int) -> None:
    """Queue a build of the corpus's index when enough of its encodings changed (two counts; idempotent)."""
    from detection.similarity_index import similarity_index_queue

    similarity_index_queue(corpus_id=corpus_id)
