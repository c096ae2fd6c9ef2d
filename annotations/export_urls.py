"""API routes for exports and annotation imports (mounted under /api/)."""

from django.urls import path

from annotations import export_api

urlpatterns = [
    path("exports/", export_api.ExportListCreateApi.as_view(), name="api-exports"),
    path("exports/<int:pk>/", export_api.ExportDetailApi.as_view(), name="api-export"),
    path("exports/<int:pk>/download/", export_api.ExportDownloadApi.as_view(), name="api-export-download"),
    path("exports/<int:pk>/files/<path:name>", export_api.ExportFileApi.as_view(), name="api-export-file"),
    path("imports/annotations/", export_api.AnnotationImportApi.as_view(), name="api-annotation-import"),
]
