"""The women's share corrected for the gender model's errors measured on reviewed pages (?gender_correction=true)."""

from __future__ import annotations

import csv
import io

import pytest

from annotations.models import Gender, Page, ReviewStatus
from annotations.services import face_create
from annotations.tests.factories import curate, make_corpus, make_document, make_page, predicted_faces, reviewed_page
from webapp.throttling import AnonymousRenderThrottle

pytestmark = pytest.mark.django_db

URL = "/api/stats/faces-by-year/"


F, M, U = Gender.FEMALE, Gender.MALE, Gender.UNKNOWN


@pytest.fixture
def study(django_user_model):
    """1915: 25 women (20 read as women) and 25 men (5 read as women) curated on reviewed pages.
    1916: 100 faces only the model read, 44 as women (40 women at the rates above).

    Around them, faces that must not count: an `unknown` reading, a face curated `unknown`, a face a
    curator added, curated faces on a page still in review, and a private corpus's reviewed faces.
    """
    curator = django_user_model.objects.create_user("curator")
    corpus = make_corpus(name="Excelsior")
    measured = make_document(corpus=corpus, date_text="1915")
    for _ in range(5):
        reviewed_page(measured, [F] * 4 + [M] + [F] + [M] * 4, [F] * 5 + [M] * 5, curator)
    odd = reviewed_page(measured, [U, F], [F, U], curator)
    Page.objects.filter(pk=odd.pk).update(review_status=ReviewStatus.IN_REVIEW)
    faces_added = make_page(document=measured, review_status=ReviewStatus.REVIEWED)
    face_create(page=faces_added, user=curator, x=10, y=10, w=40, h=50, gender=F)
    in_review = make_page(document=measured)
    curate(predicted_faces(in_review, [M] * 10), [F] * 10, curator)
    unread = make_document(corpus=corpus, date_text="1916")
    predicted_faces(make_page(document=unread), [F] * 44 + [M] * 56)
    hidden = make_document(corpus=make_corpus(name="Private", is_public=False), date_text="1915")
    reviewed_page(hidden, [M] * 30 + [F] * 30, [F] * 30 + [M] * 30, curator)
    return corpus


def test_the_rates_are_measured_on_visible_reviewed_pages_and_correct_the_years_share(client, study):
    response = client.get(f"{URL}?corpus={study.pk}&gender_correction=true")
    assert response.status_code == 200, response.content
    body = response.json()
    measured = body["gender_correction"]
    assert measured["readings"] == {"female": {"female": 20, "male": 5}, "male": {"female": 5, "male": 20}}
    assert (measured["available"], measured["women"], measured["men"], measured["pages"]) == (True, 25, 25, 5)
    assert (measured["women_read_as_women"], measured["men_read_as_women"]) == (0.8, 0.2)
    rows = {row["year"]: row for row in body["results"]}
    assert rows[1916]["female_share"] == 0.44
    assert rows[1916]["corrected_female_share"] == pytest.approx(0.4)
    assert rows[1916]["corrected_female_share_low"] < 0.4 < rows[1916]["corrected_female_share_high"]
    # 1915 is curated: 25 + 1 + 1 + 10 women (reviewed, odd, added, in review), 25 men; and it stays so.
    assert rows[1915]["corrected_female_share"] == rows[1915]["curated_female_share"]
    assert body["totals"]["corrected_female_share"] is not None


def test_a_user_who_may_view_the_private_corpus_measures_it_too(client, study, django_user_model):
    admin = django_user_model.objects.create_superuser("admin")
    client.force_login(admin)
    measured = client.get(f"{URL}?gender_correction=true").json()["gender_correction"]
    assert measured["readings"] == {"female": {"female": 20, "male": 35}, "male": {"female": 35, "male": 20}}
    assert measured["available"] is False
    assert "too poorly" in measured["reason"]


def test_the_correction_is_only_added_when_asked_and_its_parameter_is_checked(client, study):
    plain = client.get(f"{URL}?corpus={study.pk}").json()
    assert "gender_correction" not in plain
    assert "corrected_female_share" not in plain["results"][0]
    refused = client.get(f"{URL}?gender_correction=maybe")
    assert refused.status_code == 400
    assert "gender_correction" in refused.json()
    assert "gender_correction" not in client.get(f"{URL}?gender_correction=false").json()


def test_a_gender_filter_refuses_the_correction(client, study):
    body = client.get(f"{URL}?corpus={study.pk}&gender=female&gender_correction=true").json()
    assert body["gender_correction"]["available"] is False
    assert all(row["corrected_female_share"] is None for row in body["results"])


def test_the_csv_carries_the_corrected_share(client, study):
    response = client.get(f"{URL}?corpus={study.pk}&gender_correction=true&format=csv")
    assert response.status_code == 200
    rows = {row["year"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}
    assert float(rows["1916"]["corrected_female_share"]) == pytest.approx(0.4)


def test_anonymous_corrected_statistics_are_rate_limited_per_address(client, study, django_user_model, monkeypatch):
    """Each reads every curated face of the selected reviewed pages: an anonymous flood must not tie up the web."""
    monkeypatch.setattr(AnonymousRenderThrottle, "THROTTLE_RATES", {"correction-anonymous": "2/minute"})
    corrected = f"{URL}?corpus={study.pk}&gender_correction=true"

    statuses = [client.get(corrected).status_code for _ in range(3)]
    refused = client.get(corrected)

    assert statuses == [200, 200, 429] and refused.status_code == 429
    assert int(refused["Retry-After"]) > 0 and "detail" in refused.json()
    assert client.get(f"{URL}?corpus={study.pk}").status_code == 200, "plain statistics are not counted"
    client.force_login(django_user_model.objects.create_user("reader"))
    assert [client.get(corrected).status_code for _ in range(3)] == [200, 200, 200]
