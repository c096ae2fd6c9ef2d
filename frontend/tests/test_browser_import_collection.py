"""Browser: a curator imports a IIIF Collection of three manifests, one failing, from the web form."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from annotations.models import Document
from tests.support.http_server import Scripted
from tests.support.manifests import p2_manifest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_collection_imports_each_manifest_and_shows_the_one_that_failed(
    logged_in_page, live_server, http_server, eager_celery, tmp_path
):
    members = [
        http_server.add(f"/m{n}.json", json.dumps(p2_manifest(http_server.base_url, n, label=f"Issue {n}")))
        for n in (1, 2)
    ]
    members.append(http_server.script("/m3.json", Scripted(404, b"")))
    url = http_server.url("/collection.json")
    http_server.add(
        "/collection.json",
        json.dumps(
            {
                "@context": "http://iiif.io/api/presentation/3/context.json",
                "id": url,
                "type": "Collection",
                "label": {"en": ["Excelsior, March 1915"]},
                "items": [{"id": member, "type": "Manifest", "label": {"en": [member[-7:]]}} for member in members],
            }
        ),
    )

    page = logged_in_page
    page.fill("#import-source", url)
    page.fill("#import-corpus", "Press")
    page.click("#import-submit")

    expect(page.locator("#import-status")).to_have_text("Done", timeout=30000)
    expect(page.locator("#collection-progress")).to_have_text("2 of 3 manifests imported, 1 failed")
    rows = page.locator("#collection-members li")
    expect(rows).to_have_count(3)
    expect(rows.nth(2)).to_have_attribute("data-status", "failed")
    expect(rows.nth(2)).to_contain_text("HTTP 404")
    page.screenshot(path=tmp_path / "collections-import.png", full_page=True)

    rows.nth(1).locator("a").click()
    expect(page.locator("h1")).to_have_text("Issue 2")
    assert Document.objects.get(label="Issue 2").pages.count() == 2
    expect(page.locator(".thumbs li")).to_have_count(2)
