"""Browser: a corpus's admin opens its settings from the home page, makes it public, gives a colleague a role,
changes it and takes it back, each change listed in the access history; a form read before someone
else's change is refused and the page shows the corpus as it is now."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import Corpus, CorpusMembership, Document, Page, ReviewStatus
from annotations.services import corpus_update, page_set_review_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def albums(logged_in_page, django_user_model):
    """carol's private corpus, and a colleague, dora, with no role in it."""
    django_user_model.objects.create_user("dora")
    return Corpus.objects.create(name="Albums", owner=django_user_model.objects.get(username="carol"), is_public=False)


def test_an_admin_shares_a_corpus_and_the_history_says_who_did_what(logged_in_page, live_server, albums, client):
    page = logged_in_page
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Settings and members").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings of Albums")

    page.select_option("#corpus-visibility", "true")
    page.fill("#corpus-description", "Family albums, 1890-1930")
    page.click("#save-settings")
    expect(page.locator(".messages")).to_contain_text("Settings saved.")
    assert client.get(f"/api/corpora/{albums.pk}/").status_code == 200, "anonymous visitors now see it"

    page.fill("#member-username", "dora")
    page.select_option("#member-role", "viewer")
    page.click("#add-member-submit")
    expect(page.locator(".messages")).to_contain_text("dora is now Viewer.")
    row = page.locator("#members tr[data-member=dora]")
    row.get_by_label("Role of dora").select_option("curator")
    row.locator(".change-role").click()
    expect(page.locator(".messages")).to_contain_text("dora is now Curator.")
    assert CorpusMembership.objects.get(corpus=albums, user__username="dora").role == "curator"

    page.locator("#members tr[data-member=dora] .remove-member").click()
    expect(page.locator(".messages")).to_contain_text("dora is no longer a member.")
    expect(page.locator("#members tr[data-member=dora]")).to_have_count(0)
    history = page.locator("#access-history li")
    expect(history).to_have_count(4)
    expect(history.nth(0)).to_contain_text("carol: Member removed (dora) · Role: Curator → –")
    expect(history.nth(1)).to_contain_text("carol: Role changed (dora) · Role: Viewer → Curator")
    expect(history.nth(2)).to_contain_text("carol: Member added (dora) · Role: – → Viewer")
    expect(history.nth(3)).to_contain_text("Description: – → Family albums, 1890-1930 · Visibility: private → public")


def test_a_form_read_before_someone_else_s_change_is_refused_and_shows_the_corpus_as_it_is(
    logged_in_page, live_server, albums
):
    page = logged_in_page
    page.goto(f"{live_server.url}/corpora/{albums.pk}/")
    # Another admin (another tab) makes the corpus public meanwhile.
    corpus_update(corpus=albums, user=None, access_version=1, changes={"is_public": True})

    page.fill("#member-username", "dora")
    page.click("#add-member-submit")

    expect(page.locator(".messages")).to_contain_text("someone else changed this corpus's settings or members")
    expect(page.locator("#corpus-visibility")).to_have_value("true")
    assert not CorpusMembership.objects.filter(corpus=albums).exists()


def test_an_admin_who_gives_up_their_own_admin_role_is_taken_home(
    logged_in_page, live_server, albums, django_user_model
):
    carol, dora = (django_user_model.objects.get(username=name) for name in ("carol", "dora"))
    posters = Corpus.objects.create(name="Posters", owner=dora, is_public=False)
    CorpusMembership.objects.create(corpus=posters, user=carol, role="admin")
    page = logged_in_page
    page.goto(f"{live_server.url}/corpora/{posters.pk}/")

    row = page.locator("#members tr[data-member=carol]")
    row.get_by_label("Role of carol").select_option("viewer")
    row.locator(".change-role").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator(".messages")).to_contain_text("carol is now Viewer.")
    posters_section = page.get_by_role("region", name="Corpus Posters")
    expect(posters_section).to_be_visible()
    expect(posters_section.get_by_role("link", name="Settings and members")).to_have_count(0)


def test_a_document_page_names_its_corpus_and_leads_its_admin_to_the_settings(logged_in_page, live_server, albums):
    from annotations.models import Document

    document = Document.objects.create(corpus=albums, source="family-1902", label="Family album, 1902")
    page = logged_in_page
    page.goto(f"{live_server.url}/documents/{document.pk}/")

    corpus_line = page.locator(".document-corpus")
    expect(corpus_line).to_contain_text("Albums")
    expect(corpus_line).to_contain_text("Private")
    corpus_line.get_by_role("link", name="Settings and members").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings of Albums")


def test_the_owner_hands_the_corpus_over_to_an_admin_and_stays_an_admin(
    logged_in_page, live_server, albums, django_user_model
):
    dora = django_user_model.objects.get(username="dora")
    page = logged_in_page
    page.goto(f"{live_server.url}/corpora/{albums.pk}/")
    expect(page.locator("#no-heir")).to_contain_text("give one the admin role first")

    page.fill("#member-username", "dora")
    page.select_option("#member-role", "admin")
    page.click("#add-member-submit")
    expect(page.locator(".messages")).to_contain_text("dora is now Admin.")
    page.select_option("#new-owner", str(dora.pk))
    page.click("#hand-over-submit")
    # Nothing is sent before the owner ticks that they understand.
    expect(page.locator("#hand-over-confirm:invalid")).to_have_count(1)
    page.check("#hand-over-confirm")
    page.click("#hand-over-submit")

    expect(page.locator(".messages")).to_contain_text("dora is now the owner of this corpus.")
    expect(page.locator("#members tr.owner")).to_contain_text("dora")
    expect(page.locator("#members tr[data-member=carol]")).to_have_count(1)
    expect(page.locator("#hand-over")).to_have_count(0)
    expect(page.locator("#access-history li").first).to_contain_text(
        "carol: Owner changed (dora) · Owner: carol → dora"
    )
    albums.refresh_from_db()
    assert albums.owner == dora
    assert CorpusMembership.objects.get(corpus=albums, user__username="carol").role == "admin"


def test_a_public_corpus_s_visitors_read_a_curator_until_its_admin_shows_the_names(
    logged_in_page, live_server, albums, django_user_model
):
    carol = django_user_model.objects.get(username="carol")
    document = Document.objects.create(corpus=albums, source="album-1", label="Album 1")
    scan = Page.objects.create(document=document, order=1, canvas_id="c1", width=600, height=400)
    page_set_review_status(page=scan, status=ReviewStatus.REVIEWED, user=carol, review_version=1)
    page = logged_in_page
    page.goto(f"{live_server.url}/corpora/{albums.pk}/")
    page.select_option("#corpus-visibility", "true")
    page.click("#save-settings")
    expect(page.locator(".messages")).to_contain_text("Settings saved.")

    visitor_context = page.context.browser.new_context()
    visitor = visitor_context.new_page()
    try:
        visitor.goto(f"{live_server.url}/pages/{scan.pk}/")
        visitor.click("#review-history summary")
        history = visitor.locator("#review-history-list li")
        expect(history.first).to_contain_text("A curator: Unreviewed → Reviewed, ")
        expect(visitor.locator("body")).not_to_contain_text("carol")

        page.select_option("#corpus-curator-names", "true")
        page.click("#save-settings")
        expect(page.locator(".messages")).to_contain_text("Settings saved.")
        expect(page.locator("#access-history li").first).to_contain_text(
            "carol: Settings changed · Curators’ names: members only → shown to everyone"
        )

        visitor.reload()
        visitor.click("#review-history summary")
        expect(history.first).to_contain_text("carol: Unreviewed → Reviewed, ")
    finally:
        visitor.goto("about:blank")
        visitor_context.close()
