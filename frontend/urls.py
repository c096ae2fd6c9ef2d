"""Web page routes."""

from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.home, name="home"),
    path("documents/import/", views.document_import, name="document-import"),
    path("documents/<int:document_id>/", views.document_detail, name="document"),
    path("pages/<int:page_id>/", views.page_detail, name="page"),
]
