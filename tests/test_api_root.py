"""`/api/` lists the endpoints; `/api/docs/` loads Swagger UI from our own static files, not a CDN."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_api_root_lists_the_endpoints(client):
    response = client.get("/api/")

    assert response.status_code == 200
    body = response.json()
    paths = {endpoint["path"] for endpoint in body["endpoints"]}
    assert {"/api/documents/", "/api/faces/{pk}/", "/api/runs/", "/api/exports/", "/api/schema/"} <= paths
    assert "/api/" not in paths
    assert body["docs"].endswith("/api/docs/")
    assert all(endpoint["name"] for endpoint in body["endpoints"])


def test_the_swagger_page_loads_nothing_from_another_host(client):
    html = client.get("/api/docs/").content.decode()

    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle" in source for source in sources), sources
    assert [source for source in sources if source.startswith(("http:", "https:", "//"))] == []
