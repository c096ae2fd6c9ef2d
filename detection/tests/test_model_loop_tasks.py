"""The model loop's tasks: called directly (not through a broker), twice, they change nothing the second time."""

import numpy as np
import pytest

from annotations.services import face_create
from detection import similarity
from detection.models import FaceEncoding, TrainedModel, TrainingJob
from detection.tasks import encode_faces_task, train_model_task
from detection.tests.factories import add_scan_page
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


class FakeEncoder:
    """Encodes a face as its box's position, and counts calls."""

    def __init__(self):
        self.calls = 0

    def encode(self, image, box):
        self.calls += 1
        return np.full(128, box.x1 / 1000.0, np.float32)


@pytest.fixture
def fake_encoder(monkeypatch):
    encoder = FakeEncoder()
    monkeypatch.setattr(similarity, "get_encoder", lambda: encoder)
    return encoder


def test_encoding_a_document_twice_encodes_each_face_once(document, alice, fake_encoder):
    page = add_scan_page(document, width=400, height=400)
    for x in (10, 120, 230):
        face_create(page=page, user=alice, x=x, y=10, w=60, h=60)

    encode_faces_task(document.pk)
    encode_faces_task(document.pk)

    assert FaceEncoding.objects.count() == 3 and fake_encoder.calls == 3
    assert sorted(FaceEncoding.objects.values_list("x", flat=True)) == [10, 120, 230]


def test_a_large_document_is_encoded_a_batch_of_pages_at_a_time(
    document, alice, fake_encoder, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(similarity, "ENCODE_PAGE_BATCH", 1)
    pages = [add_scan_page(document, width=400, height=400) for _ in range(2)]
    for page in pages:
        face_create(page=page, user=alice, x=10, y=10, w=60, h=60)
    sent = []
    monkeypatch.setattr(encode_faces_task, "delay", lambda *args: sent.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        encode_faces_task(document.pk)

    assert FaceEncoding.objects.count() == 1
    assert sent == [(document.pk, pages[0].pk)]
    encode_faces_task(*sent[0])
    assert FaceEncoding.objects.count() == 2


def test_a_training_task_for_a_finished_or_missing_job_does_nothing(corpus):
    job = TrainingJob.objects.create(kind="attributes", corpus=corpus, status=JobStatus.DONE)

    train_model_task(job.pk)
    train_model_task(job.pk)
    train_model_task(job.pk + 1000)

    job.refresh_from_db()
    assert job.status == JobStatus.DONE and TrainedModel.objects.count() == 0
