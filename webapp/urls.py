"""Top-level routes: web pages, the REST API, our IIIF endpoints, admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.settings import api_settings

from webapp.health import healthz
from webapp.login import RateLimitedLoginView

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", RateLimitedLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # ObtainAuthToken names DRF's own parsers: it gets ours, which refuse hostile JSON with a 400.
    path(
        "api/auth/token/",
        ObtainAuthToken.as_view(parser_classes=api_settings.DEFAULT_PARSER_CLASSES),
        name="api-token",
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("annotations.urls")),
    path("api/", include("annotations.search_urls")),
    path("api/", include("annotations.export_urls")),
    path("api/", include("detection.urls")),
    path("api/", include("detection.model_loop_urls")),
    path("iiif/", include("annotations.iiif_urls")),
    path("", include("frontend.urls")),
]
