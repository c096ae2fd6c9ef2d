"""Which pages and faces an export covers: the search's own filters, read in page batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from django.db.models import Q, QuerySet

from annotations.access import pages_visible_to
from annotations.models import Document, Face, FaceStatus, Page
from annotations.search.params import SearchParams
from annotations.search.planner import faces_select, pages_filter

# Pages per database round trip; each batch costs one page query chunk, one face query and at most one document
# query.
EXPORT_PAGE_BATCH = 500


class ExportFace(NamedTuple):
    """A face as the export writers read it: its page and its stored values, not a model instance.

    Building a million Face instances (every column, timestamps parsed) took half of an export's time;
    these are read with values_list, and carry the attributes of Face that the writers use.
    """

    page: Page
    id: int
    page_id: int
    x: int
    y: int
    w: int
    h: int
    confidence: float
    age: float | None
    age_confidence: float | None
    gender: str
    gender_confidence: float | None
    child: bool
    source: str
    status: str
    # Read only for the formats that write them (page_batches `timestamps`).
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def pk(self) -> int:
        return self.id


# The Face columns of an ExportFace, in its field order (after the page).
EXPORT_FACE_COLUMNS = ExportFace._fields[1:-2]
EXPORT_FACE_TIMESTAMPS = ExportFace._fields[-2:]

# What the writers' helpers take: an ExportFace, or a Face (the run CSV, tests).
AnyFace = Face | ExportFace
PageBatch = list[tuple[Page, list[ExportFace]]]


def export_querysets(
    params: SearchParams, *, user=None, include_rejected: bool = False
) -> tuple[QuerySet[Page], QuerySet[Face]]:
    """Pages and faces a search selects, in document order; with `user`, only corpora that user may view.

    Rejected faces come along (as negatives) only when asked for.
    """
    pages = Page.objects.all() if user is None else pages_visible_to(user)
    pages = pages_filter(pages, replace(params, ordering="document"))
    faces = faces_select(Face.objects.all(), params)
    if include_rejected:
        faces = Face.objects.filter(Q(pk__in=faces.values("pk")) | Q(status=FaceStatus.REJECTED))
    return pages, faces


def page_batches(
    pages: QuerySet[Page], faces: QuerySet[Face], *, batch_size: int = EXPORT_PAGE_BATCH, timestamps: bool = False
) -> Iterator[PageBatch]:
    """Pages in order (their document loaded) with their faces, `batch_size` pages at a time.

    `timestamps`: the faces carry created_at and updated_at too.
    """
    columns = EXPORT_FACE_COLUMNS + (EXPORT_FACE_TIMESTAMPS if timestamps else ())
    documents: dict[int, Document] = {}
    batch: list[Page] = []
    for page in pages.select_related(None).iterator(chunk_size=batch_size):
        batch.append(page)
        if len(batch) >= batch_size:
            documents = _with_documents(batch, documents)
            yield _with_faces(batch, faces, columns)
            batch = []
    if batch:
        _with_documents(batch, documents)
        yield _with_faces(batch, faces, columns)


def _with_documents(pages: list[Page], known: dict[int, Document]) -> dict[int, Document]:
    """Give each page its document, one instance per document (pages come in document order, so a document
    usually spans batches: `known` holds the last batch's); returns this batch's documents."""
    ids = {page.document_id for page in pages}
    documents = {pk: known[pk] for pk in ids if pk in known}
    documents.update(Document.objects.in_bulk(ids - set(documents)))
    for page in pages:
        page.document = documents[page.document_id]
    return documents


def _with_faces(pages: list[Page], faces: QuerySet[Face], columns: tuple[str, ...]) -> PageBatch:
    by_page: dict[int, list[ExportFace]] = {page.pk: [] for page in pages}
    page_by_id = {page.pk: page for page in pages}
    rows = faces.filter(page_id__in=list(by_page)).order_by("page_id", "y", "x", "id").values_list(*columns)
    for row in rows.iterator(chunk_size=2000):
        # row[1] is the page id (EXPORT_FACE_COLUMNS).
        by_page[row[1]].append(ExportFace(page_by_id[row[1]], *row))
    return [(page, by_page[page.pk]) for page in pages]
