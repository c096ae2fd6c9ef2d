"""The page task: a thin adapter over page_detect that is safe to run twice and knows when to give up."""

from __future__ import annotations

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from annotations.models import Face, Page
from detection.inference.types import Detection
from detection.models import PageDetection
from detection.services import run_create
from detection.tasks import detect_page_task, run_dispatch_task
from tests.support.http_server import Scripted
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


def test_running_a_page_task_twice_leaves_the_rows_unchanged(scanned_document, fake_models):
    fake_models.detector.boxes = [Detection(10, 10, 60, 70, 0.9), Detection(100, 100, 160, 170, 0.8)]
    run = run_create(user=None, document=scanned_document, enqueue=False, tiling=False)
    task = run.page_tasks.first()

    detect_page_task(task.pk)
    counts = (Face.objects.count(), PageDetection.objects.count(), list(Face.objects.values_list("pk", "x", "y")))
    detect_page_task(task.pk)

    assert (
        Face.objects.count(),
        PageDetection.objects.count(),
        list(Face.objects.values_list("pk", "x", "y")),
    ) == counts
    assert counts[0] == 2
    run.refresh_from_db()
    assert (run.pages_done, run.faces_found) == (1, 2)


def test_a_task_for_a_missing_page_detection_does_nothing(db):
    detect_page_task(123456)

    assert not PageDetection.objects.exists()


def test_a_page_past_its_soft_time_limit_is_marked_failed(scanned_document, fake_models):
    fake_models.detector.error = SoftTimeLimitExceeded()
    run = run_create(user=None, document=scanned_document, enqueue=False, tiling=False)
    first, second = run.page_tasks.order_by("pk")

    detect_page_task(first.pk)
    fake_models.detector.error = None
    detect_page_task(second.pk)

    first.refresh_from_db()
    run.refresh_from_db()
    assert first.status == JobStatus.FAILED
    assert "Time limit exceeded" in first.error
    assert (run.status, run.pages_done, run.pages_failed) == (JobStatus.DONE, 1, 1)


def test_a_page_whose_image_stays_rate_limited_is_retried_then_failed(document, fake_models, http_server, settings):
    # The one eager (apply) test: Celery's own retry loop, with the back-off skipped.
    settings.IIIF_MAX_RETRIES = 0
    service = http_server.url("/iiif/f1")
    Page.objects.create(
        document=document,
        order=1,
        canvas_id="c1",
        width=800,
        height=600,
        image_service_id=service,
        image_service_version="2",
    )
    path = "/iiif/f1/full/!800,600/0/default.jpg"
    http_server.script(path, Scripted(503))
    run = run_create(user=None, document=document, enqueue=False)
    task = run.page_tasks.get()

    detect_page_task.apply(args=[task.pk])

    task.refresh_from_db()
    assert task.status == JobStatus.FAILED
    assert "503" in task.error
    assert task.attempts == detect_page_task.max_retries + 1
    assert http_server.hits[path] == detect_page_task.max_retries + 1


def test_the_page_task_is_reliable_by_configuration():
    assert detect_page_task.acks_late is True
    assert detect_page_task.max_retries >= 1 and detect_page_task.retry_backoff
    assert detect_page_task.soft_time_limit < detect_page_task.time_limit
    assert detect_page_task.app.amqp.router.route({}, detect_page_task.name)["queue"].name == "inference"
    assert run_dispatch_task.app.amqp.router.route({}, run_dispatch_task.name)["queue"].name == "default"
