"""Faults during a detection run (a worker killed with SIGKILL, a Redis restart) and during an import.

Each test runs a real Celery worker process on a private Redis (append-only file), breaks
something mid-run, and asserts the run completes with the same faces as a clean run: no page
lost, no duplicate face; and an import whose worker was killed is taken over and finishes.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from contextlib import contextmanager

import pytest
from PIL import Image

from annotations.ingest.manifests import (
    corpus_get_or_create,
    document_enqueue_import,
    document_import_run,
    document_request_import,
)
from annotations.models import Document, Face
from detection.models import DetectionRun
from detection.services import run_create, run_execute
from tests.support.http_server import Scripted
from tests.support.manifests import p2_manifest
from tests.support.synthetic_pages import newspaper_page
from tests.support.worker import WorkerProcess
from webapp.jobs import JobStatus, jobs_reap

pytestmark = [pytest.mark.worker, pytest.mark.realmodel, pytest.mark.django_db(transaction=True)]

PAGES = 4
RUN_TIMEOUT_S = 240
FINISHED = (JobStatus.DONE, JobStatus.FAILED)
# Short limits so that a task lost with its worker is redelivered within the test.
FAST_REDELIVERY = {
    "CELERY_TASK_TIME_LIMIT": "20",
    "CELERY_TASK_SOFT_TIME_LIMIT": "15",
    "CELERY_VISIBILITY_TIMEOUT": "22",
}


@contextmanager
def broker(url: str):
    """Point this process's Celery producer at `url` (pools reset as after a fork)."""
    from webapp.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = url
    app._after_fork()
    try:
        yield
    finally:
        app.conf.broker_url = previous
        app._after_fork()


@pytest.fixture
def newspaper_issue(tmp_path):
    scans = tmp_path / "issue"
    scans.mkdir()
    for number in range(PAGES):
        faces = [(150, 200, 120), (650, 260, 80), (300, 800, 60), (700, 900, 100)]
        pixels, _ = newspaper_page(1000, 1300, faces, seed=number)
        Image.fromarray(pixels).save(scans / f"p{number + 1}.jpg", "JPEG", quality=85)
    document = document_request_import(corpus=corpus_get_or_create(name="Faults"), source=str(scans))
    document = document_import_run(document_id=document.pk)
    assert document.import_status == JobStatus.DONE, document.import_error
    return document


def wait_until(predicate, worker: WorkerProcess, what: str, timeout: float = RUN_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}:\n{worker.log_tail()}")


def faces_per_page(document) -> Counter:
    return Counter(Face.objects.filter(page__document=document).values_list("page__order", flat=True))


def clean_run_counts(document) -> Counter:
    """Face counts of the same detection done again in this process, with nothing broken."""
    run = run_create(user=None, document=document, detector="res10", enqueue=False)
    run_execute(run=run)
    return faces_per_page(document)


def assert_no_duplicates(document) -> None:
    boxes = list(Face.objects.filter(page__document=document).values_list("page_id", "x", "y", "w", "h"))
    assert len(boxes) == len(set(boxes)), "a page was stored twice"


def test_a_worker_killed_mid_run_is_redelivered_and_the_run_completes(tmp_path, private_redis, newspaper_issue):
    with broker(private_redis.url):
        first = WorkerProcess(tmp_path / "worker.log", broker_url=private_redis.url, extra_env=FAST_REDELIVERY)
        try:
            run = run_create(user=None, document=newspaper_issue, detector="res10")
            wait_until(
                lambda: (
                    DetectionRun.objects.get(pk=run.pk).pages_done >= 1
                    and run.page_tasks.filter(status=JobStatus.RUNNING).exists()
                ),
                first,
                "a page done and another one running",
            )
            first.kill()
        finally:
            first.stop()
        assert DetectionRun.objects.get(pk=run.pk).status == JobStatus.RUNNING, "killed mid-run"

        second = WorkerProcess(tmp_path / "worker.log", broker_url=private_redis.url, extra_env=FAST_REDELIVERY)
        try:
            finished = wait_until(
                lambda: (r := DetectionRun.objects.get(pk=run.pk)).is_finished and r, second, "the run to finish"
            )
        finally:
            second.stop()

    assert finished.status == JobStatus.DONE
    assert (finished.pages_done, finished.pages_failed) == (PAGES, 0)
    assert_no_duplicates(newspaper_issue)
    after_fault = faces_per_page(newspaper_issue)
    assert finished.faces_found == sum(after_fault.values())
    assert after_fault == clean_run_counts(newspaper_issue)


def test_a_redis_restart_mid_run_does_not_lose_the_run(tmp_path, private_redis, newspaper_issue):
    with broker(private_redis.url):
        worker = WorkerProcess(tmp_path / "worker.log", broker_url=private_redis.url, extra_env=FAST_REDELIVERY)
        try:
            run = run_create(user=None, document=newspaper_issue, detector="res10")
            wait_until(lambda: DetectionRun.objects.get(pk=run.pk).pages_done >= 1, worker, "a first page")
            private_redis.stop()
            time.sleep(2)
            private_redis.start()
            finished = wait_until(
                lambda: (r := DetectionRun.objects.get(pk=run.pk)).is_finished and r, worker, "the run to finish"
            )
            assert worker.alive(), worker.log_tail()
        finally:
            worker.stop()

    assert finished.status == JobStatus.DONE
    assert (finished.pages_done, finished.pages_failed) == (PAGES, 0)
    assert_no_duplicates(newspaper_issue)
    assert faces_per_page(newspaper_issue) == clean_run_counts(newspaper_issue)


def test_an_import_whose_worker_is_killed_is_reaped_and_finishes(tmp_path, private_redis, http_server, settings):
    # The manifest's first answer hangs, so the import is still running when its worker is killed.
    manifest = json.dumps(p2_manifest(http_server.base_url, 3)).encode()
    json_type = {"Content-Type": "application/json"}
    url = http_server.script(
        "/manifest.json", Scripted(200, manifest, json_type, delay=60), Scripted(200, manifest, json_type)
    )
    # An import's stale limit is the task time limit: seconds here, in this process and in the workers.
    # The broker would only redeliver the lost task after an hour: the reaper is what brings it back.
    settings.CELERY_TASK_TIME_LIMIT, settings.CELERY_TASK_SOFT_TIME_LIMIT = 5, 4
    env = {"CELERY_TASK_TIME_LIMIT": "5", "CELERY_TASK_SOFT_TIME_LIMIT": "4", "CELERY_VISIBILITY_TIMEOUT": "3600"}
    env["IIIF_ALLOW_PRIVATE_HOSTS"] = "1"
    with broker(private_redis.url):
        first = WorkerProcess(tmp_path / "worker.log", broker_url=private_redis.url, queues="import", extra_env=env)
        try:
            document = document_request_import(corpus=corpus_get_or_create(name="Imports"), source=url)
            document_enqueue_import(document=document)
            wait_until(
                lambda: (
                    http_server.hits["/manifest.json"] >= 1
                    and Document.objects.get(pk=document.pk).import_status == JobStatus.RUNNING
                ),
                first,
                "the import to fetch its manifest",
            )
            first.kill()
        finally:
            first.stop()
        assert Document.objects.get(pk=document.pk).import_status == JobStatus.RUNNING, "killed mid-import"
        assert jobs_reap()["document_import"] == 0, "a claim younger than its stale limit is left alone"

        second = WorkerProcess(tmp_path / "worker.log", broker_url=private_redis.url, queues="import", extra_env=env)
        try:
            time.sleep(settings.CELERY_TASK_TIME_LIMIT + 1)
            # What celery beat sends every JOBS_REAP_INTERVAL seconds.
            assert jobs_reap()["document_import"] == 1
            finished = wait_until(
                lambda: (d := Document.objects.get(pk=document.pk)).import_status in FINISHED and d,
                second,
                "the import to finish",
                timeout=120,
            )
        finally:
            second.stop()

    assert finished.import_status == JobStatus.DONE, finished.import_error
    assert finished.pages.count() == 3
    assert finished.import_report["created"] == 3
    assert http_server.hits["/manifest.json"] == 2
