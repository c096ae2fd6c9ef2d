"""The one face write (faces_write), the status transitions every path shares, and the 409 handler."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from rest_framework.exceptions import NotFound
from rest_framework.settings import api_settings

from annotations.models import Document, Face, FaceRevision, FaceStatus, Page
from annotations.serializers import face_representation
from annotations.services import (
    FACE_TRANSITIONS,
    FaceConflict,
    FacePrediction,
    face_status_transition,
    faces_bulk_set_status,
    faces_store_predictions,
    faces_write,
)
from webapp.exceptions import exception_handler


@pytest.fixture
def page(corpus):
    document = Document.objects.create(corpus=corpus, source="excelsior-1915", label="Excelsior")
    return Page.objects.create(document=document, order=1, canvas_id="c1", width=1000, height=1500)


@pytest.fixture
def faces(page):
    return faces_store_predictions(
        page=page,
        predictions=[FacePrediction(x=100, y=100, w=80, h=100, confidence=0.9), FacePrediction(400, 500, 60, 70, 0.6)],
        source="res10",
    )


def fresh(face: Face) -> Face:
    return Face.objects.get(pk=face.pk)


def with_status(face: Face, status: str) -> Face:
    Face.objects.filter(pk=face.pk).update(status=status)
    return fresh(face)


@pytest.mark.parametrize("to_status", list(FACE_TRANSITIONS))
@pytest.mark.parametrize("from_status", list(FaceStatus))
def test_a_single_and_a_bulk_status_change_follow_the_same_transitions(alice, page, faces, from_status, to_status):
    single, bulk = (with_status(face, from_status) for face in faces)

    face_status_transition(face=single, to_status=to_status, user=alice, expected_version=1)
    faces_bulk_set_status(page=page, user=alice, status=to_status, versions={bulk.pk: 1})

    moves = from_status in FACE_TRANSITIONS[to_status]
    expected = (to_status, 2) if moves else (from_status, 1)
    assert (fresh(single).status, fresh(single).version) == expected
    assert (fresh(bulk).status, fresh(bulk).version) == expected
    assert FaceRevision.objects.filter(face__in=faces).count() == (2 if moves else 0)


def test_a_stale_face_in_a_batch_leaves_every_face_as_it_was(alice, faces):
    first, second = faces
    Face.objects.filter(pk=second.pk).update(person="Colette", version=2)  # someone else's save meanwhile

    with pytest.raises(FaceConflict) as raised, transaction.atomic():
        faces_write(user=alice, action="update", changed=[(first, {"person": "Ana"}), (second, {"person": "Ana"})])

    assert (raised.value.face.pk, raised.value.face.person, raised.value.face.version) == (second.pk, "Colette", 2)
    assert (fresh(first).person, fresh(first).version) == ("", 1)
    assert not FaceRevision.objects.exists()


def test_faces_changed_alike_share_one_update_whatever_their_versions(alice, faces, django_assert_num_queries):
    Face.objects.filter(pk=faces[1].pk).update(version=3)
    first, second = faces = [faces[0], fresh(faces[1])]

    # Face UPDATE, revisions INSERT, (PostgreSQL: page lock,) page UPDATE.
    with django_assert_num_queries(4 if connection.features.has_select_for_update else 3):
        faces_write(user=alice, action="reject", changed=[(face, {"status": FaceStatus.REJECTED}) for face in faces])

    assert [(face.status, face.version) for face in map(fresh, faces)] == [("rejected", 2), ("rejected", 4)]
    revisions = {revision.face_id: revision for revision in FaceRevision.objects.all()}
    assert [face.recorded_revision_id for face in (first, second)] == [revisions[first.pk].pk, revisions[second.pk].pk]
    assert revisions[second.pk].before["status"] == "predicted"
    assert revisions[second.pk].after["status"] == "rejected"


def test_new_faces_without_an_action_are_inserted_unrecorded_and_counted(page):
    face = Face(page=page, x=1, y=2, w=30, h=40, confidence=0.5, source="res10")

    (created,) = faces_write(user=None, action=None, new=[face])

    assert fresh(created).as_box() == (1, 2, 30, 40)
    assert not FaceRevision.objects.exists()
    page.refresh_from_db()
    assert page.face_count == 1


def test_the_api_answers_a_face_conflict_with_409_and_the_face_as_it_is(faces):
    face = fresh(faces[0])

    response = exception_handler(FaceConflict(face), {"view": None})

    assert response.status_code == 409
    assert response.data == {
        "detail": "This face was changed by someone else; reload it before editing.",
        "face": face_representation(face),
    }


def test_a_view_may_word_the_conflict_message(faces):
    class NamingView:
        face_conflict_detail = "A face was changed by someone else; reload it before naming it."

    response = exception_handler(FaceConflict(faces[0]), {"view": NamingView()})

    assert (response.status_code, response.data["detail"]) == (409, NamingView.face_conflict_detail)


def test_other_exceptions_keep_drf_handling():
    assert exception_handler(NotFound("gone"), {"view": None}).status_code == 404
    assert exception_handler(ValueError("a bug"), {"view": None}) is None
    assert api_settings.EXCEPTION_HANDLER is exception_handler
