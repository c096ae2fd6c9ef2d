"""The model loop fits an encoding head from a corpus's curated faces and serves it as a trained attribute model.

A stand-in encoder (a face's grey pixels, shrunk to 128 numbers) replaces dlib's, so this runs in seconds;
the generated pages paste two photographs of women and two of men again and again.
"""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from annotations.models import Document, ReviewStatus
from annotations.services import face_create
from detection.inference import encoder as encoder_module
from detection.inference import registry
from detection.inference.registry import get_attribute_model
from detection.inference.types import Detection
from detection.model_loop.training import (
    TrainingRefused,
    trained_model_set_active,
    training_job_create,
    training_job_run,
    training_params,
)
from detection.models import TrainingKind
from detection.tests.factories import add_scan_page
from tests.support.model_loop_pages import curated_page
from webapp.jobs import JobStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_registry")]


class PixelEncoder:
    """128 numbers from the face's grey pixels (8 x 16), in place of dlib's network."""

    def __init__(self, **_options):
        pass

    def encode(self, image, box):
        face = image[int(box.y1) : int(box.y2), int(box.x1) : int(box.x2)]
        if min(face.shape[:2]) < 10:
            return None
        grey = cv2.cvtColor(np.ascontiguousarray(face), cv2.COLOR_RGB2GRAY)
        return cv2.resize(grey, (8, 16), interpolation=cv2.INTER_AREA).astype(np.float32).ravel() / 255.0


@pytest.fixture
def curated_corpus(corpus, alice):
    """Four documents of two reviewed pages, five curated faces a page (women and men)."""
    seed = 0
    for label in ("Album 1", "Album 2", "Album 3", "Album 4"):
        document = Document.objects.create(corpus=corpus, source=f"scans/{label}", label=label, import_status="done")
        for _ in range(2):
            generated = curated_page(seed, width=360, height=450, n_ornaments=0, face_sizes=(30, 44))
            page = add_scan_page(document, width=360, height=450, pixels=generated.pixels)
            for face in generated.faces:
                face_create(
                    page=page, user=alice, x=face.x, y=face.y, w=face.w, h=face.h, gender=face.gender, age=face.age
                )
            page.__class__.objects.filter(pk=page.pk).update(review_status=ReviewStatus.REVIEWED)
            seed += 1
    return corpus


def test_a_corpus_with_curated_faces_yields_a_usable_encoding_head(
    curated_corpus, alice, fake_models, monkeypatch, settings, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(encoder_module, "FaceEncoder", PixelEncoder)
    with django_capture_on_commit_callbacks():
        job = training_job_create(user=alice, kind=TrainingKind.ENCODING_HEAD, corpus=curated_corpus, params={})

    job = training_job_run(job_id=job.pk)

    assert job.status == JobStatus.DONE, job.error
    model = job.trained_model
    assert (model.name, model.version, model.kind) == ("encoding-head", 1, "attributes")
    assert model.file.endswith("v1.json")
    cross_validation = model.metrics["cross_validation"]
    assert cross_validation["gender"]["fitted"] and cross_validation["gender"]["cv_auc"] > 0.5
    assert model.metrics["train_documents"] >= 2
    # Compared with the shipped default on the held-out pages, as any trained attribute model.
    assert model.comparison["metric"] == "macro_recall" and model.comparison["active_model"] == "fake-age-gender"
    assert model.comparison["new"] is not None
    written = json.loads((Path(settings.MEDIA_ROOT) / model.file).read_text())
    assert written["version"] == f"v1-{model.params['sha256_12']}" and written["gender"]["weights"]

    trained_model_set_active(model=model, user=alice, is_active=True, reason="to try it", updated_at=model.updated_at)
    assert "encoding-head@v1" in registry.ATTRIBUTE_MODELS
    page = curated_page(99, width=360, height=450, n_ornaments=0, face_sizes=(30, 44))
    head = get_attribute_model("encoding-head@v1")
    assert head.version == written["version"]
    readings = [head.predict(page.pixels, Detection(f.x, f.y, f.x + f.w, f.y + f.h, 1.0)) for f in page.faces]
    right = sum(reading.gender == face.gender for reading, face in zip(readings, page.faces, strict=True))
    assert right >= 3, [(reading.gender, face.gender) for reading, face in zip(readings, page.faces, strict=True)]


def test_encoding_head_parameters_are_checked():
    assert training_params(kind=TrainingKind.ENCODING_HEAD, params={"features": "encoding+age-gender"})["folds"] == 5
    with pytest.raises(TrainingRefused, match="features"):
        training_params(kind=TrainingKind.ENCODING_HEAD, params={"features": "pixels"})
    with pytest.raises(TrainingRefused, match="gender_threshold"):
        training_params(kind=TrainingKind.ENCODING_HEAD, params={"gender_threshold": 0.3})
    with pytest.raises(TrainingRefused, match="epochs"):
        training_params(kind=TrainingKind.ENCODING_HEAD, params={"epochs": 3})
