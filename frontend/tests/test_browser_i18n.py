"""Browser: a curator whose browser speaks French reviews a page in French (labels, the editor,
the save status, numbers), and the language switcher keeps English once chosen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import Document, Face, FaceStatus, Gender, ReviewStatus
from detection.model_loop.training import training_job_create, training_job_run
from detection.tests.factories import add_scan_page
from frontend.models import UserPreference
from frontend.tests.test_browser_review import open_review, review, unavailable_saves  # noqa: F401  (fixtures)
from tests.support.clients import browser_log_in
from webapp.jobs import JobStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAVED_FR = "Toutes les modifications sont enregistrées"


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A French browser: Chromium sends Accept-Language fr-FR and formats with that locale."""
    return {**browser_context_args, "locale": "fr-FR"}


def test_a_french_curator_reviews_a_page_in_french(page, live_server, review, unavailable_saves, tmp_path):  # noqa: F811
    first, second, _ = review.faces
    open_review(page, live_server, review.pages[0])

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#save-state")).to_have_text(SAVED_FR)
    expect(page.locator("#mark-reviewed")).to_have_text("Marquer comme relue")
    expect(page.locator("#bulk-accept")).to_have_text("Accepter ≥\u00a00,00")
    expect(page.locator("#face-counts")).to_have_text("3 affichés · 3 visages · 0 rejetés")

    page.keyboard.press("j")
    expect(page.locator("#editor-title")).to_have_text(f"Visage {first.pk}")
    expect(page.locator("#accept-face")).to_have_text("Accepter (a)")
    expect(page.locator(".gender-choice legend")).to_contain_text("Genre")
    expect(page.locator("#editor-status")).to_have_text("prédit")
    expect(page.locator("#editor-meta")).to_contain_text("confiance 0,95")
    page.keyboard.press("a")
    expect(page.locator("#editor-status")).to_have_text("accepté")
    expect(page.locator("#save-state")).to_have_text(SAVED_FR, timeout=10000)
    assert Face.objects.get(pk=first.pk).status == FaceStatus.ACCEPTED
    page.screenshot(path=str(tmp_path / "review-fr.png"))

    # A save the server refuses: the retry status is French too.
    unavailable_saves.faces.add(second.pk)
    page.keyboard.press("j")
    expect(page.locator("#editor-title")).to_have_text(f"Visage {second.pk}")
    page.keyboard.press("f")
    save_state = page.locator("#save-state")
    expect(save_state).to_contain_text("Non enregistré (erreur du serveur 503)\u00a0: 1 modification en attente")
    expect(page.locator("#retry-now")).to_have_text("Réessayer maintenant")
    unavailable_saves.faces.clear()
    page.click("#retry-now")
    expect(save_state).to_have_text(SAVED_FR, timeout=10000)
    assert Face.objects.get(pk=second.pk).gender == Gender.FEMALE


def test_choosing_english_keeps_english_for_that_user(page, live_server, review):  # noqa: F811
    open_review(page, live_server, review.pages[0])
    expect(page.locator("#language-fr")).to_be_disabled()

    page.click("#language-en")
    page.wait_for_selector("#review[data-ready='1']", timeout=20000)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#save-state")).to_have_text("All changes saved")
    page.reload()
    page.wait_for_selector("#review[data-ready='1']", timeout=20000)
    expect(page.locator("#mark-reviewed")).to_have_text("Mark reviewed")
    assert UserPreference.objects.get(user=review.user).language == "en"


def test_a_french_curator_reads_why_a_training_job_failed_in_french(page, live_server, corpus, alice, monkeypatch):
    from detection.tasks import train_model_task

    monkeypatch.setattr(train_model_task, "delay", lambda job_id: None)  # run below, as the worker would
    document = Document.objects.create(corpus=corpus, source="scans/1915", label="1915", import_status=JobStatus.DONE)
    for _ in range(3):
        scan = add_scan_page(document, width=400, height=400)
        scan.__class__.objects.filter(pk=scan.pk).update(review_status=ReviewStatus.REVIEWED)
    job = training_job_create(user=alice, kind="attributes", corpus=corpus)
    training_job_run(job_id=job.pk)  # no curated face to crop: it fails
    browser_log_in(page, live_server, alice)

    page.goto(f"{live_server.url}/training/?corpus={corpus.pk}")
    row = page.locator(f"#jobs-table tr[data-job-id='{job.pk}']")
    expect(row).to_contain_text("Classifieur âge / genre / enfant")
    expect(row.locator(".status")).to_have_text("échec")
    row.locator("button").click()

    expect(page.locator("#job-detail")).to_have_attribute("data-status", "failed")
    expect(page.locator("#job-title")).to_have_text(f"Tâche n°{job.pk} · Classifieur âge / genre / enfant")
    expect(page.locator("#job-stage")).to_have_text("échec · découpe des visages")
    expect(page.locator("#job-error")).to_have_text(
        "Les pages d’entraînement et de validation ont toutes deux besoin de visages vérifiés"
    )
