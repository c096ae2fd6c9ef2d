"""What every export format says of a face and a page: labels, attributes, stems, URLs."""

from __future__ import annotations

from dataclasses import dataclass

from annotations.exports.scope import AnyFace
from annotations.models import Document, FaceStatus, Page

FACE_LABEL = "face"
NEGATIVE_LABEL = "not_face"
VERIFIED_STATUSES = frozenset({FaceStatus.ACCEPTED, FaceStatus.EDITED, FaceStatus.ADDED})


def absolute_url(url: str, base_url: str) -> str:
    """Our relative URLs (local scans, canvases) made absolute; remote URLs stay as they are."""
    return f"{base_url.rstrip('/')}{url}" if url.startswith("/") and base_url else url


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def page_stem(page: Page) -> str:
    """File stem of a page in exports: `d{document}_p{order}` (the importer reads the order back)."""
    return f"d{page.document_id}_p{page.order:04d}"


@dataclass(frozen=True)
class DocumentFacts:
    """Where an exported page comes from and under what terms: its document's label, date (the start of its
    span, ISO, or None; and as the record words it: "1915" starts on 1915-01-01), IIIF manifest, licence and
    attribution, as the document states them (empty when it states none)."""

    label: str
    date: str | None
    date_text: str
    manifest: str
    license: str
    attribution: str


class DocumentFactsReader:
    """Each document's facts, read once per export (pages stream in without their document)."""

    def __init__(self, base_url: str = ""):
        self.base_url = base_url
        self._read: dict[int, DocumentFacts] = {}

    def of(self, page: Page) -> DocumentFacts:
        if page.document_id not in self._read:
            row = Document.objects.values(
                "label", "date_start", "date_text", "manifest_url", "license", "attribution"
            ).get(pk=page.document_id)
            self._read[page.document_id] = DocumentFacts(
                label=row["label"],
                date=row["date_start"].isoformat() if row["date_start"] else None,
                date_text=row["date_text"],
                manifest=absolute_url(row["manifest_url"], self.base_url),
                license=row["license"],
                attribution=row["attribution"],
            )
        return self._read[page.document_id]


def face_attributes(face: AnyFace) -> dict:
    """The attributes of a face that every format carries besides its box."""
    return {
        "id": face.pk,
        "gender": face.gender,
        "gender_confidence": rounded(face.gender_confidence),
        "age": rounded(face.age, 1),
        "age_confidence": rounded(face.age_confidence),
        "child": face.child,
        "confidence": rounded(face.confidence),
        "status": face.status,
        "source": face.source,
        "verified": face.status in VERIFIED_STATUSES,
    }
