"""Storing imported faces: match each to a face of its page, then create or update it; never delete."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import F
from django.utils import timezone

from annotations.ingest.reports import FileReport
from annotations.ingest.values import ImportedFace
from annotations.models import CURATOR_SOURCE, REVISION_IMPORT, Face, FaceStatus, Gender, Page
from annotations.services import CURATED_MATCH_IOU, clamp_box_to_page, face_revision_record, page_counts_refresh

_ATTRIBUTE_FIELDS = ("gender", "child", "age", "age_confidence", "gender_confidence")


def _same_box(face: Face, imported: ImportedFace) -> bool:
    tol = imported.tolerance
    return (
        abs(face.x - imported.x) <= tol
        and abs(face.y - imported.y) <= tol
        and abs(face.x + face.w - imported.x - imported.w) <= tol
        and abs(face.y + face.h - imported.y - imported.h) <= tol
    )


def _changes(face: Face, imported: ImportedFace, box: tuple[int, int, int, int] | None) -> dict:
    """What a curator import changes on a stored face (attributes it states, status, and the box if moved)."""
    changes = {}
    for name in _ATTRIBUTE_FIELDS:
        value = getattr(imported, name)
        if name in ("age_confidence", "gender_confidence") and value is None:
            continue
        current = getattr(face, name)
        if isinstance(value, float) and current is not None and abs(current - value) <= 0.05:
            continue
        if current != value:
            changes[name] = value
    if box is not None and box != face.as_box():
        changes.update(zip(("x", "y", "w", "h"), box, strict=True))
    if imported.negative and face.status != FaceStatus.REJECTED:
        changes["status"] = FaceStatus.REJECTED
    elif not imported.negative and face.status == FaceStatus.REJECTED:
        changes["status"] = FaceStatus.ACCEPTED
    elif changes and face.status in (FaceStatus.PREDICTED, FaceStatus.ACCEPTED):
        changes["status"] = FaceStatus.EDITED
    return changes


def imported_faces_store(faces: list[ImportedFace], *, source: str, user, report: FileReport) -> None:
    """Create or update faces from one validated file (in its own transaction)."""
    curator = source == CURATOR_SOURCE
    by_page: dict[int, list[ImportedFace]] = defaultdict(list)
    for face in faces:
        by_page[face.page.pk].append(face)
    stored: dict[int, list[Face]] = defaultdict(list)
    for face in Face.objects.filter(page_id__in=list(by_page)).order_by("id"):
        stored[face.page_id].append(face)
    now = timezone.now()
    for page_id, imported_faces in by_page.items():
        matched: set[int] = set()
        for imported in imported_faces:
            page = imported.page
            box = clamp_box_to_page(page, imported.x, imported.y, imported.w, imported.h)
            if box is None:
                report.skipped += 1
                continue
            candidates = [face for face in stored[page_id] if face.pk not in matched]
            same = next((face for face in candidates if _same_box(face, imported)), None)
            overlapping = max(candidates, key=lambda face: face.iou(box), default=None)
            if overlapping is not None and overlapping.iou(box) < CURATED_MATCH_IOU:
                overlapping = None
            if same is not None:
                matched.add(same.pk)
                if curator:
                    _update(same, _changes(same, imported, None), user=user, now=now, report=report)
                else:
                    report.unchanged += 1
            elif curator and overlapping is not None:
                matched.add(overlapping.pk)
                _update(overlapping, _changes(overlapping, imported, box), user=user, now=now, report=report)
            elif not curator and (imported.negative or overlapping is not None):
                report.skipped += 1
            else:
                created = _create(page, box, imported, source=source, user=user)
                matched.add(created.pk)
                stored[page_id].append(created)
                report.created += 1
    page_counts_refresh(page_ids=list(by_page))


def _create(page: Page, box, imported: ImportedFace, *, source: str, user) -> Face:
    curator = source == CURATOR_SOURCE
    x, y, w, h = box
    if imported.negative:
        status = FaceStatus.REJECTED
    else:
        status = FaceStatus.ADDED if curator else FaceStatus.PREDICTED
    face = Face(
        page=page,
        x=x,
        y=y,
        w=w,
        h=h,
        # Curator-added faces have confidence 1 (DESIGN.md §4).
        confidence=1.0 if curator or imported.confidence is None else imported.confidence,
        age=imported.age,
        age_confidence=imported.age_confidence,
        gender=imported.gender or Gender.UNKNOWN,
        gender_confidence=imported.gender_confidence,
        child=bool(imported.child),
        source=source,
        status=status,
    )
    face.full_clean()
    face.save()
    if curator:
        face_revision_record(face=face, user=user, action=REVISION_IMPORT, before=None, after=face.snapshot())
    return face


def _update(face: Face, changes: dict, *, user, now, report: FileReport) -> None:
    if not changes:
        report.unchanged += 1
        return
    before = face.snapshot()
    Face.objects.filter(pk=face.pk).update(**changes, version=F("version") + 1, updated_at=now)
    face.refresh_from_db()
    face_revision_record(face=face, user=user, action=REVISION_IMPORT, before=before, after=face.snapshot())
    report.updated += 1
