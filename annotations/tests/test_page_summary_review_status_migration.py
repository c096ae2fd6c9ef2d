"""The migration that counts page summaries by review status: recounted on the way in, triggers that
follow a page's status afterwards, and the same counts on the way back."""

from __future__ import annotations

from datetime import date

import pytest
from django.db.models import Sum

from annotations.search.summaries import summaries_recount, summaries_stored
from tests.support.migrations import at_migration, migrate

BEFORE = ("annotations", "0020_page_gender_date_indexes")
AFTER = ("annotations", "0021_page_summary_review_status")
OLD_PAGE_KEY = ("corpus_id", "year", "end_year", "is_front_page", "selector", "confidence_step")


@pytest.fixture
def migrated_back(transactional_db):
    yield from at_migration(BEFORE)


def pages_in_each_status(apps) -> dict[str, int]:
    """A dated document with one page per review status, the reviewed one with a woman's face (as its
    maxima say), and an undated one with an unreviewed page."""
    Corpus = apps.get_model("annotations", "Corpus")
    Document = apps.get_model("annotations", "Document")
    Page = apps.get_model("annotations", "Page")
    corpus = Corpus.objects.create(name="Excelsior")
    dated = Document.objects.create(
        corpus=corpus, source="https://example.org/1915", import_status="done", date_start=date(1915, 3, 1)
    )
    undated = Document.objects.create(corpus=corpus, source="https://example.org/undated", import_status="done")
    pages = {}
    for order, status in enumerate(("unreviewed", "in_review", "reviewed"), start=1):
        pages[status] = Page.objects.create(
            document=dated, order=order, canvas_id=f"c{order}", width=400, height=600, review_status=status
        ).pk
    Page.objects.create(document=undated, order=1, canvas_id="u1", width=400, height=600)
    Page.objects.filter(pk=pages["reviewed"]).update(face_count=1, max_confidence=0.8, max_confidence_female=0.8)
    return pages


def old_page_counts(apps) -> dict[tuple, int]:
    rows = apps.get_model("annotations", "PageYearSummary").objects.order_by().values_list(*OLD_PAGE_KEY)
    return {tuple(key): total for *key, total in rows.annotate(total=Sum("n")) if total}


def test_page_summaries_are_recounted_by_review_status_and_follow_it(migrated_back):
    pages = pages_in_each_status(migrate(BEFORE))

    apps = migrate(AFTER)

    assert summaries_stored() == summaries_recount()
    summary = apps.get_model("annotations", "PageYearSummary").objects
    reviewed = summary.filter(review_status="reviewed", year=1915)
    assert reviewed.filter(selector="").aggregate(n=Sum("n"))["n"] == 1
    assert reviewed.filter(selector="female").aggregate(n=Sum("n"))["n"] == 1
    assert summary.filter(review_status="unreviewed", selector="").aggregate(n=Sum("n"))["n"] == 2

    # The page's row moves with its status.
    apps.get_model("annotations", "Page").objects.filter(pk=pages["unreviewed"]).update(review_status="reviewed")
    assert summaries_stored() == summaries_recount()
    assert reviewed.filter(selector="").aggregate(n=Sum("n"))["n"] == 2


def test_going_back_keeps_the_page_counts(migrated_back):
    apps = migrate(BEFORE)
    pages = pages_in_each_status(apps)
    counts = old_page_counts(apps)
    migrate(AFTER)

    apps = migrate(BEFORE)

    assert old_page_counts(apps) == counts
    # The triggers count pages as before: a change of status alone moves no count.
    apps.get_model("annotations", "Page").objects.filter(pk=pages["in_review"]).update(review_status="reviewed")
    assert old_page_counts(apps) == counts
