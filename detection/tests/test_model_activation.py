"""The model loop's guard rails: held-out pages, the activation rule and the curator's override."""

from datetime import timedelta

import numpy as np
import pytest
from PIL import Image
from rest_framework.test import APIClient

from annotations.models import Corpus
from detection.inference import registry
from detection.inference.types import Detection
from detection.model_loop import training
from detection.model_loop.training import held_out_comparison, trained_model_decide
from detection.models import TrainedModel, TrainingJob
from detection.training.data import LabelledBox, LabelledImage, split_held_out
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


def labelled_pages(tmp_path, *, documents: int, pages: int, faces: int = 2) -> list[LabelledImage]:
    """Blank pages with `faces` curated faces each, in a row (100 px boxes 150 px apart)."""
    path = tmp_path / "page.png"
    Image.fromarray(np.full((400, 1600, 3), 200, np.uint8)).save(path)
    boxes = tuple(LabelledBox(Detection(10 + 150 * i, 10, 110 + 150 * i, 110, 1.0), True) for i in range(faces))
    return [
        LabelledImage(image_path=path, boxes=boxes, document=f"d{d}", page=f"{d * 100 + p}")
        for d in range(documents)
        for p in range(pages)
    ]


@pytest.mark.parametrize("documents, pages", [(1, 3), (1, 12), (3, 3), (4, 2), (9, 5)])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_a_held_out_split_never_shares_a_page_with_training(tmp_path, documents, pages, seed):
    images = labelled_pages(tmp_path, documents=documents, pages=pages)
    # The same page exported twice must still fall on one side only.
    images.append(images[0])

    split = split_held_out(images, validation_share=0.2, test_share=0.25, seed=seed)

    train, validation, test = ({image.page for image in side} for side in (split.train, split.validation, split.test))
    assert train and validation and test
    assert not train & test and not validation & test and not train & validation
    assert len(split.train) + len(split.validation) + len(split.test) == len(images)
    if documents >= 4:
        assert split.unit == "document"
        sides = [{image.document for image in side} for side in (split.train, split.validation, split.test)]
        assert not sides[0] & sides[2] and not sides[1] & sides[2] and not sides[0] & sides[1]
    else:
        assert split.unit == "page"


def trained_model(
    version: int, *, active: bool = False, name: str = "res10+rescore", corpus: Corpus | None = None
) -> TrainedModel:
    return TrainedModel.objects.create(
        name=name,
        corpus=corpus or Corpus.objects.get_or_create(name="Training pages")[0],
        kind="detector" if name == "res10+rescore" else "attributes",
        version=version,
        params={"sha256_12": f"v{version}", "sidecar": {"base": "res10", "search": {}}},
        file=f"models/test/v{version}.keras",
        is_active=active,
    )


class FixedDetector:
    """Finds the same boxes on every page."""

    def __init__(self, boxes):
        self.boxes = boxes

    def detect(self, image):
        return list(self.boxes)


@pytest.fixture
def restore_registry():
    detectors, attribute_models = dict(registry.DETECTORS), dict(registry.ATTRIBUTE_MODELS)
    yield
    for table, saved in ((registry.DETECTORS, detectors), (registry.ATTRIBUTE_MODELS, attribute_models)):
        table.clear()
        table.update(saved)
    training._registered.clear()
    registry.clear_model_cache()


@pytest.fixture
def fake_trained_detectors(monkeypatch):
    """Trained re-scorers scored on held-out pages through fixed boxes, set per version."""
    by_version: dict[int, FixedDetector] = {}
    monkeypatch.setattr(training, "_trained_detector", lambda model: by_version[model.version])
    return by_version


# The held-out page has faces at x = 10, 160, 310, ...: one box on each is perfect, a box elsewhere is a miss.
PERFECT = [Detection(10 + 150 * i, 10, 110 + 150 * i, 110, 0.9) for i in range(10)]
HALF = [Detection(10 + 150 * i, 10, 110 + 150 * i, 110, 0.4) for i in range(5)] + [
    Detection(10 + 150 * i, 250, 110 + 150 * i, 350, 0.9) for i in range(5)
]


def test_a_worse_model_stays_inactive_with_its_reason_and_a_better_one_replaces_the_active(
    tmp_path, settings, fake_trained_detectors, restore_registry
):
    settings.TRAINING_MIN_HELD_OUT_FACES = 50
    test_pages = labelled_pages(tmp_path, documents=1, pages=5, faces=10)
    active, worse, better = trained_model(1, active=True), trained_model(2), trained_model(3)
    fake_trained_detectors.update({1: FixedDetector(HALF), 2: FixedDetector(HALF[5:]), 3: FixedDetector(PERFECT)})

    worse = trained_model_decide(model=worse, comparison=held_out_comparison(model=worse, test=test_pages))

    assert not worse.is_active
    assert worse.comparison["metric"] == "ap50" and worse.comparison["active_model"] == "res10+rescore@v1"
    assert worse.comparison["new"] < worse.comparison["active"]
    assert worse.comparison["held_out_faces"] == 50 and worse.comparison["decision"] == "kept_inactive"
    assert "not better than" in worse.activation_reason
    assert TrainedModel.objects.get(pk=active.pk).is_active
    assert "res10+rescore@v2" not in registry.DETECTORS

    better = trained_model_decide(model=better, comparison=held_out_comparison(model=better, test=test_pages))

    assert better.is_active and better.comparison["decision"] == "activated"
    assert better.comparison["new"] == pytest.approx(1.0) and better.comparison["active"] < 1.0
    assert "Activated" in better.activation_reason
    active.refresh_from_db()
    assert not active.is_active and "Replaced by res10+rescore@v3" in active.activation_reason
    assert list(TrainedModel.objects.filter(is_active=True)) == [better]


def test_a_model_compared_on_too_few_held_out_faces_is_kept_inactive(
    tmp_path, settings, fake_trained_detectors, restore_registry
):
    settings.TRAINING_MIN_HELD_OUT_FACES = 50
    test_pages = labelled_pages(tmp_path, documents=1, pages=2, faces=10)
    trained_model(1, active=True)
    new = trained_model(2)
    fake_trained_detectors.update({1: FixedDetector(HALF), 2: FixedDetector(PERFECT)})

    new = trained_model_decide(model=new, comparison=held_out_comparison(model=new, test=test_pages))

    assert not new.is_active
    assert new.comparison["enough_data"] is False and new.comparison["held_out_faces"] == 20
    assert "fewer than the 50" in new.activation_reason


def test_the_first_attribute_model_is_compared_with_the_default_model(
    tmp_path, settings, fake_models, monkeypatch, restore_registry
):
    from detection.inference.types import AgeGender

    settings.TRAINING_MIN_HELD_OUT_FACES = 4
    images = labelled_pages(tmp_path, documents=1, pages=2, faces=3)
    images = [
        LabelledImage(
            image.image_path,
            tuple(LabelledBox(b.box, True, gender="male") for b in image.boxes),
            image.document,
            image.page,
        )
        for image in images
    ]

    class AlwaysMale:
        def predict_many(self, image, boxes):
            return [AgeGender(40.0, 0.5, "male", 0.9, False) for _ in boxes]

    monkeypatch.setattr(training, "_trained_attributes", lambda model: AlwaysMale())
    new = trained_model(1, name="keras-attributes")

    new = trained_model_decide(model=new, comparison=held_out_comparison(model=new, test=images))

    # The default fake calls everyone a woman: male recall 0, adult recall 1; the new model gets both right.
    assert new.comparison["active_model"] == "fake-age-gender"
    assert new.comparison["metric"] == "macro_recall"
    assert new.comparison["active"] == pytest.approx(0.5) and new.comparison["new"] == pytest.approx(1.0)
    assert new.is_active


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def kept_inactive(corpus, restore_registry):
    active = trained_model(1, active=True, corpus=corpus)
    model = trained_model(2, corpus=corpus)
    TrainedModel.objects.filter(pk=model.pk).update(activation_reason="Kept inactive: not better.")
    for each in (active, model):
        TrainingJob.objects.create(kind="rescorer", corpus=corpus, status=JobStatus.DONE, trained_model=each)
    model.refresh_from_db()
    return model


def test_a_curator_overrides_the_rule_with_a_written_reason_which_is_recorded(kept_inactive, alice):
    response = client_for(alice).post(
        f"/api/models/{kept_inactive.pk}/activation/",
        {
            "is_active": True,
            "reason": "Better on the 1920s issues we care about",
            "updated_at": kept_inactive.updated_at,
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["is_active"] is True and body["activation_overridden_by"] == "alice"
    assert "Better on the 1920s issues" in body["activation_reason"]
    assert list(TrainedModel.objects.filter(is_active=True).values_list("version", flat=True)) == [2]
    assert "res10+rescore@v2" in registry.DETECTORS


def test_an_override_needs_a_reason_and_the_current_state(kept_inactive, alice):
    url = f"/api/models/{kept_inactive.pk}/activation/"
    stale = kept_inactive.updated_at - timedelta(seconds=5)

    missing = client_for(alice).post(url, {"is_active": True, "updated_at": kept_inactive.updated_at}, format="json")
    blank = client_for(alice).post(
        url, {"is_active": True, "reason": "  ", "updated_at": kept_inactive.updated_at}, format="json"
    )
    unknown = client_for(alice).post(
        url,
        {"is_active": True, "reason": "x", "updated_at": kept_inactive.updated_at, "version": 3},
        format="json",
    )
    conflict = client_for(alice).post(url, {"is_active": True, "reason": "x", "updated_at": stale}, format="json")

    assert (missing.status_code, blank.status_code, unknown.status_code) == (400, 400, 400)
    assert conflict.status_code == 409 and conflict.json()["model"]["updated_at"]
    kept_inactive.refresh_from_db()
    assert not kept_inactive.is_active and kept_inactive.activation_reason == "Kept inactive: not better."


def test_only_curators_of_the_training_corpus_override(kept_inactive, bob, charlie):
    payload = {"is_active": True, "reason": "x", "updated_at": kept_inactive.updated_at}
    url = f"/api/models/{kept_inactive.pk}/activation/"

    assert client_for(bob).post(url, payload, format="json").status_code == 403
    assert client_for(charlie).post(url, payload, format="json").status_code == 404
    assert client_for().post(url, payload, format="json").status_code in (401, 403)
    assert not TrainedModel.objects.get(pk=kept_inactive.pk).is_active


def test_an_active_model_that_cannot_be_scored_keeps_the_new_one_inactive(
    tmp_path, settings, fake_trained_detectors, restore_registry
):
    settings.TRAINING_MIN_HELD_OUT_FACES = 10
    test_pages = labelled_pages(tmp_path, documents=1, pages=2, faces=10)
    trained_model(1, active=True)
    new = trained_model(2)
    # Version 1's file is gone: only version 2 can be built.
    fake_trained_detectors.update({2: FixedDetector(PERFECT)})

    new = trained_model_decide(model=new, comparison=held_out_comparison(model=new, test=test_pages))

    assert not new.is_active and new.comparison["new"] == pytest.approx(1.0)
    assert "KeyError" in new.comparison["active_error"]
    assert "res10+rescore@v1 could not be scored" in new.activation_reason
    assert TrainedModel.objects.get(version=1).is_active


def trained_on(corpus, version: int, *, active: bool = False) -> TrainedModel:
    """A re-scorer trained by a finished job on `corpus`."""
    model = trained_model(version, active=active, corpus=corpus)
    TrainingJob.objects.create(kind="rescorer", corpus=corpus, status=JobStatus.DONE, trained_model=model)
    return model


def test_activating_a_model_leaves_the_active_model_of_another_corpus_alone(
    corpus, other_corpus, alice, restore_registry
):
    theirs = trained_on(other_corpus, 1, active=True)
    own = trained_on(corpus, 2)

    response = client_for(alice).post(
        f"/api/models/{own.pk}/activation/",
        {"is_active": True, "reason": "Better on our pages", "updated_at": own.updated_at},
        format="json",
    )

    assert response.status_code == 200, response.content
    theirs.refresh_from_db()
    assert theirs.is_active and not theirs.activation_reason
    assert set(TrainedModel.objects.filter(is_active=True).values_list("version", flat=True)) == {1, 2}
    assert {"res10+rescore@v1", "res10+rescore@v2"} <= set(registry.DETECTORS)


def test_a_new_model_is_compared_with_its_own_corpus_active_model_only(
    tmp_path, settings, corpus, other_corpus, fake_trained_detectors, restore_registry
):
    settings.TRAINING_MIN_HELD_OUT_FACES = 10
    test_pages = labelled_pages(tmp_path, documents=1, pages=2, faces=10)
    theirs = trained_on(other_corpus, 1, active=True)
    own_active = trained_on(corpus, 2, active=True)
    new = trained_on(corpus, 3)
    fake_trained_detectors.update({1: FixedDetector(PERFECT), 2: FixedDetector(HALF), 3: FixedDetector(PERFECT)})

    new = trained_model_decide(model=new, comparison=held_out_comparison(model=new, test=test_pages))

    # Compared with its corpus's v2 (which it beats), not with the other corpus's v1 (which it would not).
    assert new.comparison["active_model"] == "res10+rescore@v2"
    assert new.is_active
    own_active.refresh_from_db()
    theirs.refresh_from_db()
    assert not own_active.is_active and "Replaced by res10+rescore@v3" in own_active.activation_reason
    assert theirs.is_active


def test_a_deleted_corpus_takes_its_trained_models_and_their_files(
    corpus, other_corpus, settings, tmp_path, django_capture_on_commit_callbacks, restore_registry
):
    settings.MEDIA_ROOT = str(tmp_path)
    doomed, kept = trained_on(corpus, 1, active=True), trained_on(other_corpus, 2, active=True)
    for model in (doomed, kept):
        archive = tmp_path / model.file
        archive.parent.mkdir(parents=True, exist_ok=True)
        archive.write_bytes(b"weights")
        archive.with_suffix(".json").write_text("{}")
    training.trained_models_register()
    assert "res10+rescore@v1" in registry.DETECTORS

    with django_capture_on_commit_callbacks(execute=True):
        corpus.delete()

    assert list(TrainedModel.objects.values_list("version", flat=True)) == [2]
    assert not (tmp_path / doomed.file).exists() and not (tmp_path / doomed.file).with_suffix(".json").exists()
    assert (tmp_path / kept.file).exists() and (tmp_path / kept.file).with_suffix(".json").exists()
    assert "res10+rescore@v1" not in registry.DETECTORS and "res10+rescore@v2" in registry.DETECTORS
