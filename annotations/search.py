"""Search and statistics over pages and faces: GallicaPix's filters, plus face counts and no result cap.

Semantics (DESIGN.md §4): rejected faces never count. Face filters (gender, min_confidence, size,
status, source, person) select faces; `min_faces`/`max_faces` count the selected faces of a page,
and any face filter alone means "at least one selected face". Page filters (corpus, document,
text, dates, front page, review status, density) select pages. A face a curator accepted, edited
or added counts as certain (confidence 1), as GallicaPix's manual faces (`CS='1'`).

Cheap by construction: without face filters other than gender, counts come from the page's
denormalised columns (kept by `page_counts_refresh`); otherwise the selected faces are counted per
page, through the index on (page, status, gender, confidence, child, w, h). The API counts first
and then fetches one slice the way that count makes cheap (page_search_results).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date

import django_filters
from django import forms
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import ExpressionWrapper, Func, RawSQL
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThanOrEqual
from django_filters.utils import translate_validation

from annotations.access import corpora_visible_to, faces_visible_to, pages_visible_to
from annotations.models import (
    CURATED_STATUSES,
    CURATOR_SOURCE,
    Corpus,
    Document,
    Face,
    FaceStatus,
    Gender,
    Page,
    ReviewStatus,
)
from webapp.ids import IdFilter, IdFormField

CHILD = "child"
GENDER_ALIASES = {
    Gender.FEMALE.value: Gender.FEMALE.value,
    Gender.MALE.value: Gender.MALE.value,
    Gender.UNKNOWN.value: Gender.UNKNOWN.value,
    CHILD: CHILD,
    # GallicaPix's persType values (SPECS.md §3.5); there is no faceF.
    "faceW": Gender.FEMALE.value,
    "faceM": Gender.MALE.value,
    "faceC": CHILD,
}
# The denormalised Page column that counts each gender's non-rejected faces.
GENDER_COLUMN = {
    "": "face_count",
    Gender.FEMALE.value: "female_count",
    Gender.MALE.value: "male_count",
    Gender.UNKNOWN.value: "unknown_count",
    CHILD: "child_count",
}
SELECTABLE_STATUSES = [(s.value, s.label) for s in FaceStatus if s != FaceStatus.REJECTED]
SOURCE_MODEL = "model"

# Must match the expression of the GIN index created by migration 0003_search_indexes. Columns
# stay unqualified so that they belong to whichever alias the document table gets in a subquery.
FTS_DOCUMENT_SQL = (
    "to_tsvector('simple'::regconfig, coalesce(label, '') || ' ' || coalesce(metadata::text, '')) "
    "@@ websearch_to_tsquery('simple'::regconfig, %s)"
)

PAGE_ORDERINGS = {
    "date": ("document__date_start", "document_id", "order", "id"),
    "-date": ("-document__date_start", "-document_id", "order", "id"),
    # Ties broken in the same direction, so one index walk gives the whole order.
    "faces": ("face_count", "id"),
    "-faces": ("-face_count", "-id"),
    "matching": ("matching_faces", "id"),
    "-matching": ("-matching_faces", "-id"),
    "document": ("document_id", "order", "id"),
}
FACE_ORDERINGS = {
    "date": ("page__document__date_start", "page__document_id", "page__order", "y", "x", "id"),
    "-date": ("-page__document__date_start", "-page__document_id", "page__order", "y", "x", "id"),
    "confidence": ("confidence", "id"),
    "-confidence": ("-confidence", "id"),
    "size": ("area", "id"),
    "-size": ("-area", "id"),
    # Page by page, top to bottom: /api/faces/'s default (the review canvas's order).
    "page": ("page_id", "y", "x", "id"),
}
# How a page search applies the face-count bounds (see pages_filter).
COLLECT, WALK, GIVEN = "collect", "walk", "given"
# What a page result shows of its faces (boxes), and the large document fields it never shows.
RESULT_FACE_FIELDS = ("id", "x", "y", "w", "h", "confidence", "gender", "child", "status")
UNUSED_DOCUMENT_FIELDS = ("metadata", "import_report", "summary", "import_error", "attribution", "license")
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
# Title or full-text filters that leave up to this many documents are resolved into their ids first.
NARROW_DOCUMENTS_MAX = 2000
# Gaps between the first and last year are filled with zero rows only up to this span.
MAX_FILLED_YEARS = 500

_PARTIAL_DATE = re.compile(r"^(\d{1,4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


class PartialDateField(forms.CharField):
    """A year, year-month or ISO day; the start or the end of that period."""

    def __init__(self, *args, end: bool = False, **kwargs):
        self.end = end
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return None
        match = _PARTIAL_DATE.match(value)
        if not match:
            raise forms.ValidationError("Use a year (1915), a month (1915-03) or a day (1915-03-12).")
        year, month, day = (int(part) if part else None for part in match.groups())
        try:
            if month is None:
                return date(year, 12, 31) if self.end else date(year, 1, 1)
            if day is None:
                if not self.end:
                    return date(year, month, 1)
                next_month = date(year + month // 12, month % 12 + 1, 1)
                return date.fromordinal(next_month.toordinal() - 1)
            return date(year, month, day)
        except ValueError as exc:
            raise forms.ValidationError(f"Not a date: {value}") from exc


class PartialDateFilter(django_filters.Filter):
    field_class = PartialDateField


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class CorpusField(forms.CharField):
    """A corpus id or name: digits are an id, and must be one a database key can hold."""

    def to_python(self, value):
        value = super().to_python(value).strip()
        if value.isdigit():
            IdFormField().clean(value)
        return value


class CorpusFilter(django_filters.CharFilter):
    field_class = CorpusField


class FloatFilter(django_filters.NumberFilter):
    field_class = forms.FloatField


def _keep(queryset, name, value):
    """Filters are applied together by the FilterSet, which knows how they interact."""
    return queryset


class SearchFilterSet(django_filters.FilterSet):
    """Validates search parameters (and documents them in the OpenAPI schema)."""

    corpus = CorpusFilter(method=_keep, help_text="Corpus id or name.")
    document = IdFilter(method=_keep, help_text="Document id.")
    q = django_filters.CharFilter(
        method=_keep, help_text="Full text over document titles and metadata (PostgreSQL search when available)."
    )
    title = django_filters.CharFilter(method=_keep, help_text="Substring of the document title.")
    date_from = PartialDateFilter(method=_keep, help_text="Documents dated on or after: a year, year-month or ISO day.")
    date_to = PartialDateFilter(
        method=_keep, end=True, help_text="Documents dated on or before: a year, year-month or ISO day."
    )
    front_page = django_filters.BooleanFilter(method=_keep, help_text="Front pages only (true) or others (false).")
    review_status = django_filters.ChoiceFilter(method=_keep, choices=ReviewStatus.choices)
    min_density = IntegerFilter(method=_keep, min_value=0, help_text="At least this many faces on the page in all.")
    max_density = IntegerFilter(method=_keep, min_value=0, help_text="At most this many faces on the page in all.")
    gender = django_filters.ChoiceFilter(
        method=_keep,
        choices=[(key, key) for key in GENDER_ALIASES],
        help_text="female, male, child or unknown faces; faceW/faceM/faceC are GallicaPix aliases.",
    )
    min_confidence = FloatFilter(
        method=_keep, min_value=0, max_value=1, help_text="Detection confidence; curated faces count as 1."
    )
    min_size = FloatFilter(
        method=_keep, min_value=0, max_value=100, help_text="Face area as a percentage of the page area, at least."
    )
    max_size = FloatFilter(
        method=_keep, min_value=0, max_value=100, help_text="Face area as a percentage of the page area, at most."
    )
    status = django_filters.ChoiceFilter(method=_keep, choices=SELECTABLE_STATUSES, help_text="Face review status.")
    source = django_filters.CharFilter(
        method=_keep, help_text="'curator' (added or confirmed by a curator), 'model' (untouched), or a model name."
    )
    person = django_filters.CharFilter(method=_keep, help_text="Substring of the person's name.")
    min_faces = IntegerFilter(method=_keep, min_value=0, help_text="At least this many selected faces on the page.")
    max_faces = IntegerFilter(method=_keep, min_value=0, help_text="At most this many selected faces on the page.")

    class Meta:
        model = Page
        fields: list[str] = []

    @property
    def params(self) -> SearchParams:
        return SearchParams.from_cleaned(self.form.cleaned_data)


class PageSearchFilterSet(SearchFilterSet):
    """Search over pages: filters, matching face counts, ordering, matching faces prefetched."""

    ordering = django_filters.ChoiceFilter(
        method=_keep, choices=[(key, key) for key in PAGE_ORDERINGS], help_text="Default: date."
    )

    def filter_queryset(self, queryset):
        return page_results(queryset, self.params)


class FaceSearchFilterSet(SearchFilterSet):
    """Search over faces: the selected faces of the matching pages."""

    ordering = django_filters.ChoiceFilter(
        method=_keep, choices=[(key, key) for key in FACE_ORDERINGS], help_text="Default: date."
    )

    class Meta:
        model = Face
        fields: list[str] = []

    def filter_queryset(self, queryset):
        return face_results(queryset, self.params)


@dataclass(frozen=True)
class SearchParams:
    """Validated search parameters; empty means "any"."""

    corpus: str = ""
    document: int | None = None
    q: str = ""
    title: str = ""
    date_from: date | None = None
    date_to: date | None = None
    front_page: bool | None = None
    review_status: str = ""
    min_density: int | None = None
    max_density: int | None = None
    gender: str = ""
    min_confidence: float | None = None
    min_size: float | None = None
    max_size: float | None = None
    status: str = ""
    source: str = ""
    person: str = ""
    min_faces: int | None = None
    max_faces: int | None = None
    ordering: str = ""
    # Set by search_params_narrowed: the documents the document filters leave, when they are few.
    document_ids: tuple[int, ...] | None = None

    @classmethod
    def from_cleaned(cls, data: Mapping) -> SearchParams:
        values = {}
        for field in fields(cls):
            value = data.get(field.name)
            if value is None or value == "":
                continue
            if isinstance(value, str):
                value = value.strip()
            values[field.name] = GENDER_ALIASES[value] if field.name == "gender" else value
        return cls(**values)

    @property
    def uses_face_rows(self) -> bool:
        """Whether faces must be read row by row (the page columns only count by gender)."""
        return (
            self.min_confidence is not None
            or self.min_size is not None
            or self.max_size is not None
            or bool(self.status or self.source or self.person)
        )

    @property
    def selects_faces(self) -> bool:
        return bool(self.gender) or self.uses_face_rows

    def page_extremes_condition(self, prefix: str = "", *, walk: bool = False) -> Q | None:
        """The page-column test for "at least one face this confident, this large or this small", or None.

        When that one bound is the only face filter and the search asks for at least one selected
        face, a page's maximum confidence or extreme face sizes (kept by page_counts_refresh)
        answer it without reading faces. `walk`: tested row by row (see Unindexed).
        """
        if self.face_count_bounds() != (1, None) or self.gender or self.status or self.source or self.person:
            return None
        bounds = [
            (GreaterThanOrEqual, "max_confidence", self.min_confidence),
            (GreaterThanOrEqual, "max_face_share", self.min_size),
            (LessThanOrEqual, "min_face_share", self.max_size),
        ]
        given = [(lookup, column, value) for lookup, column, value in bounds if value is not None]
        if len(given) != 1:
            return None
        lookup, column, value = given[0]
        return Q(lookup(_column(prefix + column, walk), value))

    def face_count_bounds(self) -> tuple[int, int | None]:
        """(min, max) selected faces per page; a face filter alone means at least one."""
        low = self.min_faces
        if low is None:
            low = 1 if self.selects_faces and (self.max_faces is None or self.max_faces > 0) else 0
        return low, self.max_faces


@functools.cache
def _params_form_class(filterset_class: type[SearchFilterSet]) -> type[forms.Form]:
    """The form that validates a filterset's parameters, built once per filterset class.

    django-filter builds the form class anew for every filterset instance, after deep-copying
    every filter (about 10 ms a search); the filters here depend on nothing but their declaration.
    """
    return filterset_class().form.__class__


def search_params_parse(data: Mapping, *, filterset_class: type[SearchFilterSet] = SearchFilterSet) -> SearchParams:
    """Validate query parameters into SearchParams; a DRF ValidationError (400) lists the bad ones."""
    form = _params_form_class(filterset_class)(data=data)
    if not form.is_valid():
        raise translate_validation(form.errors)
    return SearchParams.from_cleaned(form.cleaned_data)


class Unindexed(Func):
    """A column's value that SQLite will not look up through an index (unary plus).

    SQLite's planner likes to start from any index that matches a condition and then sort every
    match; for one slice of results in a given order, walking the ordering's index and testing
    each row is far cheaper. PostgreSQL weighs this itself, so it gets the plain column.
    """

    template = "%(expressions)s"
    arity = 1

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="+%(expressions)s", **extra_context)


class InIds(Func):
    """`expression IN ids`, sent as one array parameter on PostgreSQL.

    A search may fetch a few thousand pages by id; as an IN list, each id is a placeholder that
    Django and psycopg prepare and quote one by one (about 10 ms for 2,000 ids), as `= ANY(array)`
    the list binds as a single value.
    """

    output_field = BooleanField()
    arity = 1

    def __init__(self, expression, ids: Iterable[int]):
        super().__init__(expression)
        self.ids = list(ids)

    def as_sql(self, compiler, connection, **extra_context):
        if not self.ids:
            raise EmptyResultSet
        column, params = compiler.compile(self.source_expressions[0])
        return f"{column} IN ({', '.join(['%s'] * len(self.ids))})", (*params, *self.ids)

    def as_postgresql(self, compiler, connection, **extra_context):
        if not self.ids:
            raise EmptyResultSet
        column, params = compiler.compile(self.source_expressions[0])
        # An array literal written at once: psycopg would adapt (and inspect) the list item by item.
        return f"{column} = ANY(%s::bigint[])", (*params, "{" + ",".join(str(int(pk)) for pk in self.ids) + "}")


def _column(name: str, walk: bool):
    return Unindexed(F(name)) if walk else F(name)


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
            else Q(**{f"{doc}corpus__name__iexact": params.corpus})
        )
    if params.title:
        cond &= Q(**{f"{doc}label__icontains": params.title})
    if params.q:
        documents = Document.objects.filter(_document_text_match(params.q)).values("pk")
        cond &= Q(**{f"{doc}pk__in": documents})
    # A document matches when its [start, end] span overlaps the range; a missing end is its start day.
    if params.date_from:
        cond &= Q(**{f"{doc}date_end__gte": params.date_from}) | Q(
            **{f"{doc}date_end__isnull": True, f"{doc}date_start__gte": params.date_from}
        )
    if params.date_to:
        cond &= Q(**{f"{doc}date_start__lte": params.date_to}) | Q(
            **{f"{doc}date_start__isnull": True, f"{doc}date_end__lte": params.date_to}
        )
    return cond


def search_params_narrowed(params: SearchParams) -> SearchParams:
    """The same search with its document filters resolved once into document ids, when a title or
    full-text filter leaves few documents.

    Every count and fetch of a search then finds its pages through the page's document index,
    instead of testing every document's title again (a substring is not an indexable test). Date
    spans alone are cheaper left to the database's join.
    """
    if params.document_ids is not None or not (params.title or params.q):
        return params
    ids = list(
        Document.objects.filter(_document_conditions(params))
        .order_by()
        .values_list("pk", flat=True)[: NARROW_DOCUMENTS_MAX + 1]
    )
    return replace(params, document_ids=tuple(ids)) if len(ids) <= NARROW_DOCUMENTS_MAX else params


def _page_conditions(params: SearchParams, prefix: str = "", *, walk: bool = False) -> Q:
    """Conditions on pages (and their documents); prefix reaches the page from another model.

    `walk`: the page columns are tested row by row rather than looked up (see Unindexed).
    """
    if params.document_ids is not None:
        cond = Q(**{f"{prefix}document_id__in": params.document_ids})
    else:
        cond = _document_conditions(params, f"{prefix}document__")
    if params.document is not None:
        cond &= Q(**{f"{prefix}document_id": params.document})
    if params.front_page is not None:
        cond &= Q(Exact(_column(f"{prefix}is_front_page", walk), params.front_page))
    if params.review_status:
        cond &= Q(Exact(_column(f"{prefix}review_status", walk), params.review_status))
    if params.min_density is not None:
        cond &= Q(GreaterThanOrEqual(_column(f"{prefix}face_count", walk), params.min_density))
    if params.max_density is not None:
        cond &= Q(LessThanOrEqual(_column(f"{prefix}face_count", walk), params.max_density))
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
        faces = faces.filter(Exact(_column("gender", walk), params.gender))
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
        faces = faces.filter(person__icontains=params.person)
    return faces


def _pages_with_selected_count(params: SearchParams, low: int, high: int | None, user=None) -> QuerySet:
    """Ids of pages with between low (≥ 1) and high selected faces, by grouping the selected faces.

    The page conditions are repeated inside so the database can start from the pages they pick;
    with `user`, only pages of corpora that user may view.
    """
    faces = Face.objects.filter(_page_conditions(params, prefix="page__"))
    if user is not None:
        faces = faces.filter(page__document__corpus__in=corpora_visible_to(user))
    # COUNT(*), not COUNT(id): every column the count needs is in face_page_search_idx.
    grouped = faces_select(faces, params).order_by().values("page_id").annotate(n=Count("*")).filter(n__gte=low)
    if high is not None:
        grouped = grouped.filter(n__lte=high)
    return grouped.values_list("page_id", flat=True)


def _distinct_pages_with_selected(params: SearchParams, user=None) -> int:
    """How many pages have a selected face (cheaper than grouping and counting the groups)."""
    faces = Face.objects.filter(_page_conditions(params, prefix="page__"))
    if user is not None:
        faces = faces.filter(page__document__corpus__in=corpora_visible_to(user))
    return faces_select(faces, params).aggregate(n=Count("page_id", distinct=True))["n"]


def _within(queryset: QuerySet, name: str, low: int, high: int | None) -> QuerySet:
    queryset = queryset.filter(**{f"{name}__gte": low}) if low else queryset
    return queryset.filter(**{f"{name}__lte": high}) if high is not None else queryset


def _bound_face_counts(queryset: QuerySet, params: SearchParams, prefix: str = "") -> QuerySet:
    """Keep rows whose page has between min and max selected faces, collecting those pages first."""
    low, high = params.face_count_bounds()
    if low == 0 and high is None:
        return queryset
    if not params.uses_face_rows:
        return _within(queryset, prefix + GENDER_COLUMN[params.gender], low, high)
    extremes = params.page_extremes_condition(prefix)
    if extremes is not None:
        return queryset.filter(extremes)
    page_ref = f"{prefix}id" if prefix else "pk"
    if low >= 1:
        return queryset.filter(**{f"{page_ref}__in": _pages_with_selected_count(params, low, high)})
    # low == 0: pages with no more than `high` selected faces, including those with none.
    return queryset.exclude(**{f"{page_ref}__in": _pages_with_selected_count(params, high + 1, None)})


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
    return F(GENDER_COLUMN[params.gender]) if not params.uses_face_rows else _selected_count_per_page(params)


def _walk_face_counts(pages: QuerySet[Page], params: SearchParams) -> QuerySet[Page]:
    """Keep pages within the face-count bounds, tested page by page as the database walks them in order.

    The count columns are hidden from the index choice, so the database walks the ordering's index
    and stops after the slice instead of collecting every page in a count range and sorting them.
    """
    low, high = params.face_count_bounds()
    if low == 0 and high is None:
        return pages
    extremes = params.page_extremes_condition(walk=True)
    if extremes is not None:
        return pages.filter(extremes)
    if params.uses_face_rows:
        selected = _selected_count_per_page(params)
    else:
        selected = Unindexed(F(GENDER_COLUMN[params.gender]))
    return _within(pages.alias(selected_faces=selected), "selected_faces", low, high)


def pages_filter(pages: QuerySet[Page], params: SearchParams, *, strategy: str = COLLECT) -> QuerySet[Page]:
    """Pages matching the search, annotated with `matching_faces`, in a stable order.

    COLLECT suits counts and full scans; WALK suits a slice of many results (see page_search_results);
    GIVEN means `pages` already holds only pages within the face-count bounds.
    """
    ordering = params.ordering or "date"
    pages = pages.filter(_page_conditions(params, walk=strategy == WALK))
    # Sorting by the number of selected faces needs them all counted anyway.
    if strategy == WALK and not (params.uses_face_rows and ordering.lstrip("-") == "matching"):
        pages = _walk_face_counts(pages, params)
    elif strategy != GIVEN:
        pages = _bound_face_counts(pages, params)
    pages = pages.annotate(matching_faces=_matching_faces(params))
    return pages.order_by(*_nulls_last(PAGE_ORDERINGS[ordering]))


def _nulls_last(ordering: tuple[str, ...]) -> list:
    """Order expressions where undated documents come last on every database."""
    expressions = []
    for name in ordering:
        field = name.lstrip("-")
        if field.endswith("date_start"):
            expr = F(field).desc(nulls_last=True) if name.startswith("-") else F(field).asc(nulls_last=True)
            expressions.append(expr)
        else:
            expressions.append(name)
    return expressions


def _estimated_page_total() -> int | None:
    """PostgreSQL's estimate of the number of pages (kept by ANALYZE and autovacuum), or None
    (other databases, or a table never analysed)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Page._meta.db_table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] >= 0 else None


def _all_corpora_visible(user) -> bool:
    """Whether the user may view every corpus: then searches skip the visibility join."""
    return not Corpus.objects.exclude(pk__in=corpora_visible_to(user).values("pk")).exists()


def _visible_pages(user) -> QuerySet[Page]:
    return Page.objects.all() if _all_corpora_visible(user) else pages_visible_to(user)


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


def page_search_results(*, user, params: SearchParams) -> tuple[int, QuerySet[Page]]:
    """How many pages the user may view match the search, and a queryset to slice them from.

    Counting shows how selective the search is, which picks a cheap way to fetch one slice:
    walking pages in the requested order and testing each one (stops after the slice, good when
    matches are frequent), fetching the few matching pages by id, or letting the database
    collect and sort the matches (good when they are rare).
    """
    params = search_params_narrowed(params)
    all_visible = _all_corpora_visible(user)
    pages = Page.objects.all() if all_visible else pages_visible_to(user)
    low, high = params.face_count_bounds()
    conditions = _page_conditions(params)
    if (low, high) == (0, None):
        # Only page filters: every candidate matches, and walking finds the slice right away.
        count = pages.filter(conditions).count()
        return count, page_results(pages, params, strategy=WALK)
    # With no page filter every page is a candidate: PostgreSQL's estimate of their number then
    # picks the strategy (it only decides how to fetch; counts and results stay exact).
    estimate = _estimated_page_total() if all_visible and not conditions else None
    extremes = params.page_extremes_condition()
    if not params.uses_face_rows or extremes is not None:
        # Candidates and matches in one pass over the page columns.
        column = GENDER_COLUMN[params.gender]
        if extremes is None:
            bounds = Q(**{f"{column}__gte": low}) & (Q(**{f"{column}__lte": high}) if high is not None else Q())
        else:
            bounds = extremes
        if estimate is not None:
            # The count then reads just the matching range of an index.
            candidates, count = estimate, pages.filter(bounds).count()
        else:
            totals = pages.filter(conditions).aggregate(
                # Counting the (never null) count column, not the id: PostgreSQL then counts from a
                # narrow index on the count columns instead of reading every page row.
                candidates=Count(column),
                count=Count(column, filter=bounds),
            )
            candidates, count = totals["candidates"], totals["count"]
        return count, page_results(pages, params, strategy=WALK if _walk_pays(count, candidates) else COLLECT)
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
        count = _bound_face_counts(candidate_pages, params).count()
    if estimate is None and candidates > PROBE_MAX_PAGES:
        candidates = candidate_pages.count()
    return count, page_results(pages, params, strategy=WALK if _walk_pays(count, candidates) else COLLECT)


def face_results(faces: QuerySet[Face], params: SearchParams, *, walk: bool = False) -> QuerySet[Face]:
    """The selected faces of the matching pages, with page and document, in a stable order.

    `walk` suits one slice of many results: conditions are tested as the ordering is walked.
    """
    faces = faces_select(faces, params, walk=walk).filter(_page_conditions(params, prefix="page__", walk=walk))
    # A selected face's page has one selected face already: only explicit bounds narrow further.
    if params.min_faces is not None or params.max_faces is not None:
        faces = _bound_face_counts(faces, params, prefix="page__")
    return faces_order(faces, params.ordering or "date").select_related("page__document")


def faces_order(faces: QuerySet[Face], ordering: str) -> QuerySet[Face]:
    """Faces in one of FACE_ORDERINGS, each ending with the id so that slices never overlap."""
    if ordering in ("size", "-size"):
        faces = faces.annotate(area=F("w") * F("h"))
    return faces.order_by(*_nulls_last(FACE_ORDERINGS[ordering]))


def _visible_faces(user) -> QuerySet[Face]:
    return Face.objects.all() if _all_corpora_visible(user) else faces_visible_to(user)


def face_search(*, user, params: SearchParams) -> QuerySet[Face]:
    """Faces the user may view that the search selects (usable by any face list endpoint)."""
    params = search_params_narrowed(params)
    return face_results(_visible_faces(user), params)


def face_search_results(*, user, params: SearchParams) -> tuple[int, QuerySet[Face]]:
    """How many faces the user may view match the search, and a queryset to slice them from."""
    params = search_params_narrowed(params)
    faces = _visible_faces(user)
    # Counted through the narrow (page, status, gender, ...) index rather than by gender lookups
    # that then read every face row (SQLite's choice otherwise).
    count = face_results(faces, params, walk=True).count()
    candidates = faces.filter(_page_conditions(params, prefix="page__")).count() if count else 0
    return count, face_results(faces, params, walk=_walk_pays(count, candidates))


def faces_by_year(*, user, params: SearchParams) -> list[dict]:
    """Per year of the document date: pages, pages with faces, selected faces by gender, shares."""
    all_visible = _all_corpora_visible(user)
    visible = Page.objects.all() if all_visible else pages_visible_to(user)
    pages = _bound_face_counts(visible.filter(_page_conditions(params)), params)
    # Grouped by day and summed into years here: extracting the year in SQL costs a Python
    # function call per row on SQLite, and there are far fewer days than pages.
    if params.selects_faces:
        low, high = params.face_count_bounds()
        faces = Face.objects.all() if all_visible else faces_visible_to(user)
        faces = faces.filter(_page_conditions(params, prefix="page__"))
        # A selected face's page has one selected face already: only other bounds narrow further.
        if (low, high) != (1, None):
            faces = faces.filter(page__in=pages.values("pk"))
        rows = list(
            faces_select(faces, params)
            .order_by()
            .values(day=F("page__document__date_start"))
            .annotate(
                faces=Count("id"),
                pages_with_faces=Count("page_id", distinct=True),
                female=Count("id", filter=Q(gender=Gender.FEMALE)),
                male=Count("id", filter=Q(gender=Gender.MALE)),
                unknown=Count("id", filter=Q(gender=Gender.UNKNOWN)),
                child=Count("id", filter=Q(child=True)),
            )
        )
        if low >= 1:
            # Every matching page has a selected face.
            rows = [{**row, "pages": row["pages_with_faces"]} for row in rows]
        else:
            rows += list(pages.order_by().values(day=F("document__date_start")).annotate(pages=Count("id")))
    else:
        rows = (
            pages.order_by()
            .values(day=F("document__date_start"))
            .annotate(
                pages=Count("id"),
                pages_with_faces=Count("id", filter=Q(face_count__gt=0)),
                faces=Coalesce(Sum("face_count"), 0),
                female=Coalesce(Sum("female_count"), 0),
                male=Coalesce(Sum("male_count"), 0),
                unknown=Coalesce(Sum("unknown_count"), 0),
                child=Coalesce(Sum("child_count"), 0),
            )
        )
    by_year: dict[int | None, dict] = {}
    for row in rows:
        day = row.pop("day")
        year = day.year if day else None
        total = by_year.setdefault(year, _empty_year(year))
        for key, value in row.items():
            total[key] += value
    return [_with_shares(row) for row in _fill_years(by_year, params)]


def faces_totals(rows: list[dict]) -> dict:
    """The sums of per-year rows, with the same shares."""
    total = _empty_year(None)
    for row in rows:
        for key in ("pages", "pages_with_faces", "faces", "female", "male", "unknown", "child"):
            total[key] += row[key]
    del total["year"]
    return _with_shares(total)


def _empty_year(year: int | None) -> dict:
    return {
        "year": year,
        "pages": 0,
        "pages_with_faces": 0,
        "faces": 0,
        "female": 0,
        "male": 0,
        "unknown": 0,
        "child": 0,
    }


def _fill_years(by_year: dict, params: SearchParams) -> list[dict]:
    """Dated rows in year order with empty years in between (and across the asked range); undated last."""
    years = [year for year in by_year if year is not None]
    if params.date_from and params.date_to:
        years += [params.date_from.year, params.date_to.year]
    rows = []
    if years and max(years) - min(years) <= MAX_FILLED_YEARS:
        rows = [by_year.get(year) or _empty_year(year) for year in range(min(years), max(years) + 1)]
    else:
        rows = [by_year[year] for year in sorted(y for y in by_year if y is not None)]
    if None in by_year:
        rows.append(by_year[None])
    return rows


def _with_shares(row: dict) -> dict:
    """Add the share of women's and men's faces (among faces of known gender) and faces per page."""
    gendered = row["female"] + row["male"]
    return {
        **row,
        "female_share": round(row["female"] / gendered, 4) if gendered else None,
        "male_share": round(row["male"] / gendered, 4) if gendered else None,
        "faces_per_page": round(row["faces"] / row["pages"], 4) if row["pages"] else None,
    }
