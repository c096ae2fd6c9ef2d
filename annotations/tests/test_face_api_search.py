"""GET /api/faces/ with the search filters: the same faces as /api/search/faces/, its own page and status filters."""

from __future__ import annotations

import pytest

from annotations.models import Face, FaceStatus
from annotations.search import planner
from annotations.tests.factories import make_document, make_face, make_page, search_corpus

pytestmark = pytest.mark.django_db

URL = "/api/faces/"
SEARCH_URL = "/api/search/faces/"
ORDERINGS = ["page", "date", "-date", "confidence", "-confidence", "size", "-size"]


@pytest.fixture
def data():
    return search_corpus()


def ids(client, query: str = "", url: str = URL) -> list[int]:
    response = client.get(f"{url}?page_size=500&{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["results"]), "one result page holds them all"
    return [row["id"] for row in body["results"]]


def faces_on(*pages) -> set[int]:
    """The non-rejected faces of these pages."""
    return set(Face.objects.filter(page__in=pages).visible().values_list("pk", flat=True))


def test_without_filters_every_face_is_listed_rejected_ones_included_in_page_order(api_as, data):
    listed = ids(api_as())

    assert len(listed) == 17 == Face.objects.count()
    rejected = Face.objects.get(status=FaceStatus.REJECTED).pk
    assert set(listed) == {*ids(api_as(), url=SEARCH_URL), rejected}, "the search's faces, and the rejected one"
    assert listed == list(Face.objects.order_by("page_id", "y", "x", "id").values_list("pk", flat=True))


def test_document_and_status_alone_keep_listing_rejected_faces(api_as, data):
    client = api_as()
    rejected = Face.objects.get(status=FaceStatus.REJECTED)

    assert len(ids(client, f"document={data.documents.a.pk}")) == 7
    assert ids(client, "status=rejected") == [rejected.pk]
    assert ids(client, f"page={data.pages.a1.pk}&status=predicted,rejected")[-1] == rejected.pk


@pytest.mark.parametrize(
    ("query", "pages", "count"),
    [
        ("corpus={corpus}", "a1 a2 b1 b2 m1 r1 u1 z1", 16),
        ("corpus=Excelsior%20search", "a1 a2 b1 b2 m1 r1 u1 z1", 16),
        ("title=miroir", "m1", 1),
        ("q=Lafitte", "m1", 1),
        ("date_from=1915&date_to=1915", "a1 a2 b1 b2", 11),
        ("date_from=1915-07-01&date_to=1915-07-01", "b1 b2", 5),
        ("date_from=1915-07", "b1 b2 m1 z1", 8),
        ("date_to=1405", "r1", 1),
        ("min_faces=3", "a1 a2 b1", 10),
        ("max_faces=1", "b2 m1 r1 u1", 4),
        ("gender=female", "a1 b1 r1 z1", 7),
        ("gender=faceW", "a1 b1 r1 z1", 7),
        ("gender=male", "a1 a2 b2 m1 u1", 8),
        ("gender=faceM", "a1 a2 b2 m1 u1", 8),
        ("gender=child", "b1", 1),
        ("gender=faceC", "b1", 1),
        ("gender=unknown", "b1", 1),
        ("min_confidence=0.95", "b1 b2 m1", 3),
        ("min_size=5", "m1", 1),
        ("max_size=1", "a1 a2 b1 b2 r1 u1 z1", 15),
        ("min_density=2&max_density=2", "z1", 2),
        ("max_density=0", "", 0),
        ("front_page=true", "a1 b1 m1 r1 u1 z1", 12),
        ("front_page=false", "a2 b2", 4),
        ("review_status=reviewed", "b2 z1", 3),
        ("source=curator", "b1 b2", 2),
        ("source=model", "a1 a2 b1 m1 r1 u1 z1", 14),
        ("source=res10", "a1 a2 b1 m1 r1 u1 z1", 15),
        ("person=joff", "b2", 1),
        ("status=edited&gender=female", "b1", 1),
    ],
)
def test_each_search_filter_selects_the_known_faces_and_never_a_rejected_one(api_as, data, query, pages, count):
    listed = ids(api_as(), query.format(corpus=data.corpus.pk))

    assert len(listed) == count
    assert set(listed) <= faces_on(*(getattr(data.pages, key) for key in pages.split()))
    assert {Face.objects.get(pk=pk).page_id for pk in listed} == {getattr(data.pages, key).pk for key in pages.split()}
    assert FaceStatus.REJECTED not in set(Face.objects.filter(pk__in=listed).values_list("status", flat=True))


def test_filters_combine_with_each_other_and_with_the_page(api_as, data):
    client = api_as()

    men = ids(client, "gender=male&min_faces=2")
    assert set(men) == set(
        Face.objects.filter(page__in=[data.pages.a1, data.pages.a2], gender="male").values_list("pk", flat=True)
    )
    assert len(ids(client, "front_page=true&date_from=1915&date_to=1918&gender=female")) == 4
    sure_men_on_a2 = ids(client, f"page={data.pages.a2.pk}&gender=male&min_confidence=0.5")
    assert sure_men_on_a2 == list(
        Face.objects.filter(page=data.pages.a2, confidence__gte=0.5)
        .order_by("y", "x", "id")
        .values_list("pk", flat=True)
    )
    assert ids(client, f"page={data.pages.a2.pk}&gender=female") == []
    # A page filter narrows the rows of a search; it does not change which pages count.
    assert ids(client, f"page={data.pages.b1.pk}&min_faces=4") == ids(client, f"page={data.pages.b1.pk}&min_density=0")
    assert ids(client, f"page={data.pages.a1.pk}&min_faces=4") == []


@pytest.mark.parametrize(
    "query",
    [
        "gender=female",
        "gender=faceM&min_faces=2",
        "date_from=1915-03&date_to=1918&front_page=true",
        "min_confidence=0.8&ordering=-confidence",
        "min_size=0.1&max_size=20&ordering=size",
        "source=curator&review_status=reviewed",
        "title=excelsior&min_density=3&ordering=-date",
        "corpus=Excelsior%20search&max_faces=2&gender=female&status=predicted",
        "person=joffre",
        "q=journal&date_to=1915",
    ],
)
@pytest.mark.parametrize("walk_max_visits", [0, 10**9], ids=["collect", "walk"])
def test_it_lists_the_same_faces_as_the_face_search(api_as, data, monkeypatch, query, walk_max_visits):
    monkeypatch.setattr(planner, "WALK_MAX_VISITS", walk_max_visits)
    client = api_as()
    # Same filters and same ordering: the same faces in the same order (searches default to date).
    ordered = query if "ordering=" in query else f"{query}&ordering=date"

    assert ids(client, ordered) == ids(client, ordered, url=SEARCH_URL)
    assert set(ids(client, query)) == set(ids(client, query, url=SEARCH_URL))


@pytest.mark.parametrize(
    ("query", "bad"),
    [
        ("gender=other", {"gender"}),
        ("min_confidence=2", {"min_confidence"}),
        ("min_size=-1", {"min_size"}),
        ("date_from=1915-13", {"date_from"}),
        ("date_to=soon", {"date_to"}),
        ("min_faces=-1&max_faces=x", {"min_faces", "max_faces"}),
        ("page=abc", {"page"}),
        ("page=0", {"page"}),
        ("document=x", {"document"}),
        ("review_status=done", {"review_status"}),
        ("status=bogus", {"status"}),
        ("ordering=-faces", {"ordering"}),
        ("gender=faceF&min_density=-2&status=predicted,nope", {"gender", "min_density", "status"}),
        ("status=rejected&gender=female", {"status"}),
        ("status=predicted,accepted&min_confidence=0.5", {"status"}),
    ],
)
def test_invalid_parameters_answer_400_naming_each_one(api_as, data, query, bad):
    response = api_as().get(f"{URL}?{query}")

    assert response.status_code == 400
    assert set(response.json()) == bad


@pytest.fixture
def private_face(corpus):
    """A woman's face, sure and large, in the private `corpus` (alice curates it, bob views it)."""
    page = make_page(document=make_document(corpus=corpus, label="Excelsior privé", date_text="1915-03-12"))
    return make_face(page=page, gender="female", confidence=0.99, w=800, h=1000, person="Joffre")


def test_a_private_corpus_faces_never_appear_to_those_who_cannot_view_it(api_as, data, private_face, bob, charlie):
    page = private_face.page
    queries = [
        "",
        "gender=female",
        "min_confidence=0.9&min_size=5",
        "person=joffre",
        "title=excelsior&date_from=1915&date_to=1915",
        f"corpus={page.document.corpus_id}",
        f"document={page.document_id}",
        f"page={page.pk}",
        f"page={page.pk}&gender=female",
    ]
    for user in (None, charlie):
        for query in queries:
            assert private_face.pk not in ids(api_as(user), query), (user, query)
    for query in queries:
        assert private_face.pk in ids(api_as(bob), query), query
    assert len(ids(api_as(charlie), "gender=female")) == 7


@pytest.mark.parametrize("ordering", ORDERINGS)
@pytest.mark.parametrize("query", ["", "gender=male", "min_confidence=0.5"])
def test_pages_of_results_follow_one_stable_order_without_duplicates_or_gaps(api_as, data, ordering, query):
    client = api_as()
    whole = ids(client, f"{query}&ordering={ordering}")
    walked, number = [], 1
    while True:
        response = client.get(f"{URL}?{query}&ordering={ordering}&page_size=3&p={number}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == len(whole)
        walked += [row["id"] for row in body["results"]]
        if body["next"] is None:
            break
        assert "p=" in body["next"]
        number += 1

    assert walked == whole
    assert len(set(walked)) == len(walked)


def test_the_default_order_is_by_page_then_top_to_bottom(api_as, data):
    men = ids(api_as(), "gender=male")

    assert men == list(Face.objects.filter(pk__in=men).order_by("page_id", "y", "x", "id").values_list("pk", flat=True))


def test_a_search_costs_a_fixed_number_of_queries(api_as, data, django_assert_max_num_queries):
    client = api_as()
    # Visibility check, count, one slice of faces.
    with django_assert_max_num_queries(3):
        assert client.get(f"{URL}?gender=female&min_faces=2&ordering=date").status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get(f"{URL}?document={data.documents.a.pk}").status_code == 200
