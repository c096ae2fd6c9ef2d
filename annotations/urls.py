"""API routes of the annotations app (mounted under /api/)."""

from django.urls import path

from annotations import api

urlpatterns = [
    path("corpora/", api.CorpusListApi.as_view(), name="api-corpora"),
    path("corpora/<int:pk>/", api.CorpusDetailApi.as_view(), name="api-corpus"),
    path("corpora/<int:pk>/owner/", api.CorpusOwnerApi.as_view(), name="api-corpus-owner"),
    path("corpora/<int:pk>/members/", api.CorpusMembersApi.as_view(), name="api-corpus-members"),
    path("corpora/<int:pk>/members/<int:user_id>/", api.CorpusMemberApi.as_view(), name="api-corpus-member"),
    path("corpora/<int:pk>/access-history/", api.CorpusAccessHistoryApi.as_view(), name="api-corpus-access-history"),
    path("documents/", api.DocumentListCreateApi.as_view(), name="api-documents"),
    path("documents/<int:pk>/", api.DocumentDetailApi.as_view(), name="api-document"),
    path("pages/", api.PageListApi.as_view(), name="api-pages"),
    path("pages/<int:pk>/", api.PageDetailApi.as_view(), name="api-page"),
    path("pages/<int:pk>/bulk/", api.PageBulkApi.as_view(), name="api-page-bulk"),
    path("faces/", api.FaceListCreateApi.as_view(), name="api-faces"),
    path("faces/bulk/", api.FacesBulkApi.as_view(), name="api-faces-bulk"),
    path("faces/<int:pk>/", api.FaceDetailApi.as_view(), name="api-face"),
    path("faces/<int:pk>/accept/", api.FaceAcceptApi.as_view(), name="api-face-accept"),
    path("faces/<int:pk>/revert/", api.FaceRevertApi.as_view(), name="api-face-revert"),
    path("faces/<int:pk>/history/", api.FaceHistoryApi.as_view(), name="api-face-history"),
]
