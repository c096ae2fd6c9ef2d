"""The web pages take the query parameters they read and no other (frontend.query): a misspelt or bad
one answers a 400 page naming it, in the reader's language, never the page that silently ignores it."""

from __future__ import annotations

import pytest
from django.test import Client

from annotations.models import Document, Face, Page
from webapp.jobs import JobStatus

ID_MESSAGE = "Give an id: a whole number from 1 to 9223372036854775807."


@pytest.fixture
def scanned_page(corpus):
    """A page of the `corpus` fixture (alice curates it, charlie has no role) with one face."""
    document = Document.objects.create(corpus=corpus, source="https://example.org/manifest.json", label="Excelsior")
    document.import_status = JobStatus.DONE
    document.save(update_fields=["import_status"])
    page = Page.objects.create(document=document, order=1, canvas_id="https://example.org/c1", width=800, height=1000)
    Face.objects.create(page=page, x=10, y=10, w=50, h=60, confidence=0.9, source="res10@test")
    return page


def refused(response) -> str:
    assert response.status_code == 400, response.status_code
    return response.content.decode()


def main(html: str) -> str:
    """The page's own content (the header around it holds a fresh CSRF token each time)."""
    return html[html.index("<main") : html.index("</main>")]


def test_the_review_canvas_takes_a_face_id_and_nothing_else(client, alice, scanned_page):
    client.force_login(alice)
    face = scanned_page.faces.get()
    assert client.get(f"/pages/{scanned_page.pk}/?face={face.pk}").status_code == 200
    # The search page's link to a face of another page (or a face since deleted) opens the page as usual.
    assert client.get(f"/pages/{scanned_page.pk}/?face=999999").status_code == 200
    body = refused(client.get(f"/pages/{scanned_page.pk}/?fcae={face.pk}"))
    assert "fcae" in body and "Unknown parameter; this request takes face." in body
    assert f'href="/pages/{scanned_page.pk}/"' in body, "a link to the page without the refused parameters"
    body = refused(client.get(f"/pages/{scanned_page.pk}/?face=first"))
    assert "face" in body and ID_MESSAGE in body
    assert ID_MESSAGE in refused(client.get(f"/pages/{scanned_page.pk}/?face=0"))
    assert ID_MESSAGE in refused(client.get(f"/pages/{scanned_page.pk}/?face={2**63}"))


def test_a_refusal_does_not_reveal_a_page_the_reader_cannot_see(client, charlie, scanned_page):
    client.force_login(charlie)
    assert client.get(f"/pages/{scanned_page.pk}/").status_code == 404
    # Refused before the page is looked up: the same answer (but for the address it names) for a page
    # that exists and one that does not.
    existing = main(refused(client.get(f"/pages/{scanned_page.pk}/?zz=1"))).replace(
        f"/pages/{scanned_page.pk}/", "/pages/N/"
    )
    missing = main(refused(client.get("/pages/999999/?zz=1"))).replace("/pages/999999/", "/pages/N/")
    assert existing == missing and "zz" in existing


def test_the_models_page_selects_the_corpus_it_is_given(client, alice, corpus):
    client.force_login(alice)
    body = client.get(f"/training/?corpus={corpus.pk}").content.decode()
    assert f'<option value="{corpus.pk}" selected>' in body
    assert "selected>" not in client.get("/training/").content.decode()
    assert ID_MESSAGE in refused(client.get("/training/?corpus=Excelsior"))
    assert "Unknown parameter; this request takes corpus." in refused(client.get("/training/?corpus_id=1"))


def test_the_exports_page_selects_the_document_it_is_given(client, alice, scanned_page):
    client.force_login(alice)
    document = scanned_page.document
    body = client.get(f"/exports/?document={document.pk}").content.decode()
    assert body.count(f'<option value="{document.pk}" selected>') == 2, "both forms select it"
    assert ID_MESSAGE in refused(client.get("/exports/?document=last"))
    # A form post is not a read: its query string is not the page's to judge.
    response = client.post("/exports/?from=menu", {"kind": "csv", "document": document.pk})
    assert response.status_code == 302


def test_the_refusal_speaks_the_reader_s_language(alice, scanned_page):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    client.force_login(alice)
    body = refused(client.get(f"/pages/{scanned_page.pk}/?face=premier&visage=1"))
    assert "Donnez un identifiant" in body
    assert "Paramètre inconnu" in body and "visage" in body


def test_the_health_probe_takes_no_parameter(client):
    response = client.get("/healthz?verbose=1")
    assert response.status_code == 400
    assert response.json() == {"verbose": ["Unknown parameter; this request takes none."]}
