"""The job core: one status set, one abstract job model, and one claim / finish / reclaim for every kind of job.

A job is a row that a Celery task works on: detection runs and their page detections, training
jobs, exports, document imports (whose fields stay on `Document`, named `import_*`). A task claims
its row with one conditional UPDATE (healthchecks' "claim"): a pending row, or a running one whose
claim is older than the kind's stale limit (its worker died). So a duplicate delivery finds nothing
to claim, and a redelivery after a crash takes the job over. The finish is guarded the same way, by
the running status and, where given, the claim's own time, so a worker that lost its claim cannot
overwrite the result of the one that took it over.

Each kind declares its model, its task and its stale limit in `JOB_KINDS`; `jobs_reap` (sent by
celery beat) re-enqueues the task of every running claim past its limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from webapp.messages import Translatable, message_fields, message_render

logger = logging.getLogger(__name__)


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)
FINISHED_STATUSES = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)
# What the API lists for the kinds nobody cancels (exports, imports).
UNCANCELLABLE_STATUS_CHOICES = [(value, label) for value, label in JobStatus.choices if value != JobStatus.CANCELLED]

# How many stale claims of one kind one reaper pass re-enqueues (the next pass takes the rest).
REAP_BATCH = 500


class Job(models.Model):
    """The fields every job shares; `started_at` is the time of its current claim unless its kind names another.

    `error` is the error's English text (logs, the command line); `error_message` the same error kept
    untranslated (webapp.messages), so that each reader reads it in their own language; rows failed
    before it was kept, and errors given as plain text, have the text only.
    """

    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    error = models.TextField(blank=True)
    error_message = models.JSONField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    def error_translated(self) -> str:
        """The error in the active language (the reader's), whatever language the worker had."""
        return message_render(self.error_message, fallback=self.error)


@dataclass(frozen=True)
class JobKind:
    """One kind of job: its model, the task that works on one row (by id) and when a claim is abandoned."""

    name: str
    model: str
    # Dotted path of the Celery task taking the row's id; None for a job its parts carry (a run's pages).
    task: str | None
    # A running claim older than this was abandoned by its worker; None: never reclaimed.
    stale_after: Callable[[], timedelta] | None
    # Further conditions on a claim (and on the reaper's choice), e.g. the page's run still active.
    claimable: Q | None = None
    # The names of the shared fields on the model (imports keep theirs on Document as import_*).
    status_field: str = "status"
    # The claim's time: a reclaim replaces it, and a finish given it checks that the claim is still its own.
    claimed_field: str = "started_at"
    finished_field: str = "finished_at"
    error_field: str = "error"
    # The JSON field beside the error text that keeps the error untranslated (webapp.messages).
    error_message_field: str = "error_message"
    # Lookups from a row to the document it works on: a document is not removed while one is active.
    document_lookups: tuple[str, ...] = ()

    @property
    def objects(self) -> models.Manager:
        return apps.get_model(self.model)._default_manager

    def rows(self, pk: int) -> models.QuerySet:
        rows = self.objects.filter(pk=pk)
        return rows.filter(self.claimable) if self.claimable is not None else rows

    def error_values(self, error: Translatable | str) -> dict[str, Any]:
        """The fields that store `error`: its English text and the message to translate when read (none
        for a plain string)."""
        return message_fields(error, text=self.error_field, stored=self.error_message_field)

    def stale(self, now: datetime) -> Q:
        """Running claims abandoned as of `now` (none for a kind never reclaimed)."""
        if self.stale_after is None:
            return Q(pk__in=[])
        return Q(**{self.status_field: JobStatus.RUNNING, f"{self.claimed_field}__lt": now - self.stale_after()})


def _task_time_limit() -> timedelta:
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)


def _training_time_limit() -> timedelta:
    return timedelta(seconds=settings.TRAINING_TIME_LIMIT)


def _export_stale_after() -> timedelta:
    from annotations.exports.services import EXPORT_STALE_AFTER

    return EXPORT_STALE_AFTER


def _dataset_import_stale_after() -> timedelta:
    from annotations.tasks import DATASET_IMPORT_TIME_LIMIT

    return timedelta(seconds=DATASET_IMPORT_TIME_LIMIT)


DETECTION_RUN = JobKind(name="detection_run", model="detection.DetectionRun", task=None, stale_after=None)
PAGE_DETECTION = JobKind(
    name="page_detection",
    model="detection.PageDetection",
    task="detection.tasks.detect_page_task",
    stale_after=_task_time_limit,
    claimable=Q(run__status__in=ACTIVE_STATUSES),
    claimed_field="claimed_at",
    document_lookups=("page__document",),
)
TRAINING = JobKind(
    name="training",
    model="detection.TrainingJob",
    task="detection.tasks.train_model_task",
    stale_after=_training_time_limit,
    claimable=Q(cancel_requested=False),
)
EXPORT = JobKind(
    name="export",
    model="annotations.Export",
    task="annotations.tasks.export_build_task",
    stale_after=_export_stale_after,
)
# The import task runs under the default task time limit.
DOCUMENT_IMPORT = JobKind(
    name="document_import",
    model="annotations.Document",
    task="annotations.tasks.document_import_task",
    stale_after=_task_time_limit,
    status_field="import_status",
    claimed_field="import_started_at",
    finished_field="import_finished_at",
    error_field="import_error",
    error_message_field="import_error_message",
    document_lookups=("pk",),
)
# A dataset zip uploaded on the web: its documents' own imports run inside it.
DATASET_IMPORT = JobKind(
    name="dataset_import",
    model="annotations.DatasetImport",
    task="annotations.tasks.dataset_import_task",
    stale_after=_dataset_import_stale_after,
)
# Evaluating a detector, encoding a face: model work a request asked for.
INFERENCE = JobKind(
    name="inference",
    model="detection.InferenceJob",
    task="detection.tasks.inference_job_task",
    stale_after=_task_time_limit,
    document_lookups=("document", "face__page__document"),
)
JOB_KINDS = (DETECTION_RUN, PAGE_DETECTION, TRAINING, EXPORT, DOCUMENT_IMPORT, DATASET_IMPORT, INFERENCE)


def jobs_active_on_document(document_id: int) -> list[str]:
    """The kinds of job still pending or running on the document: its import, its pages' detection, ..."""
    active = []
    for kind in JOB_KINDS:
        if not kind.document_lookups:
            continue
        on_document = Q()
        for lookup in kind.document_lookups:
            on_document |= Q(**{lookup: document_id})
        rows = kind.objects.filter(on_document, **{f"{kind.status_field}__in": ACTIVE_STATUSES})
        if (rows.filter(kind.claimable) if kind.claimable is not None else rows).exists():
            active.append(kind.name)
    return active


def job_claim(kind: JobKind, pk: int, **fields: Any) -> datetime | None:
    """Claim a pending job, or a running one past its stale limit; the claim's time, or None when none was claimable.

    `fields` are set with the claim (progress reset, attempt count). The claim's time identifies
    this claim: pass it to `job_finish` so that only the claim's holder finishes the job.
    """
    now = timezone.now()
    claimable = Q(**{kind.status_field: JobStatus.PENDING}) | kind.stale(now)
    values = {**kind.error_values(""), **fields}
    values.update({kind.status_field: JobStatus.RUNNING, kind.claimed_field: now})
    claimed = kind.rows(pk).filter(claimable).update(**values)
    return now if claimed == 1 else None


def job_finish(
    kind: JobKind,
    pk: int,
    *,
    status: Any = JobStatus.DONE,
    claimed_at: datetime | None = None,
    from_statuses: tuple[str, ...] = (JobStatus.RUNNING,),
    condition: Q | None = None,
    **fields: Any,
) -> bool:
    """Close a job (done by default) if it is still in `from_statuses` and, given `claimed_at`, still this claim's."""
    rows = kind.objects.filter(pk=pk, **{f"{kind.status_field}__in": from_statuses})
    if claimed_at is not None:
        rows = rows.filter(**{kind.claimed_field: claimed_at})
    if condition is not None:
        rows = rows.filter(condition)
    return rows.update(**{kind.status_field: status, kind.finished_field: timezone.now(), **fields}) == 1


def job_fail(
    kind: JobKind, pk: int, *, error: Translatable | str, claimed_at: datetime | None = None, **fields: Any
) -> bool:
    """Mark a running job failed with its error: a message (translated when read where the kind keeps one), or text."""
    return job_finish(kind, pk, status=JobStatus.FAILED, claimed_at=claimed_at, **kind.error_values(error), **fields)


def job_release(kind: JobKind, pk: int, *, claimed_at: datetime, **fields: Any) -> bool:
    """Give a claim back: the job is pending again (a transient error, retried later)."""
    rows = kind.objects.filter(pk=pk, **{kind.status_field: JobStatus.RUNNING, kind.claimed_field: claimed_at})
    return rows.update(**{kind.status_field: JobStatus.PENDING, **fields}) == 1


def job_cancel(kind: JobKind, pk: int, **fields: Any) -> bool:
    """Cancel a job nobody works on: pending, or running past its stale limit."""
    now = timezone.now()
    rows = kind.objects.filter(pk=pk).filter(Q(**{kind.status_field: JobStatus.PENDING}) | kind.stale(now))
    return rows.update(**{kind.status_field: JobStatus.CANCELLED, kind.finished_field: now, **fields}) == 1


def jobs_reap(kinds: tuple[JobKind, ...] = JOB_KINDS) -> dict[str, int]:
    """Re-enqueue the task of every running claim past its stale limit; how many of each kind.

    The task's claim takes the job over (a stale claim is claimable), so a claim reaped twice,
    or also redelivered by the broker, is still worked on once.
    """
    now = timezone.now()
    reaped = {}
    for kind in kinds:
        if kind.task is None or kind.stale_after is None:
            continue
        rows = kind.objects.filter(kind.stale(now))
        if kind.claimable is not None:
            rows = rows.filter(kind.claimable)
        ids = list(rows.order_by("pk").values_list("pk", flat=True)[:REAP_BATCH])
        task = import_string(kind.task)
        for pk in ids:
            task.delay(pk)
        if ids:
            logger.warning("jobs: re-enqueued %s abandoned %s claims: %s", len(ids), kind.name, ids)
        reaped[kind.name] = len(ids)
    return reaped
