"""Write services for pages and faces: every face change is counted and recorded."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from annotations.access import FacesAccess
from annotations.models import CURATOR_SOURCE, Face, FaceRevision, FaceStatus, Gender, Page, ReviewStatus

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


# Each page's counts and extremes of its non-rejected faces, in one UPDATE (PostgreSQL, and SQLite
# >= 3.15 for the row value). The ORM would need a subquery per column (eight scans of the page's
# faces) or a SELECT then an UPDATE, and compiling its aggregate was the costliest part of a face
# save. Shares are computed as before, when the ORM built them: 100.0 times the extreme area, over
# width times height, all in double precision, so the stored values are bit for bit the same.
_PAGE_COUNTS_SET = """
    (face_count, female_count, male_count, unknown_count, child_count,
     max_confidence, max_face_share, min_face_share) = (
        SELECT
            COUNT(*),
            COUNT(*) FILTER (WHERE face.gender = %s),
            COUNT(*) FILTER (WHERE face.gender = %s),
            COUNT(*) FILTER (WHERE face.gender = %s),
            COUNT(*) FILTER (WHERE face.child),
            MAX(face.search_confidence),
            %s * MAX(CAST(face.w AS double precision) * CAST(face.h AS double precision))
                / (CAST(annotations_page.width AS double precision)
                   * CAST(annotations_page.height AS double precision)),
            %s * MIN(CAST(face.w AS double precision) * CAST(face.h AS double precision))
                / (CAST(annotations_page.width AS double precision)
                   * CAST(annotations_page.height AS double precision))
        FROM annotations_face AS face
        WHERE face.page_id = annotations_page.id AND face.status <> %s
    )"""
_PAGE_COUNTS_PARAMS = (Gender.FEMALE, Gender.MALE, Gender.UNKNOWN, 100.0, 100.0, FaceStatus.REJECTED)
# A curator's first change of an unreviewed page puts it in review, in the same UPDATE.
_PAGE_START_REVIEW_SET = "review_status = CASE WHEN review_status = %s THEN %s ELSE review_status END,"
_PAGE_START_REVIEW_PARAMS = (ReviewStatus.UNREVIEWED, ReviewStatus.IN_REVIEW)


@transaction.atomic(savepoint=False)
def page_counts_refresh(*, page_ids: Iterable[int], start_review: bool = False) -> None:
    """Recompute the denormalised face counts and extremes of these pages from their non-rejected faces.

    With start_review, an unreviewed page also goes in review (what a curator's change does).
    """
    page_ids = sorted(set(page_ids))
    if not page_ids:
        return
    if connection.features.has_select_for_update:
        # Lock the pages first, then count in a later statement, so the count sees every face change
        # committed by whoever held a lock before us (READ COMMITTED takes a snapshot per statement:
        # counting in the locking statement itself would miss them, and two saves on one page at
        # once would lose one's count). Every face write ends here, so the last to lock counts all.
        # No key update: adding a face to the page (its foreign key check) need not wait for us.
        # SQLite needs none of this: it runs one write transaction at a time.
        list(
            Page.objects.select_for_update(no_key=True)
            .filter(pk__in=page_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    start = _PAGE_START_REVIEW_SET if start_review else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE annotations_page SET {start} {_PAGE_COUNTS_SET} WHERE id IN ({', '.join(['%s'] * len(page_ids))})",
            [*(_PAGE_START_REVIEW_PARAMS if start_review else ()), *_PAGE_COUNTS_PARAMS, *page_ids],
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

    Curated faces (accepted, edited, added, rejected, or changed by a curator at all, even if since
    reverted to `predicted`) stay as they are with their history, and a prediction that overlaps one
    of them is dropped, so a rejected false positive never comes back.
    """
    curated = list(Face.objects.filter(page=page).curated())
    Face.objects.filter(page=page, status=FaceStatus.PREDICTED).exclude(pk__in=[face.pk for face in curated]).delete()
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
    """Record who changed a face, when, and its state before and after; the face keeps the revision's id."""
    revision = FaceRevision.objects.create(face=face, user=user, action=action, before=before, after=after)
    face.recorded_revision_id = revision.pk
    return revision


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


# Curator edits of faces. Every write below bumps `version` with a conditional UPDATE, so two
# curators (or two tabs) editing the same face never overwrite each other silently.

EDITABLE_FACE_FIELDS = ("x", "y", "w", "h", "age", "gender", "child", "person")
# Statuses that become `edited` when a curator changes a box or its attributes.
EDIT_MARKS_EDITED = (FaceStatus.PREDICTED, FaceStatus.ACCEPTED)


class FaceConflict(Exception):
    """A write named a version of the face that is no longer current."""

    def __init__(self, face: Face):
        super().__init__(f"face {face.pk} is at version {face.version}")
        self.face = face


def _face_write(*, face: Face, user, action: str, expected_version: int | None, changes: dict) -> Face:
    """Apply changes if the face is still at the expected version, record the revision, refresh counts."""
    if expected_version is not None and face.version != expected_version:
        raise FaceConflict(Face.objects.get(pk=face.pk))
    current_version = face.version
    before = face.snapshot()
    now = timezone.now()
    updated = Face.objects.filter(pk=face.pk, version=current_version).update(
        **changes, version=F("version") + 1, updated_at=now
    )
    if updated != 1:
        raise FaceConflict(Face.objects.get(pk=face.pk))
    # The conditional update held: the row is now exactly this, no need to read it back.
    for field, value in changes.items():
        setattr(face, field, value)
    face.version = current_version + 1
    face.updated_at = now
    face_revision_record(face=face, user=user, action=action, before=before, after=face.snapshot())
    page_counts_refresh(page_ids=[face.page_id], start_review=True)
    return face


def _clamped_box(page: Page, x: float, y: float, w: float, h: float) -> tuple[int, int, int, int]:
    box = clamp_box_to_page(page, x, y, w, h)
    if box is None:
        raise ValidationError({"x": [f"the box {x},{y},{w},{h} lies outside the {page.width}x{page.height} page"]})
    return box


@transaction.atomic
def face_create(
    *,
    page: Page,
    user,
    x: float,
    y: float,
    w: float,
    h: float,
    gender: str = Gender.UNKNOWN,
    age: float | None = None,
    child: bool = False,
    person: str = "",
    client_key: str = "",
) -> Face:
    """Add a face a curator drew: status `added`, source `curator`, confidence 1.

    A `client_key` already used on this page returns the face made then, unchanged and with no
    new revision (`recorded_revision_id` stays None): the same request sent again.
    """
    if client_key and (made := Face.objects.filter(page=page, client_key=client_key).first()):
        return made
    x, y, w, h = _clamped_box(page, x, y, w, h)
    face = Face(
        page=page,
        x=x,
        y=y,
        w=w,
        h=h,
        gender=gender,
        age=age,
        child=child,
        person=person,
        confidence=1.0,
        source=CURATOR_SOURCE,
        status=FaceStatus.ADDED,
        client_key=client_key,
    )
    # The key's uniqueness is the database's to enforce: the same request may be in flight twice.
    face.full_clean(exclude=["client_key"])
    try:
        with transaction.atomic():
            face.save()
    except IntegrityError:
        if not client_key:
            raise
        return Face.objects.get(page=page, client_key=client_key)
    face_revision_record(face=face, user=user, action="create", before=None, after=face.snapshot())
    page_counts_refresh(page_ids=[page.pk], start_review=True)
    return face


@transaction.atomic
def face_update(*, face: Face, user, expected_version: int, data: dict) -> Face:
    """Change a face's box or attributes; raises FaceConflict when expected_version is stale.

    A changed predicted or accepted face becomes `edited`; a write that changes nothing is a no-op.
    """
    if face.version != expected_version:
        raise FaceConflict(Face.objects.get(pk=face.pk))
    changes = {field: data[field] for field in EDITABLE_FACE_FIELDS if field in data}
    if {"x", "y", "w", "h"} & changes.keys():
        box = [changes.get(name, getattr(face, name)) for name in ("x", "y", "w", "h")]
        changes.update(zip(("x", "y", "w", "h"), _clamped_box(face.page, *box), strict=True))
    changes = {field: value for field, value in changes.items() if getattr(face, field) != value}
    if not changes:
        return face
    if face.status in EDIT_MARKS_EDITED:
        changes["status"] = FaceStatus.EDITED
    return _face_write(face=face, user=user, action="update", expected_version=expected_version, changes=changes)


@transaction.atomic
def face_accept(*, face: Face, user, expected_version: int | None = None) -> Face:
    """Confirm a predicted (or restore a rejected) face as `accepted`; curated faces stay as they are."""
    if face.status not in (FaceStatus.PREDICTED, FaceStatus.REJECTED):
        if expected_version is not None and face.version != expected_version:
            raise FaceConflict(Face.objects.get(pk=face.pk))
        return face
    return _face_write(
        face=face,
        user=user,
        action="accept",
        expected_version=expected_version,
        changes={"status": FaceStatus.ACCEPTED},
    )


@transaction.atomic
def face_reject(*, face: Face, user, expected_version: int | None = None) -> Face:
    """Soft-delete a face: it stays as a hard negative with status `rejected`."""
    if face.status == FaceStatus.REJECTED:
        if expected_version is not None and face.version != expected_version:
            raise FaceConflict(Face.objects.get(pk=face.pk))
        return face
    return _face_write(
        face=face,
        user=user,
        action="reject",
        expected_version=expected_version,
        changes={"status": FaceStatus.REJECTED},
    )


class BulkOutcome(StrEnum):
    OK = "ok"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"
    # Visible to the user, whose role in its corpus is too low to change it (corpus-wide bulk writes).
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class FaceBulkResult:
    """What a bulk action did to one face it named: the face as it is now (None when not found or forbidden)."""

    face_id: int
    outcome: BulkOutcome
    face: Face | None


# The statuses a face can leave by each bulk status (as face_accept and face_reject).
_BULK_FROM = {
    FaceStatus.ACCEPTED: (FaceStatus.PREDICTED, FaceStatus.REJECTED),
    FaceStatus.REJECTED: tuple(status for status in FaceStatus if status != FaceStatus.REJECTED),
}


def _bulk_outcome(face: Face | None, version: int) -> BulkOutcome:
    if face is None:
        return BulkOutcome.NOT_FOUND
    return BulkOutcome.OK if face.version == version else BulkOutcome.CONFLICT


def _faces_apply(*, changes: dict[Face, dict], user, action: str, batch: uuid.UUID | None = None) -> None:
    """Write each locked face's changes, bump its version, record one revision each and refresh the pages' counts.

    Faces with the same changes share one UPDATE; every face gets the revision id that recorded it.
    """
    changes = {face: change for face, change in changes.items() if change}
    if not changes:
        return
    befores = {face.pk: face.snapshot() for face in changes}
    now = timezone.now()
    groups: dict[tuple, list[int]] = defaultdict(list)
    for face, change in changes.items():
        groups[tuple(sorted(change.items()))].append(face.pk)
    for items, face_ids in groups.items():
        Face.objects.filter(pk__in=face_ids).update(**dict(items), version=F("version") + 1, updated_at=now)
    for face, change in changes.items():
        for field, value in change.items():
            setattr(face, field, value)
        face.version, face.updated_at = face.version + 1, now
    revisions = FaceRevision.objects.bulk_create(
        FaceRevision(face=face, user=user, action=action, before=befores[face.pk], after=face.snapshot(), batch=batch)
        for face in changes
    )
    for face, revision in zip(changes, revisions, strict=True):
        face.recorded_revision_id = revision.pk
    page_counts_refresh(page_ids={face.page_id for face in changes}, start_review=True)


@transaction.atomic
def faces_bulk_set_status(*, page: Page, user, status: str, versions: dict[int, int]) -> list[FaceBulkResult]:
    """Accept or reject the faces of a page named with the version each was seen at, face by face.

    A face at another version is a conflict and stays as it is; a face not on this page is not
    found; the others change as face_accept or face_reject would, with one revision each. The
    results follow the order of `versions`.
    """
    if status not in _BULK_FROM:
        raise ValidationError({"action": [f"bulk status must be accepted or rejected, not {status!r}"]})
    faces = {
        face.pk: face
        for face in Face.objects.select_for_update(no_key=True).filter(page=page, pk__in=versions).order_by("pk")
    }
    outcomes = {face_id: _bulk_outcome(faces.get(face_id), version) for face_id, version in versions.items()}
    _faces_apply(
        changes={
            face: {"status": status}
            for face in faces.values()
            if outcomes[face.pk] == BulkOutcome.OK and face.status in _BULK_FROM[status]
        },
        user=user,
        action="accept" if status == FaceStatus.ACCEPTED else "reject",
    )
    return [FaceBulkResult(face_id, outcome, faces.get(face_id)) for face_id, outcome in outcomes.items()]


class BulkAction(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    SET_GENDER = "set_gender"
    SET_CHILD = "set_child"
    # Put back what one earlier bulk batch changed.
    UNDO = "undo"


# The revision action each bulk action records (as the single-face services name theirs).
_BULK_REVISION_ACTION = {
    BulkAction.ACCEPT: "accept",
    BulkAction.REJECT: "reject",
    BulkAction.SET_GENDER: "update",
    BulkAction.SET_CHILD: "update",
    BulkAction.UNDO: "revert",
}


@dataclass(frozen=True)
class FacesBulkWritten:
    """A corpus-wide bulk write: its batch id (what undo names) and each named face's result, in request order."""

    batch: uuid.UUID
    results: list[FaceBulkResult]


def _bulk_change(face: Face, action: BulkAction, value, undone: FaceRevision | None) -> dict:
    """What one bulk action changes on a face, as face_accept, face_reject, face_update or face_revert would."""
    if action in (BulkAction.ACCEPT, BulkAction.REJECT):
        status = FaceStatus.ACCEPTED if action == BulkAction.ACCEPT else FaceStatus.REJECTED
        return {"status": status} if face.status in _BULK_FROM[status] else {}
    if action in (BulkAction.SET_GENDER, BulkAction.SET_CHILD):
        field = "gender" if action == BulkAction.SET_GENDER else "child"
        if getattr(face, field) == value:
            return {}
        return {field: value, **({"status": FaceStatus.EDITED} if face.status in EDIT_MARKS_EDITED else {})}
    if undone is None or undone.before is None or undone.after is None:
        return {}
    # Only what that batch changed goes back: the face is at the version the batch left it at.
    restorable = (*EDITABLE_FACE_FIELDS, "status")
    return {
        field: undone.before[field]
        for field in restorable
        if undone.before.get(field) != undone.after.get(field) and getattr(face, field) != undone.before[field]
    }


@transaction.atomic
def faces_bulk_write(
    *,
    user,
    access: FacesAccess,
    action: BulkAction,
    versions: dict[int, int],
    value: str | bool | None = None,
    undo_batch: uuid.UUID | None = None,
) -> FacesBulkWritten:
    """Apply one action to faces of any corpora, each named with the version it was seen at, as one batch.

    `access` sorts the faces by the user's role (annotations.access.faces_access_for_user): only its
    allowed faces are written. A face at another version is a conflict and stays as it is. With
    `undo`, each face goes back to its state before `undo_batch` changed it (a face that batch did
    not change stays as it is; a batch that changed none of the allowed faces is a ValidationError).
    Every change gets one revision carrying the new batch's id.
    """
    batch = uuid.uuid4()
    faces = {
        face.pk: face
        for face in Face.objects.select_for_update(no_key=True).filter(pk__in=access.allowed).order_by("pk")
    }
    outcomes = {}
    for face_id, version in versions.items():
        if face_id in access.forbidden:
            outcomes[face_id] = BulkOutcome.FORBIDDEN
        else:
            outcomes[face_id] = _bulk_outcome(faces.get(face_id), version)
    ok = [face for face in faces.values() if outcomes[face.pk] == BulkOutcome.OK]
    undone: dict[int, FaceRevision] = {}
    if action == BulkAction.UNDO:
        revisions = FaceRevision.objects.filter(batch=undo_batch, face_id__in=access.allowed).order_by("id")
        undone = {revision.face_id: revision for revision in revisions}
        if not undone:
            raise ValidationError({"batch": [_("No change of these faces has this batch id.")]})
        # Every face write records a revision: one after the batch's means someone changed the face
        # since, whatever version the client named.
        latest = dict(
            FaceRevision.objects.filter(face_id__in=[face.pk for face in ok if face.pk in undone])
            .values("face_id")
            .annotate(latest=Max("id"))
            .values_list("face_id", "latest")
        )
        changed_since = {face_id for face_id, revision_id in latest.items() if revision_id != undone[face_id].pk}
        for face_id in changed_since:
            outcomes[face_id] = BulkOutcome.CONFLICT
        ok = [face for face in ok if face.pk not in changed_since]
    _faces_apply(
        changes={face: _bulk_change(face, action, value, undone.get(face.pk)) for face in ok},
        user=user,
        action=_BULK_REVISION_ACTION[action],
        batch=batch,
    )
    return FacesBulkWritten(batch, [FaceBulkResult(face_id, o, faces.get(face_id)) for face_id, o in outcomes.items()])


@transaction.atomic
def face_revert(*, revision: FaceRevision, user, expected_version: int | None = None) -> Face:
    """Put a face back into the state it had before one of its recorded changes.

    Reverting the creation of a face rejects it (faces are never deleted).
    """
    face = Face.objects.select_related("page").get(pk=revision.face_id)
    if revision.before is None:
        target = {"status": FaceStatus.REJECTED}
    else:
        restorable = (*EDITABLE_FACE_FIELDS, "status")
        target = {field: revision.before[field] for field in restorable if field in revision.before}
        box = _clamped_box(face.page, *(target.get(name, getattr(face, name)) for name in ("x", "y", "w", "h")))
        target.update(zip(("x", "y", "w", "h"), box, strict=True))
    changes = {field: value for field, value in target.items() if getattr(face, field) != value}
    if not changes:
        if expected_version is not None and face.version != expected_version:
            raise FaceConflict(face)
        return face
    return _face_write(face=face, user=user, action="revert", expected_version=expected_version, changes=changes)
