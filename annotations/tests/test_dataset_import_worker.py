"""End to end: a dataset zip uploaded through the API is imported by a real Celery worker on the import queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from annotations.ingest.dataset_uploads import DATASET_UPLOADS
from annotations.models import DatasetImport, Document, Face
from annotations.tests.test_dataset_upload_jobs import client_of, dataset_zip, upload
from tests.support.worker import WorkerProcess
from tests.test_fault_tolerance import broker, wait_until
from webapp.jobs import FINISHED_STATUSES, JobStatus

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_imports_an_uploaded_dataset_and_deletes_its_zip(tmp_path, private_redis, alice, corpus):
    with broker(private_redis.url):
        worker = WorkerProcess(tmp_path / "worker.log", broker_url=private_redis.url, queues="import")
        try:
            queued = upload(alice, dataset_zip(), corpus=corpus.pk, source="ai-agent")
            assert queued.status_code == 202, queued.content
            job = wait_until(
                lambda: (
                    (found := DatasetImport.objects.get(pk=queued.json()["id"])).status in FINISHED_STATUSES and found
                ),
                worker,
                "the dataset import to finish",
                timeout=120,
            )
        finally:
            worker.stop()

    assert job.status == JobStatus.DONE, job.error
    shown = client_of(alice).get(queued.json()["url"]).json()
    assert shown["report"]["ok"] and [d["created"] for d in shown["report"]["documents"]] == [1]
    (document,) = Document.objects.filter(corpus=corpus, source="upload:faces-set.zip#d1")
    assert Face.objects.get(page__document=document).source == "ai-agent"
    assert list((Path(settings.MEDIA_ROOT) / DATASET_UPLOADS).iterdir()) == []
