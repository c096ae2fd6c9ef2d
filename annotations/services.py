"""Write services for corpora, documents, pages and faces: every face change is counted and recorded."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NoReturn

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Max, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from annotations.access import NOT_FOUND, FacesAccess
from annotations.models import (
    CURATED_STATUSES,
    CURATOR_SOURCE,
    PAGE_COUNT_CONFIDENCE_STEPS,
    PAGE_COUNT_SELECTORS,
    Corpus,
    CorpusAccessAction,
    CorpusAccessChange,
    CorpusMembership,
    CorpusRole,
    Document,
    Face,
    FaceRevision,
    FaceStatus,
    Gender,
    Page,
    PageReviewChange,
    Person,
    ReviewStatus,
    person_name_key,
)
from annotations.selectors import corpus_holdings, document_removal_blockers

logger = logging.getLogger(__name__)

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


# What each page count column selects among the non-rejected faces (PAGE_COUNT_SELECTORS).
_SELECTOR_SQL = {
    "face": ("TRUE", ()),
    "female": ("face.gender = %s", (Gender.FEMALE,)),
    "male": ("face.gender = %s", (Gender.MALE,)),
    "unknown": ("face.gender = %s", (Gender.UNKNOWN,)),
    "child": ("face.child", ()),
}
# The curated and confident counts (columns PAGE_CURATED_COUNT_COLUMNS, PAGE_CONFIDENT_COUNT_COLUMNS):
# (column, condition, parameters).
_PAGE_SPLIT_COUNTS = [
    *(
        (f"curated_{selector}_count", f"face.status IN (%s, %s, %s) AND {sql}", (*CURATED_STATUSES, *params))
        for selector in PAGE_COUNT_SELECTORS
        for sql, params in [_SELECTOR_SQL[selector]]
    ),
    *(
        (f"{selector}_count_{suffix}", f"face.search_confidence >= %s AND {sql}", (step, *params))
        for step, suffix in PAGE_COUNT_CONFIDENCE_STEPS.items()
        for selector in PAGE_COUNT_SELECTORS
        for sql, params in [_SELECTOR_SQL[selector]]
    ),
]
# Each page's counts and extremes of its non-rejected faces (its most confident face overall, per
# gender and among children: what statistics' page summaries count), its curated and confident
# counts, in one UPDATE (PostgreSQL, and SQLite >= 3.15 for the row value). The ORM would need a
# subquery per column (eight scans of the page's faces) or a SELECT then an UPDATE, and compiling
# its aggregate was the costliest part of a face save. Shares are computed as before, when the ORM
# built them: 100.0 times the extreme area, over width times height, all in double precision, so the
# stored values are bit for bit the same.
_PAGE_COUNTS_SET = f"""
    (face_count, female_count, male_count, unknown_count, child_count,
     max_confidence, max_confidence_female, max_confidence_male, max_confidence_unknown, max_confidence_child,
     max_face_share, min_face_share,
     {", ".join(column for column, _sql, _params in _PAGE_SPLIT_COUNTS)}) = (
        SELECT
            COUNT(*),
            COUNT(*) FILTER (WHERE face.gender = %s),
            COUNT(*) FILTER (WHERE face.gender = %s),
            COUNT(*) FILTER (WHERE face.gender = %s),
            COUNT(*) FILTER (WHERE face.child),
            MAX(face.search_confidence),
            MAX(face.search_confidence) FILTER (WHERE face.gender = %s),
            MAX(face.search_confidence) FILTER (WHERE face.gender = %s),
            MAX(face.search_confidence) FILTER (WHERE face.gender = %s),
            MAX(face.search_confidence) FILTER (WHERE face.child),
            %s * MAX(CAST(face.w AS double precision) * CAST(face.h AS double precision))
                / (CAST(annotations_page.width AS double precision)
                   * CAST(annotations_page.height AS double precision)),
            %s * MIN(CAST(face.w AS double precision) * CAST(face.h AS double precision))
                / (CAST(annotations_page.width AS double precision)
                   * CAST(annotations_page.height AS double precision)),
            {", ".join(f"COUNT(*) FILTER (WHERE {sql})" for _column, sql, _params in _PAGE_SPLIT_COUNTS)}
        FROM annotations_face AS face
        WHERE face.page_id = annotations_page.id AND face.status <> %s
    )"""
_PAGE_COUNTS_PARAMS = (
    *(Gender.FEMALE, Gender.MALE, Gender.UNKNOWN),
    *(Gender.FEMALE, Gender.MALE, Gender.UNKNOWN),
    *(100.0, 100.0),
    *(param for _column, _sql, params in _PAGE_SPLIT_COUNTS for param in params),
    FaceStatus.REJECTED,
)
# A curator's first change of an unreviewed page puts it in review, in the same UPDATE.
_PAGE_START_REVIEW_SET = "review_status = CASE WHEN review_status = %s THEN %s ELSE review_status END,"
_PAGE_START_REVIEW_PARAMS = (ReviewStatus.UNREVIEWED, ReviewStatus.IN_REVIEW)


@transaction.atomic(savepoint=False)
def page_counts_refresh(*, page_ids: Iterable[int], start_review: bool = False, user=None) -> None:
    """Recompute the denormalised face counts and extremes of these pages from their non-rejected faces.

    With start_review, an unreviewed page also goes in review (what a curator's change does), and the
    change is recorded in its review history as made by `user`.
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
        if start_review:
            author = _author(user)
            # Recorded before the UPDATE below moves them, under the locks just taken (PostgreSQL) or the
            # write lock (SQLite's IMMEDIATE transactions): exactly the pages this write puts in review.
            cursor.execute(
                _review_start_record_sql(len(page_ids)),
                [
                    author.pk if author is not None else None,
                    connection.ops.adapt_datetimefield_value(timezone.now()),
                    *_PAGE_START_REVIEW_PARAMS,
                    *page_ids,
                    ReviewStatus.UNREVIEWED,
                ],
            )
        cursor.execute(
            f"UPDATE annotations_page SET {start} {_PAGE_COUNTS_SET} WHERE id IN ({', '.join(['%s'] * len(page_ids))})",
            [*(_PAGE_START_REVIEW_PARAMS if start_review else ()), *_PAGE_COUNTS_PARAMS, *page_ids],
        )


def _review_start_record_sql(page_count: int) -> str:
    """INSERT ... SELECT of a review history entry (PageReviewChange) for each of the pages still unreviewed."""
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(PageReviewChange._meta.get_field(name).column)
        for name in ("page", "user", "created_at", "before", "after")
    )
    return (
        f"INSERT INTO {quote(PageReviewChange._meta.db_table)} ({columns}) SELECT id, %s, %s, %s, %s"
        f" FROM annotations_page WHERE id IN ({', '.join(['%s'] * page_count)}) AND review_status = %s"
    )


def _author(user):
    """Who a history (a page's review, a corpus's access) names: the user, or nobody for an anonymous or absent one."""
    return user if user is not None and user.is_authenticated else None


def face_build(*, page: Page, box: tuple[int, int, int, int], **fields) -> Face:
    """A new face (not yet saved: faces_write inserts it) on a page, at a box (x, y, w, h) in canvas pixels."""
    x, y, w, h = box
    return Face(page=page, x=x, y=y, w=w, h=h, **fields)


def clamp_box_to_page(page: Page, x: float, y: float, w: float, h: float) -> tuple[int, int, int, int] | None:
    """Round and clip a box to the canvas; None when nothing of it is left.

    Clipped before rounding: x + w may overflow to infinity, which has no integer.
    """
    x1 = round(max(0, min(page.width, x)))
    y1 = round(max(0, min(page.height, y)))
    x2 = round(max(0, min(page.width, x + w)))
    y2 = round(max(0, min(page.height, y + h)))
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
        new_faces.append(
            face_build(
                page=page,
                box=box,
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
    return faces_write(user=None, action=None, new=new_faces, page_ids=[page.pk])


class PageReviewConflict(Exception):
    """The page's review status changed since its writer read it; `page` is the page as it is now."""

    def __init__(self, page: Page):
        super().__init__(f"page {page.pk} is at review version {page.review_version}")
        self.page = page


def page_set_review_status(*, page: Page, status: str, user, review_version: int) -> Page:
    """Move a page through unreviewed → in review → reviewed, recording who reviewed it, and each change
    in the page's review history (PageReviewChange: who, when, before, after).

    Locked and written at the review version its writer read, moving it on: a change made meanwhile by
    someone else raises PageReviewConflict and nothing is written. Setting the status a page already has
    moves the version on and records nothing.
    """
    reviewed = status == ReviewStatus.REVIEWED
    author = _author(user)
    with transaction.atomic():
        before = (
            Page.objects.select_for_update(no_key=True)
            .filter(pk=page.pk, review_version=review_version)
            .values_list("review_status", flat=True)
            .first()
        )
        # Still conditional: SQLite takes no row lock, so the version is checked where it is written.
        written = before is not None and Page.objects.filter(pk=page.pk, review_version=review_version).update(
            review_status=status,
            reviewed_by=author if reviewed else None,
            reviewed_at=timezone.now() if reviewed else None,
            review_version=F("review_version") + 1,
        )
        if written and before != status:
            PageReviewChange.objects.create(page=page, user=author, before=before, after=status)
    try:
        page.refresh_from_db()
    except Page.DoesNotExist:
        # Gone meanwhile (its document removed).
        raise Http404(NOT_FOUND["page"]) from None
    if not written:
        raise PageReviewConflict(page)
    return page


# Writing faces. Every path (predictions, curator edits, status changes, bulk, imports) goes through
# faces_write: each change of a stored face is a conditional UPDATE at the version its writer read,
# bumping `version`, so two curators (or two tabs) editing the same face never overwrite each other
# silently; each change a person makes is recorded as a revision; the pages' counts follow.

EDITABLE_FACE_FIELDS = ("x", "y", "w", "h", "age", "gender", "child", "person")
# Statuses that become `edited` when a curator changes a box or its attributes.
EDIT_MARKS_EDITED = (FaceStatus.PREDICTED, FaceStatus.ACCEPTED)
# The status transitions (accept, reject): the statuses a face can leave for each target status;
# a face in any other status stays as it is. Single, bulk, revert and import writes all use them.
FACE_TRANSITIONS = {
    FaceStatus.ACCEPTED: (FaceStatus.PREDICTED, FaceStatus.REJECTED),
    FaceStatus.REJECTED: tuple(status for status in FaceStatus if status != FaceStatus.REJECTED),
}
_TRANSITION_ACTIONS = {FaceStatus.ACCEPTED: "accept", FaceStatus.REJECTED: "reject"}


def person_for_name(*, corpus_id: int, name: str) -> Person | None:
    """The corpus's person of this name, whatever its case and spacing (`person_name_key`), made when
    new under the name as given; None for a blank name (nobody named)."""
    name = name.strip()
    if not name:
        return None
    person, _created = Person.objects.get_or_create(
        corpus_id=corpus_id, name_key=person_name_key(name), defaults={"name": name}
    )
    return person


def _face_value(face: Face, field: str):
    """A face's editable value as writes and revisions name it (the person by name)."""
    return face.person_name if field == "person" else getattr(face, field)


def _changes_stored(*, face: Face, changes: dict) -> dict:
    """Changes as the face's columns take them: a person's name becomes the person of the face's corpus."""
    if "person" not in changes:
        return changes
    corpus_id = face.page.document.corpus_id
    return {**changes, "person": person_for_name(corpus_id=corpus_id, name=changes["person"])}


class FaceConflict(Exception):
    """A write named a version of the face that is no longer current (the API answers 409 with the face)."""

    def __init__(self, face: Face):
        super().__init__(f"face {face.pk} is at version {face.version}")
        self.face = face


def _version_check(*, face: Face, expected_version: int | None) -> None:
    """Raise FaceConflict, with the face as it is now, when the writer saw another version (None: any)."""
    if expected_version is not None and face.version != expected_version:
        raise FaceConflict(_face_now(face.pk))


def _face_now(face_id: int) -> Face:
    """The face as it is now, for a conflict; 404 when it is gone meanwhile (its document removed)."""
    face = Face.objects.filter(pk=face_id).first()
    if face is None:
        raise Http404(NOT_FOUND["face"])
    return face


def _changes_grouped(changed: list[tuple[Face, dict]]) -> dict[tuple, list[Face]]:
    """The faces of each distinct set of changes: faces changed alike share one UPDATE."""
    groups: dict[tuple, list[Face]] = {}
    for face, changes in changed:
        groups.setdefault(tuple(sorted(changes.items())), []).append(face)
    return groups


def _update_at_read_versions(*, faces: list[Face], changes: dict, now) -> None:
    """Apply the same changes to faces still at the versions they were read at; FaceConflict if one is not."""
    by_version: dict[int, list[int]] = {}
    for face in faces:
        by_version.setdefault(face.version, []).append(face.pk)
    unchanged_since_read, written_now = Q(), Q()
    for version, pks in by_version.items():
        unchanged_since_read |= Q(pk__in=pks, version=version)
        written_now |= Q(pk__in=pks, version=version + 1, updated_at=now)
    updated = Face.objects.filter(unchanged_since_read).update(**changes, version=F("version") + 1, updated_at=now)
    if updated != len(faces):
        # The caller's transaction undoes what this UPDATE wrote; the conflict names a face it missed.
        missed = Face.objects.filter(pk__in=[face.pk for face in faces]).exclude(written_now).order_by("pk").first()
        if missed is None:
            # Gone meanwhile (their document removed): nothing to write to.
            raise Http404(NOT_FOUND["face"])
        raise FaceConflict(missed)
    # The conditional update held: the rows are now exactly this, no need to read them back.
    for face in faces:
        for field, value in changes.items():
            setattr(face, field, value)
        face.version += 1
        face.updated_at = now


@transaction.atomic(savepoint=False)
def faces_write(
    *,
    user,
    action: str | None,
    new: Sequence[Face] = (),
    changed: Sequence[tuple[Face, dict]] = (),
    page_ids: Iterable[int] = (),
    start_review: bool = False,
    refresh_counts: bool = True,
    batch: uuid.UUID | None = None,
) -> list[Face]:
    """The one write of faces: insert `new` faces and apply `changed` (face, changes) pairs.

    Each change applies only if the face is still at the version it was read at (else FaceConflict)
    and bumps it; with an `action`, each face written gets a revision (before and after), whose id
    the face keeps as `recorded_revision_id`. Then the counts of the pages written (and `page_ids`)
    are refreshed, unless the caller refreshes them once for many writes; with start_review, an
    unreviewed page goes in review. The revisions carry `batch`, the id of a bulk write that undo
    names. Returns the new faces, inserted.
    """
    changed = [(face, changes) for face, changes in changed if changes]
    befores = {face.pk: face.snapshot() for face, _ in changed}
    created = Face.objects.bulk_create(new) if new else []
    now = timezone.now()
    for changes, faces in _changes_grouped(changed).items():
        _update_at_read_versions(faces=faces, changes=dict(changes), now=now)
    if action is not None and (created or changed):
        written = [(face, None) for face in created] + [(face, befores[face.pk]) for face, _ in changed]
        revisions = FaceRevision.objects.bulk_create(
            FaceRevision(face=face, user=user, action=action, before=before, after=face.snapshot(), batch=batch)
            for face, before in written
        )
        for (face, _), revision in zip(written, revisions, strict=True):
            face.recorded_revision_id = revision.pk
    if refresh_counts:
        touched = {*page_ids, *(face.page_id for face in created), *(face.page_id for face, _ in changed)}
        page_counts_refresh(page_ids=touched, start_review=start_review, user=user)
    return created


def _face_change(*, face: Face, user, action: str, expected_version: int | None, changes: dict) -> Face:
    """A curator's change of one face (nothing when `changes` is empty, once the version is checked)."""
    _version_check(face=face, expected_version=expected_version)
    faces_write(user=user, action=action, changed=[(face, changes)], start_review=True)
    return face


def face_transition_changes(*, face: Face, to_status: str) -> dict:
    """What moving a face to `to_status` changes: its status, or nothing when it cannot leave its own."""
    return {"status": FaceStatus(to_status)} if face.status in FACE_TRANSITIONS[to_status] else {}


def face_edit_changes(*, face: Face, changes: dict) -> dict:
    """A change of a predicted or accepted face's box or attributes also makes it `edited`."""
    if changes and "status" not in changes and face.status in EDIT_MARKS_EDITED:
        return {**changes, "status": FaceStatus.EDITED}
    return changes


@transaction.atomic
def face_status_transition(*, face: Face, to_status: str, user, expected_version: int | None = None) -> Face:
    """Move a face to `accepted` or `rejected` if its status allows it (FACE_TRANSITIONS), else leave it."""
    return _face_change(
        face=face,
        user=user,
        action=_TRANSITION_ACTIONS[to_status],
        expected_version=expected_version,
        changes=face_transition_changes(face=face, to_status=to_status),
    )


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
    face = face_build(
        page=page,
        box=_clamped_box(page, x, y, w, h),
        gender=gender,
        age=age,
        child=child,
        person=person_for_name(corpus_id=page.document.corpus_id, name=person),
        confidence=1.0,
        source=CURATOR_SOURCE,
        status=FaceStatus.ADDED,
        client_key=client_key,
    )
    # The key's uniqueness is the database's to enforce: the same request may be in flight twice. The
    # page is checked below, under its lock.
    face.full_clean(exclude=["client_key", "page"])
    try:
        with transaction.atomic():
            # A removal of its document in flight is waited for; then the page is gone.
            if not Page.objects.select_for_update(no_key=True).filter(pk=page.pk).exists():
                raise Http404(NOT_FOUND["page"])
            faces_write(user=user, action="create", new=[face], start_review=True)
    except IntegrityError:
        if not client_key:
            raise
        return Face.objects.get(page=page, client_key=client_key)
    return face


@transaction.atomic
def face_update(*, face: Face, user, expected_version: int, data: dict) -> Face:
    """Change a face's box or attributes; raises FaceConflict when expected_version is stale.

    A changed predicted or accepted face becomes `edited`; a write that changes nothing is a no-op.
    """
    _version_check(face=face, expected_version=expected_version)
    changes = {field: data[field] for field in EDITABLE_FACE_FIELDS if field in data}
    if {"x", "y", "w", "h"} & changes.keys():
        box = [changes.get(name, getattr(face, name)) for name in ("x", "y", "w", "h")]
        changes.update(zip(("x", "y", "w", "h"), _clamped_box(face.page, *box), strict=True))
    changes = {field: value for field, value in changes.items() if _face_value(face, field) != value}
    return _face_change(
        face=face,
        user=user,
        action="update",
        expected_version=expected_version,
        changes=face_edit_changes(face=face, changes=_changes_stored(face=face, changes=changes)),
    )


def face_accept(*, face: Face, user, expected_version: int | None = None) -> Face:
    """Confirm a predicted (or restore a rejected) face as `accepted`; curated faces stay as they are."""
    return face_status_transition(
        face=face, to_status=FaceStatus.ACCEPTED, user=user, expected_version=expected_version
    )


def face_reject(*, face: Face, user, expected_version: int | None = None) -> Face:
    """Soft-delete a face: it stays as a hard negative with status `rejected`."""
    return face_status_transition(
        face=face, to_status=FaceStatus.REJECTED, user=user, expected_version=expected_version
    )


class BulkOutcome(StrEnum):
    OK = "ok"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"
    # Visible to the user, whose role in its corpus is too low to change it (corpus-wide bulk writes).
    FORBIDDEN = "forbidden"


# The outcomes as the bulk APIs' answers declare them (one named enum in the API docs).
BULK_OUTCOME_CHOICES = [outcome.value for outcome in BulkOutcome]


@dataclass(frozen=True)
class FaceBulkResult:
    """What a bulk action did to one face it named: the face as it is now (None when not found or forbidden)."""

    face_id: int
    outcome: BulkOutcome
    face: Face | None


def _bulk_outcome(face: Face | None, version: int) -> BulkOutcome:
    if face is None:
        return BulkOutcome.NOT_FOUND
    return BulkOutcome.OK if face.version == version else BulkOutcome.CONFLICT


@transaction.atomic
def faces_bulk_set_status(*, page: Page, user, status: str, versions: dict[int, int]) -> list[FaceBulkResult]:
    """Accept or reject the faces of a page named with the version each was seen at, face by face.

    A face at another version is a conflict and stays as it is; a face not on this page is not
    found; the others change as face_accept or face_reject would, with one revision each. The
    results follow the order of `versions`.
    """
    if status not in FACE_TRANSITIONS:
        raise ValidationError({"action": [f"bulk status must be accepted or rejected, not {status!r}"]})
    faces = {
        face.pk: face
        for face in Face.objects.select_for_update(no_key=True)
        .filter(page=page, pk__in=versions)
        .order_by("pk")
        .prefetch_related("person")  # named in the answers and revisions; FOR UPDATE takes no outer join
    }
    outcomes = {face_id: _bulk_outcome(faces.get(face_id), version) for face_id, version in versions.items()}
    faces_write(
        user=user,
        action=_TRANSITION_ACTIONS[status],
        changed=[
            (face, face_transition_changes(face=face, to_status=status))
            for face in faces.values()
            if outcomes[face.pk] == BulkOutcome.OK
        ],
        start_review=True,
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
        return face_transition_changes(face=face, to_status=status)
    if action in (BulkAction.SET_GENDER, BulkAction.SET_CHILD):
        field = "gender" if action == BulkAction.SET_GENDER else "child"
        return face_edit_changes(face=face, changes={field: value} if getattr(face, field) != value else {})
    if undone is None or undone.before is None or undone.after is None:
        return {}
    # Only what that batch changed goes back: the face is at the version the batch left it at.
    restorable = (*EDITABLE_FACE_FIELDS, "status")
    changes = {
        field: undone.before[field]
        for field in restorable
        if undone.before.get(field) != undone.after.get(field) and _face_value(face, field) != undone.before[field]
    }
    return _changes_stored(face=face, changes=changes)


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
        for face in Face.objects.select_for_update(no_key=True)
        .filter(pk__in=access.allowed)
        .order_by("pk")
        .prefetch_related("person")  # named in the answers and revisions; FOR UPDATE takes no outer join
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
    faces_write(
        user=user,
        action=_BULK_REVISION_ACTION[action],
        changed=[(face, _bulk_change(face, action, value, undone.get(face.pk))) for face in ok],
        start_review=True,
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
        changes = face_transition_changes(face=face, to_status=FaceStatus.REJECTED)
    else:
        restorable = (*EDITABLE_FACE_FIELDS, "status")
        target = {field: revision.before[field] for field in restorable if field in revision.before}
        box = _clamped_box(face.page, *(target.get(name, getattr(face, name)) for name in ("x", "y", "w", "h")))
        target.update(zip(("x", "y", "w", "h"), box, strict=True))
        changes = {field: value for field, value in target.items() if _face_value(face, field) != value}
        changes = _changes_stored(face=face, changes=changes)
    return _face_change(face=face, user=user, action="revert", expected_version=expected_version, changes=changes)


# Who may see or change a corpus: its settings (name, description, public or private, curators' names
# shown to its other readers or not) and its members'
# roles. Each change is written at the corpus's access version its writer read, moving it on, and
# recorded (CorpusAccessChange: who, when, before, after), as face and page-review changes are.

CORPUS_SETTINGS = ("name", "description", "is_public", "curator_names_public")


class CorpusAccessConflict(Exception):
    """The corpus's settings or members changed since its writer read them; `corpus` is as it is now."""

    def __init__(self, corpus: Corpus):
        super().__init__(f"corpus {corpus.pk} is at access version {corpus.access_version}")
        self.corpus = corpus


class CorpusAccessRefused(Exception):
    """A change of a corpus's settings or members that cannot be made; `field` is the input it concerns."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _corpus_access_write(*, corpus: Corpus, access_version: int, **fields) -> None:
    """Move the corpus's access version on (and write `fields`) if it is still the one its writer read.

    Called inside a transaction, before the rest of the change: on PostgreSQL the UPDATE locks the row
    until the change commits; on SQLite the write lock is the database's. Raises CorpusAccessConflict.
    """
    written = Corpus.objects.filter(pk=corpus.pk, access_version=access_version).update(
        access_version=F("access_version") + 1, **fields
    )
    if not written:
        _corpus_not_as_read(corpus.pk)


def _corpus_not_as_read(corpus_id: int) -> NoReturn:
    """Why a write at the access version its writer read found no corpus: it was deleted meanwhile (by its
    owner, in another tab: 404), or changed (CorpusAccessConflict, with the corpus as it is now)."""
    current = Corpus.objects.filter(pk=corpus_id).first()
    if current is None:
        raise Http404(NOT_FOUND["corpus"])
    raise CorpusAccessConflict(current)


def corpus_update(*, corpus: Corpus, user, access_version: int, changes: dict) -> Corpus:
    """Change a corpus's name, description, visibility or whether it names its curators to readers who are not
    members, recording the fields that changed."""
    unknown = set(changes) - set(CORPUS_SETTINGS)
    if unknown:
        raise ValueError(f"not corpus settings: {sorted(unknown)}")
    before = {field: getattr(corpus, field) for field in changes if getattr(corpus, field) != changes[field]}
    after = {field: changes[field] for field in before}
    try:
        with transaction.atomic():
            _corpus_access_write(corpus=corpus, access_version=access_version, **after)
            if after:
                _access_change_create(
                    corpus=corpus, user=user, action=CorpusAccessAction.SETTINGS, before=before, after=after
                )
    except IntegrityError as exc:
        taken = (
            _("Its owner already has a corpus of this name.")
            if corpus.owner_id
            else _("Another shared corpus has this name.")
        )
        raise CorpusAccessRefused("name", taken) from exc
    corpus.refresh_from_db()
    return corpus


def corpus_member_set(*, corpus: Corpus, user, access_version: int, member, role: str) -> CorpusMembership:
    """Give `member` this role in the corpus: a new member, or a member's role changed."""
    if member.pk == corpus.owner_id:
        raise CorpusAccessRefused("username", _("The owner of a corpus is always its admin."))
    with transaction.atomic():
        _corpus_access_write(corpus=corpus, access_version=access_version)
        membership = CorpusMembership.objects.filter(corpus=corpus, user=member).first()
        if membership is None:
            membership = CorpusMembership.objects.create(corpus=corpus, user=member, role=role)
            _access_change_create(
                corpus=corpus,
                user=user,
                action=CorpusAccessAction.MEMBER_ADDED,
                member=member,
                before={},
                after={"role": role},
            )
        elif membership.role != role:
            before = {"role": membership.role}
            membership.role = role
            membership.save(update_fields=["role"])
            _access_change_create(
                corpus=corpus,
                user=user,
                action=CorpusAccessAction.ROLE_CHANGED,
                member=member,
                before=before,
                after={"role": role},
            )
    corpus.refresh_from_db()
    return membership


def corpus_member_remove(*, membership: CorpusMembership, user, access_version: int) -> None:
    """Take a member out of the corpus (they keep what a public corpus shows everyone)."""
    corpus = membership.corpus
    with transaction.atomic():
        _corpus_access_write(corpus=corpus, access_version=access_version)
        deleted, _rows = CorpusMembership.objects.filter(pk=membership.pk).delete()
        if deleted:
            _access_change_create(
                corpus=corpus,
                user=user,
                action=CorpusAccessAction.MEMBER_REMOVED,
                member=membership.user,
                before={"role": membership.role},
                after={},
            )
    corpus.refresh_from_db()


def corpus_owner_set(*, corpus: Corpus, user, access_version: int, new_owner_id: int) -> Corpus:
    """Hand the corpus over to one of its admins: they become its owner (and no longer a member), the old
    owner, if any, stays an admin member; the effective roles are unchanged, only who cannot be demoted."""
    if new_owner_id == corpus.owner_id:
        raise CorpusAccessRefused("member", _("This user already owns the corpus."))
    old_owner = corpus.owner
    try:
        with transaction.atomic():
            _corpus_access_write(corpus=corpus, access_version=access_version)
            membership = (
                CorpusMembership.objects.select_related("user")
                .filter(corpus=corpus, user_id=new_owner_id, role=CorpusRole.ADMIN)
                .first()
            )
            if membership is None:
                raise CorpusAccessRefused("member", _("Hand a corpus over to one of its admins."))
            Corpus.objects.filter(pk=corpus.pk).update(owner=membership.user)
            _owner_replaced(corpus=corpus, user=user, old_owner=old_owner, new_owner=membership.user)
    except IntegrityError as exc:
        raise CorpusAccessRefused(
            "member", _("The new owner already has a corpus of this name: rename one first.")
        ) from exc
    corpus.refresh_from_db()
    return corpus


def corpus_owner_recorded(*, corpus: Corpus, user, old_owner) -> None:
    """Bring the memberships in line with an owner set outside these services (an operator in Django's admin)
    as a hand-over in the app does, record it and move the corpus's access version on."""
    with transaction.atomic():
        Corpus.objects.filter(pk=corpus.pk).update(access_version=F("access_version") + 1)
        _owner_replaced(corpus=corpus, user=user, old_owner=old_owner, new_owner=corpus.owner)


class CorpusNotEmpty(CorpusAccessRefused):
    """A corpus that still holds documents, trained models or training jobs (`holdings` counts them)."""

    def __init__(self, holdings: dict[str, int]):
        super().__init__(
            "corpus",
            _(
                "This corpus still holds documents (%(documents)s), trained models (%(trained_models)s) or "
                "training jobs (%(training_jobs)s): only an empty corpus is deleted here. Remove its documents "
                "first; an operator removes the rest."
            )
            % holdings,
        )
        self.holdings = holdings


def corpus_delete(*, corpus: Corpus, user, access_version: int) -> None:
    """Delete an empty corpus (no document, trained model or training job: nothing a curator made is lost),
    with its members, people and history, at the access version its owner read."""
    with transaction.atomic():
        # FOR UPDATE: an import adding a document to it (its foreign key check) waits for the deletion.
        current = Corpus.objects.select_for_update().filter(pk=corpus.pk, access_version=access_version).first()
        if current is None:
            _corpus_not_as_read(corpus.pk)
        holdings = corpus_holdings(corpus=current)
        if any(holdings.values()):
            raise CorpusNotEmpty(holdings)
        current.delete()
    # Its history goes with it: the log keeps who deleted what.
    logger.info("corpus %s (%r) deleted by %s", corpus.pk, corpus.name, user)


def _owner_replaced(*, corpus: Corpus, user, old_owner, new_owner) -> None:
    """The new owner is no longer also a member (the owner is always an admin), the old one stays an admin
    member, so that nobody's access changes by accident; recorded."""
    if new_owner is not None:
        CorpusMembership.objects.filter(corpus=corpus, user=new_owner).delete()
    if old_owner is not None:
        CorpusMembership.objects.update_or_create(corpus=corpus, user=old_owner, defaults={"role": CorpusRole.ADMIN})
    _access_change_create(
        corpus=corpus,
        user=user,
        action=CorpusAccessAction.OWNER_CHANGED,
        member=new_owner,
        before={"owner": old_owner.get_username() if old_owner is not None else None},
        after={"owner": new_owner.get_username() if new_owner is not None else None},
    )


def _access_change_create(*, corpus: Corpus, user, action: str, before: dict, after: dict, member=None) -> None:
    CorpusAccessChange.objects.create(
        corpus=corpus,
        user=_author(user),
        action=action,
        member=member,
        member_name=member.get_username() if member is not None else "",
        before=before,
        after=after,
    )


def corpus_access_recorded(*, corpus: Corpus, user, action: str, before: dict, after: dict, member=None) -> None:
    """Record a change of a corpus's access made outside these services (an operator in Django's admin),
    moving its access version on so that a form read before it is refused."""
    Corpus.objects.filter(pk=corpus.pk).update(access_version=F("access_version") + 1)
    _access_change_create(corpus=corpus, user=user, action=action, member=member, before=before, after=after)


# PostgreSQL's deadlock_detected: a removal and a curator's change in flight each waited for the other.
_DEADLOCK_DETECTED = "40P01"


class DocumentConflict(Exception):
    """The document changed (a re-import, say), or went, since its remover read it."""


class DocumentRemovalRefused(Exception):
    """A document that cannot be removed (now); the message says why, `curated_work` what a curator did there."""

    def __init__(self, message: str, curated_work: dict[str, int] | None = None):
        super().__init__(message)
        self.message = message
        self.curated_work = curated_work or {}


def document_remove(*, document: Document, user, updated_at) -> None:
    """Remove a document nobody has curated (a wrong or duplicate import), as its remover read it (`updated_at`).

    Its pages, the faces detection found on them, its runs and jobs go with it (the stored scans and
    the exports holding it too: `annotations.signals`); the removal is recorded in the corpus's history.
    Refused, nothing removed, while a job works on it or once a curator has worked on it: curated
    work leaves only through an operator.
    """
    try:
        with transaction.atomic():
            current = Document.objects.select_for_update().filter(pk=document.pk).first()
            if current is None or current.updated_at != updated_at:
                raise DocumentConflict(f"document {document.pk} is not as it was at {updated_at}")
            # Every face write ends by locking its pages (page_counts_refresh): one committed before
            # this lock is counted below, one in flight waits for the removal and then finds nothing.
            pages = list(Page.objects.select_for_update().filter(document=current).values_list("pk", flat=True))
            blockers = document_removal_blockers(document=current)
            if blockers.jobs_at_work:
                raise DocumentRemovalRefused(
                    _(
                        "A job is still working on this document (its import, detection or an evaluation): "
                        "wait for it to end, or cancel it, then remove the document."
                    )
                )
            if blockers.curated:
                raise DocumentRemovalRefused(
                    _(
                        "A curator has worked on this document (faces corrected or pages reviewed): it cannot be "
                        "removed here. Export it, then ask an operator."
                    ),
                    blockers.curated_work,
                )
            _access_change_create(
                corpus=current.corpus,
                user=user,
                action=CorpusAccessAction.DOCUMENT_REMOVED,
                before={
                    "document": current.label or current.source,
                    "pages": len(pages),
                    "faces": Face.objects.filter(page__document=current).count(),
                },
                after={},
            )
            current.delete()
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != _DEADLOCK_DETECTED:
            raise
        busy = _("Someone is changing this document right now: reload it and try again.")
        raise DocumentRemovalRefused(busy) from exc
