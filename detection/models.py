"""Detection runs over a set of pages, and the per-page work items they claim."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class DetectionRun(models.Model):
    """One detection job over a corpus, a document or chosen pages."""

    corpus = models.ForeignKey(
        "annotations.Corpus", on_delete=models.CASCADE, related_name="detection_runs"
    )
    document = models.ForeignKey(
        "annotations.Document",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="detection_runs",
    )
    detector = models.CharField(max_length=100)
    attribute_model = models.CharField(max_length=100, blank=True)
    params = models.JSONField(default=dict, blank=True)
    model_versions = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    pages_total = models.PositiveIntegerField(default=0)
    pages_done = models.PositiveIntegerField(default=0)
    pages_failed = models.PositiveIntegerField(default=0)
    faces_found = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="run_status_valid"),
            models.CheckConstraint(
                condition=Q(pages_done__lte=F("pages_total")), name="run_progress_bounded"
            ),
        ]
        indexes = [
            # Runs of a document, newest first, on the document page.
            models.Index(fields=["document", "-created_at"], name="run_document_time_idx"),
        ]

    def __str__(self) -> str:
        return f"run {self.id} ({self.detector})"

    @property
    def is_finished(self) -> bool:
        return self.status in {RunStatus.DONE, RunStatus.FAILED, RunStatus.CANCELLED}


class PageTaskStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class PageDetection(models.Model):
    """The work item for one page of a run; tasks claim it with a conditional UPDATE."""

    run = models.ForeignKey(DetectionRun, on_delete=models.CASCADE, related_name="page_tasks")
    page = models.ForeignKey("annotations.Page", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=10, choices=PageTaskStatus.choices, default=PageTaskStatus.PENDING
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    faces_found = models.PositiveIntegerField(default=0)
    model_seconds = models.FloatField(null=True, blank=True)
    total_seconds = models.FloatField(null=True, blank=True)
    derivative_scale = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run_id", "page_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "page"], name="page_detection_unique"),
            models.CheckConstraint(
                condition=Q(status__in=PageTaskStatus.values), name="page_detection_status_valid"
            ),
        ]
        indexes = [
            # Progress counts of a run by status.
            models.Index(fields=["run", "status"], name="page_detection_progress_idx"),
        ]
