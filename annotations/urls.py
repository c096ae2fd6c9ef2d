"""API routes of the annotations app (mounted under /api/)."""

from django.urls import path

from annotations import api

urlpatterns = [
    path("corpora/", api.CorpusListApi.as_view(), name="api-corpora"),
    path("documents/", api.DocumentListCreateApi.as_view(), name="api-documents"),
    path("documents/<int:pk>/", api.DocumentDetailApi.as_view(), name="api-document"),
    path("pages/", api.PageListApi.as_view(), name="api-pages"),
    path("pages/<int:pk>/", api.PageDetailApi.as_view(), name="api-page"),
]
