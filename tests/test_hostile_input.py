"""Hostile and broken input gets a clear 4xx or a failed job with a message; nothing crashes or is lost."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
from annotations.models import Document, Page
from tests.support.manifests import jpeg_bytes, p2_manifest
from webapp.jobs import JobStatus

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def db_state() -> tuple[int, int]:
    return Document.objects.count(), Page.objects.count()


@pytest.fixture
def curator_client(client, alice, corpus):
    client.force_login(alice)
    return client


@pytest.fixture
def local_document(tmp_path, db):
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "p1.jpg").write_bytes(jpeg_bytes(600, 800))
    document = document_request_import(corpus=corpus_get_or_create(name="Scans"), source=str(folder))
    return document_import_run(document_id=document.pk)


def test_xss_in_manifest_labels_and_metadata_is_escaped_in_pages(client, http_server, db):
    manifest = p2_manifest(http_server.base_url, 1, label=XSS)
    manifest["metadata"].append({"label": XSS, "value": XSS})
    manifest["sequences"][0]["canvases"][0]["label"] = XSS
    url = http_server.add("/manifest.json", json.dumps(manifest))
    document = document_import_run(
        document_id=document_request_import(corpus=corpus_get_or_create(name="Public"), source=url).pk
    )
    page = document.pages.get()

    for path in ["/", f"/documents/{document.pk}/", f"/pages/{page.pk}/"]:
        response = client.get(path)
        assert response.status_code == 200
        html = response.content.decode()
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert" in html


def test_a_decompression_bomb_scan_is_skipped_and_reported(tmp_path, settings, db):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    folder = tmp_path / "bomb"
    folder.mkdir()
    Image.new("L", (3000, 3000)).save(folder / "bomb.png")  # 9 Mpx, tiny on disk
    (folder / "ok.jpg").write_bytes(jpeg_bytes(500, 500))

    document = document_import_run(
        document_id=document_request_import(corpus=corpus_get_or_create(name="Scans"), source=str(folder)).pk
    )

    assert document.import_status == JobStatus.DONE
    assert [p.label for p in document.pages.all()] == ["ok"]
    assert document.import_report["skipped"][0]["canvas_id"] == "bomb.png"


def test_a_scan_replaced_by_a_truncated_file_gets_a_400_not_a_500(client, local_document, settings):
    page = local_document.pages.get()
    scan = settings.LOCAL_IMAGES_DIR / page.local_path
    scan.write_bytes(scan.read_bytes()[:200])

    response = client.get(f"{page.image_service_id}/full/max/0/default.jpg")

    assert response.status_code == 400
    assert b"unreadable or truncated" in response.content.lower()
    assert Page.objects.filter(pk=page.pk).exists()


def test_an_oversize_upload_is_refused_with_400_and_nothing_stored(curator_client, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    before = db_state()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("p1.jpg", jpeg_bytes(800, 800))
    upload = SimpleUploadedFile("scans.zip", archive.getvalue(), content_type="application/zip")

    response = curator_client.post("/api/documents/", {"upload": upload, "corpus": "Excelsior"})

    assert response.status_code == 400
    assert "too large" in json.dumps(response.json())
    assert db_state() == before


def test_a_non_zip_upload_is_refused_with_400(curator_client):
    before = db_state()
    upload = SimpleUploadedFile("scans.zip", b"this is not a zip", content_type="application/zip")

    response = curator_client.post("/api/documents/", {"upload": upload, "corpus": "Excelsior"})

    assert response.status_code == 202
    document = Document.objects.get()
    assert document_import_run(document_id=document.pk).import_status == JobStatus.FAILED
    assert "not a valid zip" in Document.objects.get().import_error
    assert Page.objects.count() == before[1]


def test_an_unknown_source_is_a_400_with_the_reason(curator_client, settings, tmp_path):
    settings.IMPORT_SERVER_ROOTS = [str(tmp_path)]
    before = db_state()

    response = curator_client.post("/api/documents/", {"source": str(tmp_path / "nowhere"), "corpus": "Excelsior"})

    assert response.status_code == 400
    assert "Source not found" in json.dumps(response.json())
    assert db_state() == before


def test_anonymous_users_cannot_import(client, db):
    response = client.post("/api/documents/", {"source": "ark:/12148/bpt6k46000341"}, content_type="application/json")

    assert response.status_code in {401, 403}
    assert db_state() == (0, 0)


def test_a_viewer_cannot_import_into_a_corpus(client, bob, corpus):
    client.force_login(bob)

    response = client.post(
        "/api/documents/",
        {"source": "ark:/12148/bpt6k46000341", "corpus": "Excelsior"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert db_state() == (0, 0)


def test_a_reimport_that_fails_keeps_the_pages_already_stored(http_server, db):
    url = http_server.add("/manifest.json", json.dumps(p2_manifest(http_server.base_url, 2)))
    corpus = corpus_get_or_create(name="Press")
    first = document_import_run(document_id=document_request_import(corpus=corpus, source=url).pk)
    assert first.pages.count() == 2
    http_server.add("/manifest.json", "{ broken")

    again = document_import_run(document_id=document_request_import(corpus=corpus, source=url).pk)

    assert again.import_status == JobStatus.FAILED
    assert again.pages.count() == 2
