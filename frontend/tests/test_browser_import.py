"""Browser: a curator imports a manifest through the web form and opens a page in deep zoom."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
from annotations.models import Document
from tests.support.manifests import jpeg_bytes
from webapp.jobs import JobStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_curator_imports_a_manifest_and_sees_tiles_load(
    logged_in_page, live_server, http_server, eager_celery, tmp_path, client
):
    # Scans served by our own IIIF Image API, reached through another server's paths, stand in for a
    # remote image server (a manifest may not point at /iiif/local/ on this server itself).
    scans = tmp_path / "scans"
    scans.mkdir()
    for n in (1, 2):
        (scans / f"f{n}.jpg").write_bytes(jpeg_bytes(1600, 2200, label=f"page {n}"))
    local = document_import_run(
        document_id=document_request_import(
            corpus=corpus_get_or_create(name="Scans", is_public=True), source=str(scans)
        ).pk
    )
    manifest = json.loads(client.get(f"/iiif/documents/{local.pk}/manifest.json").content)
    remote = http_server.proxy("/remote-iiif/", f"{live_server.url}/iiif/local/")
    manifest_json = json.dumps(manifest).replace("http://testserver/iiif/local/", remote)
    manifest_url = http_server.add("/excelsior/manifest.json", manifest_json)

    page = logged_in_page
    page.fill("#import-source", manifest_url)
    page.fill("#import-corpus", "Press")
    page.click("#import-submit")

    expect(page.locator("#import-status")).to_have_text("Done", timeout=20000)
    document = Document.objects.get(corpus__name="Press")
    assert document.import_status == JobStatus.DONE
    expect(page.locator(".thumbs li")).to_have_count(2)

    page.locator(".thumbs a").first.click()
    viewer = page.locator("#viewer")
    expect(viewer.locator("canvas").first).to_be_visible(timeout=15000)
    page.wait_for_function("Number(document.getElementById('viewer').dataset.tilesLoaded || 0) > 0", timeout=20000)
    assert not viewer.get_attribute("data-open-failed")
    page.click("#next-page")
    expect(page).to_have_url(f"{live_server.url}/pages/{document.pages.get(order=2).pk}/")


def test_a_failed_import_shows_its_error(logged_in_page, http_server, eager_celery):
    url = http_server.add("/broken/manifest.json", "{broken")
    page = logged_in_page
    page.fill("#import-source", url)
    page.click("#import-submit")

    expect(page.locator("#import-status")).to_have_text("Failed", timeout=20000)
    expect(page.locator("#import-error")).to_contain_text("not valid JSON")
