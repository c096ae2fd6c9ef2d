"""Real (small) Keras training: the attribute model and the detector re-scorer, from a curated fixture.

The fixture is three documents of generated pages (halftoned photos of faces and face-like
ornaments); a curator drew the faces with their gender and age and rejected the ornaments.
Training splits by document: two documents train, one is held out.
"""

from pathlib import Path

import numpy as np
import pytest
import skimage.io
from django.conf import settings as django_settings

from annotations.models import Document, ReviewStatus
from annotations.services import face_create, face_reject
from detection.inference import registry
from detection.inference.registry import get_attribute_model, get_detector
from detection.inference.types import Detection
from detection.model_loop.training import (
    trained_model_set_active,
    trained_models_register,
    training_job_cancel,
    training_job_create,
    training_job_run,
)
from detection.models import TrainedModel, TrainingJob, TrainingKind
from detection.tests.factories import add_scan_page
from tests.support.model_loop_pages import curated_page
from tests.support.synthetic_pages import FACE_DIR, FIXTURE_FACES
from webapp.jobs import JobStatus

# Trained models registered by a test leave the registry as they found it.
pytestmark = [pytest.mark.realmodel, pytest.mark.django_db, pytest.mark.usefixtures("isolated_registry")]

PAGE_SIZE = (600, 800)
# Attribute training stays short here: the point is that it learns, not how well.
QUICK = {"epochs": 4, "patience": 4, "batch_size": 16}


@pytest.fixture
def curated_corpus(corpus, alice):
    """Three documents of three reviewed pages each: 5 faces (drawn) and 3 ornaments (rejected) per page."""
    seed = 0
    for label in ("Excelsior 1915", "Excelsior 1916", "Excelsior 1917"):
        document = Document.objects.create(
            corpus=corpus, source=f"scans/{label}", label=label, import_status=JobStatus.DONE
        )
        for _ in range(3):
            generated = curated_page(
                seed,
                width=PAGE_SIZE[0],
                height=PAGE_SIZE[1],
                n_ornaments=3,
                face_sizes=(30, 66),
                ornament_sizes=(50, 110),
                halftone=True,
            )
            page = add_scan_page(document, width=PAGE_SIZE[0], height=PAGE_SIZE[1], pixels=generated.pixels)
            for face in generated.faces:
                face_create(
                    page=page, user=alice, x=face.x, y=face.y, w=face.w, h=face.h, gender=face.gender, age=face.age
                )
            for x, y, w, h in generated.ornaments:
                face_reject(face=face_create(page=page, user=alice, x=x, y=y, w=w, h=h), user=alice)
            page.__class__.objects.filter(pk=page.pk).update(review_status=ReviewStatus.REVIEWED)
            seed += 1
    return corpus


def snapshot_dir(job: TrainingJob) -> Path:
    """Where a job exports its reviewed pages (LabelMe and page images) to train on."""
    return Path(django_settings.MEDIA_ROOT) / "training" / f"job-{job.pk}"


def run_job(*, alice, corpus, kind, params, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        job = training_job_create(user=alice, kind=kind, corpus=corpus, params=params)
    assert len(queued) == 1
    return training_job_run(job_id=job.pk)


def test_a_training_job_on_the_curated_fixture_improves_validation_loss(
    curated_corpus, alice, django_capture_on_commit_callbacks
):
    job = run_job(
        alice=alice,
        corpus=curated_corpus,
        kind=TrainingKind.ATTRIBUTES,
        params=QUICK,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )

    metrics = job.metrics
    print(
        f"\nattribute model: validation loss {metrics['initial_val_loss']:.4f} untrained -> "
        f"{metrics['best_val_loss']:.4f} after {metrics['best_epoch']} of {metrics['epochs_run']} epochs; "
        f"gender accuracy {metrics['val_gender_accuracy']:.3f}, age MAE {metrics['val_age_mae']:.1f} years "
        f"on {metrics['val_faces']} held-out faces ({metrics['train_faces']} training faces)"
    )
    assert job.status == JobStatus.DONE, job.error
    assert job.progress == 1.0
    assert metrics["best_val_loss"] < metrics["initial_val_loss"]
    # The copies of the corpus's pages it trained on go with the job: the model records which pages.
    assert not snapshot_dir(job).exists()
    model = job.trained_model
    assert (model.name, model.version, model.kind) == ("keras-attributes", 1, "attributes")
    assert model.data_snapshot["pages"] == 9 and model.data_snapshot["faces"] == 45
    assert model.data_snapshot["rejected"] == 27
    # Three documents are too few to hold whole ones out: whole pages, never one on two sides.
    snapshot = model.data_snapshot
    assert snapshot["split_unit"] == "page"
    sides = [set(snapshot[key]) for key in ("train_pages", "validation_pages", "test_pages")]
    assert all(sides) and not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert len(sides[0] | sides[1] | sides[2]) == 9
    # Ten held-out faces are too few to tell models apart: the model is kept inactive, saying so.
    assert model.comparison["metric"] == "macro_recall"
    assert model.comparison["held_out_faces"] == 5 * len(sides[2]) and model.comparison["enough_data"] is False
    assert not model.is_active and "fewer than the 50" in model.activation_reason
    assert "keras-attributes@v1" not in registry.ATTRIBUTE_MODELS
    # A curator activates it anyway, with a reason: registered in this process, loadable by name.
    trained_model_set_active(model=model, user=alice, is_active=True, reason="to try it", updated_at=model.updated_at)
    estimate = get_attribute_model("keras-attributes@v1").predict(
        skimage.io.imread(FACE_DIR / "obama.jpg"), Detection(*FIXTURE_FACES["obama.jpg"], score=1.0)
    )
    assert estimate.gender in {"female", "male", "unknown"} and 0.5 <= estimate.gender_confidence <= 1.0
    assert estimate.age is not None


def test_a_rescorer_job_improves_held_out_ap_over_the_base_detector(
    curated_corpus, alice, django_capture_on_commit_callbacks, settings
):
    # The fixture's held-out pages hold 10 faces: enough here for the activation rule to decide.
    settings.TRAINING_MIN_HELD_OUT_FACES = 10
    job = run_job(
        alice=alice,
        corpus=curated_corpus,
        kind=TrainingKind.RESCORER,
        params={},
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )

    metrics = job.metrics
    print(
        f"\nre-scorer on {metrics['val_pages']} held-out pages ({metrics['val_truths']} faces): "
        f"AP@0.5 {metrics['val_base_ap50']:.3f} (res10) -> {metrics['val_rescored_ap50']:.3f}; "
        f"precision {metrics['val_base_precision']:.3f} -> {metrics['val_rescored_precision']:.3f}, "
        f"recall {metrics['val_base_recall']:.3f} -> {metrics['val_rescored_recall']:.3f}; "
        f"validation loss {metrics['initial_val_loss']:.4f} -> {metrics['best_val_loss']:.4f}"
    )
    assert job.status == JobStatus.DONE, job.error
    assert metrics["val_rescored_ap50"] > metrics["val_base_ap50"] + 0.05
    assert metrics["best_val_loss"] < metrics["initial_val_loss"]
    assert job.trained_model.registry_name == "res10+rescore@v1"
    # Compared with res10's candidates on the held-out test pages, better, so active.
    comparison = job.trained_model.comparison
    print(f"held-out test pages: AP@0.5 {comparison['active']:.3f} (res10) -> {comparison['new']:.3f}")
    assert comparison["metric"] == "ap50" and comparison["active_model"] == "res10"
    assert comparison["new"] > comparison["active"] and job.trained_model.is_active
    # A fresh process learns the model from the database, then detects with it by name.
    registry.DETECTORS.pop("res10+rescore@v1")
    assert "res10+rescore@v1" in trained_models_register()
    page = curated_page(99, width=PAGE_SIZE[0], height=PAGE_SIZE[1], halftone=True, face_sizes=(30, 66))
    found = get_detector("res10+rescore@v1").detect(page.pixels)
    assert all(0.5 <= box.score <= 1.0 for box in found)


def test_cancelling_a_pending_job_means_it_never_trains(curated_corpus, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        job = training_job_create(user=alice, kind=TrainingKind.ATTRIBUTES, corpus=curated_corpus, params=QUICK)

    training_job_cancel(job=job)

    assert training_job_run(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert TrainedModel.objects.count() == 0


def test_a_job_cancelled_while_training_stops_at_the_next_epoch(
    curated_corpus, alice, django_capture_on_commit_callbacks, monkeypatch
):
    from detection.model_loop.training import _Reporter

    with django_capture_on_commit_callbacks():
        job = training_job_create(user=alice, kind=TrainingKind.ATTRIBUTES, corpus=curated_corpus, params=QUICK)
    report = _Reporter.epoch

    def cancel_after_first_epoch(self, epoch, epochs, logs):
        TrainingJob.objects.filter(pk=self.job_id).update(cancel_requested=True)
        return report(self, epoch, epochs, logs)

    monkeypatch.setattr(_Reporter, "epoch", cancel_after_first_epoch)

    job = training_job_run(job_id=job.pk)

    assert job.status == JobStatus.CANCELLED
    assert job.trained_model is None and TrainedModel.objects.count() == 0
    assert not snapshot_dir(job).exists()
    assert training_job_run(job_id=job.pk) is None


def test_running_a_finished_job_again_does_nothing(curated_corpus, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        job = training_job_create(user=alice, kind=TrainingKind.ATTRIBUTES, corpus=curated_corpus, params=QUICK)
    TrainingJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE)

    assert training_job_run(job_id=job.pk) is None
    assert TrainedModel.objects.count() == 0


def test_the_attribute_model_trains_on_generated_crops_and_is_served_through_the_registry(tmp_path):
    from detection.inference.registry import ModelSpec, register_attribute_model
    from detection.inference.trained import KerasAttributeModel, crop, infer, save_model, to_grey
    from detection.training.attributes import AttributeSample, train_attribute_model

    rng = np.random.default_rng(0)

    def crops(low, high, gender, age):
        return [
            AttributeSample(rng.integers(low, high, (64, 64, 3), dtype=np.uint8), gender, age, age < 13)
            for _ in range(12)
        ]

    dark, light = crops(0, 90, "male", 60.0), crops(160, 255, "female", 8.0)
    result = train_attribute_model(dark[:8] + light[:8], dark[8:] + light[8:], epochs=4, patience=4, batch_size=8)
    path = save_model(result.model, tmp_path / "attributes.keras", {"input_size": 64, "margin": 0.2, "age_faces": 16})
    register_attribute_model(
        ModelSpec(
            name="keras-test",
            kind="attributes",
            version="test",
            license="test only",
            description="trained in a test",
            default_params={"gender_threshold": 0.5},
            factory=lambda **params: KerasAttributeModel(model_path=str(path), **params),
        )
    )

    served = get_attribute_model("keras-test")
    image = np.concatenate([dark[0].crop, light[0].crop], axis=1)
    faces = [Detection(0, 0, 64, 64, 1.0), Detection(64, 0, 128, 64, 1.0)]
    # The margin of 0.2 reaches past the crop: the served model replicates edges, as in training.
    direct = infer(result.model, to_grey(np.stack([crop(image, face, size=64, margin=0.2) for face in faces])))

    assert result.epochs_run == 4 and not result.cancelled
    assert result.best_val_loss < result.initial_val_loss
    assert served is get_attribute_model("keras-test")
    estimates = served.predict_many(image, faces)
    p_female = direct["gender"].ravel()
    assert [e.gender_confidence for e in estimates] == pytest.approx(np.maximum(p_female, 1 - p_female), abs=1e-5)
    assert [e.age for e in estimates] == pytest.approx(direct["age"].ravel() * 100, abs=1e-3)


def test_cancelling_a_finished_job_leaves_it_finished(curated_corpus, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        job = training_job_create(user=alice, kind=TrainingKind.ATTRIBUTES, corpus=curated_corpus, params=QUICK)
    TrainingJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE)

    job = training_job_cancel(job=job)

    assert job.status == JobStatus.DONE
