"""Who did what in a corpus (a face's and a page's history, who started a run or trained a model) names its
curators to its members and operators only; a public corpus's other readers, anonymous visitors included,
read that a curator did it, unless the corpus's admins choose to show the names.

A user name is a login: shown to the world it hands an attacker half of a password guess, and a library's
staff are not the public's to list.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime

from annotations.models import (
    Corpus,
    CorpusAccessChange,
    CorpusMembership,
    CorpusRole,
    Document,
    Face,
    FaceRevision,
    Page,
    ReviewStatus,
)
from annotations.services import face_update, page_set_review_status
from detection.model_loop.training import trained_model_set_active
from detection.models import DetectionRun, TrainedModel, TrainingJob
from tests.support.clients import api_client
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db

READERS_WITHOUT_NAMES = ["anonymous", "outsider"]
READERS_WITH_NAMES = ["viewer member", "operator"]


@pytest.fixture
def public_corpus(corpus):
    corpus.is_public = True
    corpus.save()
    return corpus


@pytest.fixture
def readers(bob, charlie):
    operator = get_user_model().objects.create_superuser("olga", password="olga-password-123")
    return {"anonymous": None, "outsider": charlie, "viewer member": bob, "operator": operator}


@pytest.fixture
def worked_page(public_corpus, alice):
    """A page of the public corpus where alice (a curator) corrected an imported face and reviewed the page."""
    document = Document.objects.create(corpus=public_corpus, source="excelsior-1915", label="Excelsior")
    page = Page.objects.create(document=document, order=1, canvas_id="c1", width=1000, height=1500)
    face = Face.objects.create(page=page, x=10, y=10, w=100, h=120, confidence=0.9, source="res10@test")
    FaceRevision.objects.create(face=face, user=None, action="import", before=None, after=face.snapshot())
    face_update(face=face, user=alice, expected_version=face.version, data={"gender": "female"})
    page_set_review_status(page=page, user=alice, status=ReviewStatus.REVIEWED, review_version=page.review_version)
    return page


@pytest.fixture
def model_work(public_corpus, alice):
    """A run, a training job and a trained model alice started, the model's activation overridden by her."""
    run = DetectionRun.objects.create(corpus=public_corpus, detector="res10", status=JobStatus.DONE, created_by=alice)
    model = TrainedModel.objects.create(
        name="keras-attributes",
        corpus=public_corpus,
        kind="attributes",
        version=1,
        file="models/keras-attributes/v1.keras",
        created_by=alice,
    )
    job = TrainingJob.objects.create(
        kind="attributes", corpus=public_corpus, status=JobStatus.DONE, trained_model=model, created_by=alice
    )
    model = trained_model_set_active(
        model=model, user=alice, is_active=True, reason="checked by hand", updated_at=model.updated_at
    )
    return {"run": run, "job": job, "model": model}


def face_history(reader, page):
    face = page.faces.get()
    response = api_client(reader).get(f"/api/faces/{face.pk}/history/")
    assert response.status_code == 200
    return [(entry["user"], entry["user_hidden"], entry["action"]) for entry in response.json()["results"]]


def review_history(reader, page):
    response = api_client(reader).get(f"/api/pages/{page.pk}/")
    assert response.status_code == 200
    return [(entry["user"], entry["user_hidden"]) for entry in response.json()["review_history"]]


@pytest.mark.parametrize("reader", READERS_WITH_NAMES)
def test_members_and_operators_read_who_edited_and_reviewed_a_page(readers, reader, worked_page):
    assert face_history(readers[reader], worked_page) == [
        ("alice", False, "update"),
        (None, False, "import"),
    ], "a revision no user made (an import's) hides nothing"
    assert review_history(readers[reader], worked_page) == [("alice", False)] * 2, "her edit put it in review"


@pytest.mark.parametrize("reader", READERS_WITHOUT_NAMES)
def test_a_public_corpus_s_other_readers_read_that_a_curator_did_it_not_who(readers, reader, worked_page):
    assert face_history(readers[reader], worked_page) == [(None, True, "update"), (None, False, "import")]
    assert review_history(readers[reader], worked_page) == [(None, True)] * 2


@pytest.mark.parametrize("reader", READERS_WITHOUT_NAMES)
def test_the_review_canvas_hands_an_outsider_no_curator_s_name(client, readers, reader, worked_page):
    if readers[reader] is not None:
        client.force_login(readers[reader])
    html = client.get(f"/pages/{worked_page.pk}/").content.decode()

    assert "alice" not in html
    assert '"user_hidden": true' in html, "the page's review history still says a curator reviewed it"


def test_a_corpus_that_shows_its_curators_names_shows_them_to_everyone(public_corpus, worked_page):
    public_corpus.curator_names_public = True
    public_corpus.save()

    assert face_history(None, worked_page)[0] == ("alice", False, "update")
    assert review_history(None, worked_page) == [("alice", False)] * 2


@pytest.mark.parametrize("reader", READERS_WITHOUT_NAMES + READERS_WITH_NAMES)
def test_who_started_a_run_or_trained_a_model_is_named_to_members_and_operators_only(readers, reader, model_work):
    named = reader in READERS_WITH_NAMES
    client = api_client(readers[reader])
    run = client.get(f"/api/runs/{model_work['run'].pk}/").json()
    runs = client.get("/api/runs/").json()["results"]
    job = client.get(f"/api/training-jobs/{model_work['job'].pk}/").json()
    jobs = client.get("/api/training-jobs/").json()["results"]
    (model,) = client.get("/api/models/").json()["trained"]

    expected = "alice" if named else None
    assert run["created_by"] == runs[0]["created_by"] == expected
    assert job["created_by"] == jobs[0]["created_by"] == job["trained_model"]["created_by"] == expected
    assert model["created_by"] == model["activation_overridden_by"] == expected
    assert ("alice" in model["activation_reason"]) is named
    assert "checked by hand" in model["activation_reason"], "the reason is the corpus's, shown to its readers"


def test_admins_choose_to_show_the_names_and_the_corpus_history_records_it(api_as, public_corpus, corpus_admin, alice):
    refused = api_as(alice).patch(
        f"/api/corpora/{public_corpus.pk}/",
        {"curator_names_public": True, "access_version": public_corpus.access_version},
        format="json",
    )
    assert refused.status_code == 403, "a curator does not decide what the corpus shows the world"

    response = api_as(corpus_admin).patch(
        f"/api/corpora/{public_corpus.pk}/",
        {"curator_names_public": True, "access_version": public_corpus.access_version},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["curator_names_public"] is True
    change = CorpusAccessChange.objects.get(corpus=public_corpus)
    assert (change.user, change.before, change.after) == (
        corpus_admin,
        {"curator_names_public": False},
        {"curator_names_public": True},
    )
    assert parse_datetime(response.json()["created_at"]) is not None


@pytest.mark.parametrize("reader", READERS_WITHOUT_NAMES + READERS_WITH_NAMES)
def test_who_reviewed_a_page_is_an_id_only_those_who_read_names_get(readers, reader, worked_page, alice):
    # An id matched with a name read in another corpus (where the reader is a member) is that name.
    expected = alice.pk if reader in READERS_WITH_NAMES else None
    client = api_client(readers[reader])
    document = worked_page.document_id

    detail = client.get(f"/api/pages/{worked_page.pk}/").json()
    (listed,) = client.get(f"/api/pages/?document={document}").json()["results"]
    (found,) = client.get(f"/api/search/pages/?document={document}").json()["results"]

    assert detail["review_status"] == listed["review_status"] == found["review_status"] == "reviewed"
    assert detail["reviewed_by"] == listed["reviewed_by"] == found["reviewed_by"] == expected


def test_deciding_whose_names_a_reader_gets_costs_one_query_whatever_the_corpora(alice, worked_page):
    def queries_of_a_page_search(user) -> int:
        client = api_client(user)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/search/pages/").status_code == 200
        return len(captured)

    one_corpus = queries_of_a_page_search(alice)
    for n in range(3):
        corpus = Corpus.objects.create(name=f"Le Miroir {n}", is_public=True)
        CorpusMembership.objects.create(corpus=corpus, user=alice, role=CorpusRole.CURATOR)
        document = Document.objects.create(corpus=corpus, source=f"miroir-{n}", label="Le Miroir")
        Page.objects.create(document=document, order=1, canvas_id="c1", width=1000, height=1500, reviewed_by=alice)

    assert queries_of_a_page_search(alice) == one_corpus


def test_an_override_reason_hides_its_curator_even_once_their_account_is_gone(model_work, alice):
    alice.delete()

    (model,) = api_client(None).get("/api/models/").json()["trained"]

    assert model["activation_overridden_by"] is None
    assert model["activation_reason"] == "Overridden by a curator: checked by hand"
