"""Corpus-wide bulk write (POST /api/faces/bulk/): versioned, checked face by face, one undoable batch (#17)."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.models import CorpusMembership, CorpusRole, Face, FaceRevision, FaceStatus, Gender, Page
from annotations.services import face_update
from annotations.tests.factories import make_corpus, make_document, make_face, make_page

URL = "/api/faces/bulk/"


@pytest.fixture
def pages(corpus, alice):
    """A page in the `corpus` fixture and one in a second corpus alice also curates."""
    second = make_corpus(name="Le Miroir", is_public=False)
    CorpusMembership.objects.create(corpus=second, user=alice, role=CorpusRole.CURATOR)
    return [make_page(document=make_document(corpus=c)) for c in (corpus, second)]


@pytest.fixture
def faces(pages):
    """Four predicted faces, two per page, predicted male."""
    return [make_face(page=page, x=10 + 300 * n, gender=Gender.MALE) for page in pages for n in range(2)]


def fresh(face: Face) -> Face:
    return Face.objects.get(pk=face.pk)


def post(client, action: str, named: list[tuple[Face | int, int]], **extra):
    faces = [{"id": face if isinstance(face, int) else face.pk, "version": version} for face, version in named]
    return client.post(URL, {"action": action, "faces": faces, **extra}, format="json")


def test_set_gender_changes_faces_of_several_corpora_as_one_batch(api_as, alice, faces, pages):
    response = post(api_as(alice), "set_gender", [(face, 1) for face in faces], value="female")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["action"] == "set_gender" and body["updated"] == 4
    assert [result["status"] for result in body["results"]] == ["ok"] * 4
    for face in faces:
        face = fresh(face)
        assert (face.gender, face.status, face.version) == (Gender.FEMALE, FaceStatus.EDITED, 2)
    revisions = FaceRevision.objects.filter(face__in=faces)
    assert revisions.count() == 4
    assert {str(revision.batch) for revision in revisions} == {body["batch"]}
    assert {(revision.action, revision.user_id) for revision in revisions} == {("update", alice.pk)}
    assert [result["face"]["revision"] for result in body["results"]] == [revisions.get(face=face).pk for face in faces]
    for page in pages:
        page.refresh_from_db()
        assert (page.female_count, page.male_count, page.review_status) == (2, 0, "in_review")


def test_a_face_changed_since_is_a_conflict_and_the_others_go_through(api_as, alice, faces, corpus):
    dora = get_user_model().objects.create_user("dora")
    CorpusMembership.objects.create(corpus=corpus, user=dora, role=CorpusRole.CURATOR)
    face_update(face=faces[1], user=dora, expected_version=1, data={"gender": Gender.UNKNOWN})

    response = post(api_as(alice), "set_gender", [(face, 1) for face in faces], value="female")

    assert response.status_code == 207, response.content
    results = response.json()["results"]
    assert [result["status"] for result in results] == ["ok", "conflict", "ok", "ok"]
    assert results[1]["current"]["gender"] == "unknown" and results[1]["current"]["version"] == 2
    assert (fresh(faces[1]).gender, fresh(faces[1]).version) == (Gender.UNKNOWN, 2)
    assert [fresh(face).gender for face in faces] == ["female", "unknown", "female", "female"]


def test_faces_the_user_may_not_change_are_forbidden_or_not_found(api_as, alice, faces):
    viewed = make_corpus(name="Public", is_public=True)
    hidden = make_corpus(name="Private", is_public=False)
    public_face = make_face(page=make_page(document=make_document(corpus=viewed)))
    hidden_face = make_face(page=make_page(document=make_document(corpus=hidden)))
    missing = Face.objects.order_by("-pk").first().pk + 100

    response = post(api_as(alice), "reject", [(faces[0], 1), (public_face, 1), (hidden_face, 1), (missing, 1)])

    assert response.status_code == 207, response.content
    assert [(r["id"], r["status"]) for r in response.json()["results"]] == [
        (faces[0].pk, "ok"),
        (public_face.pk, "forbidden"),
        (hidden_face.pk, "not_found"),
        (missing, "not_found"),
    ]
    assert "current" not in response.json()["results"][2], "a face the user may not see shows nothing of itself"
    assert fresh(faces[0]).status == FaceStatus.REJECTED
    assert (fresh(public_face).status, fresh(hidden_face).status) == (FaceStatus.PREDICTED, FaceStatus.PREDICTED)


@pytest.mark.parametrize(("who", "expected"), [("bob", 403), ("charlie", 404), ("anonymous", 403)])
def test_a_user_who_may_change_none_of_the_faces_is_refused(api_as, who, expected, faces, request):
    user = None if who == "anonymous" else request.getfixturevalue(who)

    response = post(api_as(user), "accept", [(faces[0], 1), (faces[1], 1)])

    assert response.status_code == expected, response.content
    assert {fresh(face).status for face in faces} == {FaceStatus.PREDICTED}
    assert not FaceRevision.objects.exists()


def test_undo_restores_each_face_and_reports_those_changed_since(api_as, alice, faces, corpus):
    client = api_as(alice)
    first = post(client, "set_gender", [(face, 1) for face in faces], value="female").json()
    dora = get_user_model().objects.create_user("dora")
    CorpusMembership.objects.create(corpus=corpus, user=dora, role=CorpusRole.CURATOR)
    face_update(face=fresh(faces[0]), user=dora, expected_version=2, data={"child": True})
    answered = [(result["id"], result["face"]["version"]) for result in first["results"]]

    response = post(client, "undo", answered, batch=first["batch"])

    assert response.status_code == 207, response.content
    body = response.json()
    assert [result["status"] for result in body["results"]] == ["conflict", "ok", "ok", "ok"]
    assert body["batch"] != first["batch"] and body["updated"] == 3
    assert (fresh(faces[0]).gender, fresh(faces[0]).child) == (Gender.FEMALE, True), "dora's change stays"
    for face in faces[1:]:
        face = fresh(face)
        assert (face.gender, face.status, face.version) == (Gender.MALE, FaceStatus.PREDICTED, 3)
    undo_revisions = FaceRevision.objects.filter(batch=body["batch"])
    assert {(revision.action, revision.face_id) for revision in undo_revisions} == {
        ("revert", face.pk) for face in faces[1:]
    }
    assert {page.male_count for page in Page.objects.filter(faces__in=faces[2:]).distinct()} == {2}


def test_undo_leaves_fields_the_batch_did_not_change(api_as, alice, faces):
    client = api_as(alice)
    face_update(face=faces[0], user=alice, expected_version=1, data={"person": "Clemenceau"})
    first = post(client, "set_child", [(faces[0], 2)], value=True).json()

    response = post(client, "undo", [(faces[0], first["results"][0]["face"]["version"])], batch=first["batch"])

    assert response.status_code == 200, response.content
    face = fresh(faces[0])
    assert (face.child, face.person_name, face.status, face.version) == (False, "Clemenceau", FaceStatus.EDITED, 4)


def test_accept_and_set_child_go_through_the_face_rules(api_as, alice, faces):
    client = api_as(alice)
    post(client, "reject", [(faces[0], 1)])
    accepted = post(client, "accept", [(faces[0], 2), (faces[1], 1)])
    child = post(client, "set_child", [(faces[1], 2)], value=True)

    assert accepted.status_code == 200 and child.status_code == 200, (accepted.content, child.content)
    assert (fresh(faces[0]).status, fresh(faces[0]).version) == (FaceStatus.ACCEPTED, 3)
    assert (fresh(faces[1]).child, fresh(faces[1]).status, fresh(faces[1]).version) == (True, FaceStatus.EDITED, 3)
    again = post(client, "accept", [(faces[0], 3)])
    assert again.status_code == 200 and again.json()["updated"] == 0, "accepting an accepted face changes nothing"
    assert again.json()["results"][0]["face"]["revision"] == FaceRevision.objects.filter(face=faces[0]).first().pk


@pytest.mark.parametrize(
    "body",
    [
        {"action": "accept", "faces": [{"id": 1, "version": 1}], "page": 1},
        {"action": "accept", "faces": [{"id": 1, "version": 1, "gender": "female"}]},
        {"action": "accept", "faces": [{"id": 1}]},
        {"action": "accept", "faces": []},
        {"action": "accept", "faces": [{"id": 1, "version": 1}, {"id": 1, "version": 1}]},
        {"action": "accept", "value": "female", "faces": [{"id": 1, "version": 1}]},
        {"action": "set_gender", "faces": [{"id": 1, "version": 1}]},
        {"action": "set_gender", "value": "woman", "faces": [{"id": 1, "version": 1}]},
        {"action": "set_child", "value": "yes", "faces": [{"id": 1, "version": 1}]},
        {"action": "undo", "faces": [{"id": 1, "version": 1}]},
        {"action": "undo", "batch": "not-a-uuid", "faces": [{"id": 1, "version": 1}]},
        {"action": "reject", "batch": str(uuid.uuid4()), "faces": [{"id": 1, "version": 1}]},
        {"action": "merge", "faces": [{"id": 1, "version": 1}]},
        {"action": "accept", "faces": [{"id": n, "version": 1} for n in range(1, 1002)]},
    ],
)
def test_it_refuses_unknown_or_incomplete_input(api_as, alice, faces, body):
    # Face 1 stands for a real face of the fixture (ids differ between databases and runs).
    body = {**body, "faces": [{**face, "id": faces[0].pk} if face.get("id") == 1 else face for face in body["faces"]]}

    response = api_as(alice).post(URL, body, format="json")

    assert response.status_code == 400, response.content
    assert fresh(faces[0]).version == 1


def test_its_queries_do_not_grow_with_the_number_of_faces(api_as, alice, pages):
    client = api_as(alice)
    few = [make_face(page=pages[0], x=10 + 20 * n) for n in range(3)]
    many = [make_face(page=pages[1], x=10 + 20 * n) for n in range(30)]

    counts = []
    for named in (few, many):
        with CaptureQueriesContext(connection) as queries:
            response = post(client, "set_gender", [(face, 1) for face in named], value="female")
        assert response.status_code == 200, response.content
        counts.append(len(queries))

    assert counts[0] == counts[1], counts


def test_undo_of_a_batch_that_changed_none_of_the_faces_is_refused(api_as, alice, faces):
    client = api_as(alice)
    other = post(client, "reject", [(faces[0], 1)]).json()

    unknown = post(client, "undo", [(faces[1], 1)], batch=str(uuid.uuid4()))
    elsewhere = post(client, "undo", [(faces[1], 1)], batch=other["batch"])

    assert (unknown.status_code, elsewhere.status_code) == (400, 400), (unknown.content, elsewhere.content)
    assert "batch" in unknown.json()
    assert (fresh(faces[0]).status, fresh(faces[1]).version) == (FaceStatus.REJECTED, 1)


def test_undo_refuses_a_face_changed_since_even_named_with_its_current_version(api_as, alice, faces, corpus):
    client = api_as(alice)
    first = post(client, "set_gender", [(faces[0], 1), (faces[1], 1)], value="female").json()
    dora = get_user_model().objects.create_user("dora")
    CorpusMembership.objects.create(corpus=corpus, user=dora, role=CorpusRole.CURATOR)
    face_update(face=fresh(faces[0]), user=dora, expected_version=2, data={"gender": Gender.UNKNOWN})

    response = post(client, "undo", [(faces[0], 3), (faces[1], 2)], batch=first["batch"])

    assert response.status_code == 207, response.content
    assert [result["status"] for result in response.json()["results"]] == ["conflict", "ok"]
    assert (fresh(faces[0]).gender, fresh(faces[0]).version) == (Gender.UNKNOWN, 3), "dora's change stays"
    assert fresh(faces[1]).gender == Gender.MALE


def test_the_answer_gives_the_review_status_of_each_page_written(api_as, alice, faces, pages):
    # The review grid shows each face's page status; a curator's first change puts an unreviewed page in
    # review, a reviewed page stays reviewed: the answer says where each page written now stands.
    Page.objects.filter(pk=pages[1].pk).update(review_status="reviewed")
    searched = api_as(alice).get("/api/search/faces/", {"status": "predicted", "ordering": "page"}).json()["results"]
    assert {(face["page"], face["page_review_status"]) for face in searched} == {
        (pages[0].pk, "unreviewed"),
        (pages[1].pk, "reviewed"),
    }

    response = post(api_as(alice), "accept", [(faces[0], 1), (faces[2], 1)])

    assert response.status_code == 200, response.content
    assert response.json()["pages"] == [
        {"id": pages[0].pk, "review_status": "in_review"},
        {"id": pages[1].pk, "review_status": "reviewed"},
    ]
    conflicted = post(api_as(alice), "accept", [(faces[1], 9)])
    assert conflicted.status_code == 207
    assert conflicted.json()["pages"] == [], "a write that changed no face leaves no page moved"
