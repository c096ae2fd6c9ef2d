"""Two curators saving at the same moment on PostgreSQL: no lost count, no silent overwrite; a document
removed while a curator saves one of its faces: the removal refuses or the save finds no face, never both.

SQLite runs one write transaction at a time (BEGIN IMMEDIATE), so only PostgreSQL can interleave
them; these tests hold one save's transaction open while a second save runs in another thread.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.http import Http404

from annotations.models import Document, Face, FaceRevision, FaceStatus, Gender, Page, ReviewStatus
from annotations.services import (
    DocumentRemovalRefused,
    FaceConflict,
    FacePrediction,
    document_remove,
    face_accept,
    face_create,
    face_update,
    faces_store_predictions,
)
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL runs two write transactions at once")


@pytest.fixture
def page(corpus):
    document = corpus.documents.create(source="excelsior-1915", label="Excelsior")
    page = Page.objects.create(
        document=document, order=1, canvas_id="c1", width=1000, height=1500, review_status=ReviewStatus.IN_REVIEW
    )
    faces_store_predictions(
        page=page,
        predictions=[
            FacePrediction(x=100, y=100, w=80, h=100, confidence=0.9),
            FacePrediction(x=400, y=500, w=60, h=70, confidence=0.6),
        ],
        source="res10",
    )
    return page


def _in_thread(target) -> tuple[threading.Thread, list]:
    """Run target on its own database connection; what it returns or raises lands in the list."""
    outcome: list = []

    def run():
        try:
            outcome.append(target())
        except Exception as exc:  # noqa: BLE001 - handed back to the test, which asserts on it
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _wait_until_a_lock_is_awaited() -> None:
    """Block until some transaction waits for a row lock (pg_locks is read live, not per transaction)."""
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted)")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second save never waited for the first one")


def _save(face_id: int, user, version: int, data: dict):
    def save():
        face = Face.objects.select_related("page").get(pk=face_id)
        return face_update(face=face, user=user, expected_version=version, data=data)

    return save


def test_two_saves_on_one_page_at_once_both_count(alice, page):
    first, second = Face.objects.filter(page=page).order_by("y")

    with transaction.atomic():
        _save(first.pk, alice, 1, {"gender": Gender.FEMALE})()
        thread, outcome = _in_thread(_save(second.pk, alice, 1, {"gender": Gender.FEMALE, "child": True}))
        _wait_until_a_lock_is_awaited()
    thread.join(10)

    assert not thread.is_alive() and not isinstance(outcome[0], Exception), outcome
    page.refresh_from_db()
    assert (page.face_count, page.female_count, page.unknown_count, page.child_count) == (2, 2, 0, 1)


def test_two_saves_of_one_face_at_once_keep_the_first_and_refuse_the_second(alice, page):
    face = Face.objects.filter(page=page).order_by("y").first()

    with transaction.atomic():
        _save(face.pk, alice, 1, {"gender": Gender.FEMALE})()
        thread, outcome = _in_thread(_save(face.pk, alice, 1, {"gender": Gender.MALE}))
        _wait_until_a_lock_is_awaited()
    thread.join(10)

    assert not thread.is_alive() and isinstance(outcome[0], FaceConflict), outcome
    face.refresh_from_db()
    assert (face.gender, face.version) == (Gender.FEMALE, 2)
    assert FaceRevision.objects.filter(face=face).count() == 1
    page.refresh_from_db()
    assert (page.female_count, page.male_count) == (1, 0)


def test_the_same_create_twice_at_once_makes_one_face(alice, page):
    def create():
        return face_create(page=page, user=alice, x=10, y=20, w=30, h=40, client_key="retry-of-one-box")

    with transaction.atomic():
        first = create()
        # The repeat's insert waits on the unique key until the first commits, then finds its face.
        thread, outcome = _in_thread(create)
        _wait_until_a_lock_is_awaited()
    thread.join(10)

    assert not thread.is_alive() and isinstance(outcome[0], Face), outcome
    assert outcome[0].pk == first.pk
    assert Face.objects.filter(page=page, client_key="retry-of-one-box").count() == 1
    assert FaceRevision.objects.filter(face=first, action="create").count() == 1
    page.refresh_from_db()
    assert page.face_count == 3


def uncurated(page: Page):
    """The page's document as a finished import nobody has reviewed yet."""
    Page.objects.filter(pk=page.pk).update(review_status=ReviewStatus.UNREVIEWED)
    page.document.import_status = JobStatus.DONE
    page.document.save()
    return page.document


def test_a_document_removal_waits_for_a_save_in_flight_and_then_keeps_the_curated_document(alice, bob, page):
    """The removal locks the pages every face write ends by locking: it sees the accepted face and refuses."""
    face = Face.objects.filter(page=page).order_by("y").first()
    document = uncurated(page)

    with transaction.atomic():
        face_accept(face=face, user=alice, expected_version=1)
        thread, outcome = _in_thread(
            lambda: document_remove(document=document, user=bob, updated_at=document.updated_at)
        )
        _wait_until_a_lock_is_awaited()
    thread.join(10)

    assert not thread.is_alive() and isinstance(outcome[0], DocumentRemovalRefused), outcome
    face.refresh_from_db()
    assert face.status == FaceStatus.ACCEPTED


def test_a_save_behind_a_document_removal_finds_no_face_and_says_so(alice, bob, page):
    face = Face.objects.filter(page=page).order_by("y").first()
    document = uncurated(page)

    with transaction.atomic():
        document_remove(document=document, user=bob, updated_at=document.updated_at)
        thread, outcome = _in_thread(_save(face.pk, alice, 1, {"gender": Gender.FEMALE}))
        _wait_until_a_lock_is_awaited()
    thread.join(10)

    assert not thread.is_alive() and isinstance(outcome[0], Http404), outcome
    assert not Face.objects.filter(pk=face.pk).exists()


def test_a_removal_deadlocked_with_a_save_in_flight_loses_nothing_committed(bob, page):
    """A save that wrote its face but not yet its page's counts when the removal locked the pages: each waits for
    the other. PostgreSQL aborts one; the removal, aborted, says to try again; the save, aborted, writes nothing."""
    face = Face.objects.filter(page=page).order_by("y").first()
    document = uncurated(page)
    save_error = None

    try:
        with transaction.atomic():
            # A save's first statement (its face), then the lock its page counts take last (page_counts_refresh).
            Face.objects.filter(pk=face.pk).update(gender=Gender.FEMALE, version=F("version") + 1)
            thread, outcome = _in_thread(
                lambda: document_remove(document=document, user=bob, updated_at=document.updated_at)
            )
            _wait_until_a_lock_is_awaited()
            list(Page.objects.select_for_update(no_key=True).filter(pk=page.pk))
    except OperationalError as exc:
        save_error = exc
    thread.join(10)

    assert not thread.is_alive()
    if save_error is None:
        [refused] = outcome
        assert isinstance(refused, DocumentRemovalRefused) and "right now" in refused.message, outcome
        face.refresh_from_db()
        assert face.gender == Gender.FEMALE
    else:
        assert outcome == [None], outcome
        assert not Document.objects.filter(pk=document.pk).exists()
