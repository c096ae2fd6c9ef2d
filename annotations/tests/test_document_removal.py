"""A corpus admin removes a document nobody has curated yet (a wrong or duplicate import) in the app: its
pages, the faces detection found on them, its runs and its stored scans go, and the removal is recorded in
the corpus's history. A document holding any curator's work (a face a curator touched, a page's review
status), or one a job is still working on, is refused and keeps everything; so is a removal based on a
stale reading of the document.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.http import Http404

from annotations.models import Document, Face, FaceRevision, Page, ReviewStatus
from annotations.services import face_accept, face_create, face_update, page_set_review_status
from annotations.tests.factories import make_document, make_face, make_page, predicted_faces, scanned_document
from detection.models import DetectionRun, PageDetection
from tests.support.clients import api_client
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def wrong_import(corpus, tmp_path):
    """Scans imported by mistake, with the faces a detection run found on them and nothing curated."""
    document = scanned_document(tmp_path / "wrong-scans", corpus=corpus)
    run = DetectionRun.objects.create(corpus=corpus, document=document, detector="res10", status=JobStatus.DONE)
    for page in document.pages.all():
        predicted_faces(page, ["male", "female"])
        PageDetection.objects.create(run=run, page=page, status=JobStatus.DONE)
    return document


def remove(user, document, updated_at=None):
    stamp = (updated_at or document.updated_at).isoformat()
    return api_client(user).delete(f"/api/documents/{document.pk}/", {"updated_at": stamp}, format="json")


def kept(document) -> tuple:
    """What a refused removal must leave as it was."""
    return (
        Document.objects.filter(pk=document.pk).exists(),
        Page.objects.filter(document_id=document.pk).count(),
        Face.objects.filter(page__document_id=document.pk).count(),
        DetectionRun.objects.filter(document_id=document.pk).count(),
        sorted(path.name for path in (Path(settings.LOCAL_IMAGES_DIR) / document.local_folder).iterdir()),
    )


def test_an_admin_removes_a_wrong_import_with_its_pages_faces_runs_and_scans(
    corpus_admin, corpus, wrong_import, django_capture_on_commit_callbacks
):
    other = make_document(corpus=corpus, label="Excelsior 1915")
    other_face = make_face(page=make_page(document=other))
    scans = Path(settings.LOCAL_IMAGES_DIR) / wrong_import.local_folder
    pages = wrong_import.pages.count()
    assert Face.objects.filter(page__document=wrong_import).count() == 2 * pages > 0

    with django_capture_on_commit_callbacks(execute=True):
        response = remove(corpus_admin, wrong_import)

    assert response.status_code == 204, response.content
    assert not Document.objects.filter(pk=wrong_import.pk).exists()
    assert not Page.objects.filter(document_id=wrong_import.pk).exists()
    assert not DetectionRun.objects.filter(document_id=wrong_import.pk).exists()
    assert Face.objects.filter(page__document__corpus=corpus).get() == other_face
    assert not scans.exists(), "its scans are deleted with it"
    [recorded] = api_client(corpus_admin).get(f"/api/corpora/{corpus.pk}/access-history/").json()
    assert (recorded["user"], recorded["action"], recorded["after"]) == ("dora", "document_removed", {})
    assert recorded["before"] == {"document": wrong_import.label, "pages": pages, "faces": 2 * pages}
    assert api_client(corpus_admin).get(f"/api/documents/{wrong_import.pk}/").status_code == 404


def curator_accepts_a_face(document, user):
    face = Face.objects.filter(page__document=document).first()
    face_accept(face=face, user=user, expected_version=face.version)


def curator_marks_a_page_reviewed(document, user):
    page = document.pages.first()
    page_set_review_status(page=page, status=ReviewStatus.REVIEWED, user=user, review_version=page.review_version)


def a_page_is_in_review_with_no_recorded_change(document, user):
    """As an operator's shell, or a database restored from before review changes were recorded, may leave it."""
    Page.objects.filter(pk=document.pages.first().pk).update(review_status=ReviewStatus.IN_REVIEW)


@pytest.mark.parametrize(
    "curators_work",
    [curator_accepts_a_face, curator_marks_a_page_reviewed, a_page_is_in_review_with_no_recorded_change],
)
def test_a_document_holding_a_curator_s_work_is_refused_and_keeps_everything(
    corpus_admin, alice, wrong_import, curators_work
):
    curators_work(wrong_import, alice)
    wrong_import.refresh_from_db()
    before = kept(wrong_import)

    response = remove(corpus_admin, wrong_import)

    assert response.status_code == 409, response.content
    assert "curator" in response.json()["detail"]
    assert kept(wrong_import) == before


def test_a_document_a_job_still_works_on_is_refused(corpus_admin, corpus, wrong_import):
    run = DetectionRun.objects.create(corpus=corpus, detector="res10", status=JobStatus.RUNNING)
    PageDetection.objects.create(run=run, page=wrong_import.pages.first(), status=JobStatus.PENDING)
    before = kept(wrong_import)

    response = remove(corpus_admin, wrong_import)

    assert response.status_code == 409, response.content
    assert "job" in response.json()["detail"]
    assert kept(wrong_import) == before


def test_a_document_whose_import_is_running_is_refused(corpus_admin, wrong_import):
    Document.objects.filter(pk=wrong_import.pk).update(import_status=JobStatus.RUNNING)
    wrong_import.refresh_from_db()

    response = remove(corpus_admin, wrong_import)

    assert response.status_code == 409, response.content
    assert Document.objects.filter(pk=wrong_import.pk).exists()


def test_a_removal_based_on_a_stale_reading_is_refused_with_the_document_as_it_is_now(corpus_admin, wrong_import):
    read_at = wrong_import.updated_at
    Document.objects.get(pk=wrong_import.pk).save()  # a re-import meanwhile, say
    before = kept(wrong_import)

    response = remove(corpus_admin, wrong_import, updated_at=read_at)

    assert response.status_code == 409, response.content
    assert response.json()["document"]["updated_at"] != read_at.isoformat()
    assert kept(wrong_import) == before


@pytest.mark.parametrize("body", [{}, {"updated_at": "yesterday"}, {"updated_at": "2020-01-01T00:00:00Z", "x": 1}])
def test_a_removal_must_name_the_document_s_version(corpus_admin, wrong_import, body):
    response = api_client(corpus_admin).delete(f"/api/documents/{wrong_import.pk}/", body, format="json")

    assert response.status_code == 400, response.content
    assert Document.objects.filter(pk=wrong_import.pk).exists()


@pytest.mark.parametrize(("who", "answer"), [("alice", 403), ("bob", 403), ("charlie", 404), (None, 403)])
def test_only_the_corpus_s_admins_remove_its_documents(
    who, answer, wrong_import, alice, bob, charlie, django_user_model
):
    user = django_user_model.objects.get(username=who) if who else None

    response = remove(user, wrong_import)

    assert response.status_code == answer, response.content
    assert Document.objects.filter(pk=wrong_import.pk).exists()


def test_the_document_page_offers_its_admins_the_removal_and_says_what_it_removed(
    corpus_admin, corpus, wrong_import, client, django_capture_on_commit_callbacks
):
    client.force_login(corpus_admin)
    page = client.get(f"/documents/{wrong_import.pk}/").content.decode()
    assert 'id="document-remove-form"' in page
    assert f'name="updated_at" value="{wrong_import.updated_at.isoformat()}"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/documents/{wrong_import.pk}/remove/", {"updated_at": wrong_import.updated_at.isoformat()}, follow=True
        )

    assert response.redirect_chain == [("/", 302)]
    assert [str(m) for m in response.context["messages"]] == [f"Document “{wrong_import.label}” removed."]
    assert not Document.objects.filter(pk=wrong_import.pk).exists()
    history = client.get(f"/corpora/{corpus.pk}/").content.decode()
    assert f"dora: Document removed · Document: {wrong_import.label} → –" in history


def test_the_document_page_says_why_a_curated_document_cannot_be_removed(corpus_admin, alice, wrong_import, client):
    curator_accepts_a_face(wrong_import, alice)
    client.force_login(corpus_admin)

    page = client.get(f"/documents/{wrong_import.pk}/").content.decode()

    assert 'id="document-remove-form"' not in page
    assert "curated faces: 1; pages in review or reviewed: 1" in page, "the accepted face put its page in review"
    refused = client.post(
        f"/documents/{wrong_import.pk}/remove/", {"updated_at": wrong_import.updated_at.isoformat()}, follow=True
    )
    assert refused.redirect_chain == [(f"/documents/{wrong_import.pk}/", 302)]
    [message] = [str(m) for m in refused.context["messages"]]
    assert message.startswith("Not removed: A curator has worked on this document")
    assert Document.objects.filter(pk=wrong_import.pk).exists()


def test_the_removal_form_is_shown_to_the_corpus_s_admins_only(alice, wrong_import, client):
    client.force_login(alice)

    page = client.get(f"/documents/{wrong_import.pk}/").content.decode()

    assert 'id="document-remove-title"' not in page
    assert client.post(f"/documents/{wrong_import.pk}/remove/", {}).status_code == 403


def test_a_save_of_a_face_read_before_its_document_was_removed_finds_no_face(corpus_admin, alice, wrong_import):
    """The review canvas had the face open: its save answers 404 (it was a 500), and writes nothing."""
    face = Face.objects.filter(page__document=wrong_import).first()
    assert remove(corpus_admin, wrong_import).status_code == 204

    with pytest.raises(Http404):
        face_update(face=face, user=alice, expected_version=face.version, data={"gender": "female"})
    assert not FaceRevision.objects.filter(face_id=face.pk).exists()


def test_a_review_status_change_of_a_page_read_before_its_document_was_removed_finds_no_page(
    corpus_admin, alice, wrong_import
):
    page = wrong_import.pages.first()
    assert remove(corpus_admin, wrong_import).status_code == 204

    with pytest.raises(Http404):
        page_set_review_status(page=page, status=ReviewStatus.REVIEWED, user=alice, review_version=page.review_version)


def test_a_face_drawn_on_a_page_read_before_its_document_was_removed_finds_no_page(corpus_admin, alice, wrong_import):
    page = wrong_import.pages.first()
    assert remove(corpus_admin, wrong_import).status_code == 204

    with pytest.raises(Http404):
        face_create(page=page, user=alice, x=10, y=10, w=40, h=40)
    with pytest.raises(Http404):
        face_create(page=page, user=alice, x=10, y=10, w=40, h=40, client_key="retry-of-one-box")
    assert not Face.objects.filter(page_id=page.pk).exists()
