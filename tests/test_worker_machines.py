"""A worker on another machine: it shares the database and Redis, and no disk (#19 point 2, docs/deploy.md).

The worker runs with its own VISAGES_DATA_DIR (a separate folder standing for another machine's disk).
Pages of remote IIIF documents need nothing else; pages of local scans need the scans' volume, and a
worker without it fails them with a message that says so.
"""

from __future__ import annotations

import json
import time

import pytest

from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
from annotations.models import Face
from detection.models import DetectionRun
from detection.services import run_create
from tests.support.fixed_cost import registered
from tests.support.manifests import jpeg_bytes, p2_manifest, write_scans
from tests.support.worker import WorkerProcess
from tests.test_fault_tolerance import broker
from webapp.jobs import JobStatus

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PAGES = 3
TIMEOUT_S = 120


def finished_run(run, worker: WorkerProcess) -> DetectionRun:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        run = DetectionRun.objects.get(pk=run.pk)
        if run.is_finished:
            return run
        time.sleep(0.2)
    pytest.fail(f"the run did not finish:\n{worker.log_tail()}")


def test_a_worker_with_its_own_data_dir_detects_remote_pages_and_says_what_needs_shared_storage(
    tmp_path, private_redis, http_server
):
    http_server.add("/iiif/doc/manifest.json", json.dumps(p2_manifest(http_server.base_url, PAGES)))
    http_server.add_under("/iiif/doc/f", jpeg_bytes(400, 600), "image/jpeg")
    corpus = corpus_get_or_create(name="Remote")
    remote = document_import_run(
        document_id=document_request_import(corpus=corpus, source=http_server.url("/iiif/doc/manifest.json")).pk
    )
    assert remote.import_status == JobStatus.DONE, remote.import_error
    local = document_import_run(
        document_id=document_request_import(corpus=corpus, source=str(write_scans(tmp_path / "scans", [(400, 600)]))).pk
    )
    assert local.import_status == JobStatus.DONE, local.import_error
    other_machine = tmp_path / "other-machine"
    environment = {"REDIS_URL": private_redis.url, "IIIF_ALLOW_PRIVATE_HOSTS": "1", "IIIF_DEFAULT_MIN_INTERVAL": "0.05"}

    with broker(private_redis.url), registered() as detector:
        worker = WorkerProcess(
            tmp_path / "worker.log",
            broker_url=private_redis.url,
            data_dir=other_machine,
            app="tests.support.fixed_cost_worker",
            extra_env=environment,
        )
        try:
            remote_run = finished_run(
                run_create(user=None, document=remote, detector=detector, attribute_model=""), worker
            )
            local_run = finished_run(
                run_create(user=None, document=local, detector=detector, attribute_model=""), worker
            )
        finally:
            worker.stop()

    # Remote pages: fetched by the worker over HTTP, one face each, nothing needed on its disk.
    assert remote_run.status == JobStatus.DONE, worker.log_tail()
    assert (remote_run.pages_done, remote_run.pages_failed) == (PAGES, 0)
    assert Face.objects.filter(page__document=remote).count() == PAGES
    assert sum(hits for path, hits in http_server.hits.items() if path.startswith("/iiif/doc/f")) == PAGES
    # It was the other machine's settings that ran: its own data dir, not the test's.
    assert (other_machine / "secret_key").exists()
    # Local scans live on the disk of the machine that imported them: this worker has no copy.
    assert local_run.pages_failed == 1
    (failed,) = local_run.page_tasks.all()
    assert failed.status == JobStatus.FAILED
    assert "Local image missing" in failed.error


def test_a_derivative_fetched_on_another_machine_is_served_through_the_shared_media_volume(
    tmp_path, private_redis, http_server, client, settings
):
    # A host that sends no CORS headers: the page asks the web for a derivative, a worker of the
    # import queue on another machine fetches it, and the web serves it from the shared volume.
    http_server.add("/iiif/doc/manifest.json", json.dumps(p2_manifest(http_server.base_url, 1)))
    http_server.add_under("/iiif/doc/f", jpeg_bytes(400, 600), "image/jpeg")
    corpus = corpus_get_or_create(name="Remote", is_public=True)
    document = document_import_run(
        document_id=document_request_import(corpus=corpus, source=http_server.url("/iiif/doc/manifest.json")).pk
    )
    assert document.import_status == JobStatus.DONE, document.import_error
    page = document.pages.get()
    environment = {
        "REDIS_URL": private_redis.url,
        "IIIF_ALLOW_PRIVATE_HOSTS": "1",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }

    with broker(private_redis.url):
        worker = WorkerProcess(
            tmp_path / "worker.log",
            broker_url=private_redis.url,
            queues="import",
            data_dir=tmp_path / "other-machine",
            extra_env=environment,
        )
        try:
            first = client.get(f"/iiif/pages/{page.pk}/derivative.jpg")
            deadline = time.monotonic() + 60
            response = first
            while response.status_code == 202 and time.monotonic() < deadline:
                time.sleep(0.2)
                response = client.get(f"/iiif/pages/{page.pk}/derivative.jpg")
        finally:
            worker.stop()

    assert first.status_code == 202
    assert response.status_code == 200, worker.log_tail()
    assert response["Content-Type"] == "image/jpeg"
