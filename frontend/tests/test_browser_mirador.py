"""Browser: our live manifest opens in Mirador (vendored, test-only) with the page's faces listed and drawn.

Mirador runs on another origin than the app (the loopback test server), so the manifest, the
annotation page and the images must be served with CORS, and anonymously: Mirador sends no cookies.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import expect

from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
from annotations.models import Corpus, Face, FaceStatus, Gender
from tests.support.synthetic_pages import newspaper_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MIRADOR = Path(__file__).resolve().parents[2] / "tests" / "vendor" / "mirador" / "mirador.min.js"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Mirador</title>
<style>html,body{margin:0;height:100%%}#mirador{position:absolute;inset:0}</style></head>
<body><div id="mirador"></div><script src="/mirador.min.js"></script>
<script>
Mirador.viewer({
  id: "mirador",
  windows: [{manifestId: %(manifest)s}],
  window: {allowClose: false, sideBarOpenByDefault: true, highlightAllAnnotations: true},
  workspaceControlPanel: {enabled: false},
});
</script></body></html>"""


@pytest.fixture
def public_page_with_faces(tmp_path):
    pixels, boxes = newspaper_page(1600, 2300, faces=[(300, 260, 260), (1100, 300, 180), (500, 1200, 120)], seed=3)
    scans = tmp_path / "excelsior"
    scans.mkdir()
    Image.fromarray(pixels).save(scans / "p1.jpg", "JPEG", quality=80)
    corpus = corpus_get_or_create(name="Public demo")
    Corpus.objects.filter(pk=corpus.pk).update(is_public=True)
    document = document_import_run(document_id=document_request_import(corpus=corpus, source=str(scans)).pk)
    page = document.pages.get()
    kinds = [
        (Gender.FEMALE, FaceStatus.PREDICTED, "res10", 0.93),
        (Gender.MALE, FaceStatus.ACCEPTED, "res10", 0.88),
        (Gender.UNKNOWN, FaceStatus.ADDED, "curator", 1.0),
    ]
    for (x, y, w, h), (gender, status, source, confidence) in zip(boxes, kinds, strict=True):
        Face.objects.create(
            page=page, x=x, y=y, w=w, h=h, gender=gender, status=status, source=source, confidence=confidence
        )
    Face.objects.create(page=page, x=50, y=50, w=60, h=60, status=FaceStatus.REJECTED, source="res10", confidence=0.4)
    return document


def test_our_manifest_opens_in_mirador_with_the_faces_listed(
    page, live_server, http_server, public_page_with_faces, tmp_path
):
    manifest_url = f"{live_server.url}/iiif/documents/{public_page_with_faces.pk}/manifest.json"
    http_server.add_file("/mirador.min.js", MIRADOR, "application/javascript")
    viewer_url = http_server.add("/mirador.html", PAGE % {"manifest": json.dumps(manifest_url)}, "text/html")
    loopback = {urlsplit(live_server.url).netloc, urlsplit(http_server.base_url).netloc}
    refused = []

    def loopback_only(route):
        if urlsplit(route.request.url).netloc in loopback:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", loopback_only)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(viewer_url)
    page.get_by_role("tab", name="Annotations").click(timeout=30000)

    expect(page.get_by_text("Face, female, machine (res10 0.93)")).to_be_visible(timeout=30000)
    expect(page.get_by_text("Face, male, curated")).to_be_visible()
    expect(page.get_by_text("Face, unknown, curated")).to_be_visible()
    expect(page.get_by_text("3 annotations")).to_be_visible()
    # Let the deep-zoom tiles and the highlighted boxes settle before the picture.
    page.wait_for_timeout(2500)
    page.screenshot(path=tmp_path / "collections-mirador-faces.png")
    assert refused == []
