"""The review queue: next unreviewed page across a corpus, and the page view's links to it."""

from __future__ import annotations

import pytest

from annotations.models import Corpus, Document, Page, ReviewStatus
from annotations.selectors import page_next_unreviewed_in_corpus


@pytest.fixture
def two_documents(corpus):
    pages = []
    for source in ("issue-1", "issue-2"):
        document = Document.objects.create(corpus=corpus, source=source, label=source)
        pages += [
            Page.objects.create(document=document, order=n, canvas_id=f"c{n}", width=100, height=100) for n in (1, 2)
        ]
    return pages


def mark(page, status):
    Page.objects.filter(pk=page.pk).update(review_status=status)


def test_the_queue_moves_on_in_document_order(alice, two_documents):
    first, second, third, fourth = two_documents
    mark(second, ReviewStatus.REVIEWED)

    assert page_next_unreviewed_in_corpus(user=alice, page=first) == third
    assert page_next_unreviewed_in_corpus(user=alice, page=third) == fourth


def test_the_queue_wraps_to_the_first_unreviewed_page(alice, two_documents):
    first, second, third, fourth = two_documents
    mark(first, ReviewStatus.REVIEWED)

    assert page_next_unreviewed_in_corpus(user=alice, page=fourth) == second


def test_pages_in_review_stay_in_the_queue_and_a_finished_corpus_has_none(alice, two_documents):
    first, second, third, fourth = two_documents
    for page in (first, second, third):
        mark(page, ReviewStatus.REVIEWED)
    mark(fourth, ReviewStatus.IN_REVIEW)

    assert page_next_unreviewed_in_corpus(user=alice, page=first) == fourth
    assert page_next_unreviewed_in_corpus(user=alice, page=fourth) is None


def test_the_queue_stays_inside_the_corpus(alice, two_documents):
    other = Document.objects.create(corpus=Corpus.objects.create(name="Other"), source="x")
    Page.objects.create(document=other, order=1, canvas_id="c", width=10, height=10)
    for page in two_documents[1:]:
        mark(page, ReviewStatus.REVIEWED)

    assert page_next_unreviewed_in_corpus(user=alice, page=two_documents[0]) is None


def test_the_page_view_links_to_the_next_unreviewed_page_of_another_document(client, alice, two_documents):
    first, second, third, fourth = two_documents
    mark(second, ReviewStatus.REVIEWED)
    client.force_login(alice)

    response = client.get(f"/pages/{second.pk}/")

    assert response.status_code == 200
    assert response.context["next_unreviewed_in_corpus"] == third
    assert f'id="next-unreviewed-corpus" href="/pages/{third.pk}/"'.encode() in response.content
    assert response.context["can_edit"] is True


def test_the_page_view_embeds_faces_and_is_read_only_for_viewers(client, bob, two_documents):
    client.force_login(bob)

    response = client.get(f"/pages/{two_documents[0].pk}/")

    assert response.status_code == 200
    assert response.context["can_edit"] is False
    assert b'id="faces-data"' in response.content
    assert b'id="draw-box"' not in response.content
