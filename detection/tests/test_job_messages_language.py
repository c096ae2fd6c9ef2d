"""Refusals, job errors and a training job's stage are read in the reader's language, not the worker's.

A worker stores what went wrong once, untranslated (webapp.messages); a French curator and an English
one read that same job, each in their own language. A refusal answered at once (a training job that
cannot start, a run that cannot be created, a face that cannot be encoded) is in the request's language.
"""

from __future__ import annotations

import pytest
from django.utils import translation

from annotations.services import face_create
from detection.model_loop.inference_jobs import inference_job_run
from detection.model_loop.training import trained_model_decide, training_job_create, training_job_run
from detection.models import DetectionRun, InferenceJob, InferenceKind, TrainedModel, TrainingJob
from detection.tests.factories import add_scan_page
from tests.support.clients import api_client
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db

NEED_CURATED_FACES = "Both the training and the validation pages need curated faces"
CROPPING_FACES = "cropping faces"
TOO_FEW_REVIEWED = "Training needs at least %(minimum)s reviewed pages; this scope has %(count)s"
NO_ENCODING = "The face cannot be encoded: its image is unavailable or its box is too small"
NO_PAGES = "There are no pages to detect faces on"
UNEXPECTED = "Unexpected error: %(kind)s: %(error)s"


def reviewed_pages(document, count: int) -> None:
    for _ in range(count):
        page = add_scan_page(document, width=400, height=400)
        page.__class__.objects.filter(pk=page.pk).update(review_status="reviewed")


def read(user, url: str, language: str) -> dict:
    response = api_client(user).get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_training_job_s_failure_and_stage_read_in_the_reader_s_language(document, alice, french_catalogue):
    french_catalogue(
        {
            NEED_CURATED_FACES: "Les pages d’entraînement et de validation doivent avoir des visages vérifiés",
            CROPPING_FACES: "découpe des visages",
        }
    )
    reviewed_pages(document, 3)
    job = training_job_create(user=alice, kind="attributes", corpus=document.corpus)
    # The worker's own language does not reach what it stores.
    with translation.override("fr"):
        training_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED

    english = read(alice, f"/api/training-jobs/{job.pk}/", "en")
    french = read(alice, f"/api/training-jobs/{job.pk}/", "fr")

    assert (english["error"], english["stage"]) == (NEED_CURATED_FACES, CROPPING_FACES)
    assert (french["error"], french["stage"]) == (
        "Les pages d’entraînement et de validation doivent avoir des visages vérifiés",
        "découpe des visages",
    )
    assert job.error == NEED_CURATED_FACES, "the English text stays beside the message, for logs and the CLI"


def test_a_training_job_refused_at_once_answers_in_the_request_s_language(document, alice, french_catalogue):
    french_catalogue({TOO_FEW_REVIEWED: "Il faut au moins %(minimum)s pages relues ; celles-ci en ont %(count)s"})
    reviewed_pages(document, 1)

    def refusal(language: str) -> str:
        response = api_client(alice).post(
            "/api/training-jobs/",
            {"kind": "attributes", "document": document.pk},
            format="json",
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert response.status_code == 400, response.content
        return response.json()["detail"]

    assert refusal("en") == "Training needs at least 3 reviewed pages; this scope has 1"
    assert refusal("fr") == "Il faut au moins 3 pages relues ; celles-ci en ont 1"
    assert TrainingJob.objects.count() == 0


def test_a_training_job_s_unexpected_error_keeps_its_cause_in_the_reader_s_language(
    document, alice, french_catalogue, monkeypatch
):
    french_catalogue({UNEXPECTED: "Erreur inattendue : %(kind)s : %(error)s"})
    reviewed_pages(document, 3)
    job = training_job_create(user=alice, kind="attributes", corpus=document.corpus)

    def out_of_memory(*args, **kwargs):
        raise MemoryError("no room for the crops")

    monkeypatch.setattr("detection.model_loop.training.training_snapshot", out_of_memory)
    training_job_run(job_id=job.pk)

    assert read(alice, f"/api/training-jobs/{job.pk}/", "fr")["error"] == (
        "Erreur inattendue : MemoryError : no room for the crops"
    )
    assert read(alice, f"/api/training-jobs/{job.pk}/", "en")["error"] == (
        "Unexpected error: MemoryError: no room for the crops"
    )


def test_a_face_that_cannot_be_encoded_reads_in_the_reader_s_language(document, alice, bob, settings, french_catalogue):
    french = "Ce visage ne peut être encodé : son image manque ou sa boîte est trop petite"
    french_catalogue({NO_ENCODING: french})
    page = add_scan_page(document, width=400, height=400)
    face = face_create(page=page, user=alice, x=10, y=10, w=80, h=80)
    (settings.LOCAL_IMAGES_DIR / page.local_path).unlink()
    accepted = api_client(bob).get(f"/api/faces/{face.pk}/similar/")
    assert accepted.status_code == 202
    with translation.override("fr"):
        inference_job_run(job_id=accepted.json()["id"])
    job = InferenceJob.objects.get()

    assert read(bob, f"/api/inference-jobs/{job.pk}/", "en")["error"] == NO_ENCODING
    assert read(bob, f"/api/inference-jobs/{job.pk}/", "fr")["error"] == french
    # Asked again, the face's failed encoding is the answer, in the asker's language.
    for language, expected in (("fr", french), ("en", NO_ENCODING)):
        response = api_client(bob).get(f"/api/faces/{face.pk}/similar/", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 422
        assert response.json()["detail"] == expected


def test_a_run_refused_at_once_answers_in_the_request_s_language(document, alice, french_catalogue):
    french_catalogue({NO_PAGES: "Il n’y a aucune page où chercher des visages"})

    def refusal(language: str) -> str:
        response = api_client(alice).post(
            "/api/runs/", {"document": document.pk}, format="json", HTTP_ACCEPT_LANGUAGE=language
        )
        assert response.status_code == 400, response.content
        return response.json()["detail"]

    assert refusal("en") == NO_PAGES
    assert refusal("fr") == "Il n’y a aucune page où chercher des visages"


def test_why_a_model_is_kept_inactive_reads_in_the_reader_s_language(document, alice, french_catalogue):
    few_faces = (
        "Kept inactive: the held-out pages have %(faces)s faces, fewer than the %(min)s needed to compare models."
    )
    french_catalogue({few_faces: "Laissé inactif : %(faces)s visages mis de côté, moins que les %(min)s requis."})
    model = TrainedModel.objects.create(
        name="res10+rescore", corpus=document.corpus, kind="detector", version=1, file="models/test/v1.keras"
    )
    with translation.override("fr"):
        trained_model_decide(model=model, comparison={"enough_data": False, "held_out_faces": 20, "min_faces": 50})

    def reason(language: str) -> str:
        (trained,) = read(alice, "/api/models/", language)["trained"]
        return trained["activation_reason"]

    assert reason("en") == (
        "Kept inactive: the held-out pages have 20 faces, fewer than the 50 needed to compare models."
    )
    assert reason("fr") == "Laissé inactif : 20 visages mis de côté, moins que les 50 requis."


def test_a_run_s_evaluation_notes_read_in_the_reader_s_language(document, alice):
    add_scan_page(document, width=400, height=400)
    run = DetectionRun.objects.create(
        corpus=document.corpus,
        document=document,
        detector="res10",
        params={"threshold": 0.5, "evaluation_floor": 0.1},
        status=JobStatus.DONE,
    )

    def notes(language: str) -> list[str]:
        return read(alice, f"/api/runs/{run.pk}/evaluation/", language)["notes"]

    assert notes("en") == [
        "No page of this run is reviewed yet: nothing to compare.",
        "Read from the run's kept predictions (scores down to 0.1) against the accepted, edited and added faces: "
        "later runs on these pages do not change it.",
    ]
    french = notes("fr")
    assert french[0] == "Aucune page de cette exécution n’est encore relue\u00a0: rien à comparer."
    assert french[1].startswith("Lu à partir des prédictions conservées de l’exécution (scores jusqu’à 0,1)")


def test_a_fresh_evaluation_s_notes_read_in_the_reader_s_language(document, alice, settings):
    """The worker keeps the notes of a detector evaluated afresh as messages, rendered for each reader."""
    settings.EVALUATION_MAX_PAGES = 0
    reviewed_pages(document, 1)
    job = InferenceJob.objects.create(kind=InferenceKind.EVALUATION, document=document, params={"detector": "haar"})
    with translation.override("fr"):
        inference_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error

    def notes(language: str) -> list[str]:
        return read(alice, f"/api/inference-jobs/{job.pk}/", language)["result"]["notes"]

    assert notes("en") == [
        "Boxes down to score 0.1 were kept for the sweep; nothing was stored.",
        "Only the first 0 of 1 reviewed pages were evaluated; use `manage.py evaluate` for all of them.",
    ]
    assert notes("fr") == [
        "Les cadres jusqu’au score 0,1 ont été gardés pour le balayage\u00a0; rien n’a été enregistré.",
        "Seules les 0 premières des 1 pages relues ont été évaluées\u00a0; "
        "utilisez `manage.py evaluate` pour les évaluer toutes.",
    ]
