"""Page and face search: which rows match SearchParams, and how to fetch one slice of them cheaply.

Cheap by construction: when a page column counts the selected faces (by gender, curated ones, or at
a confidence step: SearchParams.count_column, kept by `page_counts_refresh`), counts come from it;
otherwise the selected faces are counted per page, through the index on (page, status, gender,
confidence, child, w, h). The API counts first and then fetches one slice the way that count makes
cheap (page_search_results).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

import django_filters
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    F,
    FloatField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import ExpressionWrapper, RawSQL
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThanOrEqual

from annotations.access import corpora_visible_to, faces_visible_to, pages_visible_to
from annotations.models import (
    CURATED_STATUSES,
    CURATOR_SOURCE,
    Corpus,
    Document,
    Face,
    FaceStatus,
    Page,
)
from annotations.search.params import (
    CHILD,
    FACE_ORDERINGS,
    GENDER_COLUMN,
    PAGE_ORDERINGS,
    SOURCE_MODEL,
    SearchFilterSet,
    SearchParams,
    keep_parameter,
)
from annotations.search.sql import DOCUMENT_SPAN_DAYS_SQL, DateSpanOverlaps, InIds, Unordered, walk_column
from annotations.search.summaries import pages_from_summaries, summaries_count_pages

# Must match the expression of the GIN index created by migration 0003_search_indexes. Columns
# stay unqualified so that they belong to whichever alias the document table gets in a subquery.
FTS_DOCUMENT_SQL = (
    "to_tsvector('simple'::regconfig, coalesce(label, '') || ' ' || coalesce(metadata::text, '')) "
    "@@ websearch_to_tsquery('simple'::regconfig, %s)"
)
# How a page search applies the face-count bounds (see pages_filter).
COLLECT, WALK, GIVEN = "collect", "walk", "given"
# COLLECT, sorting the matches by date rather than walking the date index (see page_search_results).
SORT = "sort"
# What a page result shows of its faces (boxes), and the large document fields it never shows.
RESULT_FACE_FIELDS = ("id", "x", "y", "w", "h", "confidence", "gender", "child", "status")
UNUSED_DOCUMENT_FIELDS = (
    "metadata",
    "import_report",
    "summary",
    "import_error",
    "import_error_message",
    "attribution",
    "license",
)
# Results per page of the search API (the walk's cost estimate assumes it).
SEARCH_PAGE_SIZE = 50
# A page search walks pages in order when it expects to test at most this many pages for a slice.
WALK_MAX_VISITS = 20_000
# Up to this many matching pages, a search with face filters fetches them by id.
COLLECT_MAX_IDS = 1000
# Up to this many matching pages, a search with face-count bounds fetches them by id (and counts the ids).
PROBE_MAX_IDS = 5000
# Up to this many candidate pages (after the page filters), a search with face filters counts
# each page's selected faces one page at a time instead of grouping every selected face.
PROBE_MAX_PAGES = 20_000
# A search by date with up to this many candidate pages sorts its matches instead of walking pages in date
# order: the walk would first test every page dated before the range (they all fail the date test).
DATE_SORT_MAX_PAGES = 50_000
# Title or full-text filters that leave up to this many documents are resolved into their ids first,
# sent as one parameter (see InIds).
NARROW_DOCUMENTS_MAX = 50_000


class PageSearchFilterSet(SearchFilterSet):
    """Search over pages: filters, matching face counts, ordering, matching faces prefetched."""

    ordering = django_filters.ChoiceFilter(
        method=keep_parameter, choices=[(key, key) for key in PAGE_ORDERINGS], help_text="Default: date."
    )

    def filter_queryset(self, queryset):
        return page_results(queryset, self.params)


class FaceSearchFilterSet(SearchFilterSet):
    """Search over faces: the selected faces of the matching pages."""

    ordering = django_filters.ChoiceFilter(
        method=keep_parameter, choices=[(key, key) for key in FACE_ORDERINGS], help_text="Default: date."
    )

    class Meta:
        model = Face
        fields: list[str] = []

    def filter_queryset(self, queryset):
        return face_results(queryset, self.params)


def _document_text_match(q: str) -> Q:
    """Documents whose title or metadata match the words of q."""
    if connection.vendor == "postgresql":
        return Q(RawSQL(FTS_DOCUMENT_SQL, [q], output_field=BooleanField()))
    match = Q()
    for word in q.split():
        match &= Q(label__icontains=word) | Q(metadata__icontains=word)
    return match


def _document_conditions(params: SearchParams, doc: str = "") -> Q:
    """Conditions of the document filters; doc reaches the document from another model."""
    cond = Q()
    if params.corpus:
        cond &= (
            Q(**{f"{doc}corpus_id": int(params.corpus)})
            if params.corpus.isdigit()
            else Q(**{f"{doc}corpus__name": params.corpus})
        )
    if params.title:
        cond &= Q(**{f"{doc}label__icontains": params.title})
    if params.q and not doc:
        # On documents themselves: PostgreSQL can combine the text index with the date index.
        cond &= _document_text_match(params.q)
    elif params.q:
        documents = Document.objects.filter(_document_text_match(params.q)).values("pk")
        cond &= Q(**{f"{doc}pk__in": documents})
    return cond


def _date_conditions(params: SearchParams, start: str, end: str) -> Q:
    """Conditions of the date filters on a date span's columns (a document's, or its pages' copy).

    A span matches when it overlaps the range; a missing end is its start day.
    """
    cond = Q()
    if params.date_from:
        cond &= Q(**{f"{end}__gte": params.date_from}) | Q(
            **{f"{end}__isnull": True, f"{start}__gte": params.date_from}
        )
    if params.date_to:
        cond &= Q(**{f"{start}__lte": params.date_to}) | Q(**{f"{start}__isnull": True, f"{end}__lte": params.date_to})
    return cond


def search_params_narrowed(params: SearchParams) -> SearchParams:
    """The same search with its document filters resolved once into document ids, when a title or
    full-text filter leaves few documents.

    Every count and fetch of a search then finds its pages through the page's document index,
    instead of testing every document's title again (a substring is not an indexable test). Date
    spans alone are the pages' own columns (document_date, document_date_end).
    """
    if params.start_bounds is None and (bounds := _start_bounds(params)):
        params = replace(params, start_bounds=bounds)
    if params.document_ids is not None or not (params.title or params.q):
        return params
    documents = Document.objects.filter(
        _document_conditions(params), _date_conditions(params, "date_start", "date_end")
    ).order_by()
    if params.start_bounds is not None:
        # The pages' start dates are their documents' (kept by triggers): a range of the documents'
        # date index rather than every title tested (with full text, combined with the text index).
        # A document outside it has no matching page.
        first, last = params.start_bounds
        documents = documents.filter(date_start__gte=first) if first else documents
        documents = documents.filter(date_start__lte=last) if last else documents
    ids = list(documents.values_list("pk", flat=True)[: NARROW_DOCUMENTS_MAX + 1])
    return replace(params, document_ids=tuple(ids)) if len(ids) <= NARROW_DOCUMENTS_MAX else params


def _start_bounds(params: SearchParams) -> tuple[date | None, date | None] | None:
    """A range of start dates (Page.document_date) that holds every page matching the date filters, or None.

    A matching page starts no later than date_to, and no earlier than date_from unless its span
    holds date_from: PostgreSQL finds the earliest start of those (few) pages through the span's
    GiST index, SQLite goes back by the longest span of any document (pages copy their document's
    span), read from that length's index. Only while every page with an end date has a start date
    (as every imported date has): a page with an end date alone matches by its end, whatever bound
    its missing start would be tested against.
    """
    low, high = params.date_from, params.date_to
    if not (low or high) or (low and high and low > high):
        return None
    if Page.objects.filter(document_date__isnull=True, document_date_end__isnull=False).exists():
        return None
    if low and connection.vendor == "postgresql":
        # Through the span index: the start date's own index would be read from the first page on.
        spanning = Page.objects.filter(
            DateSpanOverlaps(F("document_date"), F("document_date_end"), low=low, high=low)
        ).aggregate(first=Min(Unordered(F("document_date"))))["first"]
        low = min(low, spanning or low)
    elif low:
        # Never before the first day a date holds (a search from year 1 goes back no further).
        low = date.fromordinal(max(1, low.toordinal() - _longest_document_span_days()))
    return low, high


def _longest_document_span_days() -> int:
    """The most days between a document's start and end date (0 without any span), on SQLite: one
    step down the index of that length (migration 0019)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX({DOCUMENT_SPAN_DAYS_SQL}) FROM annotations_document")
        (days,) = cursor.fetchone()
    return math.ceil(days or 0)


def page_conditions(params: SearchParams, prefix: str = "", *, walk: bool = False) -> Q:
    """Conditions on pages (and their documents); prefix reaches the page from another model.

    `walk`: the page columns are tested row by row rather than looked up (see Unindexed).
    """
    if params.start_bounds is not None:
        first, last = params.start_bounds
        cond = Q(**{f"{prefix}document_date__gte": first}) if first else Q()
        cond &= Q(**{f"{prefix}document_date__lte": last}) if last else Q()
    else:
        cond = Q()
    if params.document_ids is not None:
        # The document ids already keep only documents dated in the range.
        cond &= Q(InIds(F(f"{prefix}document_id"), params.document_ids))
    else:
        # Dates from the page's copy of its document's span: no join with documents.
        cond &= _document_conditions(params, f"{prefix}document__")
        inverted = params.date_from and params.date_to and params.date_from > params.date_to
        # Bounded start dates are read from the date index, whose entries carry the end date:
        # comparing it costs less than building each entry's span.
        if (params.date_from or params.date_to) and not inverted and params.start_bounds is None:
            overlaps = DateSpanOverlaps(
                F(f"{prefix}document_date"),
                F(f"{prefix}document_date_end"),
                low=params.date_from,
                high=params.date_to,
            )
            cond &= Q(overlaps)
        else:
            # An inverted range still matches the spans that cover both of its ends.
            cond &= _date_conditions(params, f"{prefix}document_date", f"{prefix}document_date_end")
    if params.document is not None:
        cond &= Q(**{f"{prefix}document_id": params.document})
    if params.front_page is not None:
        cond &= Q(Exact(walk_column(f"{prefix}is_front_page", walk), params.front_page))
    if params.review_status:
        cond &= Q(Exact(walk_column(f"{prefix}review_status", walk), params.review_status))
    if params.min_density is not None:
        cond &= Q(GreaterThanOrEqual(walk_column(f"{prefix}face_count", walk), params.min_density))
    if params.max_density is not None:
        cond &= Q(LessThanOrEqual(walk_column(f"{prefix}face_count", walk), params.max_density))
    return cond


def face_area_percent() -> ExpressionWrapper:
    """A face's area as a percentage of its page's area.

    In floating point: integer products overflow 32 bits, and PostgreSQL would compute decimal
    literals in (slow) numeric arithmetic.
    """

    def real(name: str) -> Cast:
        return Cast(name, FloatField())

    return ExpressionWrapper(
        Value(100.0, output_field=FloatField()) * real("w") * real("h") / (real("page__width") * real("page__height")),
        output_field=FloatField(),
    )


def faces_select(faces: QuerySet[Face], params: SearchParams, *, walk: bool = False) -> QuerySet[Face]:
    """The faces that the face filters select; rejected faces never count.

    `walk`: the gender is tested row by row rather than looked up (see Unindexed).
    """
    if params.min_confidence is not None:
        # search_confidence is none for rejected faces and 1 for curated ones.
        faces = faces.filter(search_confidence__gte=params.min_confidence)
    else:
        faces = faces.visible()
    if params.gender == CHILD:
        faces = faces.filter(child=True)
    elif params.gender:
        faces = faces.filter(Exact(walk_column("gender", walk), params.gender))
    if params.min_size is not None or params.max_size is not None:
        faces = faces.alias(size_percent=face_area_percent())
        if params.min_size is not None:
            faces = faces.filter(size_percent__gte=params.min_size)
        if params.max_size is not None:
            faces = faces.filter(size_percent__lte=params.max_size)
    if params.status:
        faces = faces.filter(status=params.status)
    # A curator's own faces are `added`; model faces a curator confirmed or fixed count as curated too.
    if params.source == CURATOR_SOURCE:
        faces = faces.filter(status__in=CURATED_STATUSES)
    elif params.source == SOURCE_MODEL:
        faces = faces.filter(status=FaceStatus.PREDICTED)
    elif params.source:
        faces = faces.filter(source=params.source)
    if params.person:
        faces = faces.filter(person__name__icontains=params.person)
    return faces


def _pages_with_selected_count(params: SearchParams, low: int, high: int | None, user=None) -> QuerySet:
    """Ids of pages with between low (≥ 1) and high selected faces, by grouping the selected faces.

    The page conditions are repeated inside so the database can start from the pages they pick;
    with `user`, only pages of corpora that user may view.
    """
    faces = Face.objects.filter(page_conditions(params, prefix="page__"))
    if user is not None:
        faces = faces.filter(page__document__corpus__in=corpora_visible_to(user))
    # COUNT(*), not COUNT(id): every column the count needs is in face_page_search_idx.
    grouped = faces_select(faces, params).order_by().values("page_id").annotate(n=Count("*")).filter(n__gte=low)
    if high is not None:
        grouped = grouped.filter(n__lte=high)
    return grouped.values_list("page_id", flat=True)


def _distinct_pages_with_selected(params: SearchParams, user=None) -> int:
    """How many pages have a selected face (cheaper than grouping and counting the groups)."""
    faces = Face.objects.filter(page_conditions(params, prefix="page__"))
    if user is not None:
        faces = faces.filter(page__document__corpus__in=corpora_visible_to(user))
    return faces_select(faces, params).aggregate(n=Count("page_id", distinct=True))["n"]


def _within(queryset: QuerySet, name: str, low: int, high: int | None) -> QuerySet:
    queryset = queryset.filter(**{f"{name}__gte": low}) if low else queryset
    return queryset.filter(**{f"{name}__lte": high}) if high is not None else queryset


def bound_face_counts(queryset: QuerySet, params: SearchParams, prefix: str = "") -> QuerySet:
    """Keep rows whose page has between min and max selected faces, collecting those pages first."""
    low, high = params.face_count_bounds()
    if low == 0 and high is None:
        return queryset
    bounds = page_column_bounds(params, prefix)
    if bounds is not None:
        return queryset.filter(bounds)
    page_ref = f"{prefix}id" if prefix else "pk"
    if low >= 1:
        return queryset.filter(**{f"{page_ref}__in": _pages_with_selected_count(params, low, high)})
    # low == 0: pages with no more than `high` selected faces, including those with none.
    return queryset.exclude(**{f"{page_ref}__in": _pages_with_selected_count(params, high + 1, None)})


def page_column_bounds(params: SearchParams, prefix: str = "", *, walk: bool = False) -> Q | None:
    """The face-count bounds as a test of page columns, or None when faces must be counted.

    A page's extremes answer "at least one face this confident, large or small"; its count columns
    (SearchParams.count_column) any bounds on the faces they count. `walk`: tested row by row.
    """
    extremes = params.page_extremes_condition(prefix, walk=walk)
    if extremes is not None or params.count_column is None:
        return extremes
    low, high = params.face_count_bounds()
    column = prefix + params.count_column
    bounds = Q()
    if low:
        bounds &= Q(GreaterThanOrEqual(walk_column(column, walk), low))
    if high is not None:
        bounds &= Q(LessThanOrEqual(walk_column(column, walk), high))
    return bounds


def _selected_count_per_page(params: SearchParams) -> Coalesce:
    """A page's number of selected faces, counted by a subquery on the page's faces."""
    selected = (
        faces_select(Face.objects.filter(page=OuterRef("pk")), params)
        .order_by()
        .values("page")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(selected[:1]), 0)


def _matching_faces(params: SearchParams):
    """The number of a page's selected faces: a column on the fast path, else a per-page subquery."""
    return F(params.count_column) if params.count_column else _selected_count_per_page(params)


def _walk_face_counts(pages: QuerySet[Page], params: SearchParams) -> QuerySet[Page]:
    """Keep pages within the face-count bounds, tested page by page as the database walks them in order.

    The count columns are hidden from the index choice, so the database walks the ordering's index
    and stops after the slice instead of collecting every page in a count range and sorting them.
    """
    low, high = params.face_count_bounds()
    if low == 0 and high is None:
        return pages
    bounds = page_column_bounds(params, walk=True)
    if bounds is not None:
        return pages.filter(bounds)
    return _within(pages.alias(selected_faces=_selected_count_per_page(params)), "selected_faces", low, high)


def pages_filter(pages: QuerySet[Page], params: SearchParams, *, strategy: str = COLLECT) -> QuerySet[Page]:
    """Pages matching the search, annotated with `matching_faces`, in a stable order.

    COLLECT suits counts and full scans; WALK suits a slice of many results (see page_search_results);
    GIVEN means `pages` already holds only pages within the face-count bounds.
    """
    ordering = params.ordering or "date"
    pages = pages.filter(page_conditions(params, walk=strategy == WALK))
    # Sorting by the number of selected faces needs them all counted anyway.
    if strategy == WALK and not (params.uses_face_rows and ordering.lstrip("-") == "matching"):
        pages = _walk_face_counts(pages, params)
    elif strategy != GIVEN:
        pages = bound_face_counts(pages, params)
    pages = pages.annotate(matching_faces=_matching_faces(params))
    return pages.order_by(*_nulls_last(PAGE_ORDERINGS[ordering], sort=strategy == SORT))


def _nulls_last(ordering: tuple[str, ...], *, sort: bool = False) -> list:
    """Order expressions where undated documents (and faces with no gender confidence) come last on every database.

    `sort`: dates are sorted, not read in order from an index (see Unordered).
    """
    expressions = []
    for name in ordering:
        field = name.lstrip("-")
        if field.endswith("document_date") or field == "gender_confidence":
            column = Unordered(F(field)) if sort and field.endswith("document_date") else F(field)
            expr = column.desc(nulls_last=True) if name.startswith("-") else column.asc(nulls_last=True)
            expressions.append(expr)
        else:
            expressions.append(name)
    return expressions


def _estimated_total(model) -> int | None:
    """PostgreSQL's estimate of the number of rows of a model's table (kept by ANALYZE and
    autovacuum), or None (other databases, or a table never analysed)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] >= 0 else None


def _estimated_page_total() -> int | None:
    return _estimated_total(Page)


def _estimated_face_total() -> int | None:
    return _estimated_total(Face)


def all_corpora_visible(user) -> bool:
    """Whether the user may view every corpus: then searches skip the visibility join."""
    return not Corpus.objects.exclude(pk__in=corpora_visible_to(user).values("pk")).exists()


def visible_corpus_ids(user, *, all_visible: bool) -> QuerySet | None:
    """The ids of the corpora the user may view, as the summaries take them: None when they are all."""
    return None if all_visible else corpora_visible_to(user).values_list("pk", flat=True)


def _visible_pages(user) -> QuerySet[Page]:
    return Page.objects.all() if all_corpora_visible(user) else pages_visible_to(user)


def page_results(pages: QuerySet[Page], params: SearchParams, *, strategy: str = COLLECT) -> QuerySet[Page]:
    """Search results: matching pages with their document (see matching_faces_attach for their faces)."""
    return (
        pages_filter(pages, params, strategy=strategy)
        .select_related("document")
        .defer(*(f"document__{name}" for name in UNUSED_DOCUMENT_FIELDS))
    )


def matching_faces_attach(*, pages: list[Page], params: SearchParams) -> list[Page]:
    """Give each page its selected faces as `matching`, in one query: plain dicts of RESULT_FACE_FIELDS,
    ready to serialise (a slice may hold thousands of boxes)."""
    by_page: dict[int, list[dict]] = {page.pk: [] for page in pages}
    selected = faces_select(Face.objects.filter(page_id__in=list(by_page)), params)
    rows = selected.order_by("page_id", "y", "x", "id").values_list(*RESULT_FACE_FIELDS, "page_id")
    for row in rows:
        # The page id comes last and zip stops before it: no slicing or unpacking per face.
        by_page[row[-1]].append(dict(zip(RESULT_FACE_FIELDS, row, strict=False)))
    for page in pages:
        page.matching = by_page[page.pk]
    return pages


def page_search(*, user, params: SearchParams) -> QuerySet[Page]:
    """Pages the user may view that match the search, with their number of selected faces."""
    params = search_params_narrowed(params)
    return page_results(_visible_pages(user), params)


def _walk_pays(count: int, candidates: int) -> bool:
    """Whether walking the candidates in order finds a slice of results cheaply.

    A walk tests about candidates / count rows per result found; up to WALK_MAX_VISITS per slice
    beats collecting and sorting every match.
    """
    return bool(count) and candidates * SEARCH_PAGE_SIZE <= count * WALK_MAX_VISITS


def _slice_strategy(count: int, candidates: int, params: SearchParams) -> str:
    """How to fetch one slice of `count` matches among `candidates` pages (see page_search_results).

    A walk in date order tests every page dated before the range, unless the start dates are bounded.
    """
    dated = params.date_from or params.date_to
    if dated and params.start_bounds is None and candidates <= DATE_SORT_MAX_PAGES:
        return SORT
    return WALK if _walk_pays(count, candidates) else COLLECT


def page_search_results(*, user, params: SearchParams) -> tuple[int, QuerySet[Page]]:
    """How many pages the user may view match the search, and a queryset to slice them from.

    Counting shows how selective the search is, which picks a cheap way to fetch one slice:
    walking pages in the requested order and testing each one (stops after the slice, good when
    matches are frequent), fetching the few matching pages by id, or letting the database
    collect and sort the matches (good when they are rare).
    """
    params = search_params_narrowed(params)
    all_visible = all_corpora_visible(user)
    pages = Page.objects.all() if all_visible else pages_visible_to(user)
    if summaries_count_pages(params):
        # Whole corpora or years, front pages, a gender, a confidence step, pages with or without a
        # selected face: counted from the page summaries (a few thousand rows), not from the pages.
        candidates, count = pages_from_summaries(
            corpus_ids=visible_corpus_ids(user, all_visible=all_visible), params=params
        )
        return count, page_results(pages, params, strategy=_slice_strategy(count, candidates, params))
    low, high = params.face_count_bounds()
    conditions = page_conditions(params)
    if (low, high) == (0, None):
        # Only page filters: every candidate matches, and walking finds the slice right away.
        count = pages.filter(conditions).count()
        return count, page_results(pages, params, strategy=_slice_strategy(count, count, params))
    # With no page filter every page is a candidate: PostgreSQL's estimate of their number then
    # picks the strategy (it only decides how to fetch; counts and results stay exact).
    estimate = _estimated_page_total() if all_visible and not conditions else None
    bounds = page_column_bounds(params)
    if bounds is not None:
        column = params.count_column or GENDER_COLUMN[params.gender]
        # The count columns are indexed where above zero (SQLite needs the test to use one).
        indexed = Q(**{f"{params.count_column}__gt": 0}) if params.count_column and low else Q()
        if estimate is not None or not conditions:
            # Every visible page is a candidate, and the count reads just the matching range of an index.
            candidates = estimate if estimate is not None else pages.count()
            failing = params.page_extremes_failing()
            if failing is not None and _fewer_fail(pages, passing=bounds, failing=failing):
                # The pages with a face (from the summaries) less the few that fail: min_size=1 passes
                # most pages, and reading the index range of those that fail costs a fraction.
                _, with_faces = pages_from_summaries(
                    corpus_ids=visible_corpus_ids(user, all_visible=all_visible), params=_without_face_filters(params)
                )
                count = with_faces - pages.filter(failing).count()
            else:
                count = pages.filter(bounds, indexed).count()
        elif connection.vendor == "postgresql" and low and params.start_bounds is not None:
            # Within a date range, the matches alone, from the dates of the pages with such a face (a
            # gender's: migration 0020) rather than every candidate; the candidates only pick how to
            # fetch the slice, so PostgreSQL's estimate of their number serves.
            count = pages.filter(conditions, bounds, indexed).count()
            candidates = max(count, round(_estimated_rows(pages.filter(conditions))))
        else:
            # Candidates and matches in one pass over the page columns.
            totals = pages.filter(conditions).aggregate(
                # Counting the (never null) count column, not the id: PostgreSQL then counts from a
                # narrow index on the count columns instead of reading every page row.
                candidates=Count(column),
                count=Count(column, filter=bounds),
            )
            candidates, count = totals["candidates"], totals["count"]
        return count, page_results(pages, params, strategy=_slice_strategy(count, candidates, params))
    candidate_pages = pages.filter(conditions)
    # Else counted up to one past PROBE_MAX_PAGES: the exact number below it, and cheap above it,
    # where the exact number is only needed for a walk decision some searches never reach.
    candidates = estimate if estimate is not None else candidate_pages.order_by()[: PROBE_MAX_PAGES + 1].count()
    if low >= 1 and candidates > PROBE_MAX_PAGES:
        scope_user = None if all_visible else user
        selected = _pages_with_selected_count(params, low, high, user=scope_user).order_by("page_id")
        if (low, high) == (1, None):
            # Counting distinct pages is one pass over an index, cheaper than grouping.
            count = _distinct_pages_with_selected(params, scope_user)
            if count <= COLLECT_MAX_IDS:
                return count, page_results(pages.filter(InIds(F("pk"), selected)), params, strategy=GIVEN)
        else:
            # Grouped in page order, the database can stop once it has more ids than we fetch this way.
            first = list(selected[: PROBE_MAX_IDS + 1])
            if len(first) <= PROBE_MAX_IDS:
                return len(first), page_results(pages.filter(InIds(F("pk"), first)), params, strategy=GIVEN)
            count = selected.count()
    elif low >= 1:
        # Few candidate pages: count each one's selected faces through the page index.
        matching = candidate_pages.alias(selected_faces=_selected_count_per_page(params))
        count = _within(matching, "selected_faces", low, high).count()
    else:
        count = bound_face_counts(candidate_pages, params).count()
    if estimate is None and candidates > PROBE_MAX_PAGES:
        candidates = candidate_pages.count()
    return count, page_results(pages, params, strategy=_slice_strategy(count, candidates, params))


def _fewer_fail(pages: QuerySet[Page], *, passing: Q, failing: Q) -> bool:
    """Whether PostgreSQL expects fewer pages to fail a page-column test than to pass it (from its
    column statistics: the estimate only picks which side to count, and counts stay exact)."""
    if connection.vendor != "postgresql":
        return False
    return _estimated_rows(pages.filter(failing)) < _estimated_rows(pages.filter(passing))


def _estimated_rows(queryset: QuerySet) -> float:
    try:
        sql, sql_params = queryset.values("pk").query.sql_with_params()
    except EmptyResultSet:
        # Conditions that match nothing by construction (no document left by a title): no SQL to ask about.
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", sql_params)
        plan = cursor.fetchone()[0]
    return float(plan[0]["Plan"]["Plan Rows"])


def _without_face_filters(params: SearchParams) -> SearchParams:
    """The same page filters, asking only for pages with at least one face."""
    return replace(params, min_confidence=None, min_size=None, max_size=None, min_faces=1, max_faces=None)


def face_results(faces: QuerySet[Face], params: SearchParams, *, walk: bool = False) -> QuerySet[Face]:
    """The selected faces of the matching pages, with page and document, in a stable order.

    `walk` suits one slice of many results: conditions are tested as the ordering is walked.
    """
    faces = faces_select(faces, params, walk=walk).filter(page_conditions(params, prefix="page__", walk=walk))
    # A selected face's page has one selected face already: only explicit bounds narrow further.
    if params.min_faces is not None or params.max_faces is not None:
        faces = bound_face_counts(faces, params, prefix="page__")
    return faces_order(faces, params.ordering or "date").select_related("page__document", "person")


def faces_order(faces: QuerySet[Face], ordering: str) -> QuerySet[Face]:
    """Faces in one of FACE_ORDERINGS, each ending with the id so that slices never overlap."""
    if ordering in ("size", "-size"):
        faces = faces.annotate(area=F("w") * F("h"))
    return faces.order_by(*_nulls_last(FACE_ORDERINGS[ordering]))


def _visible_faces(user) -> QuerySet[Face]:
    return Face.objects.all() if all_corpora_visible(user) else faces_visible_to(user)


def face_search(*, user, params: SearchParams) -> QuerySet[Face]:
    """Faces the user may view that the search selects (usable by any face list endpoint)."""
    params = search_params_narrowed(params)
    return face_results(_visible_faces(user), params)


def face_search_results(*, user, params: SearchParams) -> tuple[int, QuerySet[Face]]:
    """How many faces the user may view match the search, and a queryset to slice them from."""
    params = search_params_narrowed(params)
    all_visible = all_corpora_visible(user)
    faces = Face.objects.all() if all_visible else faces_visible_to(user)
    # Counted through the narrow (page, status, gender, ...) index rather than by gender lookups
    # that then read every face row (SQLite's choice otherwise).
    count = face_results(faces, params, walk=True).count()
    conditions = page_conditions(params, prefix="page__")
    # The candidates only pick how to fetch the slice: with no page filter, every face is one, and
    # PostgreSQL's estimate of their number spares counting them all.
    estimate = _estimated_face_total() if count and all_visible and not conditions else None
    candidates = estimate if estimate is not None else (faces.filter(conditions).count() if count else 0)
    return count, face_results(faces, params, walk=_walk_pays(count, candidates))
