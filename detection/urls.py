"""API routes of the detection app (mounted under /api/)."""

from django.urls import path

from detection import api

urlpatterns = [
    path("runs/", api.RunListCreateApi.as_view(), name="api-runs"),
    path("runs/<int:pk>/", api.RunDetailApi.as_view(), name="api-run"),
    path("runs/<int:pk>/cancel/", api.RunCancelApi.as_view(), name="api-run-cancel"),
    path("runs/<int:pk>/retry/", api.RunRetryApi.as_view(), name="api-run-retry"),
    path("runs/<int:pk>/pages/", api.RunPagesApi.as_view(), name="api-run-pages"),
    path("runs/<int:pk>/faces.csv", api.RunFacesCsvApi.as_view(), name="api-run-faces-csv"),
    path("runs/<int:pk>/annotated.zip", api.RunAnnotatedZipApi.as_view(), name="api-run-annotated-zip"),
    path("pages/<int:pk>/annotated.jpg", api.PageAnnotatedApi.as_view(), name="api-page-annotated"),
    path("detectors/", api.DetectorListApi.as_view(), name="api-detectors"),
]
