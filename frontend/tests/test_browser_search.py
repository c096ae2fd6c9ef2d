"""Browser: a researcher searches pages by face count, gender and date, opens one in the review
canvas, comes back, and reads the statistics chart of a search."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
from annotations.models import Document
from annotations.tests.factories import make_document, make_face, make_page, predicted_faces, reviewed_page
from tests.support.manifests import jpeg_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def scanned_issue(tmp_path, name: str, date: str, pages: int = 2) -> Document:
    """An issue of scans served by our own IIIF endpoint, so thumbnails and crops really load."""
    folder = tmp_path / name
    folder.mkdir()
    for n in range(1, pages + 1):
        (folder / f"f{n}.jpg").write_bytes(jpeg_bytes(800, 1200, label=f"{name} p{n}"))
    (folder / "metadata.json").write_text(json.dumps({"label": f"Excelsior {date}", "date": date}))
    corpus = corpus_get_or_create(name="Excelsior", is_public=True)
    return document_import_run(document_id=document_request_import(corpus=corpus, source=str(folder)).pk)


def loaded(page, root_id: str) -> None:
    """Waits until the page's script has drawn its results; the element may not exist yet while a
    navigation replaces the document."""
    page.wait_for_function(f"document.getElementById('{root_id}')?.dataset.loaded === 'true'")


def submitted_and_loaded(page, root_id: str) -> None:
    """Submits the filter form, which navigates to its query, and waits for the new page's results
    (not the old page's, which were loaded already)."""
    with page.expect_navigation():
        page.click("#search-submit")
    loaded(page, root_id)


@pytest.fixture
def issues(tmp_path):
    """Front pages 1914-1916 with known faces (page 2 of each issue has none)."""
    early = scanned_issue(tmp_path, "issue-1914", "1914-08-02")
    middle = scanned_issue(tmp_path, "issue-1915", "1915-03-12")
    late = scanned_issue(tmp_path, "issue-1916", "1916-07-14")
    front = {doc.date_start.year: doc.pages.get(order=1) for doc in (early, middle, late)}
    second_1915 = middle.pages.get(order=2)
    make_face(page=front[1914], gender="female", x=100, y=100, w=150, h=180)
    make_face(page=front[1914], gender="male", x=400, y=100, w=150, h=180)
    for x in (50, 250, 450):
        make_face(page=front[1915], gender="female", x=x, y=300, w=120, h=150, confidence=0.8)
    make_face(page=front[1915], gender="male", x=50, y=700, w=120, h=150)
    make_face(page=second_1915, gender="female", x=300, y=300, w=120, h=150)
    make_face(page=front[1916], gender="female", x=100, y=100, w=150, h=180)
    make_face(page=front[1916], gender="female", x=400, y=100, w=150, h=180)
    make_face(page=front[1916], gender="male", x=250, y=500, w=150, h=180)
    return {"front": front, "second_1915": second_1915}


def test_search_by_face_count_gender_and_date_then_open_a_page(logged_in_page, live_server, issues, tmp_path):
    page = logged_in_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/search/")
    expect(page.locator("#result-count")).to_have_text("6 pages")

    page.select_option("#f-gender", "female")
    page.fill("#f-min-faces", "2")
    page.fill("#f-date-from", "1915")
    page.fill("#f-date-to", "1916")
    page.click("#search-submit")

    expect(page.locator("#result-count")).to_have_text("2 pages")
    assert "gender=female" in page.url and "min_faces=2" in page.url and "date_from=1915" in page.url
    cards = page.locator(".result-card")
    expected = [issues["front"][1915].pk, issues["front"][1916].pk]
    assert [int(card.get_attribute("data-page-id")) for card in cards.all()] == expected
    expect(cards.first.locator(".face-box")).to_have_count(3)
    expect(cards.first.locator(".result-faces")).to_contain_text("3 matching of 4 faces")
    page.wait_for_function("[...document.querySelectorAll('.result-card img')].every((i) => i.naturalWidth > 0)")
    page.screenshot(path=tmp_path / "search-pages.png")

    # The form keeps the query, so the URL can be shared and refined.
    assert page.locator("#f-min-faces").input_value() == "2"
    search_url = page.url

    cards.first.locator("a").click()
    first_face = issues["front"][1915].faces.filter(gender="female").order_by("y", "x", "id").first()
    expect(page).to_have_url(f"{live_server.url}/pages/{issues['front'][1915].pk}/?face={first_face.pk}")
    expect(page.locator("#viewer canvas").first).to_be_visible(timeout=15000)

    page.go_back()
    expect(page).to_have_url(search_url)
    expect(page.locator("#result-count")).to_have_text("2 pages")


def test_the_faces_view_shows_crops_and_opens_the_review_canvas_at_a_face(
    logged_in_page, live_server, issues, tmp_path
):
    page = logged_in_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/search/?gender=female&date_from=1915&date_to=1915")
    expect(page.locator("#result-count")).to_have_text("2 pages")
    page.click("#view-faces")

    expect(page.locator("#result-count")).to_have_text("4 faces")
    assert "view=faces" in page.url
    crops = page.locator(".face-card")
    expect(crops).to_have_count(4)
    page.wait_for_function("[...document.querySelectorAll('.face-card img')].every((i) => i.naturalWidth > 0)")
    expect(crops.first.locator(".face-meta")).to_contain_text("Woman")
    page.screenshot(path=tmp_path / "search-faces.png")

    face_id = int(crops.nth(3).get_attribute("data-face-id"))
    crops.nth(3).locator("a").click()
    expect(page).to_have_url(f"{live_server.url}/pages/{issues['second_1915'].pk}/?face={face_id}")


def test_bad_parameters_are_named_and_search_and_stats_link_with_only_the_parameters_each_takes(
    logged_in_page, live_server, issues
):
    page = logged_in_page
    page.goto(f"{live_server.url}/search/?gendr=female&min_faces=9223372036854775808")
    expect(page.locator("#search-error")).to_contain_text("gendr: Unknown parameter")
    expect(page.locator("#search-error")).to_contain_text("min_faces: Give a number of faces")
    page.goto(f"{live_server.url}/stats/?front_page=maybe")
    expect(page.locator("#stats-error")).to_have_text("front_page: Use true or false.")

    # The review grid's own order and page size stay on the search; the correction stays on the statistics.
    page.goto(f"{live_server.url}/search/?view=review&gender=female")
    loaded(page, "search-results")
    page.click("#stats-link")
    loaded(page, "stats")
    page.check("#f-gender-correction")
    submitted_and_loaded(page, "stats")
    expect(page.locator("#stats-error")).to_be_hidden()
    page.click("#search-link")
    expect(page.locator("#result-count")).to_have_text("4 pages")
    expect(page.locator("#search-error")).to_be_hidden()


def test_the_stats_chart_draws_the_api_numbers(logged_in_page, live_server, issues, client, tmp_path):
    page = logged_in_page
    page.set_viewport_size({"width": 1280, "height": 800})
    query = "front_page=true&date_from=1913&date_to=1916"
    # A curator accepted the man of 1915's front page: the one curated face.
    issues["front"][1915].faces.filter(gender="male").update(status="accepted")
    page.goto(f"{live_server.url}/stats/?{query}")
    loaded(page, "stats")

    api = client.get(f"/api/stats/faces-by-year/?{query}").json()
    charts = page.evaluate(
        """() => Object.fromEntries(['chart-share', 'chart-faces', 'chart-pie'].map((id) => {
            const chart = Chart.getChart(id);
            return [id, {labels: chart.data.labels, data: chart.data.datasets.map((d) => d.data)}];
        }))"""
    )
    assert charts["chart-faces"]["labels"] == ["1913", "1914", "1915", "1916"]
    assert charts["chart-faces"]["data"][0] == [row["faces"] for row in api["results"]] == [0, 2, 4, 3]
    assert charts["chart-faces"]["data"][1] == [row["pages_with_faces"] for row in api["results"]]
    assert charts["chart-share"]["data"][0] == [None, 50, 75, 66.7]
    assert charts["chart-pie"]["data"][0] == [api["totals"]["female"], api["totals"]["male"], api["totals"]["unknown"]]
    expect(page.locator("#stats-summary")).to_have_text("9 faces on 3 pages, 66.7 % women")
    expect(page.locator("#stats-table tbody tr")).to_have_count(4)
    # Curated and predicted faces apart: the fixture's faces are all predictions until a curator accepts one.
    sources = page.evaluate("() => Chart.getChart('chart-sources').data.datasets.map((d) => [d.label, d.data])")
    assert sources == [
        ["Curated", [row["curated_faces"] for row in api["results"]]],
        ["Predicted", [row["predicted_faces"] for row in api["results"]]],
    ]
    assert [row["curated_faces"] for row in api["results"]] == [0, 0, 1, 0]
    assert [row["predicted_faces"] for row in api["results"]] == [0, 2, 3, 3]
    expect(page.locator("#stats-curated")).to_contain_text(f"{api['totals']['curated_faces']} curated")
    assert page.locator("#f-front-page").is_checked()
    assert page.get_attribute("#csv-link", "href").endswith(f"?{query}&format=csv")
    # The correction was not asked for: no corrected line or column, nothing said about it.
    assert page.evaluate("() => Chart.getChart('chart-curated-share').data.datasets.length") == 2
    expect(page.locator("#stats-correction")).to_be_hidden()
    expect(page.locator("#th-corrected")).to_be_hidden()
    expect(page.locator("#stats-table tbody tr").first.locator("td")).to_have_count(14)

    # Asked for, with no reviewed page to measure the model's errors on: the page says why nothing is corrected.
    page.check("#f-gender-correction")
    submitted_and_loaded(page, "stats")
    assert "gender_correction=true" in page.url
    expect(page.locator("#stats-correction")).to_contain_text("Too few reviewed faces")
    assert page.locator("#f-gender-correction").is_checked()
    assert page.evaluate("() => Chart.getChart('chart-curated-share').data.datasets.length") == 2
    page.screenshot(path=tmp_path / "stats.png", full_page=True)


def test_the_stats_correct_the_womens_share_for_the_errors_measured_on_reviewed_pages(
    logged_in_page, live_server, django_user_model, tmp_path
):
    """1915: 25 women and 25 men curated on reviewed pages (the model read 20 of each right);
    1916: 100 faces only the model read, 44 of them as women."""
    curator = django_user_model.objects.create_user("curator")
    corpus = corpus_get_or_create(name="Excelsior", is_public=True)
    reviewed = make_document(corpus=corpus, date_text="1915")
    readings = ["female"] * 4 + ["male"] + ["female"] + ["male"] * 4
    for _ in range(5):
        reviewed_page(reviewed, readings, ["female"] * 5 + ["male"] * 5, curator)
    predicted_faces(make_page(document=make_document(corpus=corpus, date_text="1916")), ["female"] * 44 + ["male"] * 56)
    page = logged_in_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/stats/?corpus={corpus.pk}&gender_correction=true")
    loaded(page, "stats")
    assert page.get_attribute("#csv-link", "href").endswith("&gender_correction=true&format=csv")

    expect(page.locator("#stats-correction")).to_contain_text("measured on 50 faces curated on 5 reviewed pages")
    expect(page.locator("#stats-correction")).to_contain_text("80.0 % of women as women and 20.0 % of men as women")
    lines = page.evaluate("() => Chart.getChart('chart-curated-share').data.datasets.map((d) => [d.label, d.data])")
    labels = [label for label, _ in lines]
    assert labels[:3] == ["Women, curated faces", "Women, all faces", "Women, corrected estimate"]
    assert lines[1][1] == [50, 44] and lines[2][1] == [50, 40]
    low, high = lines[3][1][1], lines[4][1][1]
    assert low < 40 < high
    expect(page.locator("#th-corrected")).to_be_visible()
    corrected_1916 = page.locator("#stats-table tbody tr").nth(1).locator("td").nth(14)
    expect(corrected_1916).to_have_text(f"40.0\u00a0% ({low:.1f}–{high:.1f})")
    expect(page.locator("#stats-correction")).to_contain_text("Corrected estimate, whole period: ")
    page.screenshot(path=tmp_path / "stats-corrected.png", full_page=True)
