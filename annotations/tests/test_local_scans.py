"""Local scans: folder and zip import, served through our own IIIF Image API and manifest."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from PIL import Image

from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
from tests.support.manifests import jpeg_bytes
from webapp.jobs import JobStatus


def write_scans(folder, sizes):
    folder.mkdir(parents=True, exist_ok=True)
    for index, (w, h) in enumerate(sizes, start=1):
        (folder / f"page{index}.jpg").write_bytes(jpeg_bytes(w, h, label=f"page {index}"))
    return folder


def import_folder(source):
    document = document_request_import(corpus=corpus_get_or_create(name="Scans"), source=str(source))
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


def test_a_zip_slip_entry_fails_the_import_and_writes_nothing_outside(tmp_path, db):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escaped.jpg", jpeg_bytes(10, 10))

    document = import_folder(archive)

    assert document.import_status == JobStatus.FAILED
    assert "outside the archive" in document.import_error
    assert not (tmp_path.parent / "escaped.jpg").exists()


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


def test_a_malformed_metadata_sidecar_fails_the_import_clearly(tmp_path, db):
    folder = write_scans(tmp_path / "bad", [(300, 400)])
    (folder / "metadata.json").write_text('{"metadata": "not a list"}')

    document = import_folder(folder)

    assert document.import_status == JobStatus.FAILED
    assert "metadata.json must be an object" in document.import_error
