"""Test data for exports and imports: a local-scan document (images readable offline) with faces."""

from __future__ import annotations

from pathlib import Path

from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
from annotations.models import CURATOR_SOURCE, Corpus, Document, Face, FaceStatus, Gender
from annotations.services import page_counts_refresh
from tests.support.manifests import jpeg_bytes
from webapp.jobs import JobStatus

PAGE_SIZES = [(1200, 1600), (800, 600)]


def scanned_document(folder: Path, *, corpus: Corpus | None = None, sizes=PAGE_SIZES) -> Document:
    """Import a folder of generated scans (page1.jpg, page2.jpg, ...) into a corpus."""
    if not folder.exists():
        folder.mkdir(parents=True)
        for index, (w, h) in enumerate(sizes, start=1):
            (folder / f"page{index}.jpg").write_bytes(jpeg_bytes(w, h, label=f"page {index}"))
    corpus = corpus or corpus_get_or_create(name="Scans")
    document = document_import_run(document_id=document_request_import(corpus=corpus, source=str(folder)).pk)
    assert document.import_status == JobStatus.DONE, document.import_error
    return document


def add_faces(document: Document) -> dict[str, Face]:
    """A curated woman, a predicted man, a child and a rejected box on page 1; an accepted face on page 2."""
    page1, page2 = document.pages.order_by("order")[:2]
    faces = {
        "woman": Face.objects.create(
            page=page1,
            x=100,
            y=200,
            w=150,
            h=180,
            confidence=1.0,
            age=34,
            age_confidence=0.7,
            gender=Gender.FEMALE,
            gender_confidence=0.83,
            source=CURATOR_SOURCE,
            status=FaceStatus.ADDED,
        ),
        "man": Face.objects.create(
            page=page1,
            x=600,
            y=210,
            w=121,
            h=143,
            confidence=0.91,
            age=52.5,
            gender=Gender.MALE,
            gender_confidence=0.66,
            source="res10",
            status=FaceStatus.PREDICTED,
        ),
        "child": Face.objects.create(
            page=page1,
            x=903,
            y=1301,
            w=97,
            h=99,
            confidence=0.75,
            age=8,
            child=True,
            source="res10",
            status=FaceStatus.EDITED,
        ),
        "rejected": Face.objects.create(
            page=page1,
            x=10,
            y=1500,
            w=60,
            h=60,
            confidence=0.4,
            source="res10",
            status=FaceStatus.REJECTED,
        ),
        "accepted": Face.objects.create(
            page=page2,
            x=400,
            y=100,
            w=80,
            h=90,
            confidence=0.88,
            gender=Gender.MALE,
            source="res10",
            status=FaceStatus.ACCEPTED,
        ),
    }
    page_counts_refresh(page_ids=[page1.pk, page2.pk])
    return faces
