"""End to end: local newspaper scans detected by a real Celery worker process, through Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from PIL import Image

from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
from annotations.models import Face
from detection.inference.types import Detection
from detection.models import DetectionRun
from detection.services import run_create
from tests.support.synthetic_pages import newspaper_page
from tests.support.worker import database_url, redis_answers
from webapp.jobs import JobStatus

pytestmark = [pytest.mark.worker, pytest.mark.realmodel, pytest.mark.django_db(transaction=True)]

RUN_TIMEOUT_S = 180
SECOND_PAGE_FACES = [(200, 300, 150), (900, 350, 90), (300, 1400, 60), (1100, 1500, 110), (700, 2000, 48)]


@pytest.fixture
def worker(tmp_path):
    """A Celery worker on the inference and default queues, sharing this test's database and files."""
    if not redis_answers(settings.CELERY_BROKER_URL):
        pytest.skip(f"no Redis answers at {settings.CELERY_BROKER_URL} (scripts/test.sh starts one; set REDIS_URL)")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LOCAL_IMAGES_DIR": str(settings.LOCAL_IMAGES_DIR),
        "IIIF_CACHE_DIR": str(settings.IIIF_CACHE_DIR),
        "DETECTION_MAX_DERIVATIVE": str(settings.DETECTION_MAX_DERIVATIVE),
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "webapp",
                "worker",
                "-Q",
                "inference,default",
                "-c",
                "1",
                "--pool=solo",
                "-l",
                "info",
                "-n",
                f"e2e-{uuid.uuid4().hex[:8]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],  # fmt: skip
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    process.log_path = log_path
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_run(run_id: int, worker) -> DetectionRun:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        run = DetectionRun.objects.get(pk=run_id)
        if run.is_finished:
            return run
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}):\n{worker.log_path.read_text()[-4000:]}")
        time.sleep(0.5)
    pytest.fail(f"run {run_id} not finished after {RUN_TIMEOUT_S} s:\n{worker.log_path.read_text()[-4000:]}")


def test_a_real_worker_detects_faces_on_imported_scans_and_stores_them_in_canvas_pixels(tmp_path, worker):
    scans = tmp_path / "scans"
    scans.mkdir()
    truths = {}
    for name, (pixels, boxes) in {
        "p1.jpg": newspaper_page(),
        "p2.jpg": newspaper_page(1800, 2400, SECOND_PAGE_FACES, seed=1),
    }.items():
        Image.fromarray(pixels).save(scans / name, "JPEG", quality=90)
        truths[name[:2]] = boxes
    document = document_request_import(corpus=corpus_get_or_create(name="Synthetic press"), source=str(scans))
    document = document_import_run(document_id=document.pk)
    assert document.import_status == JobStatus.DONE, document.import_error

    run = run_create(user=None, document=document, detector="res10")
    run = wait_for_run(run.pk, worker)

    assert run.status == JobStatus.DONE, list(run.page_tasks.values_list("error", flat=True))
    assert (run.pages_done, run.pages_failed) == (2, 0)
    for page in document.pages.all():
        faces = list(Face.objects.filter(page=page))
        assert all(f.x + f.w <= page.width and f.y + f.h <= page.height for f in faces)
        found = [Detection.from_xywh(*face.as_box(), face.confidence) for face in faces]
        truth = [Detection.from_xywh(*box, 1.0) for box in truths[page.label]]
        matched = [t for t in truth if any(t.iou(f) >= 0.4 for f in found)]
        assert len(matched) >= len(truth) - 2, f"page {page.label}: {len(matched)}/{len(truth)} faces in canvas space"
        assert {face.source for face in faces} == {"res10@res10_300x300_ssd_iter_140000"}
        assert {face.detection_run_id for face in faces} == {run.pk}
    assert run.faces_found == Face.objects.filter(page__document=document).count()
