"""Routes of our IIIF endpoints (mounted under /iiif/)."""

from django.urls import path, re_path

from annotations.iiif_server import views

urlpatterns = [
    path("documents/<int:document_id>/manifest.json", views.manifest, name="iiif-manifest"),
    path("pages/<int:page_id>/annotations.json", views.annotations, name="iiif-annotations"),
    path("pages/<int:page_id>/derivative.jpg", views.derivative, name="iiif-derivative"),
    re_path(r"^local/(?P<key>[a-f0-9]{32})/(?P<name>[^/]+)/info\.json$", views.image_info, name="iiif-info"),
    re_path(
        r"^local/(?P<key>[a-f0-9]{32})/(?P<name>[^/]+)/(?P<region>[^/]+)/(?P<size>[^/]+)/"
        r"(?P<rotation>[^/]+)/(?P<quality>[a-z]+)\.(?P<fmt>[a-z]+)$",
        views.image_request,
        name="iiif-image",
    ),
]
