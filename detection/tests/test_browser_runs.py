"""Browser: a curator starts detection from the document page and follows the run to its outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotations.models import Face
from detection.inference.types import Detection
from detection.models import DetectionRun
from detection.services import page_detect, run_create
from webapp.jobs import JobStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-submit")
    page.wait_for_url(f"{live_server.url}/")


def test_a_curator_detects_faces_and_sees_the_run_finish(
    page, live_server, alice, scanned_document, fake_models, eager_celery, tmp_path
):
    fake_models.detector.boxes = [Detection(10, 10, 60, 70, 0.9), Detection(100, 100, 160, 170, 0.55)]
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server, "alice", "alice-password-123")
    page.goto(f"{live_server.url}/documents/{scanned_document.pk}/")

    expect(page.locator("#detect-detector")).to_have_value("fake")
    page.fill("#detect-threshold", "0.6")
    expect(page.locator("#detect-max-face-share")).to_have_value("0.8")
    page.fill("#detect-max-face-share", "0.5")
    page.uncheck("#detect-tiling")
    page.click("#detect-submit")

    row = page.locator("#runs-table tr.run").first
    expect(row.locator(".run-status")).to_have_text("done", timeout=20000)
    expect(row.locator(".run-faces")).to_have_text("2")
    expect(page.locator("#detect-message")).to_contain_text("started on 2 pages")
    run = DetectionRun.objects.get()
    assert (run.status, run.params["threshold"], run.params["tiling"], run.params["max_face_share"]) == (
        JobStatus.DONE,
        0.6,
        False,
        0.5,
    )
    expect(row).to_contain_text("faces ≤ 0.5 of the page")
    assert Face.objects.count() == 2

    row.get_by_role("button", name="Pages").click()
    expect(page.locator(".run-page-list tbody tr")).to_have_count(2)
    annotated = page.locator(".run-page-list a", has_text="annotated JPEG").first
    response = page.request.get(live_server.url + annotated.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "image/jpeg"
    csv = page.request.get(live_server.url + row.get_by_role("link", name="CSV").get_attribute("href"))
    assert csv.text().splitlines()[0].startswith("document,page,canvas,x,y,w,h")
    page.screenshot(path=tmp_path / "detection-panel.png", full_page=False)


def test_a_curator_asks_for_faces_turned_sideways(
    page, live_server, alice, scanned_document, fake_models, eager_celery, tmp_path
):
    # Found in whatever the detector is shown: upright, and on each side once the page is turned.
    fake_models.detector.boxes = [Detection(10, 10, 60, 80, 0.9)]
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server, "alice", "alice-password-123")
    page.goto(f"{live_server.url}/documents/{scanned_document.pk}/")

    expect(page.locator("#detect-turned-faces")).not_to_be_checked()
    page.uncheck("#detect-tiling")
    page.check("#detect-turned-faces")
    page.click("#detect-submit")

    row = page.locator("#runs-table tr.run").first
    expect(row.locator(".run-status")).to_have_text("done", timeout=20000)
    expect(row).to_contain_text("turned faces too")
    expect(row.locator(".run-faces")).to_have_text("6")
    assert DetectionRun.objects.get().params["turned_faces"] is True
    page.locator("#detection-panel").screenshot(path=tmp_path / "detection-turned-faces.png")
    # Each page (its derivative at most 2,000 px) as it is, then turned each way.
    assert sorted(fake_models.detector.shapes) == sorted(
        [(1333, 2000), (2000, 1333), (2000, 1333), (1600, 1200), (1200, 1600), (1200, 1600)]
    )


def test_a_viewer_follows_runs_but_cannot_start_or_cancel_them(page, live_server, bob, scanned_document, fake_models):
    run = run_create(user=None, document=scanned_document, enqueue=False)
    log_in(page, live_server, "bob", "bob-password-123")
    page.goto(f"{live_server.url}/documents/{scanned_document.pk}/")

    row = page.locator(f"#runs-table tr[data-run-id='{run.pk}']")
    expect(row.locator(".run-status")).to_have_text("pending")
    expect(page.locator("#detect-form")).to_have_count(0)
    expect(row.locator(".cancel-run")).to_have_count(0)


def test_a_curator_cancels_a_queued_run(page, live_server, alice, scanned_document, fake_models):
    run = run_create(user=None, document=scanned_document, enqueue=False)
    log_in(page, live_server, "alice", "alice-password-123")
    page.goto(f"{live_server.url}/documents/{scanned_document.pk}/")

    page.locator(f"#runs-table tr[data-run-id='{run.pk}'] .cancel-run").click()

    expect(page.locator(f"#runs-table tr[data-run-id='{run.pk}'] .run-status")).to_have_text("cancelled")
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED


def test_a_curator_runs_detection_with_a_retrained_age_gender_model(
    page, live_server, alice, scanned_document, fake_models, queued
):
    from detection.inference import registry
    from detection.model_loop import training
    from detection.models import TrainedModel, TrainingJob

    for version, active in ((2, True), (3, False)):
        model = TrainedModel.objects.create(
            name="keras-attributes",
            corpus=scanned_document.corpus,
            kind="attributes",
            version=version,
            params={"sha256_12": f"v{version}"},
            file=f"models/keras-attributes/v{version}.keras",
            is_active=active,
        )
        TrainingJob.objects.create(
            kind="attributes", corpus=scanned_document.corpus, status=JobStatus.DONE, trained_model=model
        )
    try:
        log_in(page, live_server, "alice", "alice-password-123")
        page.goto(f"{live_server.url}/documents/{scanned_document.pk}/")

        options = page.locator("#detect-attributes option").evaluate_all("(options) => options.map((o) => o.value)")
        # The active retrained model is offered; the version kept inactive is not.
        assert "keras-attributes@v2" in options and "keras-attributes@v3" not in options
        expect(page.locator("#detect-attributes")).to_have_value("fake-age-gender")
        page.select_option("#detect-attributes", "keras-attributes@v2")
        page.click("#detect-submit")

        expect(page.locator("#detect-message")).to_contain_text("started on 2 pages")
        run = DetectionRun.objects.get()
        assert run.attribute_model == "keras-attributes@v2"
        assert run.model_versions["attributes"] == "keras-attributes@v2@v2-v2"
        assert len(queued.pages) == 2
    finally:
        registry.ATTRIBUTE_MODELS.pop("keras-attributes@v2", None)
        training._registered.clear()


def test_a_failed_page_s_error_reads_in_the_curator_s_language(
    page, live_server, alice, scanned_document, fake_models, settings
):
    missing = scanned_document.pages.order_by("order").first()
    (Path(settings.LOCAL_IMAGES_DIR) / missing.local_path).unlink()
    run = run_create(user=None, document=scanned_document, enqueue=False, tiling=False)
    for task in run.page_tasks.order_by("pk"):
        page_detect(page_detection_id=task.pk)
    page.context.add_cookies([{"name": "django_language", "value": "fr", "url": live_server.url}])
    log_in(page, live_server, "alice", "alice-password-123")
    page.goto(f"{live_server.url}/documents/{scanned_document.pk}/")

    row = page.locator("#runs-table tr.run").first
    row.get_by_role("button", name="Pages").click()

    failed = page.locator(".run-page-list tbody tr").first
    expect(failed.locator(".error-text")).to_have_text(f"Image locale manquante\u00a0: {missing.local_path}")
