"""A dataset zip uploaded on the web or the API is imported by a worker: stored, queued, imported once, then
deleted; its report kept for the curators of its corpus, in the uploader's language."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from annotations.ingest.dataset_uploads import DATASET_UPLOADS, dataset_upload_import
from annotations.models import DatasetImport, Document, Face
from tests.support.manifests import jpeg_bytes
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


def dataset_zip(*, missing_image: bool = False) -> bytes:
    """One document, d1, of one page with one face; with `missing_image`, a second page whose image is not there."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        pages = ["d1_p0001", "d1_p0002"] if missing_image else ["d1_p0001"]
        for stem in pages:
            shape = {"label": "face", "points": [[10, 10], [60, 70]], "shape_type": "rectangle", "flags": {}}
            record = {"shapes": [shape], "imagePath": f"{stem}.jpg", "imageWidth": 200, "imageHeight": 150}
            archive.writestr(f"{stem}.json", json.dumps(record))
        archive.writestr("d1_p0001.jpg", jpeg_bytes(200, 150))
    return buffer.getvalue()


def client_of(user, language: str = "en") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_authenticate(user)
    return client


def upload(user, content: bytes, *, language: str = "en", **fields):
    file = SimpleUploadedFile("faces-set.zip", content)
    return client_of(user, language).post("/api/imports/annotations/", {"file": file, **fields})


def stored_zips() -> list[Path]:
    return sorted((Path(settings.MEDIA_ROOT) / DATASET_UPLOADS).glob("*/*"))


def test_an_upload_is_stored_and_queued_once_committed_then_imported_and_deleted(
    alice, corpus, monkeypatch, django_capture_on_commit_callbacks
):
    from annotations.tasks import dataset_import_task

    sent = []
    monkeypatch.setattr(dataset_import_task, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(alice, dataset_zip(), corpus=corpus.pk, source="ai-agent")

    assert response.status_code == 202, response.content
    job = DatasetImport.objects.get()
    assert sent == [job.pk]
    assert response.json()["url"] == f"/api/imports/datasets/{job.pk}/"
    assert (job.status, job.name, job.source, job.created_by, job.language) == (
        JobStatus.PENDING,
        "faces-set.zip",
        "ai-agent",
        alice,
        "en",
    )
    assert stored_zips() == [Path(settings.MEDIA_ROOT) / job.upload_path]
    assert stored_zips()[0].read_bytes() == dataset_zip()
    assert not Document.objects.exists(), "nothing imported in the request"

    dataset_upload_import(import_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.upload_path, job.report["ok"]) == (JobStatus.DONE, "", True)
    assert [(d["key"], d["pages"], d["created"]) for d in job.report["documents"]] == [("d1", 1, 1)]
    assert Face.objects.get().page.document.created_by == alice
    assert list((Path(settings.MEDIA_ROOT) / DATASET_UPLOADS).iterdir()) == [], "the zip and its folder are gone"
    assert dataset_upload_import(import_id=job.pk) is None, "a second delivery finds nothing to claim"


def test_an_import_that_crashes_is_failed_with_its_error_and_its_zip_deleted(alice, corpus):
    job = DatasetImport.objects.get(pk=upload(alice, dataset_zip(), corpus=corpus.pk).json()["id"])
    # The stored zip lost before the worker came (a media volume swapped, a clean-up gone wrong).
    Path(settings.MEDIA_ROOT, job.upload_path).unlink()

    dataset_upload_import(import_id=job.pk)

    shown = client_of(alice).get(f"/api/imports/datasets/{job.pk}/").json()
    assert shown["status"] == "failed" and shown["report"] == {}
    assert shown["error"].startswith("Unexpected error: FileNotFoundError")
    assert list((Path(settings.MEDIA_ROOT) / DATASET_UPLOADS).iterdir()) == []
    assert DatasetImport.objects.get(pk=job.pk).upload_path == ""


def test_the_report_is_in_the_uploader_s_language(alice, corpus):
    job_id = upload(alice, dataset_zip(missing_image=True), language="fr", corpus=corpus.pk).json()["id"]

    dataset_upload_import(import_id=job_id)

    report = client_of(alice).get(f"/api/imports/datasets/{job_id}/").json()["report"]
    assert not report["ok"]
    (refused,) = [file for file in report["files"] if file["errors"]]
    assert refused["errors"] == ["son image d1_p0002.jpg n’est pas dans le dossier"]


def test_only_the_curators_of_its_corpus_follow_an_import(alice, bob, charlie, corpus):
    job_id = upload(alice, dataset_zip(), corpus=corpus.pk).json()["id"]
    url = f"/api/imports/datasets/{job_id}/"

    assert client_of(alice).get(url).status_code == 200
    assert client_of(bob).get(url).status_code == 403
    assert client_of(charlie).get(url).status_code == 404
    assert client_of(charlie).get(url).json() == client_of(charlie).get("/api/imports/datasets/999999/").json()
    assert client_of(None).get(url).status_code in (401, 403)
    assert client_of(alice).get(f"{url}?verbose=1").status_code == 400


def test_a_corpus_deleted_before_its_import_ran_takes_the_stored_zip_with_it(
    alice, corpus, django_capture_on_commit_callbacks
):
    job = DatasetImport.objects.get(pk=upload(alice, dataset_zip(), corpus=corpus.pk).json()["id"])
    assert stored_zips()

    with django_capture_on_commit_callbacks(execute=True):
        corpus.delete()

    assert not DatasetImport.objects.filter(pk=job.pk).exists()
    assert stored_zips() == []
    assert dataset_upload_import(import_id=job.pk) is None


def test_the_exports_page_lists_a_user_s_own_imports_of_corpora_they_still_curate(alice, corpus, client):
    from annotations.models import CorpusMembership, CorpusRole

    mine = DatasetImport.objects.get(pk=upload(alice, dataset_zip(), corpus=corpus.pk).json()["id"])
    DatasetImport.objects.create(corpus=corpus, name="someone-else.zip", source="curator")
    client.force_login(alice)

    listed = client.get("/exports/").content.decode()
    assert f'id="dataset-import-{mine.pk}"' in listed and "someone-else.zip" not in listed

    CorpusMembership.objects.filter(corpus=corpus, user=alice).update(role=CorpusRole.VIEWER)
    assert f'id="dataset-import-{mine.pk}"' not in client.get("/exports/").content.decode()
