"""Local scans: folder and zip import, served through our own IIIF Image API and manifest."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from annotations.iiif_server.imaging import ImageUnavailable, page_derivative
from annotations.ingest.manifests import (
    corpus_get_or_create,
    document_import_from_input,
    document_import_run,
    document_request_import,
)
from annotations.models import Document
from tests.support.manifests import jpeg_bytes, write_scans
from webapp.jobs import JobStatus


def import_folder(source):
    document = document_request_import(corpus=corpus_get_or_create(name="Scans", is_public=True), source=str(source))
    return document_import_run(document_id=document.pk)


@pytest.fixture
def scanned_document(tmp_path, db):
    folder = write_scans(tmp_path / "scans", [(1200, 1600), (800, 600)] + [(300, 300)] * 9)
    return import_folder(folder)


def test_a_folder_becomes_a_document_in_natural_order(scanned_document):
    assert scanned_document.import_status == JobStatus.DONE, scanned_document.import_error
    pages = list(scanned_document.pages.order_by("order"))
    assert [p.label for p in pages[:3]] == ["page1", "page2", "page3"]
    assert pages[-1].label == "page11", "page11 sorts after page2 (natural order)"
    assert (pages[0].width, pages[0].height) == (1200, 1600)
    assert pages[0].image_service_version == "3"
    assert pages[0].local_path.endswith("/page1.jpg")


def test_reimporting_a_folder_keeps_the_same_pages(tmp_path, scanned_document):
    ids = sorted(scanned_document.pages.values_list("id", flat=True))
    again = import_folder(tmp_path / "scans")
    assert again.pk == scanned_document.pk
    assert sorted(again.pages.values_list("id", flat=True)) == ids


def test_info_json_describes_the_scan_as_image_api_3(client, scanned_document):
    page = scanned_document.pages.get(order=1)

    response = client.get(f"{page.image_service_id}/info.json")

    assert response.status_code == 200
    info = response.json()
    assert info["type"] == "ImageService3" and info["profile"] == "level1"
    assert (info["width"], info["height"]) == (1200, 1600)
    assert info["id"] == f"http://testserver{page.image_service_id}"
    assert info["tiles"][0]["width"] == 512


@pytest.mark.parametrize(
    ("region", "size", "expected"),
    [
        ("full", "max", (1200, 1600)),
        ("full", "300,", (300, 400)),
        ("full", ",400", (300, 400)),
        ("0,0,600,800", "!150,150", (112, 150)),
        ("100,200,400,300", "max", (400, 300)),
        ("pct:50,50,50,50", "max", (600, 800)),
        ("square", "200,200", (200, 200)),
        ("1000,1500,500,500", "max", (200, 100)),
    ],
)
def test_the_image_endpoint_honours_region_and_size(client, scanned_document, region, size, expected):
    page = scanned_document.pages.get(order=1)

    response = client.get(f"{page.image_service_id}/{region}/{size}/0/default.jpg")

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).size == expected


@pytest.mark.parametrize(
    ("region", "size"), [("0,0,0,10", "max"), ("5000,5000,10,10", "max"), ("full", "abc"), ("full", "99999,")]
)
def test_invalid_image_requests_get_a_400(client, scanned_document, region, size):
    page = scanned_document.pages.get(order=1)

    response = client.get(f"{page.image_service_id}/{region}/{size}/0/default.jpg")

    assert response.status_code == 400


def test_unknown_or_traversing_identifiers_get_a_404(client, scanned_document):
    assert client.get("/iiif/local/0123456789abcdef/page1.jpg/info.json").status_code == 404
    assert client.get("/iiif/local/0123456789abcdef/..%2F..%2Fsettings.py/info.json").status_code == 404


def test_the_generated_manifest_is_presentation_3_and_reimportable(client, scanned_document):
    response = client.get(f"/iiif/documents/{scanned_document.pk}/manifest.json")

    assert response.status_code == 200
    manifest = response.json()
    assert manifest["type"] == "Manifest"
    canvas = manifest["items"][0]
    body = canvas["items"][0]["items"][0]["body"]
    assert body["service"][0]["id"].startswith("http://testserver/iiif/local/")
    assert (canvas["width"], canvas["height"]) == (1200, 1600)


def test_a_zip_of_scans_imports_like_a_folder(tmp_path, db):
    archive = tmp_path / "scans.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("issue/p1.jpg", jpeg_bytes(400, 500))
        zf.writestr("issue/p2.jpg", jpeg_bytes(400, 500))
        zf.writestr("README.txt", "not an image")

    document = import_folder(archive)

    assert document.import_status == JobStatus.DONE, document.import_error
    assert document.pages.count() == 2


def test_a_zip_made_on_a_mac_imports_its_scans_and_none_of_its_resource_forks(tmp_path, db):
    # macOS's "Compress" adds an AppleDouble file (__MACOSX/…/._name) beside every file, named like an image.
    archive = tmp_path / "scans.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("issue/p1.jpg", jpeg_bytes(400, 500))
        zf.writestr("issue/p2.jpg", jpeg_bytes(400, 500))
        zf.writestr("__MACOSX/issue/._p1.jpg", b"\x00\x05\x16\x07 AppleDouble resource fork")
        zf.writestr("__MACOSX/issue/._p2.jpg", b"\x00\x05\x16\x07 AppleDouble resource fork")
        zf.writestr("issue/.DS_Store", b"\x00\x00\x00\x01Bud1")

    document = import_folder(archive)

    assert document.import_status == JobStatus.DONE, document.import_error
    assert [page.label for page in document.pages.order_by("order")] == ["issue_p1", "issue_p2"]
    assert document.import_report.get("skipped", []) == []


def test_a_folder_copied_from_a_mac_imports_its_scans_and_none_of_its_resource_forks(tmp_path, db):
    # On a disk that is not the Mac's own (a USB stick, a network share) macOS writes ._name beside each file.
    folder = tmp_path / "issue"
    folder.mkdir()
    for name in ("p1.jpg", "p2.jpg"):
        (folder / name).write_bytes(jpeg_bytes(400, 500))
        (folder / f"._{name}").write_bytes(b"\x00\x05\x16\x07 AppleDouble resource fork")

    document = import_folder(folder)

    assert document.import_status == JobStatus.DONE, document.import_error
    assert [page.label for page in document.pages.order_by("order")] == ["p1", "p2"]
    assert document.import_report.get("skipped", []) == []


def test_a_zip_slip_entry_fails_the_import_and_writes_nothing_outside(tmp_path, db):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escaped.jpg", jpeg_bytes(10, 10))

    document = import_folder(archive)

    assert document.import_status == JobStatus.FAILED
    assert "outside the archive" in document.import_error
    assert not (tmp_path.parent / "escaped.jpg").exists()


def test_a_zip_entry_named_too_long_for_the_disk_still_becomes_a_page(tmp_path, db):
    # The import failed with "Unexpected error: OSError [Errno 36] File name too long", naming nothing and
    # importing nothing; the name is shortened instead, its suffix kept.
    archive = tmp_path / "long.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("page1.jpg", jpeg_bytes(10, 10))
        zf.writestr("é" * 200 + ".jpg", jpeg_bytes(10, 10))

    document = import_folder(archive)

    assert document.import_status == JobStatus.DONE, document.import_error
    labels = [page.label for page in document.pages.order_by("order")]
    assert labels[0] == "page1" and labels[1].startswith("éé") and len(labels[1].encode()) <= 200


def test_corrupt_images_are_skipped_and_reported(tmp_path, db):
    folder = write_scans(tmp_path / "mixed", [(300, 400)])
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")

    document = import_folder(folder)

    assert document.import_status == JobStatus.DONE
    assert document.pages.count() == 1
    assert document.import_report["skipped"][0]["canvas_id"] == "broken.jpg"


def test_a_folder_with_no_images_fails_cleanly(tmp_path, db):
    (tmp_path / "empty").mkdir()

    document = import_folder(tmp_path / "empty")

    assert document.import_status == JobStatus.FAILED
    assert "No images" in document.import_error


def test_a_metadata_sidecar_gives_the_folder_a_label_and_date(tmp_path, db):
    folder = write_scans(tmp_path / "excelsior", [(300, 400)])
    (folder / "metadata.json").write_text(
        json.dumps(
            {
                "label": "Excelsior, 12 mars 1915",
                "date": "1915-03-12",
                "metadata": [{"label": "Title", "value": "Excelsior"}],
            }
        )
    )

    document = import_folder(folder)

    assert document.import_status == JobStatus.DONE, document.import_error
    assert document.label == "Excelsior, 12 mars 1915"
    assert str(document.date_start) == "1915-03-12"
    assert document.metadata == [{"label": "Title", "value": "Excelsior"}]


def test_a_sidecar_date_longer_than_the_date_field_is_cut(tmp_path, db):
    folder = write_scans(tmp_path / "long-date", [(300, 400)])
    (folder / "metadata.json").write_text(json.dumps({"date": "c. 1890 " + "x" * 300}))

    document = import_folder(folder)

    assert document.import_status == JobStatus.DONE, document.import_error
    assert document.date_text == ("c. 1890 " + "x" * 300)[:199] + "…"


def test_a_malformed_metadata_sidecar_fails_the_import_clearly(tmp_path, db):
    folder = write_scans(tmp_path / "bad", [(300, 400)])
    (folder / "metadata.json").write_text('{"metadata": "not a list"}')

    document = import_folder(folder)

    assert document.import_status == JobStatus.FAILED
    assert "metadata.json must be an object" in document.import_error


def test_zip_entries_that_flatten_to_the_same_name_are_all_kept(tmp_path, db):
    archive = tmp_path / "nested.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/b/c.jpg", jpeg_bytes(400, 500))
        zf.writestr("a_b_c.jpg", jpeg_bytes(200, 300))
        zf.writestr("A_B_C.JPG", jpeg_bytes(100, 150))

    document = import_folder(archive)

    assert document.import_status == JobStatus.DONE, document.import_error
    pages = list(document.pages.order_by("order"))
    assert sorted((p.width, p.height) for p in pages) == [(100, 150), (200, 300), (400, 500)]
    assert len({p.local_path.lower() for p in pages}) == 3


def test_folder_names_that_clean_to_the_same_name_are_all_kept(tmp_path, db):
    folder = tmp_path / "spaces"
    folder.mkdir()
    (folder / "page 1.jpg").write_bytes(jpeg_bytes(400, 500))
    (folder / "page_1.jpg").write_bytes(jpeg_bytes(200, 300))

    document = import_folder(folder)

    assert document.import_status == JobStatus.DONE, document.import_error
    assert sorted((p.width, p.height) for p in document.pages.all()) == [(200, 300), (400, 500)]


def test_an_uploaded_zip_shows_its_name_not_its_server_path(client, alice, corpus, settings):
    client.force_login(alice)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("p1.jpg", jpeg_bytes(40, 50))
    upload = SimpleUploadedFile("excelsior-1915.zip", buffer.getvalue())

    response = client.post("/api/documents/", {"upload": upload, "corpus": corpus.name})

    assert response.status_code == 202, response.content
    source = response.json()["source"]
    assert "excelsior-1915.zip" in source
    assert str(settings.MEDIA_ROOT) not in source and "/uploads/" not in source
    document = document_import_run(document_id=response.json()["id"])
    assert document.import_status == JobStatus.DONE, document.import_error
    assert document.label == "excelsior-1915"
    listed = client.get(f"/api/documents/{document.pk}/").json()
    assert str(settings.MEDIA_ROOT) not in json.dumps(listed)
    again = client.post(
        "/api/documents/",
        {"upload": SimpleUploadedFile("excelsior-1915.zip", buffer.getvalue()), "corpus": corpus.name},
    )
    assert again.json()["id"] == document.pk, "the same upload re-imports the same document"


def zip_with(archive, members):
    with zipfile.ZipFile(archive, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return archive


SIDECAR = {
    "label": "Le Petit Journal, 1er janvier 1899",
    "date": "1899-01-01",
    "metadata": [{"label": "Title", "value": "Le Petit Journal"}],
}


@pytest.mark.parametrize("folder", ["", "issue/"])
def test_a_zip_honours_its_metadata_sidecar_like_a_folder(tmp_path, db, folder):
    archive = zip_with(
        tmp_path / "upload.zip",
        {f"{folder}p1.jpg": jpeg_bytes(400, 500), f"{folder}metadata.json": json.dumps(SIDECAR)},
    )

    document = import_folder(archive)

    assert document.import_status == JobStatus.DONE, document.import_error
    assert document.label == "Le Petit Journal, 1er janvier 1899"
    assert str(document.date_start) == "1899-01-01"
    assert document.metadata == [{"label": "Title", "value": "Le Petit Journal"}]
    assert document.pages.count() == 1


def test_a_zip_without_sidecar_is_labelled_by_its_name(tmp_path, db):
    document = import_folder(zip_with(tmp_path / "petit-journal-1899.zip", {"p1.jpg": jpeg_bytes(400, 500)}))

    assert document.import_status == JobStatus.DONE, document.import_error
    assert document.label == "petit-journal-1899"
    assert document.date_start is None


def test_an_uploaded_zip_is_labelled_by_the_uploads_name_not_the_stored_file(tmp_path, db, alice):
    content = zip_with(tmp_path / "any.zip", {"p1.jpg": jpeg_bytes(400, 500)}).read_bytes()
    upload = SimpleUploadedFile("Excelsior 1915-03-12.zip", content)
    document = document_import_from_input(user=alice, corpus_name="Zips", upload=upload)

    document = document_import_run(document_id=document.pk)

    assert document.import_status == JobStatus.DONE, document.import_error
    assert document.label == "Excelsior 1915-03-12"


def test_a_zip_with_two_sidecars_fails_clearly(tmp_path, db):
    archive = zip_with(
        tmp_path / "two.zip",
        {"a/p1.jpg": jpeg_bytes(40, 50), "a/metadata.json": "{}", "b/metadata.json": "{}"},
    )

    document = import_folder(archive)

    assert document.import_status == JobStatus.FAILED
    assert "more than one metadata.json" in document.import_error


def test_an_uploaded_zip_goes_with_the_last_document_made_from_it(
    tmp_path, db, alice, settings, django_capture_on_commit_callbacks
):
    content = zip_with(tmp_path / "any.zip", {"p1.jpg": jpeg_bytes(400, 500)}).read_bytes()
    # The same zip uploaded into two corpora: two documents, one stored file (named by its content).
    first, second = (
        document_import_from_input(user=alice, corpus_name=name, upload=SimpleUploadedFile("issue.zip", content))
        for name in ("Zips", "Other zips")
    )
    assert first.upload_path == second.upload_path
    stored = settings.MEDIA_ROOT / first.upload_path

    with django_capture_on_commit_callbacks(execute=True):
        first.delete()
    assert stored.is_file(), "another document still imports from it"
    with django_capture_on_commit_callbacks(execute=True):
        second.delete()

    assert not stored.exists()
    assert not stored.parent.exists()
    assert (settings.MEDIA_ROOT / "uploads").is_dir()


@pytest.mark.django_db(transaction=True)
def test_a_zip_uploaded_again_as_its_last_document_goes_is_kept(tmp_path, alice, settings, monkeypatch):
    """The deletion's clean-up of the zip runs after the new upload stored the file and before its
    document is committed: it waits for that document and keeps the file."""
    from annotations import signals
    from annotations.ingest import manifests

    # Committed for real here: the imports are run below rather than queued.
    monkeypatch.setattr(manifests, "document_enqueue_import", lambda document: None)
    content = zip_with(tmp_path / "any.zip", {"p1.jpg": jpeg_bytes(400, 500)}).read_bytes()
    old = document_import_from_input(user=alice, corpus_name="Zips", upload=SimpleUploadedFile("issue.zip", content))
    stored, old_id = settings.MEDIA_ROOT / old.upload_path, old.pk
    cleanup_started = threading.Event()
    delete_unused = signals.upload_delete_unused

    def observed_cleanup(**kwargs):
        cleanup_started.set()
        delete_unused(**kwargs)

    monkeypatch.setattr(signals, "upload_delete_unused", observed_cleanup)
    # Between the file stored and the transaction that makes its document (SQLite's write lock would
    # hold the deletion back inside it; PostgreSQL's would not).
    make_document = manifests._document_import_queue
    deleting = threading.Thread(target=lambda: (old.delete(), connection.close()))

    def delete_the_old_document_meanwhile(**kwargs):
        deleting.start()
        assert cleanup_started.wait(10), "the old document's deletion never committed"
        # Time for the clean-up to remove the file, were it not waiting.
        time.sleep(0.3)
        return make_document(**kwargs)

    monkeypatch.setattr(manifests, "_document_import_queue", delete_the_old_document_meanwhile)
    new = document_import_from_input(
        user=alice, corpus_name="Other zips", upload=SimpleUploadedFile("issue.zip", content)
    )
    deleting.join(10)

    assert not deleting.is_alive() and not Document.objects.filter(pk=old_id).exists()
    assert new.upload_path == old.upload_path and stored.is_file()
    assert document_import_run(document_id=new.pk).import_status == JobStatus.DONE


@pytest.mark.parametrize("stored_path", ["{other}/{name}", "{own}/../{other}/{name}", "/etc/{name}", "{own}"])
def test_a_page_reads_scans_only_from_its_own_document_s_folder(tmp_path, scanned_document, stored_path):
    """Derivatives (exports, evaluation) read a local page's file as the image routes do: from its
    own document's folder, by a plain file name, and nowhere else."""
    other_folder = tmp_path / "other"
    write_scans(other_folder, [(40, 50)])
    other = import_folder(other_folder)
    page = scanned_document.pages.order_by("order").first()
    name = other.pages.get().local_path.rpartition("/")[2]
    page.local_path = stored_path.format(other=other.local_folder, own=scanned_document.local_folder, name=name)

    with pytest.raises(ImageUnavailable):
        page_derivative(page, max_size=64)


def test_a_page_of_a_local_scan_reads_its_derivative_from_its_own_folder(scanned_document):
    page = scanned_document.pages.order_by("order").first()

    derivative = page_derivative(page, max_size=64)

    assert max(derivative.image.size) == 64
