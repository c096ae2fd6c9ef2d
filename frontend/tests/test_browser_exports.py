"""Browser: a curator requests an export from the UI, follows its progress and downloads it."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from annotations.exports.services import export_build
from annotations.ingest.dataset_uploads import dataset_upload_import, dataset_upload_queue
from annotations.ingest.manifests import corpus_get_or_create
from annotations.models import DatasetImport, Document, Export, ExportKind, Face, FaceStatus
from annotations.tests.factories import add_faces, export_document, scanned_document
from webapp.jobs import JobStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def curator_page(page, live_server, alice, corpus, tmp_path):
    """Alice (curator of `corpus`) logged in, with a scanned document of five faces in that corpus."""
    document = scanned_document(tmp_path / "scans", corpus=corpus)
    add_faces(document)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-password-123")
    page.click("#login-submit")
    page.wait_for_url(f"{live_server.url}/")
    page.document = document
    return page


def test_a_curator_exports_a_document_as_csv_and_downloads_it(curator_page, live_server, eager_celery, tmp_path):
    page = curator_page
    document = page.document
    page.click("text=Exports")
    page.select_option("#export-kind", "csv")
    page.select_option("#export-document", str(document.pk))
    page.click("#export-submit")

    export = Export.objects.get()
    row = page.locator(f"#export-{export.pk}")
    expect(row.locator("[data-role=status]")).to_have_text("Done", timeout=20000)
    page.screenshot(path=str(tmp_path / "exports.png"), full_page=True)
    with page.expect_download() as download_info:
        row.locator("[data-role=download]").click()
    path = Path(download_info.value.path())

    rows = list(csv.DictReader(path.open()))
    assert download_info.value.suggested_filename == f"visages-export-{export.pk}-csv.csv"
    assert len(rows) == 4 and {row["document"] for row in rows} == {str(document.pk)}
    assert export.scope == {"document": document.pk}


def test_the_exports_page_follows_a_build_in_progress(curator_page, live_server, alice):
    page = curator_page
    export = Export.objects.create(kind="index", scope={"document": page.document.pk}, requested_by=alice)
    page.goto(f"{live_server.url}/exports/")
    row = page.locator(f"#export-{export.pk}")
    expect(row.locator("[data-role=status]")).to_have_text("Pending")
    expect(row.locator("[data-role=download]")).to_be_hidden()

    export_build(export_id=export.pk)

    expect(row.locator("[data-role=status]")).to_have_text("Done", timeout=10000)
    expect(row.locator("[data-role=count]")).to_have_text("2/2")
    expect(row.locator("[data-role=download]")).to_be_visible()
    assert Export.objects.get().status == JobStatus.DONE


def test_the_document_page_exports_only_reviewed_pages(curator_page, live_server, eager_celery):
    page = curator_page
    document = page.document
    document.pages.filter(order=2).update(review_status="reviewed")
    page.goto(f"{live_server.url}/documents/{document.pk}/")
    form = page.locator("#document-export-form")
    form.locator("select[name=kind]").select_option("index")
    form.locator("input[name=review_status]").check()
    form.locator("button[type=submit]").click()

    export = Export.objects.get()
    expect(page.locator(f"#export-{export.pk} [data-role=status]")).to_have_text("Done", timeout=20000)
    export.refresh_from_db()
    records = json.loads(Path(export.file.path).read_text())
    assert export.scope == {"document": document.pk, "review_status": "reviewed"}
    assert [record["page"] for record in records] == [2]


def test_a_curator_imports_a_labelme_file_and_sees_the_report(curator_page, live_server, tmp_path):
    page = curator_page
    document = page.document
    labelme = {
        "version": "5.5.0",
        "flags": {},
        "shapes": [
            {"label": "face", "points": [[700, 500], [600, 400]], "shape_type": "rectangle", "flags": {"female": True}},
            {"label": "cat", "points": [[10, 10], [20, 20]], "shape_type": "rectangle", "flags": {}},
        ],
        "imagePath": "page2.jpg",
        "imageData": None,
        "imageWidth": 800,
        "imageHeight": 600,
    }
    upload = tmp_path / "page2.json"
    upload.write_text(json.dumps(labelme))
    page.goto(f"{live_server.url}/exports/?document={document.pk}")
    page.set_input_files("#annotation-import-file", str(upload))
    page.click("#annotation-import-submit")

    report = page.locator("#annotation-import-report")
    expect(report).to_contain_text("0 files imported, 1 rejected", timeout=10000)
    expect(report).to_contain_text("shape 2: unknown label 'cat'")
    assert document.pages.get(order=2).faces.count() == 1, "the rejected file added nothing"


def test_a_curator_brings_a_labelme_dataset_in_as_new_documents(
    curator_page, live_server, corpus, tmp_path, monkeypatch
):
    # A LabelMe export of another instance (two documents, their provenance in the files) comes in as new
    # documents of the corpus, its faces as proposals (source ai-agent) that await the curator's review. A
    # worker imports it: the page follows the import until its report is ready.
    from annotations.tasks import dataset_import_task

    queued = []
    monkeypatch.setattr(dataset_import_task, "delay", queued.append)
    page = curator_page
    source = scanned_document(tmp_path / "elsewhere", corpus=corpus_get_or_create(name="Elsewhere"))
    add_faces(source)
    Document.objects.filter(pk=source.pk).update(label="Le Petit Journal", date_text="1910")
    exported = tmp_path / "dataset.zip"
    export_document(ExportKind.LABELME, source, exported)
    page.goto(f"{live_server.url}/exports/")

    page.check("#annotation-import-into-corpus")
    page.select_option("#annotation-import-corpus", str(corpus.pk))
    page.fill("input[name=source]", "ai-agent")
    page.set_input_files("#annotation-import-file", str(exported))
    page.click("#annotation-import-submit")

    report = page.locator("#annotation-import-report")
    expect(report).to_contain_text("Importing the dataset")
    expect(report).to_have_attribute("data-import-status", "pending")
    assert not Document.objects.filter(corpus=corpus, source__startswith="upload:").exists(), "nothing in the request"
    (job_id,) = queued
    dataset_upload_import(import_id=job_id)
    expect(report).to_contain_text("1 document imported; 2 files imported, 0 rejected", timeout=10000)
    expect(report).to_contain_text("Le Petit Journal: 2 pages, 4 faces created, 0 unchanged")
    (imported,) = Document.objects.filter(corpus=corpus, source__startswith="upload:dataset.zip#")
    assert (imported.label, imported.date_text, imported.created_by.username) == ("Le Petit Journal", "1910", "alice")
    assert set(Face.objects.filter(page__document=imported).values_list("status", "source")) == {
        (FaceStatus.PREDICTED, "ai-agent")
    }


def test_a_dataset_import_s_report_outlives_the_page_that_started_it(
    curator_page, live_server, corpus, tmp_path, eager_celery
):
    source = scanned_document(tmp_path / "elsewhere", corpus=corpus_get_or_create(name="Elsewhere"))
    add_faces(source)
    Document.objects.filter(pk=source.pk).update(label="Le Petit Journal")
    exported = tmp_path / "dataset.zip"
    export_document(ExportKind.LABELME, source, exported)
    alice = get_user_model().objects.get(username="alice")
    job = dataset_upload_queue(
        upload=SimpleUploadedFile("dataset.zip", exported.read_bytes()),
        corpus=corpus,
        user=alice,
        source="ai-agent",
        boxes_only=False,
        language="en",
    )
    page = curator_page

    page.goto(f"{live_server.url}/exports/")
    row = page.locator(f"#dataset-import-{job.pk}")
    expect(row).to_contain_text("dataset.zip")
    expect(row).to_contain_text("Done")
    row.get_by_role("button", name="Show its report").click()

    report = page.locator("#annotation-import-report")
    expect(report).to_contain_text("1 document imported; 2 files imported, 0 rejected", timeout=10000)
    expect(report).to_contain_text("Le Petit Journal: 2 pages, 4 faces created, 0 unchanged")
    page.locator("section[aria-labelledby=import-annotations-title]").screenshot(path=tmp_path / "imports.png")


def test_a_dataset_import_that_fails_says_why(curator_page, live_server, corpus, tmp_path, monkeypatch, settings):
    from annotations.tasks import dataset_import_task

    queued = []
    monkeypatch.setattr(dataset_import_task, "delay", queued.append)
    source = scanned_document(tmp_path / "elsewhere", corpus=corpus_get_or_create(name="Elsewhere"))
    exported = tmp_path / "dataset.zip"
    export_document(ExportKind.LABELME, source, exported)
    page = curator_page
    page.goto(f"{live_server.url}/exports/")
    page.select_option("#annotation-import-corpus", str(corpus.pk))
    page.set_input_files("#annotation-import-file", str(exported))
    page.click("#annotation-import-submit")
    report = page.locator("#annotation-import-report")
    expect(report).to_have_attribute("data-import-status", "pending")

    # The stored zip lost before the worker came: the import fails, and the page says so.
    (job_id,) = queued
    (Path(settings.MEDIA_ROOT) / DatasetImport.objects.get(pk=job_id).upload_path).unlink()
    dataset_upload_import(import_id=job_id)

    expect(report).to_contain_text("The import failed: Unexpected error: FileNotFoundError", timeout=10000)
    expect(report).to_have_attribute("data-import-status", "failed")
    expect(page.locator("#annotation-import-submit")).to_be_enabled()


def test_a_curator_brings_a_dataset_in_without_its_labels_for_a_blind_check(
    curator_page, live_server, corpus, tmp_path, eager_celery
):
    page = curator_page
    source = scanned_document(tmp_path / "elsewhere", corpus=corpus_get_or_create(name="Elsewhere"))
    add_faces(source)
    exported = tmp_path / "dataset.zip"
    export_document(ExportKind.LABELME, source, exported)
    page.goto(f"{live_server.url}/exports/")

    page.select_option("#annotation-import-corpus", str(corpus.pk))
    page.check("#annotation-import-boxes-only")
    page.set_input_files("#annotation-import-file", str(exported))
    page.click("#annotation-import-submit")

    expect(page.locator("#annotation-import-report")).to_contain_text("1 document imported", timeout=10000)
    (imported,) = Document.objects.filter(corpus=corpus, source__startswith="upload:dataset.zip#")
    faces = Face.objects.filter(page__document=imported)
    assert faces.count() == 4, "choosing the corpus picked it as the target"
    assert set(faces.values_list("gender", "child", "age")) == {("unknown", False, None)}


def test_a_curator_exports_a_dataset_back_under_its_page_names(curator_page, live_server, eager_celery):
    page = curator_page
    document = page.document
    first = document.pages.get(order=1)
    type(first).objects.filter(pk=first.pk).update(label="d7_p0001")
    page.goto(f"{live_server.url}/exports/")
    page.select_option("#export-kind", "labelme")
    page.select_option("#export-document", str(document.pk))
    page.select_option("#export-image-size", "")
    page.check("#export-page-names")
    page.click("#export-submit")

    export = Export.objects.get()
    row = page.locator(f"#export-{export.pk}")
    expect(row.locator("[data-role=status]")).to_have_text("Done", timeout=20000)
    with page.expect_download() as download_info:
        row.locator("[data-role=download]").click()

    with zipfile.ZipFile(download_info.value.path()) as archive:
        names = sorted(archive.namelist())
    assert names == ["d7_p0001.jpg", "d7_p0001.json", "page2.jpg", "page2.json"]
    assert export.options["page_names"] == "labels"
