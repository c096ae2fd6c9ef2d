"""Browser: a corpus's admin removes a wrong import from its document page (after ticking that it cannot be
undone) and lands home, where it is gone; a document a curator has worked on says why it stays; the owner
of a corpus a typo made removes its only document, then deletes the corpus from its settings."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import Corpus, Document, FaceStatus
from annotations.tests.factories import make_document, make_face, make_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def albums(logged_in_page, django_user_model):
    """carol's private corpus."""
    return Corpus.objects.create(name="Albums", owner=django_user_model.objects.get(username="carol"), is_public=False)


def submit_once_confirmed(page, form: str) -> None:
    """Submit the form: nothing is sent before its "cannot be undone" box is ticked."""
    page.click(f"#{form}-submit")
    expect(page.locator(f"#{form}-confirm:invalid")).to_have_count(1)
    page.check(f"#{form}-confirm")
    page.click(f"#{form}-submit")


def test_an_admin_removes_a_wrong_import_from_its_page(logged_in_page, live_server, albums):
    kept = make_document(corpus=albums, label="Family album, 1902")
    wrong = make_document(corpus=albums, label="Somebody else's album")
    make_face(page=make_page(document=wrong))
    page = logged_in_page
    page.goto(f"{live_server.url}/documents/{wrong.pk}/")

    submit_once_confirmed(page, "document-remove")

    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator(".messages")).to_contain_text("Document “Somebody else's album” removed.")
    expect(page.get_by_role("link", name="Somebody else's album")).to_have_count(0)
    expect(page.get_by_role("link", name="Family album, 1902")).to_have_count(1)
    assert list(Document.objects.filter(corpus=albums)) == [kept]


def test_a_document_a_curator_worked_on_says_why_it_cannot_be_removed(logged_in_page, live_server, albums):
    document = make_document(corpus=albums, label="Family album, 1902")
    make_face(page=make_page(document=document), status=FaceStatus.ACCEPTED)
    page = logged_in_page
    page.goto(f"{live_server.url}/documents/{document.pk}/")

    expect(page.locator("#document-remove-refused")).to_contain_text("curated faces: 1")
    expect(page.locator("#document-remove-form")).to_have_count(0)


def test_an_owner_removes_a_typo_corpus_s_only_document_then_deletes_the_corpus(
    logged_in_page, live_server, django_user_model
):
    carol = django_user_model.objects.get(username="carol")
    typo = Corpus.objects.create(name="Excelsoir", owner=carol, is_public=False)
    wrong = make_document(corpus=typo, label="Excelsior, 12 mars 1915")
    page = logged_in_page
    page.goto(f"{live_server.url}/corpora/{typo.pk}/")
    expect(page.locator("#corpus-delete-refused")).to_contain_text("It still holds 1 document")
    expect(page.locator("#corpus-delete-form")).to_have_count(0)

    page.goto(f"{live_server.url}/documents/{wrong.pk}/")
    page.check("#document-remove-confirm")
    page.click("#document-remove-submit")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/corpora/{typo.pk}/")
    submit_once_confirmed(page, "corpus-delete")

    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator(".messages")).to_contain_text("Corpus “Excelsoir” deleted.")
    expect(page.get_by_text("Excelsoir")).to_have_count(1)  # the message only
    assert not Corpus.objects.filter(pk=typo.pk).exists()
