"""Builders of the annotations tests' data (no factory_boy): corpora, documents, pages and faces,
the search corpus with known answers, and a local-scan document with faces for exports and imports.
Builders shared with other apps' tests live in tests/support/."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace

from annotations.iiif.dates import parse_date
from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
from annotations.models import CURATOR_SOURCE, Corpus, Document, Face, FaceStatus, Gender, Page, ReviewStatus
from annotations.services import (
    FacePrediction,
    face_status_transition,
    face_update,
    faces_store_predictions,
    page_counts_refresh,
    person_for_name,
)
from tests.support.manifests import write_scans
from webapp.jobs import JobStatus

_sequence = itertools.count(1)


def make_corpus(*, name: str | None = None, is_public: bool = True) -> Corpus:
    return Corpus.objects.create(name=name or f"Corpus {next(_sequence)}", is_public=is_public)


def make_document(
    *, corpus: Corpus, label: str = "", date_text: str = "", metadata: list | None = None, source: str = ""
) -> Document:
    """A document whose date range is parsed from date_text, as the importer does."""
    date_start, date_end = parse_date(date_text) if date_text else (None, None)
    n = next(_sequence)
    return Document.objects.create(
        corpus=corpus,
        source=source or f"https://example.org/iiif/doc{n}/manifest.json",
        label=label or f"Document {n}",
        date_text=date_text,
        date_start=date_start,
        date_end=date_end,
        metadata=metadata or [],
        import_status="done",
    )


def make_page(
    *,
    document: Document,
    order: int | None = None,
    is_front_page: bool | None = None,
    width: int = 2000,
    height: int = 3000,
    review_status: str = "unreviewed",
    service_id: str = "",
    **fields,
) -> Page:
    """A page; the first page of a document is its front page unless told otherwise.

    `fields` set any other field of the page, or replace the defaults given here."""
    order = order or (document.pages.count() + 1)
    n = next(_sequence)
    defaults = {
        "canvas_id": f"{document.source}/canvas/f{order}",
        "label": f"p. {order}",
        "image_service_id": service_id or f"https://example.org/iiif/img{n}",
        "image_service_version": "2",
        "is_front_page": order == 1 if is_front_page is None else is_front_page,
        "review_status": review_status,
    }
    return Page.objects.create(document=document, order=order, width=width, height=height, **{**defaults, **fields})


def make_face(
    *,
    page: Page,
    x: int = 10,
    y: int = 10,
    w: int = 100,
    h: int = 120,
    gender: str = Gender.UNKNOWN,
    child: bool = False,
    confidence: float = 0.9,
    status: str = FaceStatus.PREDICTED,
    source: str = "res10",
    person: str = "",
    **fields,
) -> Face:
    """A face, with the page's denormalised counts refreshed as the face services do.

    `fields` set any other field of the face (age, its confidences, ...)."""
    face = Face.objects.create(
        page=page,
        x=x,
        y=y,
        w=w,
        h=h,
        gender=gender,
        child=child,
        confidence=confidence,
        status=status,
        source=source,
        person=person_for_name(corpus_id=page.document.corpus_id, name=person),
        **fields,
    )
    page_counts_refresh(page_ids=[page.pk])
    return face


def search_corpus() -> SimpleNamespace:
    """A public corpus with known answers for every search filter.

    Non-rejected faces per page (F female, M male, C child flag, U unknown; confidence in brackets):
      a1 Excelsior 1915-03-12 front  M(.9) M(.6) F(.3)            + a rejected F(.95)
      a2 Excelsior 1915-03-12 p2     M(.9) M(.9) M(.4)
      a3 Excelsior 1915-03-12 p3     none
      b1 Excelsior 1915-07-01 front  F(.8) F child(.7) U(.5) F(.2 edited by a curator from M)
      b2 Excelsior 1915-07-01 p2     M added by a curator (1.0), person "Joffre", page reviewed
      m1 Le Miroir 1918 (year only)  M(.99), a large face: 10 % of the page
      r1 Manuscrit 1390-1405 (range) F(.9)
      u1 undated                     M(.9)
      z1 Excelsior 1920-11-11 front  F(.9) F(.85), page reviewed
    """
    corpus = make_corpus(name="Excelsior search")
    a = make_document(corpus=corpus, label="Excelsior : journal illustré quotidien", date_text="1915-03-12")
    b = make_document(corpus=corpus, label="Excelsior : journal illustré quotidien", date_text="1915-07-01")
    m = make_document(
        corpus=corpus,
        label="Le Miroir",
        date_text="1918",
        metadata=[{"label": "Publisher", "value": "Pierre Lafitte"}],
    )
    r = make_document(corpus=corpus, label="Livre d'heures", date_text="1390-1405")
    u = make_document(corpus=corpus, label="Portraits sans date")
    z = make_document(corpus=corpus, label="Excelsior : journal illustré quotidien", date_text="1920-11-11")
    pages = SimpleNamespace(
        a1=make_page(document=a),
        a2=make_page(document=a),
        a3=make_page(document=a),
        b1=make_page(document=b),
        b2=make_page(document=b, review_status="reviewed"),
        m1=make_page(document=m),
        r1=make_page(document=r),
        u1=make_page(document=u),
        z1=make_page(document=z, review_status="reviewed"),
    )
    p = pages
    make_face(page=p.a1, gender="male", confidence=0.9)
    make_face(page=p.a1, gender="male", confidence=0.6, y=300)
    make_face(page=p.a1, gender="female", confidence=0.3, y=600)
    make_face(page=p.a1, gender="female", confidence=0.95, y=900, status=FaceStatus.REJECTED)
    for confidence in (0.9, 0.9, 0.4):
        make_face(page=p.a2, gender="male", confidence=confidence)
    make_face(page=p.b1, gender="female", confidence=0.8)
    make_face(page=p.b1, gender="female", child=True, confidence=0.7)
    make_face(page=p.b1, gender="unknown", confidence=0.5)
    make_face(page=p.b1, gender="female", confidence=0.2, status=FaceStatus.EDITED)
    make_face(page=p.b2, gender="male", confidence=1.0, status=FaceStatus.ADDED, source=CURATOR_SOURCE, person="Joffre")
    # 600 x 1000 on a 2000 x 3000 page: 10 % of its area.
    make_face(page=p.m1, gender="male", confidence=0.99, w=600, h=1000)
    make_face(page=p.r1, gender="female", confidence=0.9)
    make_face(page=p.u1, gender="male", confidence=0.9)
    make_face(page=p.z1, gender="female", confidence=0.9)
    make_face(page=p.z1, gender="female", confidence=0.85)
    return SimpleNamespace(corpus=corpus, documents=SimpleNamespace(a=a, b=b, m=m, r=r, u=u, z=z), pages=pages)


SCAN_SIZES = [(1200, 1600), (800, 600)]


def scanned_document(folder: Path, *, corpus: Corpus | None = None, sizes=SCAN_SIZES) -> Document:
    """Import a folder of generated scans (page1.jpg, page2.jpg, ...) into a corpus."""
    if not folder.exists():
        write_scans(folder, sizes)
    corpus = corpus or corpus_get_or_create(name="Scans")
    document = document_import_run(document_id=document_request_import(corpus=corpus, source=str(folder)).pk)
    assert document.import_status == JobStatus.DONE, document.import_error
    return document


def export_document(kind: str, document: Document, out: Path, **options):
    """Export one document's pages to `out` (a file, folder or zip) as the export commands do; the result."""
    from annotations.exports.options import ExportOptions
    from annotations.exports.services import export_to_path

    return export_to_path(kind=kind, scope={"document": document.pk}, out=out, options=ExportOptions(**options))


def add_faces(document: Document) -> dict[str, Face]:
    """A curated woman, a predicted man, a child and a rejected box on page 1; an accepted face on page 2."""
    page1, page2 = document.pages.order_by("order")[:2]
    woman = {"age": 34, "age_confidence": 0.7, "gender": Gender.FEMALE, "gender_confidence": 0.83}
    man = {"age": 52.5, "gender": Gender.MALE, "gender_confidence": 0.66}
    curated = {"source": CURATOR_SOURCE, "status": FaceStatus.ADDED}
    return {
        "woman": make_face(page=page1, x=100, y=200, w=150, h=180, confidence=1.0, **woman, **curated),
        "man": make_face(page=page1, x=600, y=210, w=121, h=143, confidence=0.91, **man),
        "child": make_face(
            page=page1, x=903, y=1301, w=97, h=99, confidence=0.75, age=8, child=True, status=FaceStatus.EDITED
        ),
        "rejected": make_face(page=page1, x=10, y=1500, w=60, h=60, confidence=0.4, status=FaceStatus.REJECTED),
        "accepted": make_face(
            page=page2, x=400, y=100, w=80, h=90, confidence=0.88, gender=Gender.MALE, status=FaceStatus.ACCEPTED
        ),
    }


def predicted_faces(page: Page, genders: list[str]) -> list[Face]:
    """Faces a model read with these genders, as a detection run stores them (30 × 40 px, in rows)."""
    predictions = [
        FacePrediction(x=10 + 40 * (i % 40), y=10 + 60 * (i // 40), w=30, h=40, confidence=0.9, gender=gender)
        for i, gender in enumerate(genders)
    ]
    return faces_store_predictions(page=page, predictions=predictions, source="test-model")


def curate(faces, truths: list[str], user) -> None:
    """A curator accepts each face read right and corrects the others."""
    for face, truth in zip(faces, truths, strict=True):
        if face.gender == truth:
            face_status_transition(face=face, to_status=FaceStatus.ACCEPTED, user=user)
        else:
            face_update(face=face, user=user, expected_version=face.version, data={"gender": truth})


def reviewed_page(document: Document, readings: list[str], truths: list[str], user) -> Page:
    """A reviewed page whose faces the model read as `readings` and a curator made `truths`."""
    page = make_page(document=document)
    curate(predicted_faces(page, readings), truths, user)
    Page.objects.filter(pk=page.pk).update(review_status=ReviewStatus.REVIEWED)
    return page
