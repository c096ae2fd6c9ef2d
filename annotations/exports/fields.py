"""What every export format says of a face and a page: labels, attributes, stems, URLs."""

from __future__ import annotations

from annotations.exports.scope import AnyFace
from annotations.models import FaceStatus, Page

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
