"""Search parameters: GallicaPix's filters plus face counts, parsed and validated into SearchParams.

Semantics (DESIGN.md §4): rejected faces never count. Face filters (gender, min_confidence, size,
status, source, person) select faces; `min_faces`/`max_faces` count the selected faces of a page,
and any face filter alone means "at least one selected face". Page filters (corpus, document,
text, dates, front page, review status, density) select pages. A face a curator accepted, edited
or added counts as certain (confidence 1), as GallicaPix's manual faces (`CS='1'`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date

import django_filters
from django import forms
from django.db.models import (
    F,
    Q,
)
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.utils import translate_validation
from rest_framework.exceptions import ValidationError

from annotations.models import (
    CURATOR_SOURCE,
    PAGE_COUNT_CONFIDENCE_STEPS,
    FaceStatus,
    Gender,
    Page,
    ReviewStatus,
)
from annotations.search.sql import walk_column
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
# The denormalised Page column that counts each gender's non-rejected faces (curated_<column>: those
# a curator stood behind; <column>_50, _80, _90: those at least that confident).
GENDER_COLUMN = {
    "": "face_count",
    Gender.FEMALE.value: "female_count",
    Gender.MALE.value: "male_count",
    Gender.UNKNOWN.value: "unknown_count",
    CHILD: "child_count",
}
SELECTABLE_STATUSES = [(s.value, s.label) for s in FaceStatus if s != FaceStatus.REJECTED]
SOURCE_MODEL = "model"

PAGE_ORDERINGS = {
    "date": ("document_date", "document_id", "order", "id"),
    "-date": ("-document_date", "-document_id", "order", "id"),
    # Ties broken in the same direction, so one index walk gives the whole order.
    "faces": ("face_count", "id"),
    "-faces": ("-face_count", "-id"),
    "matching": ("matching_faces", "id"),
    "-matching": ("-matching_faces", "-id"),
    "document": ("document_id", "order", "id"),
}
FACE_ORDERINGS = {
    "date": ("page__document_date", "page__document_id", "page__order", "y", "x", "id"),
    "-date": ("-page__document_date", "-page__document_id", "page__order", "y", "x", "id"),
    "confidence": ("confidence", "id"),
    "-confidence": ("-confidence", "id"),
    "size": ("area", "id"),
    "-size": ("-area", "id"),
    # The review grid's order: the gender the model was least sure of first. Faces with no gender
    # confidence (drawn by a curator) come last either way.
    "gender_confidence": ("gender_confidence", "id"),
    "-gender_confidence": ("-gender_confidence", "id"),
    # Page by page, top to bottom: /api/faces/'s default (the review canvas's order).
    "page": ("page_id", "y", "x", "id"),
}

# More faces than any page holds: the largest count a face-count filter takes.
FACE_COUNT_MAX = 1_000_000
FACE_COUNT_MESSAGE = gettext_lazy("Give a number of faces: a whole number from 0 to 1000000.")

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
            raise forms.ValidationError(_("Use a year (1915), a month (1915-03) or a day (1915-03-12)."))
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
            raise forms.ValidationError(_("Not a date: %(value)s") % {"value": value}) from exc


class PartialDateFilter(django_filters.Filter):
    field_class = PartialDateField


class FaceCountField(forms.IntegerField):
    """A number of faces on a page: a whole number from 0 to FACE_COUNT_MAX (unbounded, a number past
    64 bits reached the database, which cannot compare it: a 500)."""

    default_error_messages = {
        "invalid": FACE_COUNT_MESSAGE,
        "min_value": FACE_COUNT_MESSAGE,
        "max_value": FACE_COUNT_MESSAGE,
    }

    def __init__(self, **kwargs):
        super().__init__(min_value=0, max_value=FACE_COUNT_MAX, **kwargs)


class FaceCountFilter(django_filters.NumberFilter):
    field_class = FaceCountField


class TrueFalseField(forms.CharField):
    """true or false (or 1 or 0); empty for either. Anything else is refused, not read as "either"."""

    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        value = super().to_python(value).strip().lower()
        if not value:
            return None
        if value not in self.VALUES:
            raise forms.ValidationError(_("Use true or false."))
        return self.VALUES[value]


class TrueFalseFilter(django_filters.BooleanFilter):
    field_class = TrueFalseField


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


def keep_parameter(queryset, name, value):
    """Filters are applied together by the FilterSet, which knows how they interact."""
    return queryset


class SearchFilterSet(django_filters.FilterSet):
    """Validates search parameters (and documents them in the OpenAPI schema)."""

    corpus = CorpusFilter(method=keep_parameter, help_text="Corpus id or name.")
    document = IdFilter(method=keep_parameter, help_text="Document id.")
    q = django_filters.CharFilter(
        method=keep_parameter,
        help_text="Full text over document titles and metadata (PostgreSQL search when available).",
    )
    title = django_filters.CharFilter(method=keep_parameter, help_text="Substring of the document title.")
    date_from = PartialDateFilter(
        method=keep_parameter, help_text="Documents dated on or after: a year, year-month or ISO day."
    )
    date_to = PartialDateFilter(
        method=keep_parameter, end=True, help_text="Documents dated on or before: a year, year-month or ISO day."
    )
    front_page = TrueFalseFilter(method=keep_parameter, help_text="Front pages only (true) or others (false).")
    review_status = django_filters.ChoiceFilter(method=keep_parameter, choices=ReviewStatus.choices)
    min_density = FaceCountFilter(method=keep_parameter, help_text="At least this many faces on the page in all.")
    max_density = FaceCountFilter(method=keep_parameter, help_text="At most this many faces on the page in all.")
    gender = django_filters.ChoiceFilter(
        method=keep_parameter,
        choices=[(key, key) for key in GENDER_ALIASES],
        help_text="female, male, child or unknown faces; faceW/faceM/faceC are GallicaPix aliases.",
    )
    min_confidence = FloatFilter(
        method=keep_parameter, min_value=0, max_value=1, help_text="Detection confidence; curated faces count as 1."
    )
    min_size = FloatFilter(
        method=keep_parameter,
        min_value=0,
        max_value=100,
        help_text="Face area as a percentage of the page area, at least.",
    )
    max_size = FloatFilter(
        method=keep_parameter,
        min_value=0,
        max_value=100,
        help_text="Face area as a percentage of the page area, at most.",
    )
    status = django_filters.ChoiceFilter(
        method=keep_parameter, choices=SELECTABLE_STATUSES, help_text="Face review status."
    )
    source = django_filters.CharFilter(
        method=keep_parameter,
        help_text="'curator' (added or confirmed by a curator), 'model' (untouched), or a model name.",
    )
    person = django_filters.CharFilter(method=keep_parameter, help_text="Substring of the person's name.")
    min_faces = FaceCountFilter(method=keep_parameter, help_text="At least this many selected faces on the page.")
    max_faces = FaceCountFilter(method=keep_parameter, help_text="At most this many selected faces on the page.")

    class Meta:
        model = Page
        fields: list[str] = []

    @property
    def params(self) -> SearchParams:
        return SearchParams.from_cleaned(self.form.cleaned_data)


class StatsFilterSet(SearchFilterSet):
    """The statistics' parameters: the search's, and the correction of the women's share."""

    gender_correction = django_filters.ChoiceFilter(
        method=keep_parameter,
        choices=[("true", "true"), ("false", "false")],
        help_text=(
            "true: add the women's share corrected for the gender model's errors, as measured on the "
            "faces curators reviewed (corrected_female_share, with its 95 % interval, and gender_correction)."
        ),
    )


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
    # Set by search_params_narrowed: the first and last start dates (Page.document_date) the date
    # filters leave, so that pages are read in date order from the range rather than from the start.
    start_bounds: tuple[date | None, date | None] | None = None

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
    def count_column(self) -> str | None:
        """The Page column that counts each page's selected faces, or None when no column does.

        Page columns count by gender or among children: all non-rejected faces, those a curator stood
        behind (`source=curator`, whatever `min_confidence`: curated faces count as certain), and those
        at least as confident as one of PAGE_COUNT_CONFIDENCE_STEPS (kept by page_counts_refresh).
        """
        if self.min_size is not None or self.max_size is not None or self.status or self.person:
            return None
        column = GENDER_COLUMN[self.gender]
        if self.source == CURATOR_SOURCE:
            return f"curated_{column}"
        if self.source:
            return None
        if self.min_confidence is None:
            return column
        step = PAGE_COUNT_CONFIDENCE_STEPS.get(self.min_confidence)
        return f"{column}_{step}" if step else None

    @property
    def uses_face_rows(self) -> bool:
        """Whether faces must be read row by row (no page column counts the selected faces)."""
        return self.count_column is None

    @property
    def selects_faces(self) -> bool:
        """Whether any face filter is given (then only pages with a selected face match by default)."""
        return bool(
            self.gender
            or self.min_confidence is not None
            or self.min_size is not None
            or self.max_size is not None
            or self.status
            or self.source
            or self.person
        )

    def page_extremes_condition(self, prefix: str = "", *, walk: bool = False) -> Q | None:
        """The page-column test for "at least one face this confident, this large or this small", or None.

        When that one bound is the only face filter and the search asks for at least one selected
        face, a page's maximum confidence or extreme face sizes (kept by page_counts_refresh)
        answer it without reading faces. `walk`: tested row by row (see Unindexed).
        """
        extreme = self._page_extreme()
        if extreme is None:
            return None
        passes, _fails, column, value = extreme
        return Q(passes(walk_column(prefix + column, walk), value))

    def page_extremes_failing(self) -> Q | None:
        """The pages with a face that fail page_extremes_condition's test (its column is null on
        pages without one), or None when that test does not apply."""
        extreme = self._page_extreme()
        if extreme is None:
            return None
        _passes, fails, column, value = extreme
        return Q(fails(F(column), value))

    def _page_extreme(self) -> tuple[type, type, str, float] | None:
        if self.face_count_bounds() != (1, None) or self.gender or self.status or self.source or self.person:
            return None
        bounds = [
            (GreaterThanOrEqual, LessThan, "max_confidence", self.min_confidence),
            (GreaterThanOrEqual, LessThan, "max_face_share", self.min_size),
            (LessThanOrEqual, GreaterThan, "min_face_share", self.max_size),
        ]
        given = [bound for bound in bounds if bound[-1] is not None]
        return given[0] if len(given) == 1 else None

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
    return SearchParams.from_cleaned(filters_clean(data, filterset_class))


def stats_params_parse(data: Mapping) -> tuple[SearchParams, bool]:
    """Validate the statistics' query parameters: the search's, and whether to correct the women's share."""
    cleaned = filters_clean(data, StatsFilterSet)
    return SearchParams.from_cleaned(cleaned), cleaned.get("gender_correction") == "true"


# The lower and upper ends of the filters that make a range: swapped ends would match nothing (a 200
# with no result where the request is a mistake).
RANGES = (
    ("date_from", "date_to"),
    ("min_density", "max_density"),
    ("min_size", "max_size"),
    ("min_faces", "max_faces"),
)


def filters_clean(data: Mapping, filterset_class: type[SearchFilterSet]) -> dict:
    """The filterset's parameters, validated; a DRF ValidationError (400) names each bad one.

    A parameter that is no filter is left to the view, which refuses those it does not take
    (webapp.query.StrictQueryParameters)."""
    form = _params_form_class(filterset_class)(data=data)
    errors = {} if form.is_valid() else dict(translate_validation(form.errors).detail)
    for low, high in RANGES:
        low_value, high_value = form.cleaned_data.get(low), form.cleaned_data.get(high)
        if low_value is not None and high_value is not None and high_value < low_value:
            errors[high] = [_("%(high)s is below %(low)s: nothing can match both.") % {"high": high, "low": low}]
    if errors:
        raise ValidationError(errors)
    return form.cleaned_data
