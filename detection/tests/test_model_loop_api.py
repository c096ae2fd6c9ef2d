"""The model loop's API: evaluation, training jobs, models, similar faces, naming people, encodings."""

import numpy as np
import pytest

from annotations.models import Corpus, CorpusMembership, CorpusRole, Document, Face, FaceRevision, Person, ReviewStatus
from annotations.services import face_create, face_reject
from detection.inference import registry
from detection.inference.types import Detection
from detection.model_loop.inference_jobs import inference_job_run
from detection.models import DetectionRun, FaceEncoding, InferenceJob, PageDetection, TrainedModel, TrainingJob
from detection.similarity import ENCODER_VERSION, similarity_cache_clear
from detection.tests.factories import add_scan_page
from tests.support.clients import api_client
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


def reviewed(page):
    page.__class__.objects.filter(pk=page.pk).update(review_status=ReviewStatus.REVIEWED)
    return page


@pytest.fixture
def evaluated_run(document, alice):
    """A run whose one reviewed page has a hit (0.9), a rejected box (0.6) and a face it missed."""
    page = reviewed(add_scan_page(document, width=1000, height=800))
    run = DetectionRun.objects.create(
        corpus=document.corpus, document=document, detector="res10", params={"threshold": 0.5}, status=JobStatus.DONE
    )
    PageDetection.objects.create(run=run, page=page, status=JobStatus.DONE, finished_at="2020-01-01T00:00Z")
    Face.objects.create(page=page, x=10, y=10, w=80, h=80, confidence=0.9, detection_run=run, source="res10")
    wrong = Face.objects.create(page=page, x=500, y=10, w=80, h=80, confidence=0.6, detection_run=run, source="res10")
    face_reject(face=wrong, user=alice)
    face_create(page=page, user=alice, x=300, y=300, w=80, h=80)
    return run


def test_a_viewer_reads_a_runs_evaluation(evaluated_run, bob):
    response = api_client(bob).get(f"/api/runs/{evaluated_run.pk}/evaluation/")

    assert response.status_code == 200
    body = response.json()
    assert body["run"] == evaluated_run.pk and body["pages"] == 1
    assert body["detection"]["precision"] == 0.5 and body["detection"]["recall"] == 0.5
    assert body["detection"]["ap50"] == pytest.approx(51 / 101)
    assert [point["threshold"] for point in body["sweep"]] == [0.9, 0.6]


def test_a_runs_evaluation_is_hidden_from_users_without_a_role(evaluated_run, charlie):
    assert api_client(charlie).get(f"/api/runs/{evaluated_run.pk}/evaluation/").status_code == 404
    assert api_client().get(f"/api/runs/{evaluated_run.pk}/evaluation/").status_code == 404


def test_the_evaluation_of_a_document_defaults_to_its_latest_run(evaluated_run, document, bob):
    response = api_client(bob).get(f"/api/evaluation/?document={document.pk}")

    assert response.status_code == 200
    assert response.json()["run"] == evaluated_run.pk


def test_a_document_without_runs_needs_a_detector(document, bob):
    reviewed(add_scan_page(document, width=400, height=400))

    response = api_client(bob).get(f"/api/evaluation/?document={document.pk}")

    assert response.status_code == 400


def test_a_curator_evaluates_a_detector_afresh_and_nothing_is_stored(fake_models, evaluated_run, document, alice):
    fake_models.detector.boxes = [Detection.from_xywh(300, 300, 80, 80, 0.8)]
    faces_before = list(Face.objects.values_list("pk", "version"))

    accepted = api_client(alice).post("/api/evaluation/", {"document": document.pk, "detector": "fake"}, format="json")
    assert accepted.status_code == 202
    assert accepted.json()["status"] == JobStatus.PENDING
    inference_job_run(job_id=accepted.json()["id"])
    response = api_client(alice).get(accepted.json()["url"])

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["progress"]) == (JobStatus.DONE, 1.0)
    body = response.json()["result"]
    assert body["source"] == "fresh" and body["detector"] == "fake"
    assert body["detection"]["true_positives"] == 1 and body["detection"]["false_negatives"] == 1
    assert list(Face.objects.values_list("pk", "version")) == faces_before


def test_a_viewer_may_not_run_a_detector_to_evaluate(fake_models, evaluated_run, document, bob):
    response = api_client(bob).post("/api/evaluation/", {"document": document.pk, "detector": "fake"}, format="json")

    assert response.status_code == 403
    assert not InferenceJob.objects.exists()


def test_an_unknown_detector_is_a_bad_request(evaluated_run, document, alice):
    response = api_client(alice).post("/api/evaluation/", {"document": document.pk, "detector": "yolo"}, format="json")

    assert response.status_code == 400
    assert "Unknown detector" in response.json()["detector"][0]


def test_a_get_never_starts_an_evaluation(
    fake_models, evaluated_run, document, alice, django_capture_on_commit_callbacks
):
    """A GET is not CSRF-checked: a curator's browser sent to an <img src=...> must not start detector work."""
    curator = api_client(alice)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        answers = [
            curator.get(f"/api/evaluation/?document={document.pk}&detector=fake&threshold={threshold}")
            for threshold in ("0.1", "0.2", "0.3")
        ]

    assert [answer.status_code for answer in answers] == [400, 400, 400]
    assert "POST" in answers[0].json()["detector"][0], "the refusal says how to start an evaluation"
    assert not InferenceJob.objects.exists() and not queued
    misspelt = curator.get(f"/api/evaluation/?document={document.pk}&detectr=fake")
    assert misspelt.status_code == 400 and "detectr" in misspelt.json(), "never read as the latest run's evaluation"
    assert curator.get(f"/api/evaluation/?document={document.pk}&format=json").json()["run"] == evaluated_run.pk


@pytest.fixture
def reviewed_document(document):
    # Training needs one page each for training, validation and the held-out test.
    for _ in range(3):
        reviewed(add_scan_page(document, width=400, height=400))
    return document


def test_a_curator_starts_a_training_job_which_is_queued_after_commit(
    reviewed_document, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client(alice).post(
            "/api/training-jobs/",
            {"kind": "attributes", "document": reviewed_document.pk, "params": {"epochs": 3}},
            format="json",
        )

    assert response.status_code == 202
    job = TrainingJob.objects.get()
    assert (job.kind, job.status, job.corpus_id, job.document_id) == (
        "attributes",
        "pending",
        reviewed_document.corpus_id,
        reviewed_document.pk,
    )
    assert job.params["epochs"] == 3 and job.params["input_size"] == 64
    assert len(callbacks) == 1
    assert response.json()["id"] == job.pk


def test_a_training_job_needs_reviewed_pages(document, alice, django_capture_on_commit_callbacks):
    add_scan_page(document, width=400, height=400)

    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client(alice).post(
            "/api/training-jobs/", {"kind": "rescorer", "document": document.pk}, format="json"
        )

    assert response.status_code == 400
    assert "reviewed pages" in response.json()["detail"]
    assert TrainingJob.objects.count() == 0 and callbacks == []


def test_unknown_training_parameters_are_refused(reviewed_document, alice):
    response = api_client(alice).post(
        "/api/training-jobs/",
        {"kind": "attributes", "document": reviewed_document.pk, "params": {"lr": 1}},
        format="json",
    )

    assert response.status_code == 400
    assert TrainingJob.objects.count() == 0


@pytest.mark.parametrize(
    "params, named",
    [
        ({"epochs": 2**64}, "epochs"),
        ({"epochs": -5}, "epochs"),
        ({"epochs": 2.9}, "epochs"),
        ({"epochs": True}, "epochs"),
        ({"epochs": "30"}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"margin": "NaN"}, "margin"),
        ({"margin": 5}, "margin"),
        ({"seed": -1}, "seed"),
        ({"input_size": 10**6}, "input_size"),
    ],
)
def test_training_parameters_out_of_their_range_are_refused_by_name(reviewed_document, alice, params, named):
    response = api_client(alice).post(
        "/api/training-jobs/",
        {"kind": "attributes", "document": reviewed_document.pk, "params": params},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert named in response.json()["detail"]
    assert TrainingJob.objects.count() == 0


def test_training_parameters_in_range_are_kept_as_given(reviewed_document, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = api_client(alice).post(
            "/api/training-jobs/",
            {"kind": "attributes", "document": reviewed_document.pk, "params": {"epochs": 3, "margin": 0, "seed": 7}},
            format="json",
        )

    assert response.status_code == 202, response.content
    params = TrainingJob.objects.get().params
    assert (params["epochs"], params["margin"], params["seed"]) == (3, 0.0, 7)
    assert isinstance(params["margin"], float)


@pytest.mark.parametrize(
    "url, payload",
    [
        ("/api/training-jobs/", {"kind": "attributes", "document": "{doc}", "epochs": 2}),
        ("/api/encodings/", {"document": "{doc}", "force": True}),
    ],
)
def test_a_job_request_with_a_field_it_does_not_take_is_refused_naming_it(reviewed_document, alice, url, payload):
    payload = {key: reviewed_document.pk if value == "{doc}" else value for key, value in payload.items()}
    unknown = ({"epochs", "force"} & set(payload)).pop()

    response = api_client(alice).post(url, payload, format="json")

    assert response.status_code == 400, response.content
    assert unknown in response.json()
    assert TrainingJob.objects.count() == 0 and InferenceJob.objects.count() == 0


def test_viewers_and_strangers_cannot_start_training(reviewed_document, bob, charlie):
    payload = {"kind": "attributes", "corpus": reviewed_document.corpus_id}

    assert api_client(bob).post("/api/training-jobs/", payload, format="json").status_code == 403
    assert api_client(charlie).post("/api/training-jobs/", payload, format="json").status_code == 404
    assert api_client().post("/api/training-jobs/", payload, format="json").status_code == 403
    assert TrainingJob.objects.count() == 0


def test_training_jobs_are_listed_only_to_those_who_see_their_corpus(reviewed_document, bob, charlie):
    TrainingJob.objects.create(kind="attributes", corpus=reviewed_document.corpus)

    assert api_client(bob).get("/api/training-jobs/").json()["count"] == 1
    assert api_client(charlie).get("/api/training-jobs/").json()["count"] == 0


def test_a_curator_cancels_a_pending_job(reviewed_document, alice, bob):
    job = TrainingJob.objects.create(kind="attributes", corpus=reviewed_document.corpus)

    assert api_client(bob).post(f"/api/training-jobs/{job.pk}/cancel/").status_code == 403
    response = api_client(alice).post(f"/api/training-jobs/{job.pk}/cancel/")

    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and response.json()["status"] == "cancelled"


def test_a_running_job_is_asked_to_stop(reviewed_document, alice):
    from django.utils import timezone

    job = TrainingJob.objects.create(
        kind="attributes", corpus=reviewed_document.corpus, status=JobStatus.RUNNING, started_at=timezone.now()
    )

    api_client(alice).post(f"/api/training-jobs/{job.pk}/cancel/")

    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.cancel_requested


@pytest.fixture
def trained(reviewed_document):
    model = TrainedModel.objects.create(
        name="res10+rescore",
        corpus=reviewed_document.corpus,
        kind="detector",
        version=1,
        params={"score_threshold": 0.5, "sha256_12": "abc", "sidecar": {"base": "res10", "search": {}}},
        metrics={"val_base_ap50": 0.2, "val_rescored_ap50": 0.5},
        data_snapshot={"corpus": reviewed_document.corpus_id, "page_ids": [1, 2, 3]},
        file="models/res10-rescore/v1.keras",
        is_active=True,
    )
    TrainingJob.objects.create(
        kind="rescorer", corpus=reviewed_document.corpus, status=JobStatus.DONE, trained_model=model
    )
    yield model
    registry.DETECTORS.pop("res10+rescore@v1", None)
    registry.clear_model_cache()


def test_models_lists_shipped_and_trained_models_selectable_by_name(trained, bob, charlie):
    body = api_client(bob).get("/api/models/").json()

    names = {item["name"] for item in body["detectors"]}
    assert {"res10", "res10+rescore@v1"} <= names
    assert [(m["registry_name"], m["data_snapshot"]["page_ids"]) for m in body["trained"]] == [("res10+rescore@v1", 3)]
    assert (
        "held-out AP@0.5 0.200 → 0.500"
        in next(i for i in body["detectors"] if i["name"] == "res10+rescore@v1")["description"]
    )
    assert api_client(charlie).get("/api/models/").json()["trained"] == []


def test_a_model_trained_on_a_private_corpus_is_listed_only_to_those_who_see_the_corpus(
    trained, reviewed_document, alice, bob, charlie, client
):
    run = DetectionRun.objects.create(
        corpus=reviewed_document.corpus, document=reviewed_document, detector="res10", status=JobStatus.DONE
    )
    for outsider in (api_client(), api_client(charlie)):
        for url in ("/api/models/", "/api/detectors/"):
            body = outsider.get(url).content.decode()
            assert "res10+rescore" not in body and "0.500" not in body, url
            assert '"res10"' in body, "shipped models stay listed"

    member = api_client(bob)
    assert "res10+rescore@v1" in {item["name"] for item in member.get("/api/detectors/").json()["detectors"]}
    assert "res10+rescore@v1" in {item["name"] for item in member.get("/api/models/").json()["detectors"]}
    client.force_login(alice)
    assert "res10+rescore@v1" in client.get(f"/runs/{run.pk}/").content.decode()
    assert "res10+rescore@v1" in client.get(f"/documents/{reviewed_document.pk}/").content.decode()


def test_pages_of_a_public_corpus_do_not_name_models_trained_on_private_corpora(
    trained, reviewed_document, charlie, client
):
    public = Corpus.objects.create(name="Public", is_public=True)
    CorpusMembership.objects.create(corpus=public, user=charlie, role=CorpusRole.CURATOR)
    document = Document.objects.create(corpus=public, source="ark:/12148/bpt6k1", label="Public")
    run = DetectionRun.objects.create(corpus=public, document=document, detector="res10", status=JobStatus.DONE)
    client.force_login(charlie)

    for url in (f"/runs/{run.pk}/", f"/documents/{document.pk}/"):
        body = client.get(url).content.decode()
        assert 'value="res10"' in body, "the curator's detector choice is on the page"
        assert "res10+rescore" not in body, url


def test_a_model_trained_on_a_private_corpus_cannot_be_run_or_named_by_those_who_cannot_see_it(
    trained, reviewed_document, charlie
):
    public = Corpus.objects.create(name="Public", is_public=True)
    CorpusMembership.objects.create(corpus=public, user=charlie, role=CorpusRole.CURATOR)
    document = Document.objects.create(
        corpus=public, source="ark:/12148/bpt6k2", label="Public", import_status=JobStatus.DONE
    )
    add_scan_page(document, width=400, height=300)
    curator = api_client(charlie)

    for field in ("detector", "attribute_model"):
        response = curator.post("/api/runs/", {"document": document.pk, field: "res10+rescore@v1"}, format="json")
        assert response.status_code == 400, (field, response.content)
        assert "res10+rescore" not in response.content.decode().replace("'res10+rescore@v1'", ""), response.content
    unknown = curator.post("/api/runs/", {"document": document.pk, "detector": "nope"}, format="json")
    assert unknown.status_code == 400
    assert "res10+rescore" not in unknown.content.decode(), "the list of known detectors hides it too"
    assert not DetectionRun.objects.filter(document=document).exists()


def test_a_model_trained_on_a_private_corpus_cannot_be_evaluated_or_named_by_those_who_cannot_see_it(
    trained, reviewed_document, charlie, django_capture_on_commit_callbacks
):
    """POST /api/runs/ refuses such a model; a fresh evaluation would run it on the outsider's pages all the same."""
    public = Corpus.objects.create(name="Public", is_public=True)
    CorpusMembership.objects.create(corpus=public, user=charlie, role=CorpusRole.CURATOR)
    document = Document.objects.create(
        corpus=public, source="ark:/12148/bpt6k2", label="Public", import_status=JobStatus.DONE
    )
    reviewed(add_scan_page(document, width=400, height=300))
    curator = api_client(charlie)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        refused = {
            field: curator.post(
                "/api/evaluation/", {"document": document.pk, "detector": "res10", field: "res10+rescore@v1"}, "json"
            )
            for field in ("detector", "attribute_model")
        }
        unknown = curator.post("/api/evaluation/", {"document": document.pk, "detector": "nope"}, format="json")

    detector_refusal = refused["detector"]
    assert detector_refusal.status_code == 400, detector_refusal.content
    assert detector_refusal.json()["detector"][0].startswith("Unknown detector 'res10+rescore@v1'; known: ")
    assert refused["attribute_model"].status_code == 400, refused["attribute_model"].content
    assert "Unknown age/gender model 'res10+rescore@v1'" in refused["attribute_model"].content.decode()
    assert unknown.status_code == 400 and "known: " in unknown.json()["detector"][0]
    assert "res10+rescore" not in unknown.content.decode(), "the list of known detectors hides it too"
    assert "res10" in unknown.json()["detector"][0], "shipped detectors stay listed"
    assert not InferenceJob.objects.exists() and not queued


@pytest.fixture
def encoded_faces(document, other_corpus, alice):
    """Faces with stored encodings: a near twin, a far face, a rejected twin, and a twin in another corpus."""
    page = add_scan_page(document, width=1000, height=800)
    query = face_create(page=page, user=alice, x=10, y=10, w=80, h=80)
    twin = face_create(page=page, user=alice, x=200, y=10, w=80, h=80, person="Colette")
    far = face_create(page=page, user=alice, x=400, y=10, w=80, h=80)
    rejected = face_create(page=page, user=alice, x=600, y=10, w=80, h=80)
    other_document = Document.objects.create(corpus=other_corpus, source="x", import_status=JobStatus.DONE)
    stranger = face_create(
        page=add_scan_page(other_document, width=400, height=400), user=alice, x=10, y=10, w=80, h=80
    )
    base = np.zeros(128, np.float32)
    vectors = {query: base, twin: base + 0.02, far: base + 0.3, rejected: base + 0.001, stranger: base + 0.001}
    for face, vector in vectors.items():
        FaceEncoding.objects.create(
            face=face,
            corpus_id=face.page.document.corpus_id,
            vector=vector.astype("<f4").tobytes(),
            model_version=ENCODER_VERSION,
            x=face.x,
            y=face.y,
            w=face.w,
            h=face.h,
        )
    face_reject(face=rejected, user=alice)
    similarity_cache_clear()
    yield {"query": query, "twin": twin, "far": far, "rejected": rejected, "stranger": stranger}
    similarity_cache_clear()


def test_more_like_this_ranks_the_nearest_faces_of_the_same_corpus(encoded_faces, bob):
    faces = encoded_faces

    response = api_client(bob).get(f"/api/faces/{faces['query'].pk}/similar/?limit=5")

    assert response.status_code == 200
    body = response.json()
    assert [item["face"]["id"] for item in body["results"]] == [faces["twin"].pk, faces["far"].pk]
    assert body["results"][0]["distance"] == pytest.approx(0.02 * np.sqrt(128), rel=1e-4)
    assert body["results"][0]["same_person_likely"] is True and body["results"][1]["same_person_likely"] is False
    assert body["suggested_person"] == "Colette"


def test_more_like_this_answers_the_same_from_the_on_disk_index(encoded_faces, bob, charlie):
    from detection import similarity
    from detection.similarity_index import similarity_index_build

    faces = encoded_faces
    url = f"/api/faces/{faces['query'].pk}/similar/?limit=5"
    corpus_id = faces["query"].page.document.corpus_id
    similarity_index_build(corpus_id=corpus_id)
    similarity_index_build(corpus_id=faces["stranger"].page.document.corpus_id)

    response = api_client(bob).get(url)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [item["face"]["id"] for item in results] == [faces["twin"].pk, faces["far"].pk]
    assert results[0]["distance"] == pytest.approx(0.02 * np.sqrt(128), abs=2e-3)
    assert similarity._indexes[corpus_id].disk is not None
    assert api_client(charlie).get(url).status_code == 404


def test_the_index_sees_encodings_added_after_it_was_loaded(encoded_faces, alice, bob):
    faces = encoded_faces
    api_client(bob).get(f"/api/faces/{faces['query'].pk}/similar/")
    page = faces["query"].page
    newcomer = face_create(page=page, user=alice, x=10, y=300, w=80, h=80)
    FaceEncoding.objects.create(
        face=newcomer,
        corpus_id=page.document.corpus_id,
        vector=np.full(128, 0.001, "<f4").tobytes(),
        model_version=ENCODER_VERSION,
        x=newcomer.x,
        y=newcomer.y,
        w=newcomer.w,
        h=newcomer.h,
    )

    body = api_client(bob).get(f"/api/faces/{faces['query'].pk}/similar/").json()

    assert body["results"][0]["face"]["id"] == newcomer.pk


def test_similar_faces_are_hidden_from_users_without_a_role(encoded_faces, charlie):
    assert api_client(charlie).get(f"/api/faces/{encoded_faces['query'].pk}/similar/").status_code == 404


def test_a_face_whose_image_is_gone_has_no_neighbours_to_offer(document, alice, bob, settings):
    page = add_scan_page(document, width=400, height=400)
    face = face_create(page=page, user=alice, x=10, y=10, w=80, h=80)
    (settings.LOCAL_IMAGES_DIR / page.local_path).unlink()

    accepted = api_client(bob).get(f"/api/faces/{face.pk}/similar/")
    assert accepted.status_code == 202
    assert inference_job_run(job_id=accepted.json()["id"]).status == JobStatus.FAILED
    response = api_client(bob).get(f"/api/faces/{face.pk}/similar/")

    assert response.status_code == 422
    assert FaceEncoding.objects.count() == 0


def test_a_curator_names_a_face_and_accepts_suggested_matches(encoded_faces, alice):
    faces = encoded_faces
    query, far = faces["query"], faces["far"]

    response = api_client(alice).post(
        f"/api/faces/{query.pk}/person/",
        {"person": "Colette", "version": query.version, "matches": [{"id": far.pk, "version": far.version}]},
        format="json",
    )

    assert response.status_code == 200
    assert [face["person"] for face in response.json()["faces"]] == ["Colette", "Colette"]
    assert set(Face.objects.filter(person__name="Colette").values_list("pk", flat=True)) == {
        query.pk,
        far.pk,
        faces["twin"].pk,
    }
    assert FaceRevision.objects.filter(face=query, after__person="Colette").exists()


def test_naming_a_stale_face_is_a_conflict_and_changes_nothing(encoded_faces, alice):
    faces = encoded_faces
    query, far = faces["query"], faces["far"]

    response = api_client(alice).post(
        f"/api/faces/{query.pk}/person/",
        {"person": "Colette", "version": query.version, "matches": [{"id": far.pk, "version": far.version + 1}]},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["face"]["id"] == far.pk
    assert not Face.objects.filter(pk__in=[query.pk, far.pk], person__name="Colette").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"person": "Colette", "version": 1, "status": "accepted"}, "status"),
        (
            {"person": "Mistinguett", "version": 1, "matches": [{"id": "{far}", "version": 1, "gender": "male"}]},
            "matches",
        ),
        ({"person": "Mistinguett"}, "version"),
    ],
)
def test_naming_refuses_fields_it_cannot_set_and_needs_versions(encoded_faces, alice, body, field):
    """Hole 7 of #13: a write names what it cannot set instead of a silent 200."""
    faces = encoded_faces
    query, far = faces["query"], faces["far"]
    if "matches" in body:
        body = {**body, "matches": [{**match, "id": far.pk} for match in body["matches"]]}

    response = api_client(alice).post(f"/api/faces/{query.pk}/person/", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Face.objects.filter(person__name="Mistinguett").exists()
    assert not FaceRevision.objects.filter(after__person="Mistinguett").exists()


def test_a_match_from_another_corpus_cannot_be_named(encoded_faces, alice, other_corpus):
    from annotations.models import CorpusMembership

    CorpusMembership.objects.create(corpus=other_corpus, user=alice, role="curator")
    faces = encoded_faces
    stranger = faces["stranger"]

    response = api_client(alice).post(
        f"/api/faces/{faces['query'].pk}/person/",
        {"person": "Colette", "version": 1, "matches": [{"id": stranger.pk, "version": stranger.version}]},
        format="json",
    )

    assert response.status_code == 404
    assert Face.objects.filter(person__name="Colette").count() == 1


def test_viewers_cannot_name_people(encoded_faces, bob):
    query = encoded_faces["query"]

    response = api_client(bob).post(f"/api/faces/{query.pk}/person/", {"person": "X", "version": 1}, format="json")

    assert response.status_code == 403
    assert Face.objects.get(pk=query.pk).person_name == ""


def test_people_are_listed_with_their_face_counts(encoded_faces, alice, bob, charlie):
    face_create(page=encoded_faces["query"].page, user=alice, x=10, y=500, w=80, h=80, person="Colette")

    body = api_client(bob).get("/api/people/?q=col").json()

    colette = Person.objects.get(name="Colette")
    assert body["results"] == [
        {"id": colette.pk, "corpus": colette.corpus_id, "person": "Colette", "note": "", "faces": 2}
    ]
    assert api_client(charlie).get("/api/people/").json()["count"] == 0


def test_a_curator_queues_encodings_for_a_document(document, alice, bob, django_capture_on_commit_callbacks):
    page = add_scan_page(document, width=400, height=400)
    face_create(page=page, user=alice, x=10, y=10, w=80, h=80)

    assert api_client(bob).post("/api/encodings/", {"document": document.pk}, format="json").status_code == 403
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client(alice).post("/api/encodings/", {"document": document.pk}, format="json")

    assert response.status_code == 202
    assert response.json()["faces_to_encode"] == 1
    assert len(callbacks) == 1


def test_the_run_page_shows_the_evaluation_and_a_chart(evaluated_run, bob, alice, client):
    client.force_login(bob)
    response = client.get(f"/runs/{evaluated_run.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="pr-chart"' in html and 'id="evaluation-data"' in html
    assert "compare-form" not in html
    client.force_login(alice)
    assert "compare-form" in client.get(f"/runs/{evaluated_run.pk}/").content.decode()


def test_the_run_page_is_hidden_from_users_without_a_role(evaluated_run, charlie, client):
    client.force_login(charlie)

    assert client.get(f"/runs/{evaluated_run.pk}/").status_code == 404


def test_a_public_corpus_run_page_is_open_to_anonymous_visitors(evaluated_run, client):
    Corpus.objects.filter(pk=evaluated_run.corpus_id).update(is_public=True)

    assert client.get(f"/runs/{evaluated_run.pk}/").status_code == 200


def test_a_large_corpus_switches_to_the_ivf_index_once_built(encoded_faces, bob, settings):
    from detection.inference.vector_index import IVFIndex
    from detection.similarity import _indexes

    settings.SIMILARITY_IVF_MIN = 3
    faces = encoded_faces
    url = f"/api/faces/{faces['query'].pk}/similar/"
    first = api_client(bob).get(url).json()
    entry = _indexes[faces["query"].page.document.corpus_id]
    if entry.building is not None:
        entry.building.join(timeout=30)

    again = api_client(bob).get(url).json()

    assert isinstance(entry.index, IVFIndex)
    assert [r["face"]["id"] for r in again["results"]] == [r["face"]["id"] for r in first["results"]]
