"""Evaluating a detector and encoding a face on demand are inference-queue jobs: 202, progress, result."""

import numpy as np
import pytest
from rest_framework.test import APIClient

from annotations.models import Corpus, Document
from annotations.services import face_create
from detection import similarity
from detection.model_loop.evaluation import EvaluationRefused
from detection.model_loop.inference_jobs import evaluation_job_request, inference_job_run
from detection.models import FaceEncoding, InferenceJob, TrainedModel, TrainingJob
from detection.tests.conftest import add_scan_page
from webapp.jobs import JobStatus
from webapp.throttling import AnonymousRenderThrottle

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


def evaluate(user, document, **params):
    """Ask for a fresh evaluation of a detector on the document's reviewed pages."""
    return client_for(user).post("/api/evaluation/", {"document": document.pk, **params}, format="json")


def test_the_same_evaluation_asked_again_while_under_way_is_the_same_job(fake_models, document, alice):
    first, again = evaluate(alice, document, detector="fake"), evaluate(alice, document, detector="fake")
    other = evaluate(alice, document, detector="fake", threshold=0.3)

    assert (first.status_code, again.status_code, other.status_code) == (202, 202, 202)
    assert first.json()["id"] == again.json()["id"] != other.json()["id"]
    assert first.json()["url"] == f"/api/inference-jobs/{first.json()['id']}/"
    assert InferenceJob.objects.count() == 2


def test_an_evaluation_job_is_a_curators_to_read(fake_models, document, alice, bob):
    job_id = evaluate(alice, document, detector="fake").json()["id"]

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


def test_anonymous_visitors_start_face_encodings_at_a_limited_rate_per_address(
    document, alice, bob, monkeypatch, fake_encoder
):
    """Each encoding is worker work: an anonymous flood on a public corpus must not fill the inference queue."""
    monkeypatch.setattr(AnonymousRenderThrottle, "THROTTLE_RATES", {"encoding-anonymous": "2/minute"})
    Corpus.objects.filter(pk=document.corpus_id).update(is_public=True)
    page = add_scan_page(document, width=400, height=400)
    faces = [face_create(page=page, user=alice, x=10 + 90 * n, y=10, w=80, h=80) for n in range(4)]
    anonymous = APIClient()

    answers = [anonymous.get(f"/api/faces/{face.pk}/similar/") for face in faces[:3]]
    polled = anonymous.get(f"/api/faces/{faces[0].pk}/similar/")

    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert int(answers[2]["Retry-After"]) > 0 and "sign in" in answers[2].json()["detail"]
    assert polled.status_code == 202 and polled.json()["id"] == answers[0].json()["id"], "a job under way is free"
    assert InferenceJob.objects.count() == 2
    assert client_for(bob).get(f"/api/faces/{faces[3].pk}/similar/").status_code == 202, "signed-in: not limited"


def test_a_duplicate_delivery_of_an_inference_job_is_a_no_op(fake_models, document, alice):
    job_id = evaluate(alice, document, detector="fake").json()["id"]

    assert inference_job_run(job_id=job_id).status == JobStatus.DONE
    assert inference_job_run(job_id=job_id) is None


def test_a_fresh_evaluation_never_runs_a_model_trained_on_a_corpus_the_requester_cannot_see(
    document, other_corpus, charlie, isolated_registry
):
    """Refused with the words for a name that does not exist, and the list of known models leaves it out."""
    hidden = TrainedModel.objects.create(
        name="res10+rescore",
        corpus=document.corpus,
        kind="detector",
        version=1,
        is_active=True,
        params={"score_threshold": 0.5, "sidecar": {"base": "res10", "search": {}}},
        data_snapshot={"corpus": document.corpus_id},
        file="models/res10-rescore/v1.keras",
    )
    TrainingJob.objects.create(kind="rescorer", corpus=document.corpus, status=JobStatus.DONE, trained_model=hidden)
    outsiders_document = Document.objects.create(corpus=other_corpus, source="x", import_status=JobStatus.DONE)

    for detector, attribute_model in [(hidden.registry_name, ""), ("res10", hidden.registry_name)]:
        with pytest.raises(EvaluationRefused, match=r"^Unknown (detector|age/gender model) 'res10\+rescore@v1'"):
            evaluation_job_request(
                user=charlie,
                document=outsiders_document,
                detector=detector,
                threshold=None,
                attribute_model=attribute_model,
            )
    with pytest.raises(EvaluationRefused) as unknown:
        evaluation_job_request(
            user=charlie, document=outsiders_document, detector="nope", threshold=None, attribute_model=""
        )

    assert "known: " in str(unknown.value) and "res10+rescore" not in str(unknown.value)
    assert not InferenceJob.objects.exists()
