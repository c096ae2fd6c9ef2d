"""API routes for annotation imports (mounted under /api/)."""

from django.urls import path

from annotations.ingest import api

urlpatterns = [
    path("imports/annotations/", api.AnnotationImportApi.as_view(), name="api-annotation-import"),
    path("imports/datasets/<int:pk>/", api.DatasetImportApi.as_view(), name="api-dataset-import"),
]
