"""`/api/`: the list of API endpoints, read from the URL configuration so it never goes stale; the
OpenAPI schema and its documentation page."""

from __future__ import annotations

import re

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.query import StrictQueryParameters
from webapp.renderers import JSONRenderer

API_PREFIX = "api/"
# `<int:pk>` in a route reads `{pk}` in the listing, as in the OpenAPI schema.
CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def api_endpoints() -> list[dict[str, str]]:
    """Every named route under /api/ as {"name", "path"}, in URL-configuration order."""

    def walk(patterns, prefix: str):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and pattern.name and route.startswith(API_PREFIX):
                yield {"name": pattern.name, "path": "/" + CONVERTER.sub(r"{\1}", route)}

    seen: set[str] = set()
    endpoints = []
    for endpoint in walk(get_resolver().url_patterns, ""):
        if endpoint["path"] not in seen and endpoint["path"] != "/" + API_PREFIX:
            seen.add(endpoint["path"])
            endpoints.append(endpoint)
    return endpoints


class ApiRootView(StrictQueryParameters, APIView):
    """The entry point of the API: where the docs are and which endpoints exist (no corpus data)."""

    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(
            {
                "docs": request.build_absolute_uri(reverse("api-docs")),
                "schema": request.build_absolute_uri(reverse("api-schema")),
                "endpoints": api_endpoints(),
            }
        )


class ErrorsInJson:
    """A refused request answers JSON, which names what it refuses, whatever the view's own format (the
    schema's YAML would show DRF's error objects, the docs' HTML page only "400 Bad Request")."""

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


class ApiSchemaView(ErrorsInJson, StrictQueryParameters, SpectacularAPIView):
    """The OpenAPI schema, in YAML or JSON (`?format=json`); `?lang=` translates it."""

    query_parameters = ("lang", "version")


class ApiDocsView(ErrorsInJson, StrictQueryParameters, SpectacularSwaggerView):
    """Swagger UI on the schema; `?lang=` and `?version=` are passed on to the schema."""

    query_parameters = ("lang", "version")
