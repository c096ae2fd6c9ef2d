"""API routes for search (mounted under /api/)."""

from django.urls import path

from annotations.search import api

urlpatterns = [
    path("search/pages/", api.PageSearchApi.as_view(), name="api-search-pages"),
    path("search/faces/", api.FaceSearchApi.as_view(), name="api-search-faces"),
    path("stats/faces-by-year/", api.FacesByYearApi.as_view(), name="api-stats-faces-by-year"),
]
