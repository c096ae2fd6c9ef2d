"""Page.document_date(_end): the page's copy of its document's date span, kept by the database,
and searches by date that read it answer as the document's own dates would."""

from __future__ import annotations

import random
from datetime import date

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db.models import F, Q

from annotations.models import Document, Page
from annotations.search.params import PAGE_ORDERINGS, SearchParams
from annotations.search.planner import page_search, page_search_results
from annotations.tests.factories import make_corpus, make_document, make_face, make_page

pytestmark = pytest.mark.django_db


def copies(document: Document) -> set[tuple]:
    return set(Page.objects.filter(document=document).values_list("document_date", "document_date_end"))


def test_a_new_page_copies_its_documents_dates():
    document = make_document(corpus=make_corpus(), date_text="1390-1405")
    make_page(document=document)
    make_page(document=document)

    assert copies(document) == {(date(1390, 1, 1), date(1405, 12, 31))}


def test_the_copy_follows_every_change_of_the_documents_dates():
    document = make_document(corpus=make_corpus(), date_text="1915-03-12")
    make_page(document=document)

    Document.objects.filter(pk=document.pk).update(date_start=date(1916, 1, 1), date_end=None)
    assert copies(document) == {(date(1916, 1, 1), None)}

    document.refresh_from_db()
    document.date_start, document.date_end = None, None
    document.save()
    assert copies(document) == {(None, None)}


def test_a_page_moved_to_another_document_takes_its_dates():
    corpus = make_corpus()
    first = make_document(corpus=corpus, date_text="1915")
    second = make_document(corpus=corpus, date_text="1920-11-11")
    page = make_page(document=first)

    Page.objects.filter(pk=page.pk).update(document=second)

    assert copies(second) == {(date(1920, 11, 11), date(1920, 11, 11))}


def test_a_direct_write_of_the_copy_does_not_stick():
    document = make_document(corpus=make_corpus(), date_text="1915")
    page = make_page(document=document)

    Page.objects.filter(pk=page.pk).update(document_date=date(2000, 1, 1))

    assert copies(document) == {(date(1915, 1, 1), date(1915, 12, 31))}


def _by_document_dates(params: SearchParams) -> Q:
    """The date filters on the documents' own columns (what searches did before the copy)."""
    cond = Q()
    if params.date_from:
        cond &= Q(document__date_end__gte=params.date_from) | Q(
            document__date_end__isnull=True, document__date_start__gte=params.date_from
        )
    if params.date_to:
        cond &= Q(document__date_start__lte=params.date_to) | Q(
            document__date_start__isnull=True, document__date_end__lte=params.date_to
        )
    return cond


def _document_order(ordering: str) -> list:
    """The date orderings on the documents' own dates, undated last."""
    start = F("document__date_start")
    if ordering == "-date":
        return [start.desc(nulls_last=True), "-document_id", "order", "id"]
    return [start.asc(nulls_last=True), "document_id", "order", "id"]


def test_date_searches_on_the_page_copy_match_the_documents_dates():
    rng = random.Random(20261206)
    corpus = make_corpus()
    date_texts = ["", "1914", "1915-03", "1915-03-12", "1916-07-01", "1914-1918", "1390-1405", "1920-11-11", "1919"]
    for _ in range(25):
        document = make_document(corpus=corpus, date_text=rng.choice(date_texts))
        for _ in range(rng.randint(1, 3)):
            page = make_page(document=document)
            for _ in range(rng.randint(0, 2)):
                make_face(page=page, confidence=rng.random())
    bounds = [None, date(1390, 1, 1), date(1914, 1, 1), date(1915, 3, 12), date(1916, 12, 31), date(1920, 1, 1)]
    for _ in range(40):
        low, high = rng.choice(bounds), rng.choice(bounds)
        ordering = rng.choice(["date", "-date", "document"])
        params = SearchParams(date_from=low, date_to=high, ordering=ordering, min_faces=rng.choice([None, 1]))
        found = list(page_search(user=AnonymousUser(), params=params).values_list("pk", flat=True))
        count, sliced = page_search_results(user=AnonymousUser(), params=params)
        assert list(sliced.values_list("pk", flat=True)) == found and count == len(found), params
        expected = Page.objects.filter(_by_document_dates(params))
        if params.min_faces:
            expected = expected.filter(face_count__gte=1)
        order = _document_order(ordering) if ordering != "document" else list(PAGE_ORDERINGS["document"])
        assert found == list(expected.order_by(*order).values_list("pk", flat=True)), params


def test_a_document_with_an_end_date_alone_is_found_by_its_end():
    corpus = make_corpus()
    ended = make_document(corpus=corpus)
    Document.objects.filter(pk=ended.pk).update(date_end=date(1915, 6, 1))
    spanning = make_document(corpus=corpus, date_text="1914-1918")
    pages = [make_page(document=ended).pk, make_page(document=spanning).pk]

    for low, high in ((date(1915, 1, 1), date(1915, 12, 31)), (None, date(1915, 12, 31)), (date(1915, 1, 1), None)):
        params = SearchParams(date_from=low, date_to=high, ordering="-date")
        count, sliced = page_search_results(user=AnonymousUser(), params=params)
        assert (count, sorted(sliced.values_list("pk", flat=True))) == (2, sorted(pages)), params
