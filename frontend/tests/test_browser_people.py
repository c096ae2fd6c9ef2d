"""Browser: a curator names a face, finds its near twins under "More like this", names them all in
one write, and follows the person's page back into the canvas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from annotations.ingest.manifests import document_import_run, document_request_import
from annotations.models import Corpus, CorpusMembership, CorpusRole, Face, FaceRevision, Person
from annotations.services import face_create
from detection.models import FaceEncoding
from detection.similarity import ENCODER_VERSION, similarity_cache_clear
from tests.support.clients import browser_log_in
from tests.support.identities import IDENTITIES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def twins(page, live_server, django_user_model, tmp_path):
    """A curator, two pages of photos; Kit Harington on both, Rose Leslie beside him on the second, encoded
    as the fake encoder would (the twin at 0.23 from the query, Rose beyond 0.6)."""
    dora = django_user_model.objects.create_user("dora")
    corpus = Corpus.objects.create(name="Portraits", is_public=False)
    CorpusMembership.objects.create(corpus=corpus, user=dora, role=CorpusRole.CURATOR)
    scans = tmp_path / "scans"
    scans.mkdir()
    for n, photo in ((1, "kit_harington.jpg"), (2, "kit_with_rose.jpg")):
        (scans / f"p{n}.jpg").write_bytes((IDENTITIES / photo).read_bytes())
    document = document_import_run(document_id=document_request_import(corpus=corpus, source=str(scans)).pk)
    first, second = document.pages.order_by("order")
    query = face_create(page=first, user=dora, x=364, y=41, w=64, h=83)
    twin = face_create(page=second, user=dora, x=237, y=69, w=86, h=119)
    far = face_create(page=second, user=dora, x=72, y=97, w=71, h=93)
    base = np.zeros(128, np.float32)
    for face, offset in ((query, 0.0), (twin, 0.02), (far, 0.3)):
        FaceEncoding.objects.create(
            face=face,
            corpus=corpus,
            vector=(base + offset).astype("<f4").tobytes(),
            model_version=ENCODER_VERSION,
            x=face.x,
            y=face.y,
            w=face.w,
            h=face.h,
        )
    # Known in the corpus already (a note from an earlier session), with no face yet: the field offers him.
    Person.objects.create(corpus=corpus, name="Kit Harington", note="Actor")
    similarity_cache_clear()
    page.set_viewport_size({"width": 1280, "height": 900})
    browser_log_in(page, live_server, dora)
    yield {"query": query, "twin": twin, "far": far, "page": first}
    similarity_cache_clear()


def test_a_curator_names_near_twins_through_more_like_this(page, live_server, twins):
    query, twin, far = twins["query"], twins["twin"], twins["far"]
    page.goto(f"{live_server.url}/pages/{twins['page'].pk}/?face={query.pk}")
    page.wait_for_selector("#review[data-ready='1']", timeout=20000)

    page.click("#more-like-this summary")

    items = page.locator("#similar-list .similar-item")
    expect(items).to_have_count(2, timeout=10000)
    assert [int(i) for i in items.evaluate_all("els => els.map(e => e.dataset.faceId)")] == [twin.pk, far.pk]
    expect(items.nth(0).locator(".similar-distance")).to_have_text("distance 0.23")
    expect(items.nth(1).locator(".similar-distance")).to_have_text("distance 3.39")
    expect(page.locator("#similar-accept-all")).to_have_text("Name all likely matches (1)")
    page.locator("#face-person").press_sequentially("Kit")
    expect(page.locator("#people-options option")).to_have_count(1)
    expect(page.locator("#people-options option")).to_have_attribute("value", "Kit Harington")
    page.fill("#face-person", "Kit Harington")  # as picking the suggestion does
    page.click("#similar-accept-all")

    # One naming write for the face and its likely match; the far face stays unnamed.
    expect(page.locator("#similar-status")).to_contain_text("Named 2", timeout=10000)
    kit = Person.objects.get(name="Kit Harington")
    assert set(kit.faces.values_list("pk", flat=True)) == {query.pk, twin.pk}
    assert Face.objects.get(pk=far.pk).person_id is None
    assert FaceRevision.objects.filter(face__in=[query, twin], after__person="Kit Harington").count() == 2
    expect(items.nth(0).locator(".similar-person")).to_have_text("Kit Harington")
    expect(items.nth(0).locator(".similar-accept")).to_have_count(0)  # named already
    expect(items.nth(1).locator(".similar-accept")).to_have_count(1)
    expect(page.locator("#save-state")).to_have_text("All changes saved")

    page.click("#person-link")
    page.wait_for_url(f"{live_server.url}/people/{kit.pk}/")
    cards = page.locator("#person-faces .face-card")
    expect(cards).to_have_count(2)
    page.wait_for_function(
        "[...document.querySelectorAll('#person-faces img')].every(img => img.complete && img.naturalWidth > 0)",
        timeout=10000,
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "person-page.png"), full_page=True)

    page.click(f"#person-faces [data-face-id='{twin.pk}'] a")
    page.wait_for_selector("#review[data-ready='1']", timeout=20000)
    expect(page.locator("#editor-title")).to_have_text(f"Face {twin.pk}")
    expect(page.locator("#face-person")).to_have_value("Kit Harington")
