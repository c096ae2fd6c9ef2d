"""Browser: a curator reads a run's evaluation with its precision-recall chart, then compares a detector."""

import pytest
from playwright.sync_api import expect

from annotations.models import Document, Face, ReviewStatus
from annotations.services import face_create, face_reject
from detection.inference.types import Detection
from detection.models import DetectionRun, PageDetection
from detection.tests.factories import add_scan_page
from webapp.jobs import JobStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def run(corpus, alice):
    document = Document.objects.create(
        corpus=corpus, source="scans/1915", label="Excelsior 1915", import_status=JobStatus.DONE
    )
    run = DetectionRun.objects.create(
        corpus=corpus,
        document=document,
        detector="res10",
        params={"threshold": 0.5},
        status=JobStatus.DONE,
        pages_total=2,
        pages_done=2,
        faces_found=6,
    )
    for _ in range(2):
        page = add_scan_page(document, width=1200, height=900)
        PageDetection.objects.create(run=run, page=page, status=JobStatus.DONE, finished_at="2020-01-01T00:00Z")
        for index, score in enumerate((0.95, 0.8, 0.55)):
            face = Face.objects.create(
                page=page, x=50 + 200 * index, y=50, w=90, h=90, confidence=score, detection_run=run, source="res10"
            )
            if score == 0.55:
                face_reject(face=face, user=alice)
        face_create(page=page, user=alice, x=100, y=500, w=60, h=60)
        page.__class__.objects.filter(pk=page.pk).update(review_status=ReviewStatus.REVIEWED)
    return run


def test_a_curator_reads_the_evaluation_and_compares_a_detector(
    page, live_server, run, fake_models, eager_celery, tmp_path
):
    fake_models.detector.boxes = [Detection.from_xywh(50, 50, 90, 90, 0.9), Detection.from_xywh(100, 500, 60, 60, 0.7)]
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/accounts/login/?next=/runs/{run.pk}/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-password-123")
    page.click("#login-submit")

    expect(page.locator("h1")).to_have_text(f"Run {run.pk} · res10")
    expect(page.locator("#metrics-table tr[data-metric=precision] td")).to_have_text("0.667")
    expect(page.locator("#metrics-table tr[data-metric=recall] td")).to_have_text("0.667")
    expect(page.locator("#pr-chart")).to_have_attribute("data-drawn", "true")

    page.select_option("#compare-form select", "fake")
    # Starting work is a POST (CSRF-checked, throttled), never a GET.
    with page.expect_request(lambda request: request.url.endswith("/api/evaluation/")) as started:
        page.click("#compare-form button")
    assert started.value.method == "POST"
    assert started.value.post_data_json == {"document": run.document_id, "detector": "fake"}

    expect(page.locator("#compare-status")).to_contain_text("fake: AP@0.5")
    expect(page.locator("#pr-chart")).to_have_attribute("data-curves", "2")
    expect(page.locator("#metrics-table thead th")).to_have_count(3)
    expect(page.locator("#metrics-table tr[data-metric=recall] td").nth(1)).to_have_text("0.667")
    page.screenshot(path=tmp_path / "visages-run-page.png", full_page=True)
