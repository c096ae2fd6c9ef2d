"""Search and statistics endpoints (thin: validate the query, call one selector, serialise)."""

from __future__ import annotations

import csv
import io

import django_filters
from django import forms
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.search.gender_correction import CORRECTED_KEYS, women_share_correct
from annotations.search.params import SearchFilterSet, StatsFilterSet, search_params_parse, stats_params_parse
from annotations.search.planner import (
    SEARCH_PAGE_SIZE,
    FaceSearchFilterSet,
    PageSearchFilterSet,
    face_search_results,
    matching_faces_attach,
    page_search_results,
)
from annotations.search.stats import faces_by_year, faces_totals
from annotations.serializers import CuratorNamesToReader, FaceSearchSerializer, PageSearchSerializer
from webapp.query import StrictQueryParameters
from webapp.renderers import JSONRenderer
from webapp.throttling import anonymous_throttle_check

STATS_COLUMNS = [
    "year",
    "pages",
    "pages_with_faces",
    "faces",
    "female",
    "male",
    "child",
    "unknown",
    "female_share",
    "male_share",
    "faces_per_page",
    "curated_faces",
    "curated_female",
    "curated_male",
    "curated_child",
    "curated_unknown",
    "curated_female_share",
    "predicted_faces",
    "predicted_female",
    "predicted_male",
    "predicted_child",
    "predicted_unknown",
    "curated_share",
]


class SearchPagination(PageNumberPagination):
    """Page numbers with no cap on the number of results (GallicaPix stops at 2,000).

    A page size past max_page_size gives max_page_size; one that is no whole number from 1 is a 400
    (DRF's own paginator would silently use the default).
    """

    page_size = SEARCH_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request) -> int:
        value = request.query_params.get(self.page_size_query_param, "")
        if value == "":
            return self.page_size
        try:
            return min(forms.IntegerField(min_value=1).clean(value), self.max_page_size)
        except forms.ValidationError as exc:
            message = _("Give a number of results per page: a whole number from 1 (at most %(max)s are given).")
            raise ValidationError({self.page_size_query_param: [message % {"max": self.max_page_size}]}) from exc


def schema_parameters(filterset_class: type[SearchFilterSet]) -> list[OpenApiParameter]:
    """The filterset's parameters for the OpenAPI schema."""
    types = {
        django_filters.BooleanFilter: OpenApiTypes.BOOL,
        django_filters.NumberFilter: OpenApiTypes.NUMBER,
    }
    parameters = []
    for name, flt in filterset_class.base_filters.items():
        kind = next((t for cls, t in types.items() if isinstance(flt, cls)), OpenApiTypes.STR)
        if issubclass(flt.field_class, forms.IntegerField):
            kind = OpenApiTypes.INT
        choices = [key for key, _ in flt.extra.get("choices", [])] or None
        parameters.append(
            OpenApiParameter(name, kind, description=flt.extra.get("help_text", ""), enum=choices, required=False)
        )
    return parameters


class CsvRenderer(BaseRenderer):
    """Rows of dicts as CSV, in STATS_COLUMNS order, then the corrected women's share when the rows have it."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and response.exception:
            return self._error_rows(data)
        rows = data if isinstance(data, list) else [data]
        columns = STATS_COLUMNS + [key for key in CORRECTED_KEYS if rows and key in rows[0]]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue().encode(self.charset)

    def _error_rows(self, errors: dict) -> bytes:
        """A refused request as one row per message, so that a downloaded file says what was wrong."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["parameter", "error"])
        for name, messages in errors.items():
            writer.writerows([name, message] for message in (messages if isinstance(messages, list) else [messages]))
        return buffer.getvalue().encode(self.charset)


class CountedResults:
    """A queryset whose count is already known: the paginator reads count() and then slices.

    `attach` runs on each slice (one more query for the whole slice, not one per row).
    """

    ordered = True

    def __init__(self, queryset, count: int, attach=None):
        self.queryset = queryset
        self.total = count
        self.attach = attach

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, key):
        rows = self.queryset[key]
        return self.attach(list(rows)) if self.attach and isinstance(key, slice) else rows


@extend_schema(parameters=schema_parameters(PageSearchFilterSet))
class PageSearchApi(CuratorNamesToReader, StrictQueryParameters, generics.ListAPIView):
    """Pages matching the search, with their number of selected faces; `faces` lists those faces."""

    serializer_class = PageSearchSerializer
    pagination_class = SearchPagination
    # The filterset validates the parameters; get_queryset applies them, no filter backend.
    filter_backends: list = []
    filterset_class = PageSearchFilterSet

    def get_queryset(self):
        params = search_params_parse(self.request.query_params, filterset_class=self.filterset_class)
        count, pages = page_search_results(user=self.request.user, params=params)
        return CountedResults(pages, count, attach=lambda rows: matching_faces_attach(pages=rows, params=params))


@extend_schema(parameters=schema_parameters(FaceSearchFilterSet))
class FaceSearchApi(StrictQueryParameters, generics.ListAPIView):
    """Faces the search selects, with an IIIF crop of each."""

    serializer_class = FaceSearchSerializer
    pagination_class = SearchPagination
    # The filterset validates the parameters; get_queryset applies them, no filter backend.
    filter_backends: list = []
    filterset_class = FaceSearchFilterSet

    def get_queryset(self):
        params = search_params_parse(self.request.query_params, filterset_class=self.filterset_class)
        count, faces = face_search_results(user=self.request.user, params=params)
        return CountedResults(faces, count)


class FacesByYearApi(StrictQueryParameters, APIView):
    """Faces per year for the search filters: pages, pages with faces, gender counts and shares.

    Each count is also split by source: `curated_*` (faces accepted, edited or added) and
    `predicted_*` (faces only a model proposed); `curated_share` is the share of faces curated.
    `?gender_correction=true` adds the women's share corrected for the gender model's errors measured
    on reviewed pages, with its 95 % interval, and the measurement (annotations.search.gender_correction).
    `?format=csv` downloads the yearly rows as CSV.
    """

    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CsvRenderer]
    # The parameters it takes, which stats_params_parse validates.
    filterset_class = StatsFilterSet

    @extend_schema(parameters=schema_parameters(StatsFilterSet), responses=OpenApiTypes.OBJECT)
    def get(self, request):
        params, gender_correction = stats_params_parse(request.query_params)
        if gender_correction:
            anonymous_throttle_check(request, "correction-anonymous")
        rows = faces_by_year(user=request.user, params=params)
        totals = faces_totals(rows)
        body = {"count": len(rows), "results": rows, "totals": totals}
        if gender_correction:
            body["gender_correction"] = women_share_correct(user=request.user, params=params, rows=[*rows, totals])
        if request.accepted_renderer.format == CsvRenderer.format:
            return Response(rows, headers={"Content-Disposition": 'attachment; filename="faces-by-year.csv"'})
        return Response(body)
