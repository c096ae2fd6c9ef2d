"""Read-only queries for lists and pages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from annotations.access import documents_visible_to, faces_visible_to, pages_visible_to
from annotations.models import (
    FACE_FIELDS,
    Corpus,
    CorpusAccessChange,
    CorpusMembership,
    Document,
    Face,
    FaceRevision,
    FaceStatus,
    Page,
    PageReviewChange,
    Person,
    ReviewStatus,
)
from annotations.search.params import SearchParams
from annotations.search.planner import face_search, faces_order
from webapp.jobs import jobs_active_on_document

# How many of a page's review status changes its detail (and the review canvas) shows.
PAGE_REVIEW_HISTORY_SHOWN = 20
# How many of a corpus's access changes its settings (API and page) show.
CORPUS_ACCESS_HISTORY_SHOWN = 50


def document_list(*, user, corpus_id: int | None = None) -> QuerySet[Document]:
    """Documents the user may view, with their page counts."""
    documents = documents_visible_to(user).select_related("corpus").annotate(page_count=Count("pages"))
    if corpus_id is not None:
        documents = documents.filter(corpus_id=corpus_id)
    return documents.order_by("corpus__name", "date_start", "label", "id")


def page_list(*, user, document_id: int | None = None) -> QuerySet[Page]:
    """Pages the user may view, in document order."""
    pages = pages_visible_to(user)
    if document_id is not None:
        pages = pages.filter(document_id=document_id)
    return pages.select_related("document").order_by("document_id", "order")


def page_neighbours(*, page: Page) -> dict[str, Page | None]:
    """The previous, next and next unreviewed pages of the same document."""
    siblings = Page.objects.filter(document_id=page.document_id)
    return {
        "previous": siblings.filter(order__lt=page.order).order_by("-order").first(),
        "next": siblings.filter(order__gt=page.order).order_by("order").first(),
        "next_unreviewed": siblings.exclude(review_status=ReviewStatus.REVIEWED)
        .exclude(pk=page.pk)
        .order_by("order")
        .first(),
    }


def document_review_progress(*, document: Document) -> dict[str, int]:
    """How many pages of a document are in each review status."""
    counts = dict(
        Page.objects.filter(document=document).values_list("review_status").annotate(n=Count("id")).order_by()
    )
    return {status: counts.get(status, 0) for status in ReviewStatus.values}


def corpus_holdings(*, corpus: Corpus) -> dict[str, int]:
    """What keeps a corpus from being deleted in the app: its documents, trained models and training jobs."""
    return {
        "documents": corpus.documents.count(),
        "trained_models": corpus.trained_models.count(),
        "training_jobs": corpus.training_jobs.count(),
    }


def document_curated_work(*, document: Document) -> dict[str, int]:
    """A curator's work on a document: its faces a re-run of detection keeps (`Face.curated`) and its pages
    in review or reviewed, or whose review status ever changed (a page reopened keeps its history)."""
    reviewed = ~Q(review_status=ReviewStatus.UNREVIEWED) | Exists(PageReviewChange.objects.filter(page=OuterRef("pk")))
    return {
        "curated_faces": Face.objects.filter(page__document=document).curated().count(),
        "reviewed_pages": Page.objects.filter(reviewed, document=document).count(),
    }


def page_review_statuses(*, page_ids: Iterable[int]) -> list[dict]:
    """Where these pages stand in review, by page id: `[{id, review_status}]`."""
    return list(Page.objects.filter(pk__in=set(page_ids)).order_by("pk").values("id", "review_status"))


@dataclass(frozen=True)
class RemovalBlockers:
    """What keeps a document from being removed in the app: the kinds of job at work on it, and a curator's work
    on it (`document_curated_work`). `document_remove` refuses on either; the document page shows them."""

    jobs_at_work: list[str]
    curated_work: dict[str, int]

    @property
    def curated(self) -> bool:
        return any(self.curated_work.values())


def document_removal_blockers(*, document: Document) -> RemovalBlockers:
    return RemovalBlockers(
        jobs_at_work=jobs_active_on_document(document.pk), curated_work=document_curated_work(document=document)
    )


# What /api/faces/ lists by default: the review canvas's order.
FACE_LIST_ORDERING = "page"


def face_list_searches(params: SearchParams) -> bool:
    """Whether a face list is a search: any filter beyond document, status and ordering."""
    return replace(params, document=None, status="", ordering="") != SearchParams()


def face_list(
    *, user, params: SearchParams, page_id: int | None = None, statuses: Sequence[str] = ()
) -> QuerySet[Face]:
    """Faces the user may view for /api/faces/, in a stable order (default: page, top to bottom).

    With search filters, the faces face_search selects (rejected faces never count, and `statuses`
    holds at most one other status). Without, every face of the page or document, rejected ones
    included: curators see and restore them in review.
    """
    params = replace(params, ordering=params.ordering or FACE_LIST_ORDERING)
    if face_list_searches(params):
        faces = face_search(user=user, params=replace(params, status=statuses[0] if statuses else ""))
    else:
        faces = faces_visible_to(user)
        if params.document is not None:
            faces = faces.filter(page__document_id=params.document)
        if statuses:
            faces = faces.filter(status__in=statuses)
        faces = faces_order(faces, params.ordering)
    faces = faces.select_related("person")
    return faces.filter(page_id=page_id) if page_id is not None else faces


def face_history(*, face: Face) -> QuerySet[FaceRevision]:
    """A face's recorded changes, newest first, with who made them."""
    return face.revisions.select_related("user").order_by("-created_at", "-id")


def page_review_history(*, page: Page, limit: int = PAGE_REVIEW_HISTORY_SHOWN) -> list[PageReviewChange]:
    """The page's latest review status changes, newest first, with their authors."""
    return list(page.review_changes.select_related("user").order_by("-created_at", "-id")[:limit])


def corpus_members(*, corpus: Corpus) -> list[CorpusMembership]:
    """The corpus's members with their roles, by name (its owner is not one: the owner is always admin)."""
    return list(corpus.memberships.select_related("user").order_by("user__username"))


def corpus_access_history(*, corpus: Corpus, limit: int = CORPUS_ACCESS_HISTORY_SHOWN) -> list[CorpusAccessChange]:
    """The corpus's latest changes of settings and members, newest first, with their authors."""
    return list(corpus.access_changes.select_related("user").order_by("-created_at", "-id")[:limit])


def user_named(*, username: str):
    """The user of exactly this name, or None."""
    return get_user_model().objects.filter(username=username).first()


def face_latest_revision_id(*, face: Face) -> int | None:
    """The id of the face's most recent revision (what an undo reverts)."""
    return face.revisions.order_by("-created_at", "-id").values_list("id", flat=True).first()


def faces_latest_revision_ids(*, face_ids: list[int]) -> dict[int, int]:
    """Each face's most recent revision id (ids grow with time), for undoing a bulk change."""
    latest = (
        FaceRevision.objects.filter(face_id__in=face_ids)
        .values("face_id")
        .annotate(latest=Max("id"))
        .values_list("face_id", "latest")
    )
    return dict(latest)


def person_faces(*, person: Person) -> QuerySet[Face]:
    """A person's faces across the documents of their corpus (rejected ones never count), in reading order."""
    faces = Face.objects.filter(person=person).exclude(status=FaceStatus.REJECTED)
    reading_order = ("page__document__label", "page__document_id", "page__order", "y", "x", "id")
    return faces.select_related("page__document").order_by(*reading_order)


def page_faces_for_review(*, page: Page) -> list[dict]:
    """All faces of a page, rejected ones included, as plain dicts for the review canvas."""
    columns = [field for field in FACE_FIELDS if field != "person"]
    rows = Face.objects.filter(page=page).order_by("y", "x", "id").values(*columns, "person__name")
    return [{**row, "person": row.pop("person__name") or ""} for row in rows]


def page_next_unreviewed_in_corpus(*, user, page: Page) -> Page | None:
    """The next page not yet reviewed in the page's corpus, after this one in document order, wrapping."""
    queue = (
        pages_visible_to(user)
        .filter(document__corpus_id=page.document.corpus_id)
        .exclude(review_status=ReviewStatus.REVIEWED)
        .exclude(pk=page.pk)
        .order_by("document_id", "order")
    )
    after = Q(document_id=page.document_id, order__gt=page.order) | Q(document_id__gt=page.document_id)
    return queue.filter(after).first() or queue.first()
