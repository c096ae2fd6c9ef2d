"""Face writes: the API (create, update, reject, accept, bulk, revert, history; versions, permissions), the one
write beneath it (faces_write, status transitions) and its 409 handler."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from rest_framework.exceptions import NotFound
from rest_framework.settings import api_settings

from annotations.models import (
    Corpus,
    CorpusMembership,
    CorpusRole,
    Document,
    Face,
    FaceRevision,
    FaceStatus,
    Gender,
    Page,
    ReviewStatus,
)
from annotations.serializers import FaceSerializer, face_representation
from annotations.services import (
    FACE_TRANSITIONS,
    FaceConflict,
    FacePrediction,
    face_status_transition,
    face_update,
    faces_bulk_set_status,
    faces_store_predictions,
    faces_write,
    person_for_name,
)
from webapp.exceptions import exception_handler


@pytest.fixture
def review_page(corpus):
    document = Document.objects.create(corpus=corpus, source="excelsior-1915", label="Excelsior")
    return Page.objects.create(document=document, order=1, canvas_id="c1", width=1000, height=1500)


@pytest.fixture
def predicted(review_page):
    """Three model faces at confidences 0.9, 0.6 and 0.3, top to bottom."""
    return faces_store_predictions(
        page=review_page,
        predictions=[
            FacePrediction(x=100, y=100, w=80, h=100, confidence=0.9, gender=Gender.MALE),
            FacePrediction(x=400, y=500, w=60, h=70, confidence=0.6),
            FacePrediction(x=700, y=900, w=40, h=50, confidence=0.3),
        ],
        source="res10",
    )


@pytest.fixture
def dora(corpus):
    """A second curator of the `corpus` fixture, whose changes alice's stale writes must not overwrite."""
    user = get_user_model().objects.create_user("dora", password="dora-password-123")
    CorpusMembership.objects.create(corpus=corpus, user=user, role=CorpusRole.CURATOR)
    return user


def fresh(face: Face) -> Face:
    return Face.objects.get(pk=face.pk)


def test_a_curator_adds_a_face(api_as, alice, review_page):
    response = api_as(alice).post(
        "/api/faces/", {"page": review_page.pk, "x": 10, "y": 20, "w": 30, "h": 40, "gender": "female"}, format="json"
    )

    assert response.status_code == 201, response.content
    face = Face.objects.get(pk=response.json()["id"])
    assert (face.x, face.y, face.w, face.h) == (10, 20, 30, 40)
    assert (face.status, face.source, face.confidence, face.gender) == (FaceStatus.ADDED, "curator", 1.0, "female")
    assert face.version == 1
    revision = FaceRevision.objects.get(face=face)
    assert (revision.action, revision.user, revision.before) == ("create", alice, None)
    assert revision.after["gender"] == "female"
    assert response.json()["revision"] == revision.pk
    review_page.refresh_from_db()
    assert (review_page.face_count, review_page.female_count) == (1, 1)
    assert review_page.review_status == ReviewStatus.IN_REVIEW


def test_a_new_box_running_past_the_page_edge_is_clipped(api_as, alice, review_page):
    response = api_as(alice).post(
        "/api/faces/", {"page": review_page.pk, "x": 950.4, "y": 1400, "w": 100, "h": 300}, format="json"
    )

    assert response.status_code == 201, response.content
    assert Face.objects.get().as_box() == (950, 1400, 50, 100)


def test_a_new_box_outside_the_page_is_refused(api_as, alice, review_page):
    response = api_as(alice).post(
        "/api/faces/", {"page": review_page.pk, "x": 2000, "y": 10, "w": 30, "h": 40}, format="json"
    )

    assert response.status_code == 400
    assert not Face.objects.exists()
    assert not FaceRevision.objects.exists()


def test_a_create_sent_again_with_its_client_key_answers_the_face_it_made(api_as, alice, review_page):
    box = {"page": review_page.pk, "x": 10, "y": 20, "w": 30, "h": 40, "client_key": "0b7c9f3e-tab-1"}
    first = api_as(alice).post("/api/faces/", box, format="json")
    # Meanwhile a curator moved it: the repeated request must not undo that either.
    face = Face.objects.get(pk=first.json()["id"])
    face_update(face=face, user=alice, expected_version=1, data={"x": 15})

    again = api_as(alice).post("/api/faces/", {**box, "gender": "female"}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert (again.json()["x"], again.json()["gender"], again.json()["version"]) == (15, "unknown", 2)
    assert again.json()["revision"] == FaceRevision.objects.filter(face=face).latest("pk").pk
    assert Face.objects.count() == 1
    assert FaceRevision.objects.filter(face=face, action="create").count() == 1
    review_page.refresh_from_db()
    assert review_page.face_count == 1


def test_client_keys_tell_creates_apart_only_on_their_own_page(api_as, alice, review_page):
    other_page = Page.objects.create(document=review_page.document, order=2, canvas_id="c2", width=1000, height=1500)
    box = {"x": 10, "y": 20, "w": 30, "h": 40}

    answers = [
        api_as(alice).post("/api/faces/", {**box, "page": review_page.pk, "client_key": "a"}, format="json"),
        api_as(alice).post("/api/faces/", {**box, "page": review_page.pk, "client_key": "b"}, format="json"),
        api_as(alice).post("/api/faces/", {**box, "page": other_page.pk, "client_key": "a"}, format="json"),
        api_as(alice).post("/api/faces/", {**box, "page": review_page.pk}, format="json"),
        api_as(alice).post("/api/faces/", {**box, "page": review_page.pk}, format="json"),
    ]

    assert [answer.status_code for answer in answers] == [201] * 5
    assert Face.objects.count() == 5


def test_an_overlong_client_key_is_refused(api_as, alice, review_page):
    box = {"page": review_page.pk, "x": 10, "y": 20, "w": 30, "h": 40, "client_key": "k" * 65}

    response = api_as(alice).post("/api/faces/", box, format="json")

    assert response.status_code == 400
    assert "client_key" in response.json()
    assert not Face.objects.exists()


def test_editing_a_predicted_face_marks_it_edited_and_records_the_change(api_as, alice, predicted, review_page):
    face = predicted[0]

    response = api_as(alice).patch(
        f"/api/faces/{face.pk}/", {"version": 1, "x": 110, "w": 90, "gender": "female", "age": 31}, format="json"
    )

    assert response.status_code == 200, response.content
    face = fresh(face)
    assert (face.x, face.y, face.w, face.h, face.gender, face.age) == (110, 100, 90, 100, "female", 31)
    assert (face.status, face.version) == (FaceStatus.EDITED, 2)
    assert face.source == "res10" and face.confidence == 0.9
    revision = FaceRevision.objects.get(face=face)
    assert revision.action == "update" and revision.user == alice
    assert (revision.before["x"], revision.before["gender"], revision.before["status"]) == (100, "male", "predicted")
    assert (revision.after["x"], revision.after["gender"], revision.after["status"]) == (110, "female", "edited")
    assert response.json()["version"] == 2 and response.json()["revision"] == revision.pk
    review_page.refresh_from_db()
    assert (review_page.female_count, review_page.male_count) == (1, 0)


def test_editing_an_added_face_keeps_it_added(api_as, alice, review_page):
    client = api_as(alice)
    created = client.post("/api/faces/", {"page": review_page.pk, "x": 1, "y": 1, "w": 9, "h": 9}, format="json")

    response = client.patch(f"/api/faces/{created.json()['id']}/", {"version": 1, "child": True}, format="json")

    assert response.status_code == 200
    face = Face.objects.get()
    assert (face.status, face.child, face.version) == (FaceStatus.ADDED, True, 2)


def test_a_stale_version_gets_409_with_the_current_face_and_changes_nothing(api_as, alice, predicted):
    face = predicted[0]
    client = api_as(alice)
    assert client.patch(f"/api/faces/{face.pk}/", {"version": 1, "gender": "female"}, format="json").status_code == 200

    response = client.patch(f"/api/faces/{face.pk}/", {"version": 1, "gender": "unknown", "x": 5}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["face"]["version"] == 2 and body["face"]["gender"] == "female"
    face = fresh(face)
    assert (face.gender, face.x, face.version) == ("female", 100, 2)
    assert FaceRevision.objects.filter(face=face).count() == 1


def test_a_write_that_changes_nothing_keeps_the_version(api_as, alice, predicted):
    face = predicted[0]

    response = api_as(alice).patch(f"/api/faces/{face.pk}/", {"version": 1, "x": 100, "gender": "male"}, format="json")

    assert response.status_code == 200
    assert fresh(face).version == 1 and fresh(face).status == FaceStatus.PREDICTED
    assert not FaceRevision.objects.exists()


def test_a_write_that_changes_nothing_answers_the_latest_revision(api_as, alice, predicted):
    face = predicted[0]
    client = api_as(alice)
    changed = client.patch(f"/api/faces/{face.pk}/", {"version": 1, "gender": "female"}, format="json").json()

    response = client.patch(f"/api/faces/{face.pk}/", {"version": 2, "gender": "female"}, format="json")

    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert response.json()["revision"] == changed["revision"] == FaceRevision.objects.get(face=face).pk


def test_a_save_costs_a_fixed_number_of_queries(api_as, alice, predicted, review_page, django_assert_num_queries):
    """Face, role; savepoint, face UPDATE, revision INSERT, (PostgreSQL: page lock,) the review history's
    INSERT ... SELECT of the pages it puts in review, page UPDATE, release."""
    client = api_as(alice)
    client.get(f"/api/faces/{predicted[0].pk}/")  # the session's one-off queries are not a save's
    expected = 9 if connection.features.has_select_for_update else 8

    with django_assert_num_queries(expected):
        response = client.patch(f"/api/faces/{predicted[0].pk}/", {"version": 1, "gender": "female"}, format="json")

    assert response.status_code == 200
    review_page.refresh_from_db()
    assert (review_page.female_count, review_page.review_status) == (1, ReviewStatus.IN_REVIEW)


@pytest.mark.parametrize("written", [False, True])
def test_a_face_answer_is_what_the_face_serializer_gives(alice, predicted, written):
    face = Face.objects.get(pk=predicted[1].pk)
    if written:
        # A written face holds what the write set (the status as a FaceStatus member), not a reloaded row.
        face = face_update(face=face, user=alice, expected_version=1, data={"age": 31, "person": "X", "child": True})
    assert face_representation(face) == FaceSerializer(face).data
    assert face_representation(fresh(face)) == FaceSerializer(fresh(face)).data


def test_a_resize_is_clipped_to_the_page(api_as, alice, predicted):
    face = predicted[2]

    response = api_as(alice).patch(f"/api/faces/{face.pk}/", {"version": 1, "w": 900, "h": 900}, format="json")

    assert response.status_code == 200
    assert fresh(face).as_box() == (700, 900, 300, 600)


def test_invalid_attributes_are_refused(api_as, alice, predicted):
    face = predicted[0]
    client = api_as(alice)

    assert client.patch(f"/api/faces/{face.pk}/", {"version": 1, "gender": "other"}, format="json").status_code == 400
    assert client.patch(f"/api/faces/{face.pk}/", {"version": 1, "age": 400}, format="json").status_code == 400
    assert client.patch(f"/api/faces/{face.pk}/", {"gender": "female"}, format="json").status_code == 400
    assert fresh(face).version == 1 and fresh(face).gender == "male"


def test_delete_rejects_the_face_but_keeps_it(api_as, alice, predicted, review_page):
    face = predicted[1]

    response = api_as(alice).delete(f"/api/faces/{face.pk}/", {"version": 1}, format="json")

    assert response.status_code == 200
    face = fresh(face)
    assert (face.status, face.version) == (FaceStatus.REJECTED, 2)
    assert FaceRevision.objects.get(face=face).action == "reject"
    review_page.refresh_from_db()
    assert review_page.face_count == 2


def test_delete_with_a_stale_version_in_the_query_gets_409(api_as, alice, predicted):
    face = predicted[1]
    client = api_as(alice)
    client.post(f"/api/faces/{face.pk}/accept/", {"version": 1}, format="json")

    response = client.delete(f"/api/faces/{face.pk}/?version=1")

    assert response.status_code == 409
    assert response.json()["face"]["status"] == "accepted"
    assert fresh(face).status == FaceStatus.ACCEPTED


def test_accept_confirms_a_prediction(api_as, alice, predicted):
    face = predicted[2]

    response = api_as(alice).post(f"/api/faces/{face.pk}/accept/", {"version": 1}, format="json")

    assert response.status_code == 200
    face = fresh(face)
    assert (face.status, face.version) == (FaceStatus.ACCEPTED, 2)
    revision = FaceRevision.objects.get(face=face)
    assert (revision.action, revision.before["status"], revision.after["status"]) == ("accept", "predicted", "accepted")


def test_accept_with_a_stale_version_gets_409(api_as, alice, predicted):
    face = predicted[2]
    client = api_as(alice)
    client.patch(f"/api/faces/{face.pk}/", {"version": 1, "age": 40}, format="json")

    response = client.post(f"/api/faces/{face.pk}/accept/", {"version": 1}, format="json")

    assert response.status_code == 409
    assert fresh(face).status == FaceStatus.EDITED


def bulk(client, page, action, faces):
    """POST the bulk action on these (face, version) pairs."""
    body = {"action": action, "faces": [{"id": face.pk, "version": version} for face, version in faces]}
    return client.post(f"/api/pages/{page.pk}/bulk/", body, format="json")


def test_bulk_accept_takes_the_faces_named_with_their_versions(api_as, alice, predicted, review_page):
    high, middle, low = predicted

    response = bulk(api_as(alice), review_page, "accept", [(high, 1), (middle, 1)])

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["updated"] == 2
    assert [(r["id"], r["status"]) for r in body["results"]] == [(high.pk, "ok"), (middle.pk, "ok")]
    assert [(fresh(f).status, fresh(f).version) for f in predicted] == [
        (FaceStatus.ACCEPTED, 2),
        (FaceStatus.ACCEPTED, 2),
        (FaceStatus.PREDICTED, 1),
    ]
    revision = FaceRevision.objects.get(face=middle, action="accept", user=alice)
    assert body["results"][1]["face"]["revision"] == revision.pk, "each face's revision, to undo the bulk change"
    assert body["results"][1]["face"]["version"] == 2


def test_bulk_reject_rejects_the_faces_named(api_as, alice, predicted, review_page):
    high, middle, low = predicted

    response = bulk(api_as(alice), review_page, "reject", [(middle, 1), (low, 1)])

    assert response.status_code == 200
    assert response.json()["updated"] == 2
    assert [fresh(f).status for f in predicted] == [FaceStatus.PREDICTED, FaceStatus.REJECTED, FaceStatus.REJECTED]
    assert FaceRevision.objects.filter(action="reject").count() == 2
    review_page.refresh_from_db()
    assert review_page.face_count == 1


def test_bulk_with_one_stale_face_applies_the_others_and_reports_it(api_as, alice, dora, predicted, review_page):
    """Hole 7 of #13: bulk accept/reject checked no version and overwrote another curator's decision."""
    high, middle, low = predicted
    assert api_as(dora).delete(f"/api/faces/{middle.pk}/", {"version": 1}, format="json").status_code == 200

    response = bulk(api_as(alice), review_page, "accept", [(high, 1), (middle, 1), (low, 1)])

    assert response.status_code == 207, response.content
    body = response.json()
    assert body["updated"] == 2
    assert [(r["id"], r["status"]) for r in body["results"]] == [
        (high.pk, "ok"),
        (middle.pk, "conflict"),
        (low.pk, "ok"),
    ]
    assert body["results"][1]["current"]["status"] == "rejected" and body["results"][1]["current"]["version"] == 2
    assert (fresh(middle).status, fresh(middle).version) == (FaceStatus.REJECTED, 2), (
        "the other curator's decision stays"
    )
    assert not FaceRevision.objects.filter(face=middle, user=alice).exists()
    assert (fresh(high).status, fresh(low).status) == (FaceStatus.ACCEPTED, FaceStatus.ACCEPTED)


def test_bulk_reports_a_face_not_on_the_page_as_not_found(api_as, alice, predicted, review_page):
    other = Page.objects.create(document=review_page.document, order=2, canvas_id="c2", width=100, height=100)
    (elsewhere,) = faces_store_predictions(page=other, predictions=[FacePrediction(1, 1, 5, 5, 0.5)], source="res10")

    response = bulk(api_as(alice), review_page, "reject", [(predicted[0], 1), (elsewhere, 1)])

    assert response.status_code == 207
    results = response.json()["results"]
    assert [(r["id"], r["status"]) for r in results] == [(predicted[0].pk, "ok"), (elsewhere.pk, "not_found")]
    assert fresh(elsewhere).status == FaceStatus.PREDICTED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "reject", "threshold": 0.7}, "threshold"),
        ({"action": "reject", "faces": [{"id": "{face}"}]}, "faces"),
        ({"action": "reject", "faces": [{"id": "{face}", "version": 1, "status": "accepted"}]}, "faces"),
        ({"action": "reject", "faces": [{"id": "{face}", "version": 1}, {"id": "{face}", "version": 1}]}, "faces"),
        ({"action": "delete", "faces": [{"id": "{face}", "version": 1}]}, "action"),
    ],
)
def test_bulk_refuses_a_body_without_versions_or_with_unknown_fields(
    api_as, alice, predicted, review_page, body, field
):
    face = predicted[0]
    items = [{k: face.pk if v == "{face}" else v for k, v in item.items()} for item in body.get("faces", [])]
    body = {**body, "faces": items} if "faces" in body else body

    response = api_as(alice).post(f"/api/pages/{review_page.pk}/bulk/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert all(face.version == 1 and face.status == FaceStatus.PREDICTED for face in Face.objects.all())
    assert not FaceRevision.objects.exists()


def test_revert_puts_a_face_back_as_it_was_before_a_change(api_as, alice, predicted):
    face = predicted[0]
    client = api_as(alice)
    edit = client.patch(f"/api/faces/{face.pk}/", {"version": 1, "x": 300, "gender": "female"}, format="json")

    response = client.post(
        f"/api/faces/{face.pk}/revert/", {"revision": edit.json()["revision"], "version": 2}, format="json"
    )

    assert response.status_code == 200, response.content
    face = fresh(face)
    assert (face.x, face.gender, face.status, face.version) == (100, "male", FaceStatus.PREDICTED, 3)
    latest = FaceRevision.objects.filter(face=face).first()
    assert latest.action == "revert" and latest.before["x"] == 300 and latest.after["x"] == 100
    assert response.json()["revision"] == latest.pk


def test_reverting_a_revert_redoes_the_change(api_as, alice, predicted):
    face = predicted[0]
    client = api_as(alice)
    edit = client.patch(f"/api/faces/{face.pk}/", {"version": 1, "gender": "female"}, format="json")
    undo = client.post(
        f"/api/faces/{face.pk}/revert/", {"revision": edit.json()["revision"], "version": 2}, format="json"
    )

    redo = client.post(
        f"/api/faces/{face.pk}/revert/", {"revision": undo.json()["revision"], "version": 3}, format="json"
    )

    assert redo.status_code == 200
    assert (fresh(face).gender, fresh(face).status, fresh(face).version) == ("female", FaceStatus.EDITED, 4)


def test_reverting_a_creation_rejects_the_face(api_as, alice, review_page):
    client = api_as(alice)
    created = client.post("/api/faces/", {"page": review_page.pk, "x": 1, "y": 1, "w": 9, "h": 9}, format="json")
    face_id = created.json()["id"]

    response = client.post(
        f"/api/faces/{face_id}/revert/", {"revision": created.json()["revision"], "version": 1}, format="json"
    )

    assert response.status_code == 200
    assert Face.objects.get(pk=face_id).status == FaceStatus.REJECTED


def test_revert_with_a_stale_version_gets_409(api_as, alice, predicted):
    face = predicted[0]
    client = api_as(alice)
    edit = client.patch(f"/api/faces/{face.pk}/", {"version": 1, "gender": "female"}, format="json")

    response = client.post(f"/api/faces/{face.pk}/revert/", {"revision": edit.json()["revision"], "version": 1})

    assert response.status_code == 409
    assert fresh(face).gender == "female"


def test_revert_refuses_a_revision_of_another_face(api_as, alice, predicted):
    first, second = predicted[:2]
    client = api_as(alice)
    edit = client.patch(f"/api/faces/{first.pk}/", {"version": 1, "gender": "female"}, format="json")

    response = client.post(
        f"/api/faces/{second.pk}/revert/", {"revision": edit.json()["revision"], "version": 1}, format="json"
    )

    assert response.status_code == 400
    assert fresh(second).version == 1


def status_write(client, kind: str, face: Face, body: dict):
    """Accept, reject (DELETE) or revert (of the face's latest revision) with this body."""
    if kind == "accept":
        return client.post(f"/api/faces/{face.pk}/accept/", body, format="json")
    if kind == "reject":
        return client.delete(f"/api/faces/{face.pk}/", body, format="json")
    revision = FaceRevision.objects.filter(face=face).first()
    return client.post(f"/api/faces/{face.pk}/revert/", {"revision": revision.pk, **body}, format="json")


@pytest.mark.parametrize("kind", ["accept", "reject", "revert"])
def test_a_status_write_without_a_version_is_refused(api_as, alice, predicted, kind):
    """Hole 7 of #13: accept, reject and revert without a version overwrote another curator's change."""
    face = predicted[0]
    client = api_as(alice)
    assert client.patch(f"/api/faces/{face.pk}/", {"version": 1, "gender": "female"}, format="json").status_code == 200
    revisions = FaceRevision.objects.count()

    response = status_write(client, kind, face, {})

    assert response.status_code == 400, response.content
    assert response.json()["version"] == ["version is required"]
    face = fresh(face)
    assert (face.status, face.gender, face.version) == (FaceStatus.EDITED, "female", 2)
    assert FaceRevision.objects.count() == revisions


@pytest.mark.parametrize("kind", ["accept", "reject", "revert"])
def test_a_status_write_with_a_stale_version_gets_409_and_changes_nothing(api_as, alice, dora, predicted, kind):
    face = predicted[0]
    assert api_as(alice).patch(f"/api/faces/{face.pk}/", {"version": 1, "age": 40}, format="json").status_code == 200
    if kind == "accept":
        # A face a curator rejected can be accepted again: make that the change bob's stale write would undo.
        assert api_as(alice).delete(f"/api/faces/{face.pk}/", {"version": 2}, format="json").status_code == 200
    current = fresh(face)
    revisions = FaceRevision.objects.count()

    response = status_write(api_as(dora), kind, face, {"version": 1})

    assert response.status_code == 409, response.content
    assert response.json()["face"]["version"] == current.version
    assert Face.objects.filter(pk=face.pk).values().get() == Face.objects.filter(pk=current.pk).values().get()
    assert (fresh(face).status, fresh(face).version, fresh(face).age) == (current.status, current.version, 40)
    assert FaceRevision.objects.count() == revisions


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": 1, "status": "rejected"}, "status"),
        ({"version": 1, "status": "accepted", "gender": "female"}, "status"),
        ({"version": 1, "confidence": 1.0}, "confidence"),
        ({"version": 1, "colour": "red"}, "colour"),
    ],
)
def test_a_patch_with_a_field_it_cannot_set_is_refused_naming_it(api_as, alice, predicted, body, field):
    """Hole 7 of #13: PATCH {"status": "rejected"} answered a silent 200 that changed nothing."""
    face = predicted[0]

    response = api_as(alice).patch(f"/api/faces/{face.pk}/", body, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    face = fresh(face)
    assert (face.status, face.gender, face.confidence, face.version) == (FaceStatus.PREDICTED, "male", 0.9, 1)
    assert not FaceRevision.objects.exists()


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("post", "/api/faces/{face}/accept/", {"version": 1, "gender": "female"}, "gender"),
        ("delete", "/api/faces/{face}/", {"version": 1, "reason": "blurry"}, "reason"),
        ("post", "/api/faces/{face}/revert/", {"version": 1, "revision": 1, "status": "accepted"}, "status"),
        ("post", "/api/faces/", {"page": "{page}", "x": 1, "y": 1, "w": 5, "h": 5, "status": "accepted"}, "status"),
        ("post", "/api/faces/", {"page": "{page}", "x": 1, "y": 1, "w": 5, "h": 5, "confidence": 0.2}, "confidence"),
        (
            "patch",
            "/api/pages/{page}/",
            {"review_status": "reviewed", "review_version": 1, "reviewed_by": 1},
            "reviewed_by",
        ),
    ],
)
def test_every_write_names_the_fields_it_cannot_set(api_as, alice, predicted, review_page, method, url, body, field):
    face = predicted[0]
    body = {key: review_page.pk if value == "{page}" else value for key, value in body.items()}

    response = getattr(api_as(alice), method)(url.format(face=face.pk, page=review_page.pk), body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Face.objects.count() == 3
    assert all(face.version == 1 and face.status == FaceStatus.PREDICTED for face in Face.objects.all())
    assert not FaceRevision.objects.exists()
    review_page.refresh_from_db()
    assert review_page.review_status == ReviewStatus.UNREVIEWED


def test_history_lists_a_faces_changes_newest_first(api_as, alice, bob, predicted):
    face = predicted[0]
    client = api_as(alice)
    client.patch(f"/api/faces/{face.pk}/", {"version": 1, "gender": "female"}, format="json")
    client.post(f"/api/faces/{face.pk}/accept/", {"version": 2}, format="json")
    client.delete(f"/api/faces/{face.pk}/", {"version": 2}, format="json")

    response = api_as(bob).get(f"/api/faces/{face.pk}/history/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["action"] for r in results] == ["reject", "update"]
    assert results[0]["user"] == "alice"
    assert results[1]["before"]["gender"] == "male" and results[1]["after"]["gender"] == "female"


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("post", "/api/faces/", {"page": "{page}", "x": 1, "y": 1, "w": 5, "h": 5}),
        ("patch", "/api/faces/{face}/", {"version": 1, "gender": "female"}),
        ("delete", "/api/faces/{face}/", {"version": 1}),
        ("post", "/api/faces/{face}/accept/", {"version": 1}),
        ("post", "/api/faces/{face}/revert/", {"revision": 1, "version": 1}),
        ("post", "/api/pages/{page}/bulk/", {"action": "reject", "faces": [{"id": "{face}", "version": 1}]}),
    ],
)
@pytest.mark.parametrize(("persona", "expected"), [(None, 403), ("bob", 403), ("charlie", 404)])
def test_only_curators_write(api_as, request, predicted, review_page, method, url, data, persona, expected):
    face = predicted[0]
    user = request.getfixturevalue(persona) if persona else None
    data = {key: int(value.format(page=review_page.pk)) if value == "{page}" else value for key, value in data.items()}
    if "faces" in data:
        data["faces"] = [{**item, "id": face.pk} for item in data["faces"]]

    response = getattr(api_as(user), method)(url.format(face=face.pk, page=review_page.pk), data, format="json")

    assert response.status_code == expected
    assert Face.objects.count() == 3
    assert all(face.version == 1 and face.status == FaceStatus.PREDICTED for face in Face.objects.all())
    assert not FaceRevision.objects.exists()


def test_the_face_list_filters_by_page_document_gender_and_status(
    api_as, alice, predicted, review_page, django_assert_max_num_queries
):
    other = Page.objects.create(document=review_page.document, order=2, canvas_id="c2", width=100, height=100)
    (on_other,) = faces_store_predictions(page=other, predictions=[FacePrediction(1, 1, 5, 5, 0.5)], source="res10")
    hidden_document = Document.objects.create(corpus=Corpus.objects.create(name="Private", is_public=False), source="x")
    hidden = Page.objects.create(document=hidden_document, order=1, canvas_id="c", width=100, height=100)
    faces_store_predictions(page=hidden, predictions=[FacePrediction(1, 1, 5, 5, 0.5)], source="res10")
    client = api_as(alice)
    client.delete(f"/api/faces/{predicted[2].pk}/", {"version": 1}, format="json")

    def ids(query):
        response = client.get(f"/api/faces/?{query}")
        assert response.status_code == 200, response.content
        return [face["id"] for face in response.json()["results"]]

    assert len(ids("")) == 4, "the private corpus's face stays hidden"
    assert ids(f"page={review_page.pk}") == [face.pk for face in predicted]
    assert ids(f"page={other.pk}") == [on_other.pk], "`page` filters by page; result pages are `p`"
    assert len(ids(f"document={review_page.document_id}")) == 4
    assert ids(f"page={review_page.pk}&gender=male") == [predicted[0].pk]
    assert ids(f"page={review_page.pk}&gender=faceM") == [predicted[0].pk]
    assert ids(f"page={review_page.pk}&status=rejected") == [predicted[2].pk]
    assert ids(f"page={review_page.pk}&status=predicted,accepted") == [predicted[0].pk, predicted[1].pk]
    assert client.get("/api/faces/?status=bogus").status_code == 400
    assert client.get("/api/faces/?gender=other").status_code == 400
    with django_assert_max_num_queries(4):
        first = client.get("/api/faces/").json()["results"][0]
    assert {
        "id",
        "page",
        "x",
        "y",
        "w",
        "h",
        "confidence",
        "age",
        "gender",
        "child",
        "status",
        "source",
        "version",
    } <= (first.keys())


def test_anonymous_visitors_read_faces_of_public_corpora_only(api_as, predicted, review_page, corpus):
    assert api_as(None).get(f"/api/faces/{predicted[0].pk}/").status_code == 404
    Corpus.objects.filter(pk=corpus.pk).update(is_public=True)

    response = api_as(None).get(f"/api/faces/{predicted[0].pk}/")

    assert response.status_code == 200
    assert response.json()["gender"] == "male"


def test_a_curator_marks_a_page_reviewed(api_as, alice, review_page):
    response = api_as(alice).patch(
        f"/api/pages/{review_page.pk}/", {"review_status": "reviewed", "review_version": 1}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["review_version"] == 2
    review_page.refresh_from_db()
    assert (review_page.review_status, review_page.reviewed_by) == (ReviewStatus.REVIEWED, alice)
    assert review_page.reviewed_at is not None


def test_a_review_status_change_names_the_review_version_it_read(api_as, alice, review_page):
    response = api_as(alice).patch(f"/api/pages/{review_page.pk}/", {"review_status": "reviewed"}, format="json")

    assert response.status_code == 400 and "review_version" in response.json()
    review_page.refresh_from_db()
    assert (review_page.review_status, review_page.review_version) == (ReviewStatus.UNREVIEWED, 1)


def test_a_review_status_changed_meanwhile_is_a_409_showing_it_and_nothing_is_written(
    api_as, alice, django_user_model, corpus, review_page
):
    other = django_user_model.objects.create_user("dora")
    CorpusMembership.objects.create(corpus=corpus, user=other, role=CorpusRole.CURATOR)
    url = f"/api/pages/{review_page.pk}/"
    first = api_as(other).patch(url, {"review_status": "reviewed", "review_version": 1}, format="json")

    stale = api_as(alice).patch(url, {"review_status": "in_review", "review_version": 1}, format="json")

    assert first.status_code == 200 and stale.status_code == 409
    assert stale.json()["page"]["review_status"] == "reviewed" and stale.json()["page"]["review_version"] == 2
    review_page.refresh_from_db()
    assert (review_page.review_status, review_page.reviewed_by, review_page.review_version) == (
        ReviewStatus.REVIEWED,
        other,
        2,
    )


# The one face write under every endpoint (services.faces_write), its status transitions, the 409 handler.


def with_status(face: Face, status: str) -> Face:
    Face.objects.filter(pk=face.pk).update(status=status)
    return fresh(face)


@pytest.mark.parametrize("to_status", list(FACE_TRANSITIONS))
@pytest.mark.parametrize("from_status", list(FaceStatus))
def test_a_single_and_a_bulk_status_change_follow_the_same_transitions(
    alice, review_page, predicted, from_status, to_status
):
    faces = predicted[:2]
    single, bulk = (with_status(face, from_status) for face in faces)

    face_status_transition(face=single, to_status=to_status, user=alice, expected_version=1)
    faces_bulk_set_status(page=review_page, user=alice, status=to_status, versions={bulk.pk: 1})

    moves = from_status in FACE_TRANSITIONS[to_status]
    expected = (to_status, 2) if moves else (from_status, 1)
    assert (fresh(single).status, fresh(single).version) == expected
    assert (fresh(bulk).status, fresh(bulk).version) == expected
    assert FaceRevision.objects.filter(face__in=faces).count() == (2 if moves else 0)


def test_a_stale_face_in_a_batch_leaves_every_face_as_it_was(alice, predicted):
    first, second = predicted[:2]
    corpus_id = second.page.document.corpus_id
    colette, ana = (person_for_name(corpus_id=corpus_id, name=name) for name in ("Colette", "Ana"))
    Face.objects.filter(pk=second.pk).update(person=colette, version=2)  # someone else's save meanwhile

    with pytest.raises(FaceConflict) as raised, transaction.atomic():
        faces_write(user=alice, action="update", changed=[(first, {"person": ana}), (second, {"person": ana})])

    assert (raised.value.face.pk, raised.value.face.person_name, raised.value.face.version) == (second.pk, "Colette", 2)
    assert (fresh(first).person_name, fresh(first).version) == ("", 1)
    assert not FaceRevision.objects.exists()


def test_faces_changed_alike_share_one_update_whatever_their_versions(alice, predicted, django_assert_num_queries):
    Face.objects.filter(pk=predicted[1].pk).update(version=3)
    first, second = faces = [predicted[0], fresh(predicted[1])]

    # Face UPDATE, revisions INSERT, (PostgreSQL: page lock,) page UPDATE.
    with django_assert_num_queries(4 if connection.features.has_select_for_update else 3):
        faces_write(user=alice, action="reject", changed=[(face, {"status": FaceStatus.REJECTED}) for face in faces])

    assert [(face.status, face.version) for face in map(fresh, faces)] == [("rejected", 2), ("rejected", 4)]
    revisions = {revision.face_id: revision for revision in FaceRevision.objects.all()}
    assert [face.recorded_revision_id for face in (first, second)] == [revisions[first.pk].pk, revisions[second.pk].pk]
    assert revisions[second.pk].before["status"] == "predicted"
    assert revisions[second.pk].after["status"] == "rejected"


def test_new_faces_without_an_action_are_inserted_unrecorded_and_counted(review_page):
    face = Face(page=review_page, x=1, y=2, w=30, h=40, confidence=0.5, source="res10")

    (created,) = faces_write(user=None, action=None, new=[face])

    assert fresh(created).as_box() == (1, 2, 30, 40)
    assert not FaceRevision.objects.exists()
    review_page.refresh_from_db()
    assert review_page.face_count == 1


def test_the_api_answers_a_face_conflict_with_409_and_the_face_as_it_is(predicted):
    face = fresh(predicted[0])

    response = exception_handler(FaceConflict(face), {"view": None})

    assert response.status_code == 409
    assert response.data == {
        "detail": "This face was changed by someone else; reload it before editing.",
        "face": face_representation(face),
    }


def test_a_view_may_word_the_conflict_message(predicted):
    class NamingView:
        face_conflict_detail = "A face was changed by someone else; reload it before naming it."

    response = exception_handler(FaceConflict(predicted[0]), {"view": NamingView()})

    assert (response.status_code, response.data["detail"]) == (409, NamingView.face_conflict_detail)


def test_other_exceptions_keep_drf_handling():
    assert exception_handler(NotFound("gone"), {"view": None}).status_code == 404
    assert exception_handler(ValueError("a bug"), {"view": None}) is None
    assert api_settings.EXCEPTION_HANDLER is exception_handler
