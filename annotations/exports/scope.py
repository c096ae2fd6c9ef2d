"""Which pages and faces an export covers: the search's own filters, read in page batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from django.db.models import Q, QuerySet

from annotations.access import pages_visible_to
from annotations.models import Face, FaceStatus, Page
from annotations.search.params import SearchParams
from annotations.search.planner import faces_select, pages_filter

# Pages per database round trip; each batch costs one page query chunk and one face query.
EXPORT_PAGE_BATCH = 500

PageBatch = list[tuple[Page, list[Face]]]


def export_querysets(
    params: SearchParams, *, user=None, include_rejected: bool = False
) -> tuple[QuerySet[Page], QuerySet[Face]]:
    """Pages and faces a search selects, in document order; with `user`, only corpora that user may view.

    Rejected faces come along (as negatives) only when asked for.
    """
    pages = Page.objects.all() if user is None else pages_visible_to(user)
    pages = pages_filter(pages, replace(params, ordering="document")).select_related("document")
    faces = faces_select(Face.objects.all(), params)
    if include_rejected:
        faces = Face.objects.filter(Q(pk__in=faces.values("pk")) | Q(status=FaceStatus.REJECTED))
    return pages, faces


def page_batches(
    pages: QuerySet[Page], faces: QuerySet[Face], *, batch_size: int = EXPORT_PAGE_BATCH
) -> Iterator[PageBatch]:
    """Pages in order with their faces, `batch_size` pages (and one face query) at a time."""
    batch: list[Page] = []
    for page in pages.iterator(chunk_size=batch_size):
        batch.append(page)
        if len(batch) >= batch_size:
            yield _with_faces(batch, faces)
            batch = []
    if batch:
        yield _with_faces(batch, faces)


def _with_faces(pages: list[Page], faces: QuerySet[Face]) -> PageBatch:
    by_page: dict[int, list[Face]] = {page.pk: [] for page in pages}
    page_by_id = {page.pk: page for page in pages}
    for face in faces.filter(page_id__in=list(by_page)).order_by("page_id", "y", "x", "id").iterator(chunk_size=2000):
        face.page = page_by_id[face.page_id]
        by_page[face.page_id].append(face)
    return [(page, by_page[page.pk]) for page in pages]
