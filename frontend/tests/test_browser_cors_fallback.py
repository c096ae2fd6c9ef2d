"""Browser: a page whose image host sends no CORS headers still opens in the review canvas."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from annotations.iiif.image_api import derivative_scale, image_request_url, size_within
from annotations.tests.factories import make_corpus, make_document, make_face, make_page
from tests.support.manifests import jpeg_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_canvas_opens_our_derivative_when_the_host_sends_no_cors(
    page, live_server, http_server, eager_celery, tmp_path
):
    # The loopback server answers without Access-Control-Allow-Origin, like many image hosts.
    service = f"{http_server.base_url}/iiif/f1"
    info = {
        "@context": "http://iiif.io/api/image/2/context.json",
        "@id": service,
        "protocol": "http://iiif.io/api/image",
        "width": 3000,
        "height": 4000,
        "profile": ["http://iiif.io/api/image/2/level1.json"],
    }
    http_server.add("/iiif/f1/info.json", json.dumps(info))
    w, h = derivative_scale(3000, 4000, 2000, 2000)
    derivative = image_request_url(service, "2", size=size_within("2", w, h)).removeprefix(http_server.base_url)
    http_server.add(derivative, jpeg_bytes(w, h, label="served by a host without CORS"), content_type="image/jpeg")
    record = make_page(document=make_document(corpus=make_corpus(is_public=True)), width=3000, height=4000)
    record.image_service_id = service
    record.save(update_fields=["image_service_id"])
    make_face(page=record, x=600, y=800, w=600, h=700)

    page.goto(f"{live_server.url}/pages/{record.pk}/")

    viewer = page.locator("#viewer")
    expect(viewer).to_have_attribute("data-image-source", "derivative", timeout=30000)
    page.wait_for_function("Number(document.getElementById('viewer').dataset.tilesLoaded || 0) > 0", timeout=20000)
    assert not viewer.get_attribute("data-open-failed")
    assert http_server.hits["/iiif/f1/info.json"] >= 1, "the host was tried first"
    assert http_server.hits[derivative] == 1, "one derivative fetched by the worker"
    expect(page.locator(".face-row")).to_have_count(1)
    page.screenshot(path=tmp_path / "collections-cors-fallback.png")
