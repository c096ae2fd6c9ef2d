"""Browser: a curator starts a training job, follows its loss curve, reads the held-out comparison and
overrides the activation rule with a written reason.

The Keras fit and the model file are replaced by fakes (the real training is tested in
detection/tests/test_training.py); the snapshot export, the held-out split, the comparison on the
held-out pages and the activation rule run for real.
"""

import pytest
from playwright.sync_api import expect

from annotations.models import Document, ReviewStatus
from annotations.services import face_create
from detection.inference import registry
from detection.inference.types import AgeGender
from detection.model_loop import training
from detection.model_loop.training import training_job_run
from detection.models import TrainedModel, TrainingJob
from detection.tests.conftest import add_scan_page
from detection.training.fitting import FitResult
from webapp.jobs import JobStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOSSES = {"loss": [0.9, 0.6, 0.5], "val_loss": [0.8, 0.7, 0.65]}


class Guesser:
    """An attribute model that calls every face a man, or every face a woman."""

    def __init__(self, gender):
        self.gender = gender

    def predict_many(self, image, boxes):
        return [AgeGender(40.0, 0.5, self.gender, 0.9, False) for _ in boxes]


@pytest.fixture
def reviewed_corpus(corpus, alice, settings):
    """Four reviewed pages of men (two faces each), and an active attribute model v1 trained on them."""
    settings.TRAINING_MIN_HELD_OUT_FACES = 2
    document = Document.objects.create(corpus=corpus, source="scans/1915", label="1915", import_status=JobStatus.DONE)
    for _ in range(4):
        page = add_scan_page(document, width=600, height=400)
        for x in (50, 300):
            face_create(page=page, user=alice, x=x, y=100, w=120, h=150, gender="male")
        page.__class__.objects.filter(pk=page.pk).update(review_status=ReviewStatus.REVIEWED)
    active = TrainedModel.objects.create(
        name="keras-attributes",
        corpus=corpus,
        kind="attributes",
        version=1,
        params={"sha256_12": "v1"},
        file="models/keras-attributes/v1.keras",
        is_active=True,
        activation_reason="Activated: the first model.",
    )
    TrainingJob.objects.create(kind="attributes", corpus=corpus, status=JobStatus.DONE, trained_model=active)
    return corpus


@pytest.fixture
def fake_fit(monkeypatch):
    """Training reports three epochs of losses; v1 (active) reads men right, the new model does not."""
    from detection.inference import trained
    from detection.tasks import train_model_task

    queued = []
    monkeypatch.setattr(train_model_task, "delay", lambda job_id: queued.append(job_id))

    def fit(train, validation, params, reporter):
        for epoch in range(3):
            reporter.epoch(epoch + 1, 3, {name: values[epoch] for name, values in LOSSES.items()})
        return FitResult(None, LOSSES, 0.8, 0.65, 3, 3, False, {}), {"kind": "attributes", "input_size": 64}

    monkeypatch.setattr(training, "_train_attributes", fit)
    monkeypatch.setattr(
        trained,
        "save_model",
        lambda model, path, sidecar: (
            path.parent.mkdir(parents=True, exist_ok=True) or path.write_bytes(b"fake") and path
        ),
    )
    monkeypatch.setattr(trained, "write_sidecar", lambda path, sidecar: None)
    monkeypatch.setattr(
        training, "_trained_attributes", lambda model: Guesser("male" if model.version == 1 else "female")
    )
    detectors, attribute_models = dict(registry.DETECTORS), dict(registry.ATTRIBUTE_MODELS)
    yield queued
    for table, saved in ((registry.DETECTORS, detectors), (registry.ATTRIBUTE_MODELS, attribute_models)):
        table.clear()
        table.update(saved)
    training._registered.clear()
    registry.clear_model_cache()


def test_a_curator_trains_reads_the_held_out_comparison_and_activates_the_model(
    page, live_server, reviewed_corpus, fake_fit, alice, tmp_path
):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/?next=/training/?corpus={reviewed_corpus.pk}")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-password-123")
    page.click("#login-submit")
    expect(page.locator("h1")).to_have_text("Models and training")

    page.select_option("#train-kind", "attributes")
    page.fill("#train-epochs", "3")
    page.click("#train-submit")
    expect(page.locator("#train-message")).to_contain_text("queued")
    job = TrainingJob.objects.get(status=JobStatus.PENDING)
    assert fake_fit == [job.pk] and job.params["epochs"] == 3
    expect(page.locator("#job-detail")).to_have_attribute("data-status", "pending")

    # The worker's part: the page follows the job by polling.
    training_job_run(job_id=job.pk)

    expect(page.locator("#job-detail")).to_have_attribute("data-status", "done", timeout=10000)
    expect(page.locator("#chart-loss")).to_have_attribute("data-epochs", "3")
    chart = page.evaluate("() => Chart.getChart('chart-loss').data.datasets.map((d) => d.data)")
    assert chart == [LOSSES["loss"], LOSSES["val_loss"]]
    # Held out: two pages' men. v1 reads them all (macro recall 1); the new model none of the men.
    expect(page.locator("#comparison-metric")).to_have_text("Macro recall")
    expect(page.locator("#comparison-new-name")).to_have_text("keras-attributes@v2 (new)")
    expect(page.locator("#comparison-new")).to_have_text("0.500")
    expect(page.locator("#comparison-active-name")).to_have_text("keras-attributes@v1 (active)")
    expect(page.locator("#comparison-active")).to_have_text("1.000")
    expect(page.locator("#comparison-reason")).to_contain_text("Kept inactive")
    new_row = page.locator("#models-table tr[data-model='keras-attributes@v2']")
    expect(new_row).to_contain_text("inactive")
    page.screenshot(path=tmp_path / "visages-training.png", full_page=True)

    new_row.get_by_role("button", name="Activate").click()
    expect(page.locator("#models-message")).to_contain_text("reason")
    assert not TrainedModel.objects.get(version=2).is_active

    new_row.get_by_role("textbox").fill("The 1915 issues show women the old model misses")
    new_row.get_by_role("button", name="Activate").click()

    expect(page.locator("#models-message")).to_have_text("keras-attributes@v2 is now active.")
    expect(new_row).to_contain_text("Overridden by alice: The 1915 issues show women")
    expect(page.locator("#models-table tr[data-model='keras-attributes@v1']")).to_contain_text("inactive")
    model = TrainedModel.objects.get(version=2)
    assert model.is_active and model.activation_overridden_by == alice
    page.screenshot(path=tmp_path / "visages-training-activated.png", full_page=True)
