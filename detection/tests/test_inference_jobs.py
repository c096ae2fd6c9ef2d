"""Evaluating a detector and encoding a face on demand are inference-queue jobs: 202, progress, result."""

import numpy as np
import pytest
from rest_framework.test import APIClient

from annotations.services import face_create
from detection import similarity
from detection.model_loop.inference_jobs import inference_job_run
from detection.models import FaceEncoding, InferenceJob
from detection.tests.conftest import add_scan_page
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


class FakeEncoder:
    def __init__(self):
        self.calls = 0

    def encode(self, rgb, box):
        self.calls += 1
        return np.full(128, 0.5, np.float32)


@pytest.fixture
def fake_encoder(monkeypatch):
    encoder = FakeEncoder()
    monkeypatch.setattr(similarity, "get_encoder", lambda: encoder)
    similarity.similarity_cache_clear()
    yield encoder
    similarity.similarity_cache_clear()


def test_the_same_evaluation_asked_again_while_under_way_is_the_same_job(fake_models, document, alice):
    url = f"/api/evaluation/?document={document.pk}&detector=fake"

    first, again = client_for(alice).get(url), client_for(alice).get(url)
    other = client_for(alice).get(f"{url}&threshold=0.3")

    assert (first.status_code, again.status_code, other.status_code) == (202, 202, 202)
    assert first.json()["id"] == again.json()["id"] != other.json()["id"]
    assert first.json()["url"] == f"/api/inference-jobs/{first.json()['id']}/"
    assert InferenceJob.objects.count() == 2


def test_an_evaluation_job_is_a_curators_to_read(fake_models, document, alice, bob):
    job_id = client_for(alice).get(f"/api/evaluation/?document={document.pk}&detector=fake").json()["id"]

    assert client_for(bob).get(f"/api/inference-jobs/{job_id}/").status_code == 403
    assert client_for(alice).get(f"/api/inference-jobs/{job_id}/").status_code == 200


def test_a_face_not_encoded_yet_is_encoded_by_a_job_then_answered_at_once(document, alice, bob, fake_encoder):
    page = add_scan_page(document, width=400, height=400)
    face = face_create(page=page, user=alice, x=10, y=10, w=80, h=80)
    twin = face_create(page=page, user=alice, x=200, y=10, w=80, h=80)
    FaceEncoding.objects.create(
        face=twin,
        corpus_id=document.corpus_id,
        vector=np.full(128, 0.5, np.float32).astype("<f4").tobytes(),
        model_version=similarity.ENCODER_VERSION,
        x=twin.x,
        y=twin.y,
        w=twin.w,
        h=twin.h,
    )
    url = f"/api/faces/{face.pk}/similar/"

    accepted = client_for(bob).get(url)
    assert accepted.status_code == 202
    assert fake_encoder.calls == 0, "the request itself encodes nothing"
    assert client_for(bob).get(url).json()["id"] == accepted.json()["id"], "one job while it is under way"
    job = inference_job_run(job_id=accepted.json()["id"])
    answered = client_for(bob).get(url)

    assert (job.status, job.progress, fake_encoder.calls) == (JobStatus.DONE, 1.0, 1)
    assert client_for(bob).get(accepted.json()["url"]).json()["status"] == JobStatus.DONE
    assert answered.status_code == 200
    assert [result["face"]["id"] for result in answered.json()["results"]] == [twin.pk]


def test_a_duplicate_delivery_of_an_inference_job_is_a_no_op(fake_models, document, alice):
    job_id = client_for(alice).get(f"/api/evaluation/?document={document.pk}&detector=fake").json()["id"]

    assert inference_job_run(job_id=job_id).status == JobStatus.DONE
    assert inference_job_run(job_id=job_id) is None
