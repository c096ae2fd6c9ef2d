"""SQL building blocks of the search, on whichever database the suite runs."""

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from annotations.models import Corpus, Page
from annotations.search.planner import _estimated_page_total
from annotations.search.sql import IN_LIST_MAX, InIds
from annotations.tests.factories import make_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages():
    document = make_document(corpus=Corpus.objects.create(name="Ids"), date_text="1915")
    return Page.objects.bulk_create(
        Page(document=document, order=n, canvas_id=f"c{n}", width=100, height=100) for n in range(1, 3001)
    )


def test_in_ids_keeps_exactly_the_given_pages(pages):
    wanted = [page.pk for page in pages[::7]]

    assert sorted(Page.objects.filter(InIds(F("pk"), wanted)).values_list("pk", flat=True)) == wanted
    assert Page.objects.exclude(InIds(F("pk"), wanted)).count() == len(pages) - len(wanted)


def test_in_ids_of_no_ids_matches_nothing(pages):
    assert Page.objects.filter(InIds(F("pk"), [])).count() == 0
    assert Page.objects.exclude(InIds(F("pk"), [])).count() == len(pages)


def test_thousands_of_ids_bind_as_one_parameter(pages):
    """An array on PostgreSQL; on SQLite an IN list up to IN_LIST_MAX ids, one JSON array past it."""
    ids = [page.pk for page in pages]
    few = ids[:IN_LIST_MAX]

    with CaptureQueriesContext(connection) as queries:
        assert Page.objects.filter(InIds(F("pk"), ids)).count() == len(ids)
        assert Page.objects.filter(InIds(F("pk"), few)).count() == len(few)

    many_sql, few_sql = (query["sql"] for query in queries.captured_queries)
    if connection.vendor == "postgresql":
        assert "= ANY(" in many_sql and " IN (" not in many_sql
        assert "= ANY(" in few_sql
    else:
        assert "IN (SELECT value FROM json_each(" in many_sql and f"{ids[0]}, {ids[1]}" not in many_sql
        assert f" IN ({ids[0]}, {ids[1]}" in few_sql


@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL estimates; see test_search_pages")
def test_no_page_total_estimate_outside_postgresql(pages):
    assert _estimated_page_total() is None
