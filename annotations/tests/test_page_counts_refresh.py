"""page_counts_refresh: a page's face counts and extremes, exact, and the review a curator's change starts."""

from __future__ import annotations

import pytest
from django.db.models import Count, FloatField, Max, Min, Q, Value
from django.db.models.functions import Cast

from annotations.models import Face, FaceStatus, Gender, Page, ReviewStatus
from annotations.services import FacePrediction, face_update, faces_store_predictions, page_counts_refresh
from annotations.tests.factories import make_corpus, make_document, make_page

pytestmark = pytest.mark.django_db

COLUMNS = (
    "face_count",
    "female_count",
    "male_count",
    "unknown_count",
    "child_count",
    "max_confidence",
    "max_confidence_female",
    "max_confidence_male",
    "max_confidence_unknown",
    "max_confidence_child",
    "max_face_share",
    "min_face_share",
)


def _as_the_orm_computed_them(page: Page) -> tuple:
    """The values the former ORM implementation stored: an aggregate, then shares divided in the database."""
    area = Cast("w", FloatField()) * Cast("h", FloatField())
    row = (
        Face.objects.filter(page=page)
        .visible()
        .aggregate(
            total=Count("id"),
            female=Count("id", filter=Q(gender=Gender.FEMALE)),
            male=Count("id", filter=Q(gender=Gender.MALE)),
            unknown=Count("id", filter=Q(gender=Gender.UNKNOWN)),
            children=Count("id", filter=Q(child=True)),
            max_confidence=Max("search_confidence"),
            max_female=Max("search_confidence", filter=Q(gender=Gender.FEMALE)),
            max_male=Max("search_confidence", filter=Q(gender=Gender.MALE)),
            max_unknown=Max("search_confidence", filter=Q(gender=Gender.UNKNOWN)),
            max_child=Max("search_confidence", filter=Q(child=True)),
            max_area=Max(area),
            min_area=Min(area),
        )
    )
    page_area = Cast("width", FloatField()) * Cast("height", FloatField())

    def share(area: float | None):
        return None if area is None else Value(100.0 * area, output_field=FloatField()) / page_area

    shares = Page.objects.filter(pk=page.pk).values_list(
        share(row["max_area"]) or Value(None, output_field=FloatField()),
        share(row["min_area"]) or Value(None, output_field=FloatField()),
    )
    max_share, min_share = shares.get()
    return (
        row["total"],
        row["female"],
        row["male"],
        row["unknown"],
        row["children"],
        row["max_confidence"],
        row["max_female"],
        row["max_male"],
        row["max_unknown"],
        row["max_child"],
        max_share,
        min_share,
    )


def _stored(page: Page) -> tuple:
    return Page.objects.filter(pk=page.pk).values_list(*COLUMNS).get()


def _face(page: Page, **fields) -> Face:
    defaults = {"x": 10, "y": 10, "w": 100, "h": 120, "confidence": 0.5, "source": "res10"}
    return Face.objects.create(page=page, **{**defaults, **fields})


@pytest.fixture
def page():
    # Odd sizes, so the shares are not round numbers and any change in how they are computed shows.
    return make_page(document=make_document(corpus=make_corpus()), width=2479, height=3511)


def test_counts_and_extremes_are_those_the_orm_stored_bit_for_bit(page):
    _face(page, w=37, h=41, confidence=0.123456789, gender=Gender.FEMALE)
    _face(page, w=333, h=271, confidence=0.987654321, gender=Gender.MALE, child=True)
    _face(page, w=59, h=73, confidence=0.3, status=FaceStatus.EDITED)
    _face(page, w=1001, h=1003, confidence=0.99, status=FaceStatus.REJECTED, gender=Gender.FEMALE)
    _face(page, w=3, h=7, confidence=0.2, status=FaceStatus.REJECTED)

    page_counts_refresh(page_ids=[page.pk])

    assert _stored(page) == _as_the_orm_computed_them(page)
    assert _stored(page)[:6] == (3, 1, 1, 1, 1, 1.0)  # the edited face counts with search confidence 1


def test_a_page_left_with_rejected_faces_only_counts_none_and_has_no_extremes(page):
    _face(page, gender=Gender.FEMALE, child=True)
    page_counts_refresh(page_ids=[page.pk])
    Face.objects.filter(page=page).update(status=FaceStatus.REJECTED)

    page_counts_refresh(page_ids=[page.pk])

    assert _stored(page) == (0, 0, 0, 0, 0, *[None] * 7) == _as_the_orm_computed_them(page)


def test_several_pages_are_each_counted_from_their_own_faces_and_others_are_left_alone(page):
    other = make_page(document=page.document, width=1000, height=1500)
    untouched = make_page(document=page.document)
    _face(page, gender=Gender.FEMALE)
    _face(other, gender=Gender.MALE, w=500, h=500)
    _face(other, gender=Gender.MALE, w=5, h=5)
    _face(untouched)

    page_counts_refresh(page_ids=[other.pk, page.pk, page.pk])

    assert _stored(page) == _as_the_orm_computed_them(page) and _stored(page)[:3] == (1, 1, 0)
    assert _stored(other) == _as_the_orm_computed_them(other) and _stored(other)[:3] == (2, 0, 2)
    assert _stored(other)[-2:] == (100.0 * 500 * 500 / (1000 * 1500), 100.0 * 5 * 5 / (1000 * 1500))
    assert _stored(untouched)[0] == 0


def test_no_pages_costs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        page_counts_refresh(page_ids=[])


@pytest.mark.parametrize(
    ("before", "start_review", "after"),
    [
        (ReviewStatus.UNREVIEWED, True, ReviewStatus.IN_REVIEW),
        (ReviewStatus.IN_REVIEW, True, ReviewStatus.IN_REVIEW),
        (ReviewStatus.REVIEWED, True, ReviewStatus.REVIEWED),
        (ReviewStatus.UNREVIEWED, False, ReviewStatus.UNREVIEWED),
    ],
)
def test_start_review_puts_only_an_unreviewed_page_in_review(page, before, start_review, after):
    Page.objects.filter(pk=page.pk).update(review_status=before)
    _face(page)

    page_counts_refresh(page_ids=[page.pk], start_review=start_review)

    page.refresh_from_db()
    assert (page.review_status, page.face_count) == (after, 1)


def test_detection_counts_its_faces_without_starting_the_review(page):
    faces_store_predictions(page=page, predictions=[FacePrediction(x=1, y=1, w=9, h=9, confidence=0.7)], source="res10")

    page.refresh_from_db()
    assert (page.review_status, page.face_count) == (ReviewStatus.UNREVIEWED, 1)


def test_a_curators_change_on_a_reviewed_page_keeps_it_reviewed(page, alice):
    Page.objects.filter(pk=page.pk).update(review_status=ReviewStatus.REVIEWED)
    face = Face.objects.select_related("page").get(pk=_face(page).pk)

    face_update(face=face, user=alice, expected_version=1, data={"gender": Gender.FEMALE})

    page.refresh_from_db()
    assert (page.review_status, page.female_count) == (ReviewStatus.REVIEWED, 1)
