"""Runs, annotated pages and the model registry over HTTP: who may do what, and what comes back."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from PIL import Image

from annotations.models import CorpusMembership, CorpusRole, Document, Face, FaceStatus
from detection.inference import registry
from detection.inference.types import Detection
from detection.models import DetectionRun, PageDetection
from detection.services import page_detect, run_create, run_execute
from detection.tests.factories import add_scan_page
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


def detected(document, boxes, fake_models):
    fake_models.detector.boxes = boxes
    return run_execute(run=run_create(user=None, document=document, enqueue=False, tiling=False))


# Starting runs.


def test_a_curator_starts_a_run_on_a_document(
    client, alice, scanned_document, fake_models, queued, django_capture_on_commit_callbacks
):
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/runs/",
            {"document": scanned_document.pk, "threshold": 0.7, "tiling": True},
            content_type="application/json",
        )

    assert response.status_code == 201, response.content
    run = DetectionRun.objects.get()
    body = response.json()
    assert body["id"] == run.pk and body["status"] == "pending"
    assert body["progress"]["pages_total"] == 2 and body["progress"]["pages_done"] == 0
    assert (run.detector, run.params["threshold"], run.params["tiling"]) == ("fake", 0.7, True)
    assert run.created_by == alice
    assert sorted(queued.pages) == sorted(run.page_tasks.values_list("pk", flat=True))


def test_a_run_takes_its_own_largest_face_share_or_the_setting(client, alice, scanned_document, fake_models, settings):
    settings.DETECTION_MAX_FACE_SHARE = 0.7
    client.force_login(alice)

    chosen = client.post(
        "/api/runs/", {"document": scanned_document.pk, "max_face_share": 0.4}, content_type="application/json"
    )
    default = client.post("/api/runs/", {"document": scanned_document.pk}, content_type="application/json")

    assert (chosen.status_code, default.status_code) == (201, 201)
    assert chosen.json()["params"]["max_face_share"] == 0.4
    assert default.json()["params"]["max_face_share"] == 0.7


def test_a_run_reads_turned_faces_only_when_asked(client, alice, scanned_document, fake_models):
    client.force_login(alice)

    asked = client.post(
        "/api/runs/", {"document": scanned_document.pk, "turned_faces": True}, content_type="application/json"
    )
    default = client.post("/api/runs/", {"document": scanned_document.pk}, content_type="application/json")
    nonsense = client.post(
        "/api/runs/", {"document": scanned_document.pk, "turned_faces": "sideways"}, content_type="application/json"
    )

    assert (asked.status_code, default.status_code, nonsense.status_code) == (201, 201, 400)
    assert (asked.json()["params"]["turned_faces"], default.json()["params"]["turned_faces"]) == (True, False)
    assert "turned_faces" in nonsense.json()


def test_a_curator_starts_a_run_on_chosen_pages(client, alice, scanned_document, fake_models, queued):
    page = scanned_document.pages.order_by("order").first()
    client.force_login(alice)

    response = client.post("/api/runs/", {"pages": [page.pk]}, content_type="application/json")

    assert response.status_code == 201, response.content
    assert list(PageDetection.objects.values_list("page_id", flat=True)) == [page.pk]


def test_a_curator_starts_a_run_on_a_corpus(client, alice, corpus, scanned_document, fake_models, queued):
    client.force_login(alice)

    response = client.post("/api/runs/", {"corpus": corpus.pk}, content_type="application/json")

    assert response.status_code == 201, response.content
    assert DetectionRun.objects.get().pages_total == 2


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("bob", 403), ("charlie", 404), (None, 403)],
)
def test_only_curators_start_runs(client, request, scanned_document, fake_models, queued, persona, expected):
    if persona:
        client.force_login(request.getfixturevalue(persona))

    response = client.post("/api/runs/", {"document": scanned_document.pk}, content_type="application/json")

    assert response.status_code == expected
    assert not DetectionRun.objects.exists()
    assert queued.pages == []


def test_a_page_of_a_corpus_one_may_not_see_answers_as_a_missing_page(
    client, charlie, other_corpus, scanned_document, fake_models, queued
):
    """Its existence does not leak: the same 404, body included, as for an id no page holds."""
    CorpusMembership.objects.create(corpus=other_corpus, user=charlie, role=CorpusRole.CURATOR)
    mine = Document.objects.create(corpus=other_corpus, source="scans/miroir", import_status=JobStatus.DONE)
    own_page = add_scan_page(mine, width=800, height=1000)
    hidden_page = scanned_document.pages.first()
    client.force_login(charlie)

    hidden, missing = (
        client.post("/api/runs/", {"pages": [own_page.pk, page_id]}, content_type="application/json")
        for page_id in (hidden_page.pk, 987_654)
    )

    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content, (hidden.content, missing.content)
    assert not DetectionRun.objects.exists()


def test_a_viewer_of_the_pages_is_told_a_run_needs_the_curator_role(client, bob, scanned_document, fake_models, queued):
    client.force_login(bob)

    response = client.post(
        "/api/runs/", {"pages": [scanned_document.pages.first().pk]}, content_type="application/json"
    )

    assert response.status_code == 403
    assert "curator" in response.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "exactly one"),
        ({"document": "DOC", "corpus": "CORPUS"}, "exactly one"),
        ({"document": "DOC", "detector": "nope"}, "Unknown detector"),
        ({"document": "DOC", "threshold": 2}, "less than or equal to 1"),
        ({"document": "DOC", "max_face_share": 0}, "greater than 0"),
        ({"document": "DOC", "max_face_share": 1.5}, "less than or equal to 1"),
        ({"document": "DOC", "max_face_share": "most"}, "valid number"),
        # A misspelt parameter is refused by name, not silently left at its default.
        ({"document": "DOC", "thresold": 0.3}, "thresold"),
    ],
)
def test_a_bad_run_request_is_refused_with_a_reason(
    client, alice, corpus, scanned_document, fake_models, payload, message
):
    client.force_login(alice)
    payload = {
        key: {"DOC": scanned_document.pk, "CORPUS": corpus.pk}.get(value, value) for key, value in payload.items()
    }

    response = client.post("/api/runs/", payload, content_type="application/json")

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not DetectionRun.objects.exists()


# Progress.


def test_runs_are_listed_with_their_progress_for_viewers(
    client, alice, bob, scanned_document, fake_models, django_assert_max_num_queries
):
    run = detected(scanned_document, [Detection(10, 10, 60, 70, 0.9)], fake_models)
    for _ in range(3):
        run_create(user=alice, document=scanned_document, enqueue=False)
    client.force_login(bob)

    with django_assert_max_num_queries(6):
        response = client.get(f"/api/runs/?document={scanned_document.pk}")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results][-1] == run.pk, "newest first"
    assert results[0]["created_by"] == "alice" and results[0]["status"] == "pending"
    done = results[-1]
    assert done["status"] == "done" and done["faces_found"] == 2
    assert done["progress"]["pages_done"] == 2 and done["progress"]["eta_seconds"] == 0
    assert done["links"]["faces_csv"] == f"/api/runs/{run.pk}/faces.csv"


def test_runs_filtered_by_status_and_an_unknown_status_is_refused(client, alice, bob, scanned_document, fake_models):
    done = detected(scanned_document, [Detection(10, 10, 60, 70, 0.9)], fake_models)
    pending = run_create(user=alice, document=scanned_document, enqueue=False)
    client.force_login(bob)

    listed = {status: client.get(f"/api/runs/?status={status}") for status in ("done", "pending", "finished")}

    assert [run["id"] for run in listed["done"].json()["results"]] == [done.pk]
    assert [run["id"] for run in listed["pending"].json()["results"]] == [pending.pk]
    assert listed["finished"].status_code == 400
    assert "status" in listed["finished"].json()


def test_a_misspelt_run_filter_is_a_400_naming_it_never_every_run(client, bob, scanned_document, fake_models):
    detected(scanned_document, [Detection(10, 10, 60, 70, 0.9)], fake_models)
    client.force_login(bob)

    response = client.get("/api/runs/?statuz=done")

    assert response.status_code == 400
    assert response.json() == {
        "statuz": ["Unknown parameter; this request takes corpus, document, format, page, status."]
    }


def test_runs_of_a_private_corpus_are_hidden_from_outsiders(client, charlie, scanned_document, fake_models):
    run = detected(scanned_document, [], fake_models)
    client.force_login(charlie)

    assert client.get("/api/runs/").json()["count"] == 0
    assert client.get(f"/api/runs/{run.pk}/").status_code == 404
    assert client.get(f"/api/runs/{run.pk}/faces.csv").status_code == 404


def test_a_run_shows_its_timings_and_its_pages(client, bob, scanned_document, fake_models):
    run = detected(scanned_document, [Detection(10, 10, 60, 70, 0.9)], fake_models)
    client.force_login(bob)

    body = client.get(f"/api/runs/{run.pk}/").json()
    pages = client.get(f"/api/runs/{run.pk}/pages/").json()["results"]

    assert body["timings"]["model_seconds_per_page"] is not None
    assert body["model_versions"]["detector"] == "fake@fake-1"
    assert [p["status"] for p in pages] == ["done", "done"]
    assert pages[0]["annotated_url"] == f"/api/pages/{pages[0]['page']}/annotated.jpg"


# Cancel and retry.


def test_a_curator_cancels_a_run(client, alice, scanned_document, fake_models):
    run = run_create(user=None, document=scanned_document, enqueue=False)
    client.force_login(alice)

    response = client.post(f"/api/runs/{run.pk}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    assert set(run.page_tasks.values_list("status", flat=True)) == {JobStatus.CANCELLED}


def test_a_viewer_cannot_cancel_a_run(client, bob, scanned_document, fake_models):
    run = run_create(user=None, document=scanned_document, enqueue=False)
    client.force_login(bob)

    assert client.post(f"/api/runs/{run.pk}/cancel/").status_code == 403
    run.refresh_from_db()
    assert run.status == JobStatus.PENDING


def test_a_curator_retries_the_failed_pages(
    client, alice, scanned_document, fake_models, queued, django_capture_on_commit_callbacks
):
    fake_models.detector.error = RuntimeError("flaky")
    run = detected(scanned_document, [], fake_models)
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/runs/{run.pk}/retry/")

    assert response.status_code == 202
    assert response.json()["status"] == "running" and response.json()["pages_failed"] == 0
    assert len(queued.pages) == 2


# Outputs: CSV and annotated images.


def test_the_run_csv_has_one_row_per_face_with_its_current_status(client, bob, scanned_document, fake_models):
    run = detected(scanned_document, [Detection(10, 10, 60, 70, 0.9), Detection(100, 100, 160, 170, 0.8)], fake_models)
    rejected = Face.objects.order_by("pk").first()
    Face.objects.filter(pk=rejected.pk).update(status=FaceStatus.REJECTED)
    client.force_login(bob)

    response = client.get(f"/api/runs/{run.pk}/faces.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"run-{run.pk}-faces.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == [
        "document", "page", "canvas", "x", "y", "w", "h", "confidence", "age", "gender", "child", "source", "status",
        "crop_url",
    ]  # fmt: skip
    assert len(rows) == 4
    first = next(row for row in rows if row["status"] == "rejected")
    # Canvas pixels of the 3000x2000 page, detected on its 2000 px derivative.
    assert (first["x"], first["y"], first["w"], first["h"]) == ("15", "15", "75", "90")
    assert (first["gender"], first["age"], first["source"]) == ("female", "30.0", "fake@fake-1")
    assert first["document"] == str(scanned_document.pk)
    assert first["crop_url"].startswith("http://testserver/iiif/local/")


def test_the_csv_can_be_asked_for_by_media_type(client, bob, scanned_document, fake_models):
    run = detected(scanned_document, [], fake_models)
    client.force_login(bob)

    response = client.get(f"/api/runs/{run.pk}/faces.csv", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response.content.decode().startswith("document,page,canvas")


def test_an_annotated_page_has_its_faces_boxed(client, bob, document, fake_models, settings):
    from detection.tests.factories import add_scan_page

    page = add_scan_page(document, width=1200, height=1600)
    detected(document, [Detection(400, 400, 600, 640, 0.9)], fake_models)
    settings.DETECTION_MAX_DERIVATIVE = 800
    client.force_login(bob)

    response = client.get(f"/api/pages/{page.pk}/annotated.jpg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert image.size == (600, 800)
    # The box (400, 400)-(600, 640) in canvas pixels is drawn at half that size, in orange.
    r, g, b = image.getpixel((201, 260))
    assert r > 200 and 100 < g < 180 and b < 80, (r, g, b)
    paper = image.getpixel((100, 500))
    assert min(paper) > 180, "away from the box the page is untouched"


def test_an_annotated_page_without_its_image_says_why(client, bob, document, fake_models):
    from detection.tests.factories import add_scan_page

    page = add_scan_page(document, width=300, height=300)
    page.local_path = "gone.jpg"
    page.save(update_fields=["local_path"])
    client.force_login(bob)

    response = client.get(f"/api/pages/{page.pk}/annotated.jpg")

    assert response.status_code == 502
    assert "Local image missing" in response.json()["detail"]


def test_annotated_pages_of_a_private_corpus_are_hidden(client, charlie, scanned_document):
    client.force_login(charlie)

    assert client.get(f"/api/pages/{scanned_document.pages.first().pk}/annotated.jpg").status_code == 404


# The registry.


def test_the_detector_listing_describes_every_model_without_loading_any(client):
    registry.clear_model_cache()

    response = client.get("/api/detectors/")

    assert response.status_code == 200
    body = response.json()
    assert [d["name"] for d in body["detectors"]][:5] == ["res10", "haar", "mtcnn", "dlib-mmod", "centerface"]
    res10 = body["detectors"][0]
    assert res10["version"] == "res10_300x300_ssd_iter_140000" and "BSD" in res10["license"]
    assert res10["default_params"] == {"score_threshold": 0.5} and res10["tiling_default"] is True
    assert body["attribute_models"][0]["name"] == "onnx-age-gender"
    assert body["default_detector"] == "centerface"
    assert registry._build.cache_info().currsize == 0


def test_a_page_s_error_and_the_run_s_read_in_the_reader_s_language(
    client, bob, scanned_document, fake_models, settings
):
    for page in scanned_document.pages.all():
        (Path(settings.LOCAL_IMAGES_DIR) / page.local_path).unlink()
    run = run_create(user=None, document=scanned_document, enqueue=False, tiling=False)
    for task in run.page_tasks.all():
        page_detect(page_detection_id=task.pk)
    client.force_login(bob)

    def errors(language: str) -> tuple[str, str]:
        pages = client.get(f"/api/runs/{run.pk}/pages/", HTTP_ACCEPT_LANGUAGE=language).json()["results"]
        return pages[0]["error"], client.get(f"/api/runs/{run.pk}/", HTTP_ACCEPT_LANGUAGE=language).json()["error"]

    page_error, run_error = errors("en")
    assert page_error.startswith("Local image missing: ") and run_error == "Every page failed; see the page errors"
    french_page_error, french_run_error = errors("fr")
    assert french_page_error.startswith("Image locale manquante") and french_page_error.endswith(
        page_error.rpartition(" ")[2]
    )
    assert french_run_error.startswith("Toutes les pages ont échoué")
