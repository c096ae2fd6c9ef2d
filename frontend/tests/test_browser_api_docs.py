"""Browser: `/api/docs/` renders Swagger UI with every host but ours cut off."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_with_the_network_cut(page, live_server, tmp_path):
    ours = urlsplit(live_server.url).netloc
    refused = []

    def only_our_host(route):
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_our_host)
    page.goto(f"{live_server.url}/api/docs/")

    expect(page.locator("#swagger-ui .information-container")).to_contain_text("Visages API", timeout=20000)
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible()
    page.screenshot(path=tmp_path / "collections-api-docs.png")
    assert refused == []
