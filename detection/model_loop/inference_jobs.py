"""Model work a request asks for, as inference-queue jobs: evaluating a detector afresh, encoding a face.

The request creates the job (or finds the same one still under way) and answers 202 with the job's
URL; a worker claims it (webapp.jobs), loads the model and stores the result; the page polls the
job. So TensorFlow, dlib or OpenCV never load in the web process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotations.iiif.messages import Message, from_json, gettext_noop, unexpected_error
from annotations.models import Document, Face
from detection import similarity
from detection.model_loop import evaluation
from detection.model_loop.training import trained_models_register
from detection.models import InferenceJob, InferenceKind
from webapp.jobs import ACTIVE_STATUSES, FINISHED_STATUSES, INFERENCE, JobStatus, job_claim, job_fail, job_finish

logger = logging.getLogger(__name__)


def _creator(user):
    return user if user is not None and user.is_authenticated else None


def _enqueue(job: InferenceJob) -> InferenceJob:
    from detection.tasks import inference_job_task

    inference_job_task.delay_on_commit(job.pk)
    return job


def evaluation_job_request(
    *, user, document: Document, detector: str, threshold: float | None, attribute_model: str
) -> InferenceJob:
    """The job evaluating `detector` afresh on the reviewed pages of a document; EvaluationRefused: a model
    unknown, or trained on a corpus `user` may not see (the same answer).

    The same evaluation still pending or running is answered again, so a page that polls or a
    second click adds no work.
    """
    trained_models_register()
    evaluation.evaluation_check(detector=detector, attribute_model=attribute_model, user=user)
    params = {"detector": detector, "threshold": threshold, "attribute_model": attribute_model}
    with transaction.atomic():
        under_way = InferenceJob.objects.select_for_update().filter(
            kind=InferenceKind.EVALUATION, document=document, status__in=ACTIVE_STATUSES
        )
        for job in under_way:
            if job.params == params:
                return job
        job = InferenceJob.objects.create(
            kind=InferenceKind.EVALUATION, document=document, params=params, created_by=_creator(user)
        )
        return _enqueue(job)


def face_encoding_job_request(
    *, user, face: Face, before_new_job: Callable[[], None] | None = None
) -> InferenceJob | None:
    """None when the face's encoding is current; else the job computing it (one under way is answered again).

    Raises similarity.NoEncoding when the last job for the face's present box could not encode it.
    `before_new_job` runs only when a job is to be created, and may raise to refuse it (the API
    counts anonymous visitors' encodings there).
    """
    if similarity.face_encoding_current(face=face) is not None:
        return None
    if not similarity.faces_missing_encodings(faces=Face.objects.filter(pk=face.pk)).exists():
        # Rejected faces are never encoded.
        raise similarity.NoEncoding(similarity.NO_ENCODING)
    box = [face.x, face.y, face.w, face.h]
    with transaction.atomic():
        latest = InferenceJob.objects.select_for_update().filter(kind=InferenceKind.FACE_ENCODING, face=face).first()
        if latest is not None and latest.params.get("box") == box:
            if latest.status == JobStatus.FAILED:
                # Why that job failed; jobs failed before their message was kept say what it means.
                failure = from_json(latest.error_message) if latest.error_message else Message(similarity.NO_ENCODING)
                raise similarity.NoEncoding(failure.template, **failure.params)
            if latest.status in ACTIVE_STATUSES:
                return latest
        if before_new_job is not None:
            before_new_job()
        job = InferenceJob.objects.create(
            kind=InferenceKind.FACE_ENCODING, face=face, params={"box": box}, created_by=_creator(user)
        )
        return _enqueue(job)


def inference_job_run(*, job_id: int) -> InferenceJob | None:
    """Claim a pending (or abandoned) inference job and do it; None when there was nothing to claim."""
    claimed_at = job_claim(INFERENCE, job_id, progress=0.0)
    if claimed_at is None:
        logger.info("inference job %s: nothing to claim (finished, running or missing)", job_id)
        return None
    job = InferenceJob.objects.select_related("document", "face").get(pk=job_id)
    try:
        result = _evaluate(job) if job.kind == InferenceKind.EVALUATION else _encode(job)
    except (evaluation.EvaluationRefused, similarity.NoEncoding) as exc:
        job_fail(INFERENCE, job.pk, claimed_at=claimed_at, error=exc)
    except Exception as exc:
        logger.exception("inference job %s failed", job_id)
        job_fail(INFERENCE, job.pk, claimed_at=claimed_at, error=unexpected_error(exc))
    else:
        job_finish(INFERENCE, job.pk, claimed_at=claimed_at, result=result, progress=1.0)
    job.refresh_from_db()
    return job


def _evaluate(job: InferenceJob) -> dict:
    trained_models_register()
    pages = evaluation.reviewed_pages(document=job.document)
    total = pages.count()
    chosen = list(pages[: settings.EVALUATION_MAX_PAGES])

    def progress(done: int, _page) -> None:
        InferenceJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(progress=done / (len(chosen) + 1))

    result = evaluation.evaluation_for_detector(
        pages=chosen,
        detector=job.params["detector"],
        threshold=job.params.get("threshold"),
        attribute_model=job.params.get("attribute_model", ""),
        progress=progress,
    )
    result.document_id = job.document_id
    if total > settings.EVALUATION_MAX_PAGES:
        result.notes.append(
            Message(
                gettext_noop(
                    "Only the first %(evaluated)s of %(total)s reviewed pages were evaluated; "
                    "use `manage.py evaluate` for all of them."
                ),
                {"evaluated": settings.EVALUATION_MAX_PAGES, "total": total},
            )
        )
    # Notes as messages: each reader of the job reads them in their own language, not the worker's.
    return result.as_dict(stored=True)


def _encode(job: InferenceJob) -> dict:
    if similarity.face_encoding_ensure(face=job.face) is None:
        raise similarity.NoEncoding(similarity.NO_ENCODING)
    return {"face": job.face_id}


def inference_jobs_purge() -> int:
    """Delete inference jobs finished over INFERENCE_JOB_RETENTION_DAYS ago; how many.

    The encodings they stored stay; a face whose encoding failed may be tried again after it.
    """
    cutoff = timezone.now() - timedelta(days=settings.INFERENCE_JOB_RETENTION_DAYS)
    deleted, _ = InferenceJob.objects.filter(status__in=FINISHED_STATUSES, finished_at__lt=cutoff).delete()
    return deleted
