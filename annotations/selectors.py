"""Read-only queries for lists and pages."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from annotations.access import documents_visible_to, pages_visible_to
from annotations.models import Document, Page, ReviewStatus


def document_list(*, user, corpus_id: int | None = None) -> QuerySet[Document]:
    """Documents the user may view, with their page counts."""
    documents = documents_visible_to(user).select_related("corpus").annotate(page_count=Count("pages"))
    if corpus_id is not None:
        documents = documents.filter(corpus_id=corpus_id)
    return documents.order_by("corpus__name", "date_start", "label", "id")


def page_list(*, user, document_id: int | None = None) -> QuerySet[Page]:
    """Pages the user may view, in document order."""
    pages = pages_visible_to(user)
    if document_id is not None:
        pages = pages.filter(document_id=document_id)
    return pages.order_by("document_id", "order")


def page_neighbours(*, page: Page) -> dict[str, Page | None]:
    """The previous, next and next unreviewed pages of the same document."""
    siblings = Page.objects.filter(document_id=page.document_id)
    return {
        "previous": siblings.filter(order__lt=page.order).order_by("-order").first(),
        "next": siblings.filter(order__gt=page.order).order_by("order").first(),
        "next_unreviewed": siblings.exclude(review_status=ReviewStatus.REVIEWED)
        .exclude(pk=page.pk)
        .order_by("order")
        .first(),
    }


def document_review_progress(*, document: Document) -> dict[str, int]:
    """How many pages of a document are in each review status."""
    counts = dict(
        Page.objects.filter(document=document).values_list("review_status").annotate(n=Count("id")).order_by()
    )
    return {status: counts.get(status, 0) for status in ReviewStatus.values}
