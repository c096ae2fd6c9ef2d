"""API routes for search (mounted under /api/)."""

from django.urls import path

from annotations import search_api

urlpatterns = [
    path("search/pages/", search_api.PageSearchApi.as_view(), name="api-search-pages"),
    path("search/faces/", search_api.FaceSearchApi.as_view(), name="api-search-faces"),
    path("stats/faces-by-year/", search_api.FacesByYearApi.as_view(), name="api-stats-faces-by-year"),
]
