"""Read-only queries for detection runs: access, lists, progress, faces and the model registry."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Avg, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy

from annotations.access import (
    NOT_FOUND,
    corpora_visible_to,
    get_corpus_for_user,
    get_document_for_user,
    pages_visible_to,
    require_role,
)
from annotations.models import Corpus, CorpusRole, Face, Page
from detection.inference.registry import ATTRIBUTE_MODELS, DETECTORS, ModelSpec
from detection.model_loop.selectors import trained_model_names_hidden_from
from detection.models import DetectionRun, PageDetection
from webapp.jobs import JobStatus

RUN_NOT_FOUND = gettext_lazy("No such run")


def get_run_for_user(user, run_id: int, role: str = CorpusRole.VIEWER) -> DetectionRun:
    """A run by id, checked for the role in its corpus (404 when the corpus is not visible, as for an unknown id)."""
    run = DetectionRun.objects.select_related("corpus", "created_by").filter(pk=run_id).first()
    if run is None:
        raise Http404(RUN_NOT_FOUND)
    require_role(user, run.corpus, role, not_found=RUN_NOT_FOUND)
    return run


def pages_for_user(user, page_ids: list[int], role: str = CorpusRole.VIEWER) -> list[Page]:
    """Pages by id, each checked for the role in its corpus; 404 when one is missing or not visible.

    A page the user may not see counts as missing, whatever the other pages: its existence does not
    leak, not even through a 403 that a visible page of too low a role would answer instead.
    """
    wanted = set(page_ids)
    pages = list(pages_visible_to(user).select_related("document__corpus").filter(pk__in=wanted))
    if len(pages) != len(wanted):
        raise Http404(NOT_FOUND["page"])
    corpora: dict[int, Corpus] = {page.document.corpus_id: page.document.corpus for page in pages}
    for corpus in corpora.values():
        require_role(user, corpus, role, not_found=NOT_FOUND["page"])
    return pages


def run_scope_for_user(
    user, *, document_id: int | None = None, corpus_id: int | None = None, page_ids: list[int] | None = None
) -> dict:
    """The run_create scope keyword (document, corpus or page_ids), checked for the curator role."""
    if document_id is not None:
        return {"document": get_document_for_user(user, document_id, CorpusRole.CURATOR)}
    if corpus_id is not None:
        return {"corpus": get_corpus_for_user(user, corpus_id, CorpusRole.CURATOR)}
    return {"page_ids": [page.pk for page in pages_for_user(user, page_ids or [], CorpusRole.CURATOR)]}


def run_list(
    *, user, document_id: int | None = None, corpus_id: int | None = None, status: str | None = None
) -> QuerySet[DetectionRun]:
    """Runs in corpora the user may view, newest first."""
    runs = DetectionRun.objects.filter(corpus__in=corpora_visible_to(user)).select_related("created_by")
    if document_id is not None:
        runs = runs.filter(document_id=document_id)
    if corpus_id is not None:
        runs = runs.filter(corpus_id=corpus_id)
    if status:
        runs = runs.filter(status=status)
    return runs.order_by("-created_at", "-id")


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands: pages finished, faces, errors, speed and time left."""

    pages_total: int
    pages_done: int
    pages_failed: int
    pages_remaining: int
    faces_found: int
    percent: float
    elapsed_seconds: float | None
    pages_per_second: float | None
    eta_seconds: float | None


def run_progress(*, run: DetectionRun) -> RunProgress:
    """Progress from the run's own counters; the ETA extrapolates the pages finished so far."""
    finished = run.pages_done + run.pages_failed
    remaining = max(run.pages_total - finished, 0)
    if run.status == JobStatus.CANCELLED:
        remaining = 0
    elapsed = None
    if run.started_at:
        elapsed = ((run.finished_at or timezone.now()) - run.started_at).total_seconds()
    rate = finished / elapsed if elapsed and finished else None
    eta = None
    if not run.is_finished and rate:
        eta = remaining / rate
    elif run.is_finished:
        eta = 0.0
    return RunProgress(
        pages_total=run.pages_total,
        pages_done=run.pages_done,
        pages_failed=run.pages_failed,
        pages_remaining=remaining,
        faces_found=run.faces_found,
        percent=round(100.0 * finished / run.pages_total, 1) if run.pages_total else 0.0,
        elapsed_seconds=elapsed,
        pages_per_second=rate,
        eta_seconds=eta,
    )


def run_timings(*, run: DetectionRun) -> dict[str, float | None]:
    """Mean model and end-to-end seconds per finished page, and the share spent outside the models."""
    means = PageDetection.objects.filter(run=run, status=JobStatus.DONE).aggregate(
        model=Avg("model_seconds"), total=Avg("total_seconds")
    )
    model, total = means["model"], means["total"]
    overhead = (total - model) / model if model and total else None
    return {"model_seconds_per_page": model, "total_seconds_per_page": total, "overhead_ratio": overhead}


def run_page_tasks(*, run: DetectionRun) -> QuerySet[PageDetection]:
    """A run's pages with their state, in document order (without their raw predictions, kept for evaluation)."""
    return (
        PageDetection.objects.filter(run=run)
        .select_related("page")
        .defer("predictions")
        .order_by("page__document_id", "page__order", "pk")
    )


def run_faces(*, run: DetectionRun) -> QuerySet[Face]:
    """Faces the run created that still exist (curated ones included), in page order, pages loaded."""
    return (
        Face.objects.filter(detection_run=run)
        .select_related("page")
        .order_by("page__document_id", "page__order", "y", "x", "id")
    )


def run_pages(*, run: DetectionRun) -> list[Page]:
    """The pages a run covered, in document order (documents loaded)."""
    return [task.page for task in run_page_tasks(run=run).select_related("page__document")]


def page_faces_drawn(*, page: Page) -> QuerySet[Face]:
    """The faces an annotated page image shows: every face but rejected ones."""
    return Face.objects.filter(page=page).visible().order_by("y", "x", "id")


def model_listing(*, user) -> dict:
    """The detector and age/gender registries, with versions, licenses and default parameters.

    Models trained on corpora the user may not see are left out: their names and descriptions
    carry the training corpus's metrics. Shipped models are listed to everyone.
    """
    hidden = trained_model_names_hidden_from(user)

    def describe(spec: ModelSpec) -> dict:
        item = {
            "name": spec.name,
            "kind": spec.kind,
            "version": spec.version,
            "license": spec.license,
            "description": spec.description,
            "default_params": dict(spec.default_params),
        }
        if spec.kind == "detector":
            item["tiling_default"] = spec.tiling_default
        return item

    return {
        "default_detector": settings.DETECTION_DEFAULT_DETECTOR,
        "default_attribute_model": settings.DETECTION_DEFAULT_ATTRIBUTES,
        "detectors": [describe(spec) for name, spec in DETECTORS.items() if name not in hidden],
        "attribute_models": [describe(spec) for name, spec in ATTRIBUTE_MODELS.items() if name not in hidden],
    }
