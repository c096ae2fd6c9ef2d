"""Write services for pages and faces: every face change is counted and recorded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from annotations.models import Face, FaceRevision, FaceStatus, Gender, Page, ReviewStatus

# A prediction this close to a box a curator already handled is the same face: keep the curator's.
CURATED_MATCH_IOU = 0.5


@dataclass(frozen=True)
class FacePrediction:
    """A model's face in canvas pixels, with its attributes."""

    x: int
    y: int
    w: int
    h: int
    confidence: float
    age: float | None = None
    age_confidence: float | None = None
    gender: str = Gender.UNKNOWN
    gender_confidence: float | None = None
    child: bool = False


def page_counts_refresh(*, page_ids: Iterable[int]) -> None:
    """Recompute the denormalised face counts of these pages from their non-rejected faces."""
    page_ids = list(page_ids)
    counts = {
        row["page_id"]: row
        for row in Face.objects.filter(page_id__in=page_ids)
        .visible()
        .values("page_id")
        .annotate(
            total=Count("id"),
            female=Count("id", filter=Q(gender=Gender.FEMALE)),
            male=Count("id", filter=Q(gender=Gender.MALE)),
            unknown=Count("id", filter=Q(gender=Gender.UNKNOWN)),
            children=Count("id", filter=Q(child=True)),
        )
    }
    for page_id in page_ids:
        row = counts.get(page_id, {})
        Page.objects.filter(pk=page_id).update(
            face_count=row.get("total", 0),
            female_count=row.get("female", 0),
            male_count=row.get("male", 0),
            unknown_count=row.get("unknown", 0),
            child_count=row.get("children", 0),
        )


def clamp_box_to_page(page: Page, x: float, y: float, w: float, h: float) -> tuple[int, int, int, int] | None:
    """Round and clip a box to the canvas; None when nothing of it is left."""
    x1 = max(0, min(page.width, round(x)))
    y1 = max(0, min(page.height, round(y)))
    x2 = max(0, min(page.width, round(x + w)))
    y2 = max(0, min(page.height, round(y + h)))
    if x2 - x1 < 1 or y2 - y1 < 1:
        return None
    return x1, y1, x2 - x1, y2 - y1


@transaction.atomic
def faces_store_predictions(
    *, page: Page, predictions: list[FacePrediction], source: str, detection_run_id: int | None = None
) -> list[Face]:
    """Replace a page's untouched model faces with new predictions; curators' faces always win.

    Faces a curator accepted, edited, added or rejected stay as they are, and a prediction that
    overlaps one of them is dropped, so a rejected false positive never comes back.
    """
    curated = list(Face.objects.filter(page=page).touched_by_curator())
    Face.objects.filter(page=page, status=FaceStatus.PREDICTED).delete()
    new_faces = []
    for prediction in predictions:
        box = clamp_box_to_page(page, prediction.x, prediction.y, prediction.w, prediction.h)
        if box is None or any(face.iou(box) >= CURATED_MATCH_IOU for face in curated):
            continue
        x, y, w, h = box
        new_faces.append(
            Face(
                page=page,
                x=x,
                y=y,
                w=w,
                h=h,
                confidence=min(1.0, max(0.0, prediction.confidence)),
                age=prediction.age,
                age_confidence=prediction.age_confidence,
                gender=prediction.gender,
                gender_confidence=prediction.gender_confidence,
                child=prediction.child,
                source=source,
                status=FaceStatus.PREDICTED,
                detection_run_id=detection_run_id,
            )
        )
    created = Face.objects.bulk_create(new_faces)
    page_counts_refresh(page_ids=[page.pk])
    return created


def face_revision_record(*, face: Face, user, action: str, before: dict | None, after: dict | None) -> FaceRevision:
    """Record who changed a face, when, and its state before and after."""
    return FaceRevision.objects.create(face=face, user=user, action=action, before=before, after=after)


def page_set_review_status(*, page: Page, status: str, user) -> Page:
    """Move a page through unreviewed → in review → reviewed, recording who reviewed it."""
    reviewed = status == ReviewStatus.REVIEWED
    Page.objects.filter(pk=page.pk).update(
        review_status=status,
        reviewed_by=user if reviewed and user and user.is_authenticated else None,
        reviewed_at=timezone.now() if reviewed else None,
    )
    page.refresh_from_db()
    return page

