"""A page's review status changes are recorded, as a face's changes are: who, when, before, after.

"Reviewed" decides which pages evaluation, training and the corrected women's share read, and
reopening a page clears who reviewed it: the history keeps it.
"""

from __future__ import annotations

import pytest

from annotations.models import CorpusMembership, CorpusRole, Document, Page, PageReviewChange, ReviewStatus
from tests.support.clients import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def review_page(corpus):
    document = Document.objects.create(corpus=corpus, source="excelsior-1915", label="Excelsior")
    return Page.objects.create(document=document, order=1, canvas_id="c1", width=1000, height=1500)


@pytest.fixture
def dora(corpus, django_user_model):
    """A second curator of the corpus."""
    user = django_user_model.objects.create_user("dora")
    CorpusMembership.objects.create(corpus=corpus, user=user, role=CorpusRole.CURATOR)
    return user


def set_status(user, page: Page, status: str, version: int):
    return api_client(user).patch(
        f"/api/pages/{page.pk}/", {"review_status": status, "review_version": version}, format="json"
    )


def test_each_review_status_change_is_recorded_with_who_when_before_and_after(alice, bob, dora, review_page):
    assert set_status(alice, review_page, "reviewed", 1).status_code == 200
    assert set_status(dora, review_page, "in_review", 2).status_code == 200

    review_page.refresh_from_db()
    assert review_page.reviewed_by is None, "reopening clears the reviewer on the page..."
    history = api_client(bob).get(f"/api/pages/{review_page.pk}/").json()["review_history"]
    assert [(change["user"], change["before"], change["after"]) for change in history] == [
        ("dora", "reviewed", "in_review"),
        ("alice", "unreviewed", "reviewed"),
    ], "...the history keeps who reviewed it, newest first, for every reader of the page"
    assert all(change["at"] for change in history)
    assert history[1]["at"] <= history[0]["at"]


def test_a_review_change_refused_as_stale_records_nothing(alice, dora, review_page):
    assert set_status(dora, review_page, "reviewed", 1).status_code == 200

    assert set_status(alice, review_page, "in_review", 1).status_code == 409

    assert list(PageReviewChange.objects.values_list("user__username", "before", "after")) == [
        ("dora", ReviewStatus.UNREVIEWED, ReviewStatus.REVIEWED)
    ]


def test_setting_the_status_a_page_already_has_records_no_change(alice, review_page):
    assert set_status(alice, review_page, "reviewed", 1).status_code == 200
    response = set_status(alice, review_page, "reviewed", 2)

    assert response.status_code == 200 and response.json()["review_version"] == 3
    assert PageReviewChange.objects.count() == 1
    assert [change["after"] for change in response.json()["review_history"]] == ["reviewed"]


def test_a_page_s_history_goes_with_its_document(alice, review_page):
    set_status(alice, review_page, "reviewed", 1)

    review_page.document.delete()

    assert not PageReviewChange.objects.exists()


def test_a_curator_s_first_face_change_puts_the_page_in_review_and_the_history_says_who(alice, dora, review_page):
    created = api_client(alice).post(
        "/api/faces/", {"page": review_page.pk, "x": 10, "y": 10, "w": 80, "h": 100}, format="json"
    )
    assert created.status_code == 201, created.content
    face = created.json()
    # A second curator's change of the page, now in review, changes no review status.
    edited = api_client(dora).patch(
        f"/api/faces/{face['id']}/", {"gender": "female", "version": face["version"]}, format="json"
    )
    assert edited.status_code == 200, edited.content

    review_page.refresh_from_db()
    assert review_page.review_status == ReviewStatus.IN_REVIEW
    history = api_client(dora).get(f"/api/pages/{review_page.pk}/").json()["review_history"]
    assert [(change["user"], change["before"], change["after"]) for change in history] == [
        ("alice", "unreviewed", "in_review")
    ]

    # Then marked reviewed: newest first, the two kinds of entries ordered by when they were made.
    assert set_status(dora, review_page, "reviewed", review_page.review_version).status_code == 200
    history = api_client(alice).get(f"/api/pages/{review_page.pk}/").json()["review_history"]
    assert [(change["user"], change["before"], change["after"]) for change in history] == [
        ("dora", "in_review", "reviewed"),
        ("alice", "unreviewed", "in_review"),
    ]
    assert history[1]["at"] <= history[0]["at"]
