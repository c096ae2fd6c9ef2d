"""Export jobs: request through the API, build once (claimed, idempotent), progress, access-checked download."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from annotations.exports import services as export_services
from annotations.exports.services import export_build, export_create
from annotations.models import CorpusMembership, Export
from annotations.tasks import export_build_task
from annotations.tests.factories import add_faces, scanned_document
from tests.support.clients import api_client
from webapp.jobs import JobStatus


@pytest.fixture
def document(tmp_path, corpus):
    document = scanned_document(tmp_path / "scans", corpus=corpus)
    add_faces(document)
    return document


def request_export(user, document, kind="csv", **options) -> Export:
    return export_create(user=user, kind=kind, scope={"document": document.pk}, options=options)


def test_a_viewer_requests_an_export_and_its_build_is_queued_after_commit(
    bob, document, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(export_build_task, "delay", lambda export_id: queued.append(export_id))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_client(bob).post(
            "/api/exports/",
            {"kind": "labelme", "document": document.pk, "review_status": "unreviewed", "image_size": 800},
            format="json",
        )

    assert response.status_code == 202, response.content
    export = Export.objects.get()
    assert response.json()["id"] == export.pk and response.json()["status"] == "pending"
    assert export.requested_by == bob and export.kind == "labelme"
    assert export.scope == {"document": document.pk, "review_status": "unreviewed"}
    assert export.options["image_size"] == 800 and export.options["base_url"] == "http://testserver"
    assert len(callbacks) == 1 and queued == [export.pk]


def test_build_writes_the_file_and_a_second_run_claims_nothing(alice, document):
    export = request_export(alice, document)

    built = export_build(export_id=export.pk)
    again = export_build(export_id=export.pk)

    assert again is None
    assert built.status == JobStatus.DONE, built.error
    assert (built.progress_done, built.progress_total, built.face_count) == (2, 2, 4)
    assert built.started_at and built.finished_at
    rows = list(csv.DictReader(io.StringIO(Path(default_storage.path(built.file.name)).read_text())))
    assert len(rows) == 4
    assert Export.objects.count() == 1


def test_the_task_builds_once_when_delivered_twice(alice, document):
    export = request_export(alice, document, kind="index", format="csv")

    export_build_task(export.pk)
    finished_at = Export.objects.get().finished_at
    export_build_task(export.pk)

    export.refresh_from_db()
    assert export.status == JobStatus.DONE and export.finished_at == finished_at
    assert export.file.name == f"exports/export-{export.pk}-index.csv"


def test_a_missing_export_is_ignored(db):
    assert export_build(export_id=404) is None


def test_an_abandoned_running_export_is_claimed_again(alice, document):
    export = request_export(alice, document)
    Export.objects.filter(pk=export.pk).update(
        status=JobStatus.RUNNING,
        started_at=timezone.now() - export_services.EXPORT_STALE_AFTER - timedelta(minutes=1),
    )

    assert export_build(export_id=export.pk).status == JobStatus.DONE


def test_a_running_export_is_not_claimed_twice(alice, document):
    export = request_export(alice, document)
    Export.objects.filter(pk=export.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())

    assert export_build(export_id=export.pk) is None
    assert Export.objects.get().status == JobStatus.RUNNING


def test_a_failing_build_is_recorded_and_leaves_no_partial_file(alice, document, monkeypatch):
    export = request_export(alice, document)

    def explode(*args, out, **kwargs):
        out.write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(export_services, "export_write", explode)
    built = export_build(export_id=export.pk)

    assert built.status == JobStatus.FAILED and built.error == "Unexpected error: OSError: disk full"
    assert not list(Path(default_storage.path("exports")).iterdir())


def test_download_is_409_until_done_then_the_file(alice, document):
    export = request_export(alice, document, kind="coco", with_images=False)
    client = api_client(alice)

    assert client.get(f"/api/exports/{export.pk}/download/").status_code == 409
    export_build(export_id=export.pk)
    detail = client.get(f"/api/exports/{export.pk}/").json()
    response = client.get(detail["download_url"])

    assert detail["status"] == "done" and detail["progress_done"] == detail["progress_total"] == 2
    assert response.status_code == 200
    assert f'filename="visages-export-{export.pk}-coco.json"' in response["Content-Disposition"]
    coco = json.loads(b"".join(response.streaming_content))
    assert len(coco["annotations"]) == 4


def test_only_the_requester_sees_and_downloads_an_export(alice, bob, charlie, document):
    export = request_export(alice, document)
    export_build(export_id=export.pk)

    for user in (bob, charlie):
        assert api_client(user).get(f"/api/exports/{export.pk}/").status_code == 404
        assert api_client(user).get(f"/api/exports/{export.pk}/download/").status_code == 404
    assert api_client().get(f"/api/exports/{export.pk}/download/").status_code == 403
    assert api_client(alice).get(f"/api/exports/{export.pk}/download/").status_code == 200


def test_losing_access_to_the_corpus_hides_the_export(bob, document):
    export = request_export(bob, document)
    export_build(export_id=export.pk)
    CorpusMembership.objects.filter(user=bob).delete()

    assert api_client(bob).get(f"/api/exports/{export.pk}/download/").status_code == 404


def test_an_export_only_covers_corpora_its_requester_may_view(alice, charlie, document):
    export = export_create(user=charlie, kind="csv", scope={"gender": "female"}, options={})

    built = export_build(export_id=export.pk)

    assert built.status == JobStatus.DONE and built.face_count == 0


def test_exports_of_an_invisible_document_or_anonymous_requests_are_refused(charlie, document):
    assert api_client(charlie).post("/api/exports/", {"kind": "csv", "document": document.pk}).status_code == 404
    assert api_client().post("/api/exports/", {"kind": "csv", "document": document.pk}).status_code == 403
    assert not Export.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "pdf"}, "kind"),
        ({"kind": "csv", "gender": "dog"}, "gender"),
        ({"kind": "csv", "date_from": "yesterday"}, "date_from"),
        ({"kind": "labelme", "image_size": 5}, "image_size"),
        ({"kind": "csv", "min_faces": 2**64}, "min_faces"),
        ({"kind": "csv", "max_density": 2**63}, "max_density"),
        ({"kind": "csv", "gendre": "female"}, "gendre"),
        ({"kind": "csv", "include_rejectd": True}, "include_rejectd"),
        ({"kind": "labelme", "page_names": "titles"}, "page_names"),
    ],
)
def test_invalid_requests_are_400(alice, document, payload, field, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api_client(alice).post("/api/exports/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Export.objects.exists() and not queued
    assert api_client(alice).get("/api/exports/").status_code == 200


def test_the_export_form_refuses_a_misspelt_filter_and_takes_its_csrf_token(client, alice, document):
    client.force_login(alice)
    form = {"csrfmiddlewaretoken": "token", "kind": "csv", "document": document.pk, "corpus": "", "gender": ""}

    refused = client.post("/exports/", {**form, "gendre": "female"}, follow=True)
    assert "gendre" in refused.content.decode() and not Export.objects.exists()

    client.post("/exports/", form)
    assert Export.objects.get().scope == {"document": document.pk}


def test_a_stored_scope_past_64_bits_still_lists_and_its_build_fails_with_a_message(alice, document):
    # Exports requested before the scope's numbers were bounded may hold one; each must still list.
    export = Export.objects.create(kind="csv", scope={"min_faces": 2**64}, options={}, requested_by=alice)

    response = api_client(alice).get("/api/exports/")

    assert response.status_code == 200
    assert response.json()["results"][0]["scope"] == {"min_faces": 2**64}
    built = export_build(export_id=export.pk)
    assert built.status == JobStatus.FAILED and "min_faces" in built.error


def test_the_list_shows_the_users_own_exports_newest_first(alice, bob, document):
    first = request_export(alice, document)
    second = request_export(alice, document, kind="w3c")
    request_export(bob, document)

    response = api_client(alice).get("/api/exports/")

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [second.pk, first.pk]


def test_the_iiif_export_serves_its_manifest_and_annotation_pages(alice, document):
    export = export_create(
        user=alice, kind="iiif", scope={"document": document.pk}, options={}, base_url="http://testserver/"
    )
    export_build(export_id=export.pk)
    client = api_client(alice)

    manifest_response = client.get(f"/api/exports/{export.pk}/files/documents/{document.pk}/manifest.json")
    manifest = manifest_response.json()
    annotation_url = manifest["items"][0]["annotations"][0]["id"]
    page_response = client.get(annotation_url.removeprefix("http://testserver"))

    assert manifest_response.status_code == 200 and manifest_response["Access-Control-Allow-Origin"] == "*"
    assert manifest["id"] == f"http://testserver/api/exports/{export.pk}/files/documents/{document.pk}/manifest.json"
    assert page_response.status_code == 200 and len(page_response.json()["items"]) == 3
    assert client.get(f"/api/exports/{export.pk}/files/nothing.json").status_code == 404


def test_a_labelme_export_names_its_files_by_page_label_when_asked(alice, document):
    # A dataset brought in from elsewhere (pages labelled by their file names) goes back out under those names
    # from the web as well as from the command.
    first, second = document.pages.order_by("order")
    type(first).objects.filter(pk=first.pk).update(label="d7_p0001")
    response = api_client(alice).post(
        "/api/exports/", {"kind": "labelme", "document": document.pk, "page_names": "labels"}, format="json"
    )
    assert response.status_code == 202, response.content

    built = export_build(export_id=response.json()["id"])

    assert built.status == JobStatus.DONE, built.error
    with zipfile.ZipFile(default_storage.path(built.file.name)) as archive:
        names = sorted(name for name in archive.namelist() if name.endswith(".json"))
    # The second page's label ("page2", its scan's name) is a safe file name too.
    assert names == ["d7_p0001.json", "page2.json"]
    assert built.options["page_names"] == "labels"
