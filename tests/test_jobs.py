"""The job core (webapp.jobs): every kind of job is claimed, finished and reclaimed the same way, and reaped."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
from annotations.models import DatasetImport, Document, Export, Page
from detection.models import DetectionRun, InferenceJob, InferenceKind, PageDetection, TrainingJob
from tests.support.manifests import p2_manifest
from webapp import jobs
from webapp.jobs import JobStatus, job_claim, job_finish, jobs_reap

pytestmark = pytest.mark.django_db


def long_ago(kind: jobs.JobKind) -> timezone.datetime:
    return timezone.now() - kind.stale_after() - timedelta(seconds=1)


@pytest.fixture
def imported(http_server):
    url = http_server.add("/manifest.json", json.dumps(p2_manifest(http_server.base_url, 2)))
    return document_request_import(corpus=corpus_get_or_create(name="Jobs"), source=url)


def test_an_import_abandoned_past_its_stale_limit_is_claimed_again(imported):
    Document.objects.filter(pk=imported.pk).update(
        import_status=JobStatus.RUNNING, import_started_at=long_ago(jobs.DOCUMENT_IMPORT)
    )

    document = document_import_run(document_id=imported.pk)

    assert document.import_status == JobStatus.DONE, document.import_error
    assert Page.objects.filter(document=document).count() == 2


def test_a_running_import_is_not_claimed_twice(imported):
    Document.objects.filter(pk=imported.pk).update(import_status=JobStatus.RUNNING, import_started_at=timezone.now())

    assert document_import_run(document_id=imported.pk) is None
    assert Document.objects.get(pk=imported.pk).import_status == JobStatus.RUNNING


def test_a_finish_by_a_worker_that_lost_its_claim_changes_nothing(imported):
    first = job_claim(jobs.DOCUMENT_IMPORT, imported.pk)
    Document.objects.filter(pk=imported.pk).update(import_started_at=long_ago(jobs.DOCUMENT_IMPORT))
    second = job_claim(jobs.DOCUMENT_IMPORT, imported.pk)

    assert first is not None and second is not None
    assert not job_finish(jobs.DOCUMENT_IMPORT, imported.pk, claimed_at=first)
    assert Document.objects.get(pk=imported.pk).import_status == JobStatus.RUNNING
    assert job_finish(jobs.DOCUMENT_IMPORT, imported.pk, claimed_at=second)
    assert Document.objects.get(pk=imported.pk).import_status == JobStatus.DONE


@pytest.fixture
def sent(monkeypatch):
    """The ids each job kind's task was sent, instead of a broker."""
    from django.utils.module_loading import import_string

    sent = {}
    for kind in jobs.JOB_KINDS:
        if kind.task is not None:
            sent[kind.name] = []
            monkeypatch.setattr(import_string(kind.task), "delay", sent[kind.name].append)
    return sent


def test_the_reaper_re_enqueues_the_stale_claims_of_every_kind_and_only_those(corpus, sent):
    document = Document.objects.create(corpus=corpus, source="a", import_status=JobStatus.DONE)
    stale_import = Document.objects.create(
        corpus=corpus,
        source="b",
        import_status=JobStatus.RUNNING,
        import_started_at=long_ago(jobs.DOCUMENT_IMPORT),
    )
    Document.objects.create(
        corpus=corpus, source="c", import_status=JobStatus.RUNNING, import_started_at=timezone.now()
    )
    pages = [Page.objects.create(document=document, order=n, canvas_id=f"c{n}", width=10, height=10) for n in range(3)]
    run = DetectionRun.objects.create(corpus=corpus, document=document, detector="res10", status=JobStatus.RUNNING)
    stale_page = PageDetection.objects.create(
        run=run, page=pages[0], status=JobStatus.RUNNING, claimed_at=long_ago(jobs.PAGE_DETECTION)
    )
    PageDetection.objects.create(run=run, page=pages[1], status=JobStatus.RUNNING, claimed_at=timezone.now())
    cancelled = DetectionRun.objects.create(corpus=corpus, detector="res10", status=JobStatus.CANCELLED)
    PageDetection.objects.create(
        run=cancelled, page=pages[2], status=JobStatus.RUNNING, claimed_at=long_ago(jobs.PAGE_DETECTION)
    )
    stale_training = TrainingJob.objects.create(
        kind="rescorer", corpus=corpus, status=JobStatus.RUNNING, started_at=long_ago(jobs.TRAINING)
    )
    TrainingJob.objects.create(
        kind="rescorer",
        corpus=corpus,
        status=JobStatus.RUNNING,
        started_at=long_ago(jobs.TRAINING),
        cancel_requested=True,
    )
    stale_export = Export.objects.create(kind="csv", status=JobStatus.RUNNING, started_at=long_ago(jobs.EXPORT))
    Export.objects.create(kind="csv", status=JobStatus.RUNNING, started_at=timezone.now())
    Export.objects.create(kind="csv", status=JobStatus.DONE, started_at=long_ago(jobs.EXPORT))
    stale_dataset = DatasetImport.objects.create(
        corpus=corpus,
        name="set.zip",
        source="curator",
        status=JobStatus.RUNNING,
        started_at=long_ago(jobs.DATASET_IMPORT),
    )
    DatasetImport.objects.create(
        corpus=corpus, name="set.zip", source="curator", status=JobStatus.RUNNING, started_at=timezone.now()
    )
    stale_inference = InferenceJob.objects.create(
        kind=InferenceKind.EVALUATION, document=document, status=JobStatus.RUNNING, started_at=long_ago(jobs.INFERENCE)
    )

    reaped = jobs_reap()

    assert sent == {
        "page_detection": [stale_page.pk],
        "training": [stale_training.pk],
        "export": [stale_export.pk],
        "document_import": [stale_import.pk],
        "dataset_import": [stale_dataset.pk],
        "inference": [stale_inference.pk],
    }
    assert reaped == {name: len(ids) for name, ids in sent.items()}


def test_celery_beat_sends_the_reaper(settings):
    from webapp.celery import app

    app.loader.import_default_modules()
    scheduled = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]

    assert "webapp.tasks.jobs_reap_task" in scheduled
    assert "webapp.tasks.jobs_reap_task" in app.tasks


def test_the_jobs_at_work_on_a_document_are_its_import_its_pages_detection_and_its_inference(db):
    from annotations.tests.factories import make_corpus, make_document, make_face, make_page

    corpus = make_corpus()
    document, other = make_document(corpus=corpus), make_document(corpus=corpus)
    face = make_face(page=make_page(document=document))
    run = DetectionRun.objects.create(corpus=corpus, detector="res10", status=JobStatus.RUNNING)
    assert jobs.jobs_active_on_document(document.pk) == []

    detection = PageDetection.objects.create(run=run, page=face.page, status=JobStatus.PENDING)
    encoding = InferenceJob.objects.create(kind=InferenceKind.FACE_ENCODING, face=face, params={})
    evaluation = InferenceJob.objects.create(kind=InferenceKind.EVALUATION, document=document, params={})
    Document.objects.filter(pk=document.pk).update(import_status=JobStatus.RUNNING)
    assert jobs.jobs_active_on_document(document.pk) == ["page_detection", "document_import", "inference"]
    assert jobs.jobs_active_on_document(other.pk) == []

    # A page left pending by a cancelled run, and finished jobs, work on nothing.
    DetectionRun.objects.filter(pk=run.pk).update(status=JobStatus.CANCELLED)
    Document.objects.filter(pk=document.pk).update(import_status=JobStatus.FAILED)
    InferenceJob.objects.filter(pk=evaluation.pk).update(status=JobStatus.DONE)
    assert detection.status == JobStatus.PENDING
    assert jobs.jobs_active_on_document(document.pk) == ["inference"], "the face's encoding"
    InferenceJob.objects.filter(pk=encoding.pk).update(status=JobStatus.DONE)
    assert jobs.jobs_active_on_document(document.pk) == []
    InferenceJob.objects.filter(pk=evaluation.pk).update(status=JobStatus.RUNNING)
    assert jobs.jobs_active_on_document(document.pk) == ["inference"], "the document's evaluation"
