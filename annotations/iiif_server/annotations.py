"""Live IIIF annotation pages of a page's faces, which Mirador and other IIIF viewers list and draw.

Each non-rejected face is an Annotation tagged `face`, its gender, `child` when it is one, and
`machine` (a detector's box no curator has confirmed) or `curated` (accepted, edited or added by a
curator), with a one-line text a viewer shows in its annotation list.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse

from annotations.exports.web_annotations import IIIF_CONTEXT, face_annotation
from annotations.models import Document, Face, FaceStatus, Page

MACHINE = "machine"
CURATED = "curated"


def face_origin(face: Face) -> str:
    """`machine` for a detector's box still as predicted, `curated` once a curator accepted, edited or added it."""
    return MACHINE if face.status == FaceStatus.PREDICTED else CURATED


def _tag(value: str) -> dict:
    return {"type": "TextualBody", "purpose": "tagging", "value": value, "format": "text/plain"}


def live_face_annotation(face: Face, *, base_url: str) -> dict:
    """One face as our exports write it (canvas `#xywh=` target), with its origin tag and a readable line."""
    annotation = face_annotation(face, base_url=base_url, iiif=True)
    origin = face_origin(face)
    tags = [body for body in annotation["body"] if body.get("purpose") == "tagging"]
    summary = f"Face, {face.get_gender_display().lower()}{', child' if face.child else ''}, {origin}"
    if origin == MACHINE:
        summary += f" ({face.source} {face.confidence:.2f})"
    annotation["body"] = [
        *tags,
        _tag(origin),
        {"type": "TextualBody", "purpose": "describing", "value": summary, "format": "text/plain"},
    ]
    return annotation


def page_annotation_page_url(page: Page, *, base_url: str) -> str:
    return f"{base_url}{reverse('iiif-annotations', kwargs={'page_id': page.pk})}"


def page_annotation_page(page: Page, *, base_url: str) -> dict:
    """A IIIF Presentation 3 AnnotationPage of the page's non-rejected faces, in reading order."""
    faces = page.faces.exclude(status=FaceStatus.REJECTED).order_by("y", "x", "pk").select_related("page")
    return {
        "@context": IIIF_CONTEXT,
        "id": page_annotation_page_url(page, base_url=base_url),
        "type": "AnnotationPage",
        "items": [live_face_annotation(face, base_url=base_url) for face in faces],
    }


def pages_with_faces(document: Document) -> QuerySet:
    """Ids of the document's pages that hold at least one non-rejected face."""
    return (
        Face.objects.filter(page__document=document)
        .exclude(status=FaceStatus.REJECTED)
        .values_list("page_id", flat=True)
        .distinct()
    )
