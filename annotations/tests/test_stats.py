"""GET /api/stats/faces-by-year/: yearly faces, pages and gender shares for the search filters."""

from __future__ import annotations

import csv
import io

import pytest

from annotations.models import CURATED_STATUSES, Face, FaceStatus
from annotations.search import planner
from annotations.search.stats import COUNTED
from annotations.tests.factories import make_document, make_face, make_page, search_corpus

pytestmark = pytest.mark.django_db

URL = "/api/stats/faces-by-year/"


@pytest.fixture
def data():
    return search_corpus()


def years(client, query: str = "") -> dict:
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.content
    return {row["year"]: row for row in response.json()["results"]}


def test_each_year_of_a_range_has_a_row_even_without_pages(client, data):
    rows = years(client, "date_from=1910&date_to=1920")
    assert list(rows) == list(range(1910, 1921))
    assert rows[1912] == {
        "year": 1912,
        "pages": 0,
        "pages_with_faces": 0,
        "faces": 0,
        "female": 0,
        "male": 0,
        "unknown": 0,
        "child": 0,
        "female_share": None,
        "male_share": None,
        "faces_per_page": None,
        **{f"{source}_{name}": 0 for source in ("curated", "predicted") for name in COUNTED},
        "curated_female_share": None,
        "curated_share": None,
    }


def test_yearly_counts_from_page_columns(client, data):
    rows = years(client, "date_from=1910&date_to=1920")
    # 1915: a1 (M M F), a2 (M M M), a3 (none), b1 (F F-child U F-curated), b2 (M added); rejected face left out.
    assert {k: rows[1915][k] for k in ("pages", "pages_with_faces", "faces", "female", "male", "unknown", "child")} == {
        "pages": 5,
        "pages_with_faces": 4,
        "faces": 11,
        "female": 4,
        "male": 6,
        "unknown": 1,
        "child": 1,
    }
    assert rows[1915]["female_share"] == 0.4
    assert rows[1915]["male_share"] == 0.6
    assert rows[1915]["faces_per_page"] == 2.2
    assert (rows[1918]["faces"], rows[1918]["male"]) == (1, 1)
    assert (rows[1920]["female"], rows[1920]["female_share"]) == (2, 1.0)


def test_front_pages_study(client, data):
    rows = years(client, "front_page=true&date_from=1910&date_to=1920")
    assert (rows[1915]["pages"], rows[1915]["faces"], rows[1915]["female"], rows[1915]["male"]) == (2, 7, 4, 2)
    assert rows[1915]["female_share"] == 0.6667


def test_face_filters_count_only_selected_faces(client, data):
    rows = years(client, "date_from=1915&date_to=1915&min_confidence=0.5")
    # Pages with a selected face: a1 (M.9 M.6), a2 (M.9 M.9), b1 (F.8 F-child.7 U.5 F-curated), b2 (M added).
    assert {k: rows[1915][k] for k in ("pages", "pages_with_faces", "faces", "female", "male", "unknown", "child")} == {
        "pages": 4,
        "pages_with_faces": 4,
        "faces": 9,
        "female": 3,
        "male": 5,
        "unknown": 1,
        "child": 1,
    }
    women = years(client, "date_from=1915&date_to=1915&gender=faceW")[1915]
    assert (women["pages"], women["faces"], women["female"], women["male"], women["child"]) == (2, 4, 4, 0, 1)
    # Pages without any man: a3 (no face) and b1 (women, a child, an unknown).
    no_men = years(client, "date_from=1915&date_to=1915&gender=male&max_faces=0")[1915]
    assert (no_men["pages"], no_men["pages_with_faces"], no_men["faces"]) == (2, 0, 0)


def test_undated_pages_come_last_and_count_in_totals(client, data):
    body = client.get(URL).json()
    assert body["results"][-1]["year"] is None
    assert body["results"][-1]["faces"] == 1
    assert body["totals"]["pages"] == 9
    assert body["totals"]["faces"] == 16
    assert body["totals"]["female"] == 7
    assert body["count"] == len(body["results"])


def test_stats_match_the_search_for_the_same_filters(client, data):
    query = "gender=male&min_faces=2&date_from=1910&date_to=1920"
    search = client.get(f"/api/search/pages/?{query}").json()
    stats = client.get(f"{URL}?{query}").json()
    assert stats["totals"]["pages"] == search["count"] == 2
    assert stats["totals"]["faces"] == sum(row["matching_faces"] for row in search["results"]) == 5


def test_counts_follow_new_faces(client, data):
    make_face(page=data.pages.z1, gender="male")
    rows = years(client, "date_from=1920&date_to=1920")
    assert (rows[1920]["faces"], rows[1920]["male"], rows[1920]["female_share"]) == (3, 1, 0.6667)


def test_csv_download_has_the_same_numbers(client, data):
    response = client.get(f"{URL}?date_from=1910&date_to=1920&front_page=true&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "faces-by-year.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [int(row["year"]) for row in rows] == list(range(1910, 1921))
    json_rows = years(client, "date_from=1910&date_to=1920&front_page=true")
    assert rows[5]["year"] == "1915"
    assert int(rows[5]["faces"]) == json_rows[1915]["faces"] == 7
    assert float(rows[5]["female_share"]) == json_rows[1915]["female_share"]


def test_bad_filters_are_refused(client, data):
    response = client.get(f"{URL}?gender=faceF&date_to=soon")
    assert response.status_code == 400
    assert set(response.json()) == {"gender", "date_to"}


def test_private_corpora_are_counted_only_for_their_members(client, data, corpus, bob):
    page = make_page(document=make_document(corpus=corpus, date_text="1916"))
    make_face(page=page, gender="female")
    assert years(client, "date_from=1916&date_to=1916")[1916]["faces"] == 0
    assert years(client, "date_from=1916&date_to=1916&gender=female")[1916]["faces"] == 0
    client.force_login(bob)
    assert years(client, "date_from=1916&date_to=1916")[1916]["faces"] == 1
    assert years(client, "date_from=1916&date_to=1916&gender=female")[1916]["female"] == 1


def recount(faces) -> dict:
    """Curated and predicted counts per year, counted one face at a time in Python."""
    rows: dict = {}
    for face in faces:
        date = face.page.document.date_start
        source = (
            "curated"
            if face.status in CURATED_STATUSES
            else "predicted"
            if face.status == FaceStatus.PREDICTED
            else None
        )
        if source is None:
            continue
        row = rows.setdefault(date.year if date else None, dict.fromkeys(("curated", "predicted"), 0))
        row[source] += 1
    return rows


@pytest.mark.parametrize(
    "query",
    [
        "",
        "front_page=true",
        "min_confidence=0.5",
        "gender=female",
        "source=curator",
        # Counted from the pages' columns, curated faces included (the summaries do not answer these).
        "title=excelsior",
        "review_status=unreviewed",
    ],
)
def test_stats_split_by_source_equal_a_recount(client, data, query):
    # One more of each status in 1915, a rejected one included, so every source is present.
    for status in (FaceStatus.ACCEPTED, FaceStatus.PREDICTED, FaceStatus.REJECTED):
        make_face(page=data.pages.a3, gender="female", confidence=0.8, status=status)
    body = client.get(f"{URL}?{query}").json()
    selected = client.get(f"/api/search/faces/?{query}&page_size=500").json()["results"]

    expected = recount(Face.objects.filter(pk__in=[face["id"] for face in selected]).select_related("page__document"))

    got = {
        row["year"]: {"curated": row["curated_faces"], "predicted": row["predicted_faces"]}
        for row in body["results"]
        if row["faces"]
    }
    assert got == expected
    for row in body["results"]:
        assert row["curated_faces"] + row["predicted_faces"] == row["faces"]
        assert row["curated_share"] == (round(row["curated_faces"] / row["faces"], 4) if row["faces"] else None)
    assert body["totals"]["curated_faces"] == sum(year["curated"] for year in expected.values())


def test_curated_figures_stand_apart_in_the_csv(client, data):
    rows = {row["year"]: row for row in csv.DictReader(io.StringIO(client.get(f"{URL}?format=csv").content.decode()))}

    # 1915: b1's edited F and b2's added M are curated; the 9 other faces are predictions.
    assert (rows["1915"]["curated_faces"], rows["1915"]["predicted_faces"]) == ("2", "9")
    assert (rows["1915"]["curated_female"], rows["1915"]["curated_male"]) == ("1", "1")
    assert rows["1915"]["curated_share"] == str(round(2 / 11, 4))


@pytest.mark.parametrize(
    "query",
    [
        "title=excelsior",
        "title=miroir&gender=female",
        "q=journal%20illustré&min_confidence=0.5&date_from=1915&date_to=1915",
        "q=journal%20illustré&front_page=true&min_faces=2",
        "title=nothing-like-this",
    ],
)
def test_title_and_full_text_statistics_are_the_same_resolved_into_document_ids(client, data, query, monkeypatch):
    resolved = years(client, query)
    monkeypatch.setattr(planner, "NARROW_DOCUMENTS_MAX", -1)
    assert years(client, query) == resolved
