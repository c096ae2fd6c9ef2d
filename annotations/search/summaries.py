"""Year summaries: statistics of whole corpora answered from a few thousand rows instead of every face.

FaceYearSummary and PageYearSummary (annotations.models) hold signed counts that database triggers
(migration 0015) append in the transaction of every write, so a key's count, the sum of its rows,
is exact at any time. This module reads them for the statistics they can answer exactly, folds
their rows (summaries_compact, a periodic task), and recounts them from the faces
(summaries_rebuild, `manage.py summaries_rebuild`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import ExtractYear

from annotations.models import (
    CURATED_STATUSES,
    Corpus,
    Face,
    FaceStatus,
    FaceYearSummary,
    Gender,
    Page,
    PageYearSummary,
)
from annotations.search.params import CHILD, SearchParams

# A face's confidence step is the highest k with search_confidence >= SUMMARY_CONFIDENCE_STEPS[k]
# (the values a user types: 0.05, 0.1, ...); a curated face is at the last. Migration 0015 writes
# the same steps into its triggers.
SUMMARY_CONFIDENCE_STEPS = tuple(round(k / 20, 2) for k in range(21))
# The page columns each PageYearSummary selector counts pages by ('' is any face).
SELECTOR_COLUMNS = {
    "": "max_confidence",
    Gender.FEMALE.value: "max_confidence_female",
    Gender.MALE.value: "max_confidence_male",
    Gender.UNKNOWN.value: "max_confidence_unknown",
    CHILD: "max_confidence_child",
}
FACE_KEY = ("corpus_id", "year", "end_year", "is_front_page", "gender", "child", "status", "confidence_step")
PAGE_KEY = ("corpus_id", "year", "end_year", "is_front_page", "review_status", "selector", "confidence_step")
# The filters a summary answers: the others (text, sizes, statuses, people, counts per page, ...) are not in it.
_ANSWERED = {"corpus", "date_from", "date_to", "front_page", "gender", "min_confidence", "ordering", "start_bounds"}
# The page summaries also count pages by review status.
_PAGES_ANSWERED = _ANSWERED | {"review_status"}


def summaries_answer(params: SearchParams, *, answered: set[str] = _ANSWERED) -> bool:
    """Whether the summaries answer these statistics exactly: only the filters they keep (`answered`),
    whole years, and a confidence at one of the steps."""
    given = {name for name, value in vars(params).items() if value not in (None, "")}
    if given - answered:
        return False
    if params.date_from and (params.date_from.month, params.date_from.day) != (1, 1):
        return False
    if params.date_to and (params.date_to.month, params.date_to.day) != (12, 31):
        return False
    return params.min_confidence is None or params.min_confidence in SUMMARY_CONFIDENCE_STEPS


def _step(value) -> Case:
    whens = [
        When(**{f"{value}__gte": threshold}, then=Value(k)) for k, threshold in enumerate(SUMMARY_CONFIDENCE_STEPS)
    ]
    return Case(When(**{f"{value}__isnull": True}, then=None), *reversed(whens), output_field=IntegerField())


def _summary_rows(rows: QuerySet, params: SearchParams, corpus_ids: Iterable[int] | None) -> QuerySet:
    """Summary rows of the visible corpora (None: all) that the corpus, date and front-page filters keep."""
    if corpus_ids is not None:
        rows = rows.filter(corpus_id__in=list(corpus_ids))
    if params.corpus:
        rows = (
            rows.filter(corpus_id=int(params.corpus))
            if params.corpus.isdigit()
            else rows.filter(corpus__name=params.corpus)
        )
    # Whole years: a document's span overlaps them exactly when its years do (see planner._date_conditions).
    if params.date_from:
        year = params.date_from.year
        rows = rows.filter(Q(end_year__gte=year) | Q(end_year__isnull=True, year__gte=year))
    if params.date_to:
        year = params.date_to.year
        rows = rows.filter(Q(year__lte=year) | Q(year__isnull=True, end_year__lte=year))
    if params.front_page is not None:
        rows = rows.filter(is_front_page=params.front_page)
    return rows


def faces_by_year_from_summaries(*, corpus_ids: Iterable[int] | None, params: SearchParams) -> dict[int | None, dict]:
    """What stats.faces_by_year counts per year (before shares), from the summaries (see summaries_answer):
    {year or None: {count name: value}}, the names it has no count for left out.

    `corpus_ids`: the corpora the user may view (None: all of them).
    """
    if corpus_ids is not None:
        corpus_ids = list(corpus_ids)
    step = SUMMARY_CONFIDENCE_STEPS.index(params.min_confidence) if params.min_confidence is not None else 0
    faces = _summary_rows(FaceYearSummary.objects.all(), params, corpus_ids).filter(confidence_step__gte=step)
    if params.gender == CHILD:
        faces = faces.filter(child=True)
    elif params.gender:
        faces = faces.filter(gender=params.gender)
    face_rows = faces.order_by().values("year", "gender", "child", "status").annotate(total=Sum("n"))
    pages = _summary_rows(PageYearSummary.objects.all(), params, corpus_ids).filter(selector=params.gender)
    page_rows = pages.order_by().values("year", "confidence_step").annotate(total=Sum("n"))

    selects_faces = params.selects_faces
    by_year: dict[int | None, dict] = {}
    for row in page_rows:
        total, row_step = row["total"], row["confidence_step"]
        # With a face filter, a page matches when it has a selected face.
        if not total or (selects_faces and (row_step is None or row_step < step)):
            continue
        counts = by_year.setdefault(row["year"], defaultdict(int))
        counts["pages"] += total
        if row_step is not None and row_step >= step:
            counts["pages_with_faces"] += total
    for row in face_rows:
        total = row["total"]
        if not total:
            continue
        counts = by_year.setdefault(row["year"], defaultdict(int))
        sources = ["curated"] if row["status"] in CURATED_STATUSES else []
        sources += ["predicted"] if row["status"] == FaceStatus.PREDICTED else []
        for prefix in ("", *(f"{source}_" for source in sources)):
            counts[f"{prefix}faces"] += total
            counts[f"{prefix}{row['gender']}"] += total
            if row["child"]:
                counts[f"{prefix}child"] += total
    # A year with nothing left in it (its counts folded to zero) is no row, as when counting the rows themselves.
    key = "faces" if selects_faces else "pages"
    return {year: dict(counts) for year, counts in by_year.items() if counts[key]}


def summaries_count_pages(params: SearchParams) -> bool:
    """Whether the page summaries count a page search's matches exactly: filters they answer
    (summaries_answer), and at most "at least one selected face" or "none" as face-count bounds."""
    if params.face_count_bounds() not in ((0, None), (1, None), (0, 0)):
        return False
    return summaries_answer(replace(params, min_faces=None, max_faces=None), answered=_PAGES_ANSWERED)


def pages_from_summaries(*, corpus_ids: Iterable[int] | None, params: SearchParams) -> tuple[int, int]:
    """How many pages the page filters keep, and how many of them are within the face-count bounds
    (at least one selected face, none, or any): a page search's candidates and matches, from the
    page summaries (see summaries_count_pages). `corpus_ids` as for faces_by_year_from_summaries.
    """
    if corpus_ids is not None:
        corpus_ids = list(corpus_ids)
    step = SUMMARY_CONFIDENCE_STEPS.index(params.min_confidence) if params.min_confidence is not None else 0
    rows = _summary_rows(PageYearSummary.objects.all(), params, corpus_ids)
    if params.review_status:
        rows = rows.filter(review_status=params.review_status)
    totals = rows.filter(selector__in={"", params.gender}).aggregate(
        candidates=Sum("n", filter=Q(selector="")),
        # A page's step is that of its most confident selected face, none without one.
        with_selected=Sum("n", filter=Q(selector=params.gender, confidence_step__gte=step)),
    )
    candidates, with_selected = totals["candidates"] or 0, totals["with_selected"] or 0
    low, high = params.face_count_bounds()
    if high == 0:
        return candidates, candidates - with_selected
    return candidates, with_selected if low else candidates


def summaries_recount(*, corpus_id: int | None = None) -> tuple[dict, dict]:
    """The summaries' counts recounted from the faces and pages (none zero), by FACE_KEY and PAGE_KEY."""
    faces = Face.objects.all() if corpus_id is None else Face.objects.filter(page__document__corpus_id=corpus_id)
    face_counts = (
        faces.order_by()
        .values_list(
            F("page__document__corpus_id"),
            ExtractYear("page__document_date"),
            ExtractYear("page__document_date_end"),
            F("page__is_front_page"),
            "gender",
            "child",
            "status",
            Case(
                When(status=FaceStatus.REJECTED, then=None),
                When(status__in=CURATED_STATUSES, then=Value(len(SUMMARY_CONFIDENCE_STEPS) - 1)),
                default=_step("confidence"),
                output_field=IntegerField(),
            ),
        )
        .annotate(n=Count("*"))
    )
    pages = Page.objects.all() if corpus_id is None else Page.objects.filter(document__corpus_id=corpus_id)
    page_counts: dict[tuple, int] = {}
    for selector, column in SELECTOR_COLUMNS.items():
        selected = pages if not selector else pages.filter(**{f"{column}__isnull": False})
        for *key, n in (
            selected.order_by()
            .values_list(
                F("document__corpus_id"),
                ExtractYear("document_date"),
                ExtractYear("document_date_end"),
                "is_front_page",
                "review_status",
                Value(selector),
                _step(column),
            )
            .annotate(n=Count("*"))
        ):
            page_counts[tuple(key)] = n
    return {tuple(key): n for *key, n in face_counts}, page_counts


def summaries_stored(*, corpus_id: int | None = None) -> tuple[dict, dict]:
    """The summaries' counts as stored: each key's rows summed (keys summing to zero left out)."""
    result = []
    for model, key in ((FaceYearSummary, FACE_KEY), (PageYearSummary, PAGE_KEY)):
        rows = model.objects.all() if corpus_id is None else model.objects.filter(corpus_id=corpus_id)
        sums = rows.order_by().values_list(*key).annotate(total=Sum("n"))
        result.append({tuple(key): total for *key, total in sums if total})
    return result[0], result[1]


def summaries_rebuild(*, corpus_id: int) -> None:
    """Recount one corpus's summaries from its faces and pages, in one transaction (idempotent).

    On PostgreSQL the summary tables are locked against writes meanwhile (writers of faces wait
    for the recount), so no change is counted both in a kept row and in the recount.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in (FaceYearSummary, PageYearSummary):
                    cursor.execute(f"LOCK TABLE {model._meta.db_table} IN SHARE MODE")
        FaceYearSummary.objects.filter(corpus_id=corpus_id).delete()
        PageYearSummary.objects.filter(corpus_id=corpus_id).delete()
        faces, pages = summaries_recount(corpus_id=corpus_id)
        FaceYearSummary.objects.bulk_create(
            (FaceYearSummary(**dict(zip(FACE_KEY, key, strict=True)), n=n) for key, n in faces.items()),
            batch_size=1000,
        )
        PageYearSummary.objects.bulk_create(
            (PageYearSummary(**dict(zip(PAGE_KEY, key, strict=True)), n=n) for key, n in pages.items()),
            batch_size=1000,
        )


def summaries_orphans_delete(*, using: str = "default") -> int:
    """Drop summary rows of corpora that no longer exist; how many."""
    corpora = Corpus.objects.using(using).values("pk")
    faces, _ = FaceYearSummary.objects.using(using).exclude(corpus_id__in=corpora).delete()
    pages, _ = PageYearSummary.objects.using(using).exclude(corpus_id__in=corpora).delete()
    return faces + pages


def summaries_compact() -> None:
    """Fold each summary key's rows into one (keys summing to zero go), without blocking writers."""
    for model, key in ((FaceYearSummary, FACE_KEY), (PageYearSummary, PAGE_KEY)):
        table, columns = model._meta.db_table, ", ".join(key)
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Exactly the rows deleted are folded: rows appended meanwhile are not yet visible to it.
                cursor.execute(
                    f"WITH gone AS (DELETE FROM {table} RETURNING {columns}, n) "
                    f"INSERT INTO {table} ({columns}, n) SELECT {columns}, SUM(n) FROM gone "
                    f"GROUP BY {columns} HAVING SUM(n) <> 0"
                )
            else:
                # One writer at a time: the rows before the folded ones are the rows that were folded.
                cursor.execute(
                    f"INSERT INTO {table} ({columns}, n) SELECT {columns}, SUM(n) FROM {table} "
                    f"GROUP BY {columns} HAVING SUM(n) <> 0"
                )
                folded = cursor.rowcount
                cursor.execute(f"DELETE FROM {table} WHERE id <= (SELECT MAX(id) FROM {table}) - %s", [folded])
