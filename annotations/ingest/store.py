"""Storing imported faces: match each to a face of its page, then create or update it; never delete."""

from __future__ import annotations

from collections import defaultdict

from annotations.ingest.reports import FileReport
from annotations.ingest.values import ImportedFace
from annotations.models import CURATOR_SOURCE, REVISION_IMPORT, Face, FaceStatus, Gender, Page
from annotations.services import (
    CURATED_MATCH_IOU,
    clamp_box_to_page,
    face_build,
    face_edit_changes,
    face_transition_changes,
    faces_write,
    page_counts_refresh,
)

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
    """What a curator import changes on a stored face (attributes it states, status, and the box if moved).

    An attribute the file does not state (None) keeps its stored value: a file never erases what it is silent on.
    An age the file writes as null is cleared.
    """
    changes = {"age": None} if imported.age_cleared and face.age is not None else {}
    for name in _ATTRIBUTE_FIELDS:
        value = getattr(imported, name)
        if value is None:
            continue
        current = getattr(face, name)
        if isinstance(value, float) and current is not None and abs(current - value) <= 0.05:
            continue
        if current != value:
            changes[name] = value
    if box is not None and box != face.as_box():
        changes.update(zip(("x", "y", "w", "h"), box, strict=True))
    if imported.negative:
        changes.update(face_transition_changes(face=face, to_status=FaceStatus.REJECTED))
    elif face.status == FaceStatus.REJECTED:
        changes["status"] = FaceStatus.ACCEPTED
    return face_edit_changes(face=face, changes=changes)


def imported_faces_store(
    faces: list[ImportedFace], *, source: str, user, report: FileReport, keep_rejected: bool = False
) -> None:
    """Create or update faces from one validated file (inside the import's transaction).

    A machine source's rejected boxes are no proposals and are skipped, unless `keep_rejected` (a dataset
    whose negatives are labels too: annotations/ingest/datasets.py) stores them rejected.
    """
    curator = source == CURATOR_SOURCE
    by_page: dict[int, list[ImportedFace]] = defaultdict(list)
    for face in faces:
        by_page[face.page.pk].append(face)
    stored: dict[int, list[Face]] = defaultdict(list)
    # Locked until the file is stored, so the changes below apply to the versions read here.
    for face in Face.objects.select_for_update(no_key=True).filter(page_id__in=list(by_page)).order_by("id"):
        stored[face.page_id].append(face)
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
                    _update(same, _changes(same, imported, None), user=user, report=report)
                else:
                    report.unchanged += 1
            elif curator and overlapping is not None:
                matched.add(overlapping.pk)
                _update(overlapping, _changes(overlapping, imported, box), user=user, report=report)
            elif not curator and ((imported.negative and not keep_rejected) or overlapping is not None):
                report.skipped += 1
            else:
                created = _create(page, box, imported, source=source, user=user)
                matched.add(created.pk)
                stored[page_id].append(created)
                report.created += 1
    page_counts_refresh(page_ids=list(by_page))


def _create(page: Page, box, imported: ImportedFace, *, source: str, user) -> Face:
    curator = source == CURATOR_SOURCE
    if imported.negative:
        status = FaceStatus.REJECTED
    else:
        status = FaceStatus.ADDED if curator else FaceStatus.PREDICTED
    face = face_build(
        page=page,
        box=box,
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
    # Model faces an import adds are predictions, unrecorded like a detection run's.
    faces_write(user=user, action=REVISION_IMPORT if curator else None, new=[face], refresh_counts=False)
    return face


def _update(face: Face, changes: dict, *, user, report: FileReport) -> None:
    if not changes:
        report.unchanged += 1
        return
    faces_write(user=user, action=REVISION_IMPORT, changed=[(face, changes)], refresh_counts=False)
    report.updated += 1
