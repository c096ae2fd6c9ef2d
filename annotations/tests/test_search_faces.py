"""GET /api/search/faces/ and the face_search selector: the faces a search selects."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from annotations.models import Face
from annotations.search import planner
from annotations.search.params import search_params_parse
from annotations.search.planner import face_search
from annotations.tests.factories import make_corpus, make_document, make_face, make_page, search_corpus

pytestmark = pytest.mark.django_db

URL = "/api/search/faces/"


@pytest.fixture(autouse=True, params=["collect", "walk"])
def strategy(request, monkeypatch):
    """Every answer must hold whether faces are collected first or found by walking the ordering."""
    monkeypatch.setattr(planner, "WALK_MAX_VISITS", 0 if request.param == "collect" else 10**9)
    return request.param


@pytest.fixture
def data():
    return search_corpus()


def found(client, query: str = "") -> list[Face]:
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.content
    return [Face.objects.get(pk=row["id"]) for row in response.json()["results"]]


def test_rejected_faces_are_never_listed(client, data):
    faces = found(client)
    assert len(faces) == 16
    assert all(face.status != "rejected" for face in faces)
    assert Face.objects.filter(status="rejected").count() == 1


def test_gender_and_its_aliases_select_faces(client, data):
    women = found(client, "gender=female")
    assert len(women) == 7
    assert {face.gender for face in women} == {"female"}
    assert found(client, "gender=faceW") == women
    (child,) = found(client, "gender=faceC")
    assert child.child and child.page_id == data.pages.b1.pk
    assert {face.page_id for face in found(client, "gender=faceM")} == {
        data.pages.a1.pk,
        data.pages.a2.pk,
        data.pages.b2.pk,
        data.pages.m1.pk,
        data.pages.u1.pk,
    }


def test_face_count_bounds_keep_faces_of_pages_with_enough_selected_faces(client, data):
    faces = found(client, "gender=male&min_faces=2")
    assert len(faces) == 5
    assert {face.page_id for face in faces} == {data.pages.a1.pk, data.pages.a2.pk}
    assert {face.gender for face in faces} == {"male"}


def test_min_confidence_keeps_curated_faces(client, data):
    faces = found(client, "min_confidence=0.95")
    assert sorted((face.page_id, face.status) for face in faces) == sorted(
        [(data.pages.b1.pk, "edited"), (data.pages.b2.pk, "added"), (data.pages.m1.pk, "predicted")]
    )


def test_size_date_and_front_page_combined(client, data):
    (large,) = found(client, "min_size=5")
    assert large.page_id == data.pages.m1.pk
    faces = found(client, "front_page=true&date_from=1915&date_to=1918&gender=female")
    assert {face.page_id for face in faces} == {data.pages.a1.pk, data.pages.b1.pk}
    assert len(faces) == 4


def test_a_face_result_has_its_crop_and_its_place(client, data):
    face = Face.objects.get(page=data.pages.m1)
    (row,) = client.get(f"{URL}?min_size=5").json()["results"]
    assert row["id"] == face.pk
    assert row["page"] == data.pages.m1.pk
    assert row["document"] == data.documents.m.pk
    assert row["document_label"] == "Le Miroir"
    assert row["document_date"] == "1918-01-01"
    assert row["gender"] == "male" and row["confidence"] == 0.99
    assert row["size_percent"] == 10.0
    assert row["crop_url"] == data.pages.m1.face_crop_url(face, 160)
    assert row["version"] == face.version


def test_ordering_by_confidence(client, data):
    confidences = [face.confidence for face in found(client, "ordering=-confidence&gender=male")]
    assert confidences == sorted(confidences, reverse=True)
    assert client.get(f"{URL}?ordering=-faces").status_code == 400


def test_the_query_count_does_not_grow_with_results(client, data, django_assert_num_queries, monkeypatch):
    # Visibility check, count, candidate count (or PostgreSQL's estimate), faces with pages and documents.
    monkeypatch.setattr(planner, "_estimated_face_total", lambda: None)
    with django_assert_num_queries(4):
        assert client.get(f"{URL}?min_size=0.1").status_code == 200


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="only PostgreSQL keeps a row estimate (pg_class.reltuples)"
)
def test_the_same_answers_when_the_face_total_is_the_planners_estimate(client, data):
    queries = ["gender=female&min_confidence=0.5", "min_size=0.1", "ordering=-date&gender=male", "source=curator"]
    before = {query: client.get(f"{URL}?{query}").json() for query in queries}

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotations_face")

    assert planner._estimated_face_total() == Face.objects.count()
    assert {query: client.get(f"{URL}?{query}").json() for query in queries} == before


def test_face_search_is_usable_by_other_face_lists(data, bob, corpus):
    private = make_page(document=make_document(corpus=corpus, date_text="1915"))
    mine = make_face(page=private, gender="female", confidence=0.99)
    params = search_params_parse({"gender": "faceW", "min_confidence": "0.9"})
    visible = set(face_search(user=bob, params=params).values_list("pk", flat=True))
    assert mine.pk in visible
    assert Face.objects.get(page=data.pages.r1).pk in visible
    assert Face.objects.get(page=data.pages.a1, gender="female", status="predicted").pk not in visible
    assert mine.pk not in set(face_search(user=AnonymousUser(), params=params).values_list("pk", flat=True))


def test_ordering_by_gender_confidence_lowest_first_with_unrated_faces_last(client):
    page = make_page(document=make_document(corpus=make_corpus()))
    rated = [make_face(page=page, x=10 + 110 * n, gender_confidence=value) for n, value in enumerate([0.9, 0.55, 0.7])]
    unrated = make_face(page=page, x=500, gender_confidence=None)

    assert found(client, "ordering=gender_confidence") == [rated[1], rated[2], rated[0], unrated]
    assert found(client, "ordering=-gender_confidence") == [rated[0], rated[2], rated[1], unrated]
