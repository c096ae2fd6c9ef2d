"""Finished inference jobs (evaluations, face encodings) are purged INFERENCE_JOB_RETENTION_DAYS after they
finished; jobs under way and the encodings jobs stored stay."""

from datetime import timedelta

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from annotations.services import face_create
from detection.models import FaceEncoding, InferenceJob, InferenceKind
from detection.tasks import inference_jobs_purge_task
from detection.tests.factories import add_scan_page
from webapp.celery import app
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


def test_jobs_finished_before_the_retention_period_go_and_the_rest_stay(document, alice, settings):
    settings.INFERENCE_JOB_RETENTION_DAYS = 30
    face = face_create(page=add_scan_page(document, width=400, height=400), user=alice, x=10, y=10, w=60, h=60)
    FaceEncoding.objects.create(
        face=face,
        corpus=document.corpus,
        vector=np.zeros(128, np.float32).tobytes(),
        model_version="test",
        x=10,
        y=10,
        w=60,
        h=60,
    )
    now = timezone.now()

    def job(name, status, finished_days_ago=None, *, kind=InferenceKind.FACE_ENCODING):
        finished = now - timedelta(days=finished_days_ago) if finished_days_ago is not None else None
        subject = {"face": face} if kind == InferenceKind.FACE_ENCODING else {"document": document}
        return name, InferenceJob.objects.create(kind=kind, status=status, finished_at=finished, **subject).pk

    jobs = dict(
        [
            job("encoded 40 days ago", JobStatus.DONE, 40),
            job("failed 31 days ago", JobStatus.FAILED, 31),
            job("evaluated 60 days ago", JobStatus.DONE, 60, kind=InferenceKind.EVALUATION),
            job("evaluated 29 days ago", JobStatus.DONE, 29, kind=InferenceKind.EVALUATION),
            job("cancelled yesterday", JobStatus.CANCELLED, 1),
            job("pending", JobStatus.PENDING),
            job("running", JobStatus.RUNNING),
        ]
    )

    inference_jobs_purge_task()
    inference_jobs_purge_task()

    left = set(InferenceJob.objects.values_list("pk", flat=True))
    assert {name for name, pk in jobs.items() if pk in left} == {
        "evaluated 29 days ago",
        "cancelled yesterday",
        "pending",
        "running",
    }
    assert FaceEncoding.objects.filter(face=face).exists()


def test_the_beat_schedule_runs_the_inference_job_purge():
    scheduled = [entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()]
    assert inference_jobs_purge_task.name in scheduled
    assert inference_jobs_purge_task.name in app.tasks
