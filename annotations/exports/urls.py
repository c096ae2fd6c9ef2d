"""API routes for exports (mounted under /api/)."""

from django.urls import path

from annotations.exports import api

urlpatterns = [
    path("exports/", api.ExportListCreateApi.as_view(), name="api-exports"),
    path("exports/<int:pk>/", api.ExportDetailApi.as_view(), name="api-export"),
    path("exports/<int:pk>/download/", api.ExportDownloadApi.as_view(), name="api-export-download"),
    path("exports/<int:pk>/files/<path:name>", api.ExportFileApi.as_view(), name="api-export-file"),
]
