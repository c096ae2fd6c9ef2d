"""Top-level routes: web pages, the REST API, our IIIF endpoints, admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from frontend.language import set_language
from webapp.api_root import ApiDocsView, ApiRootView, ApiSchemaView
from webapp.health import healthz
from webapp.login import ObtainAuthTokenView

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", ApiRootView.as_view(), name="api-root"),
    path("i18n/setlang/", set_language, name="set-language"),
    # The JavaScript strings' catalogue (djangojs domain) for the page's language; base.html loads it first.
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["frontend"]), name="javascript-catalog"),
    path("api/auth/token/", ObtainAuthTokenView.as_view(), name="api-token"),
    path("api/schema/", ApiSchemaView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("annotations.urls")),
    path("api/", include("annotations.search.urls")),
    path("api/", include("annotations.exports.urls")),
    path("api/", include("annotations.ingest.urls")),
    path("api/", include("detection.urls")),
    path("api/", include("detection.model_loop.urls")),
    path("iiif/", include("annotations.iiif_server.urls")),
    path("", include("frontend.urls")),
]
