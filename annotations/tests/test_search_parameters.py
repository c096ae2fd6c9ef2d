"""The query parameters of the search, statistics and face-list APIs: a bad or unknown one answers
400 naming it, never a 500 and never a 200 that ignores it."""

from __future__ import annotations

import pytest

from annotations.tests.factories import search_corpus

pytestmark = pytest.mark.django_db

# Past the signed 64-bit range a database integer holds.
JUST_PAST = str(2**63)
COUNT_FILTERS = ["min_faces", "max_faces", "min_density", "max_density"]
FILTERED_ROUTES = ["/api/search/pages/", "/api/search/faces/", "/api/stats/faces-by-year/", "/api/faces/"]
PAGED_ROUTES = ["/api/search/pages/", "/api/search/faces/", "/api/faces/"]


@pytest.fixture
def data():
    return search_corpus()


def refused(response) -> set[str]:
    """The parameters a 400 names."""
    assert response.status_code == 400, response.content[:300]
    return set(response.json())


@pytest.mark.parametrize("name", COUNT_FILTERS)
@pytest.mark.parametrize("route", FILTERED_ROUTES)
def test_a_face_count_past_any_page_is_a_400_naming_it(client, data, route, name):
    assert refused(client.get(f"{route}?{name}={JUST_PAST}")) == {name}


@pytest.mark.parametrize("name", COUNT_FILTERS)
def test_a_face_count_past_any_page_is_a_400_in_csv_too(client, data, name):
    response = client.get(f"/api/stats/faces-by-year/?{name}={JUST_PAST}&format=csv")

    assert response.status_code == 400
    assert response.content.decode().splitlines() == [
        "parameter,error",
        f"{name},Give a number of faces: a whole number from 0 to 1000000.",
    ]


def test_the_largest_face_count_is_still_a_count(client, data):
    response = client.get("/api/search/pages/?max_faces=1000000&min_density=0")

    assert response.status_code == 200
    assert response.json()["count"] == 9


@pytest.mark.parametrize(
    ("route", "query"),
    [
        ("/api/search/pages/", ""),
        ("/api/search/faces/", ""),
        ("/api/faces/", ""),
        # A person filter counts faces row by row rather than from the year summaries.
        ("/api/stats/faces-by-year/", "&person=Joffre"),
    ],
)
def test_the_earliest_year_is_a_date_from_that_keeps_every_dated_page(client, data, route, query):
    from_year_one = client.get(f"{route}?date_from=0001{query}")
    from_1000 = client.get(f"{route}?date_from=1000{query}")

    assert from_year_one.status_code == 200
    assert from_year_one.json()["count"] == from_1000.json()["count"] > 0


@pytest.mark.parametrize("value", ["maybe", "1x", "yes", "2"])
@pytest.mark.parametrize("route", FILTERED_ROUTES)
def test_a_front_page_that_is_neither_true_nor_false_is_a_400(client, data, route, value):
    assert refused(client.get(f"{route}?front_page={value}")) == {"front_page"}


@pytest.mark.parametrize(("value", "pages"), [("true", 6), ("1", 6), ("false", 3), ("0", 3), ("", 9)])
def test_front_page_takes_true_or_false_as_words_or_digits(client, data, value, pages):
    response = client.get(f"/api/search/pages/?front_page={value}")

    assert response.status_code == 200
    assert response.json()["count"] == pages


@pytest.mark.parametrize("value", ["0", "-1", "abc", "2.5"])
@pytest.mark.parametrize("route", PAGED_ROUTES)
def test_a_page_size_that_is_no_positive_whole_number_is_a_400(client, data, route, value):
    assert refused(client.get(f"{route}?page_size={value}")) == {"page_size"}


def test_a_page_size_past_the_maximum_gives_the_maximum(client, data):
    response = client.get("/api/search/faces/?page_size=99999999999999999999")

    assert response.status_code == 200
    assert len(response.json()["results"]) == response.json()["count"]


@pytest.mark.parametrize("route", FILTERED_ROUTES)
def test_a_misspelt_filter_is_a_400_naming_it(client, data, route):
    response = client.get(f"{route}?gendr=female&date_form=1915")

    assert refused(response) == {"gendr", "date_form"}
    assert "gender" in response.json()["gendr"][0]


@pytest.mark.parametrize("route", FILTERED_ROUTES)
def test_a_misspelt_filter_and_a_bad_value_are_named_in_one_answer(client, data, route):
    assert refused(client.get(f"{route}?gendr=female&min_faces={JUST_PAST}")) == {"gendr", "min_faces"}


@pytest.mark.parametrize(
    ("route", "query"),
    [
        # Each route's result page has its own name: `page` is the page filter of /api/faces/.
        ("/api/search/pages/", "p=2"),
        ("/api/search/faces/", "gender_correction=true"),
        ("/api/stats/faces-by-year/", "ordering=date"),
        ("/api/stats/faces-by-year/", "page=2"),
        ("/api/stats/faces-by-year/", "page_size=10"),
    ],
)
def test_a_parameter_of_another_route_is_a_400_naming_it(client, data, route, query):
    assert refused(client.get(f"{route}?{query}")) == {query.split("=")[0]}


@pytest.mark.parametrize(
    ("route", "query"),
    [
        ("/api/search/pages/", "page=1&page_size=5&ordering=-faces&format=json&gender=female"),
        ("/api/search/faces/", "page=1&page_size=100&ordering=gender_confidence&source=model"),
        ("/api/stats/faces-by-year/", "gender_correction=false&format=json&front_page=true"),
        ("/api/stats/faces-by-year/", "format=csv&date_from=1910"),
        ("/api/faces/", "p=1&page_size=5&ordering=-date&document=1&status=predicted"),
    ],
)
def test_every_parameter_a_route_documents_is_taken(client, data, route, query):
    assert client.get(f"{route}?{query}").status_code == 200


@pytest.mark.parametrize(
    ("query", "upper"),
    [
        ("date_from=1920&date_to=1910", "date_to"),
        ("date_from=1915-06&date_to=1915-05", "date_to"),
        ("min_faces=3&max_faces=1", "max_faces"),
        ("min_density=5&max_density=2", "max_density"),
        ("min_size=10&max_size=5", "max_size"),
    ],
)
@pytest.mark.parametrize("route", FILTERED_ROUTES)
def test_a_range_whose_ends_are_swapped_is_a_400_naming_its_upper_end(client, data, route, query, upper):
    assert refused(client.get(f"{route}?{query}")) == {upper}


@pytest.mark.parametrize(
    "query", ["date_from=1915&date_to=1915", "date_from=1915-06&date_to=1915", "min_faces=2&max_faces=2"]
)
def test_a_range_of_one_value_is_a_range(client, data, query):
    assert client.get(f"/api/search/pages/?{query}").status_code == 200
