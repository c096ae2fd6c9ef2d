"""Detection runs over a set of pages, and the per-page work items they claim."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class DetectionRun(models.Model):
    """One detection job over a corpus, a document or chosen pages."""

    corpus = models.ForeignKey("annotations.Corpus", on_delete=models.CASCADE, related_name="detection_runs")
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
            models.CheckConstraint(condition=Q(pages_done__lte=F("pages_total")), name="run_progress_bounded"),
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
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class PageDetection(models.Model):
    """The work item for one page of a run; tasks claim it with a conditional UPDATE."""

    run = models.ForeignKey(DetectionRun, on_delete=models.CASCADE, related_name="page_tasks")
    page = models.ForeignKey("annotations.Page", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=PageTaskStatus.choices, default=PageTaskStatus.PENDING)
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
            models.CheckConstraint(condition=Q(status__in=PageTaskStatus.values), name="page_detection_status_valid"),
        ]
        indexes = [
            # Progress counts of a run by status.
            models.Index(fields=["run", "status"], name="page_detection_progress_idx"),
        ]

    # The model loop: models trained here from curated faces, the jobs that train them, and face
    # encodings for finding a person again.

    def __str__(self) -> str:
        return f"page {self.page_id} of run {self.run_id} ({self.status})"


class ModelKind(models.TextChoices):
    DETECTOR = "detector", _("Detector")
    ATTRIBUTES = "attributes", _("Age / gender / child")


class TrainedModel(models.Model):
    """A model trained from curated faces: what it learned from, how, how well, and its file."""

    # Registry family, e.g. "res10+rescore" or "keras-attributes"; registered as "<name>@v<version>".
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=12, choices=ModelKind.choices)
    version = models.PositiveIntegerField()
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    data_snapshot = models.JSONField(default=dict, blank=True)
    # Path of the .keras archive under MEDIA_ROOT (its JSON sidecar lies beside it).
    file = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True, help_text="Registered and selectable for new runs.")

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="trained_model_unique_version"),
            models.CheckConstraint(condition=Q(kind__in=ModelKind.values), name="trained_model_kind_valid"),
            models.CheckConstraint(condition=Q(version__gte=1), name="trained_model_version_positive"),
        ]

    def __str__(self) -> str:
        return self.registry_name

    @property
    def registry_name(self) -> str:
        """The name runs select it by."""
        return f"{self.name}@v{self.version}"


class TrainingKind(models.TextChoices):
    ATTRIBUTES = "attributes", _("Age / gender / child classifier")
    RESCORER = "rescorer", _("Detector re-scorer")


class TrainingStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class TrainingJob(models.Model):
    """One training of a model on the reviewed pages of a corpus (or of one document)."""

    kind = models.CharField(max_length=12, choices=TrainingKind.choices)
    corpus = models.ForeignKey("annotations.Corpus", on_delete=models.CASCADE, related_name="training_jobs")
    document = models.ForeignKey(
        "annotations.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=TrainingStatus.choices, default=TrainingStatus.PENDING)
    # Share of the work done, 0 to 1: data preparation, then epochs.
    progress = models.FloatField(default=0.0)
    stage = models.CharField(max_length=200, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    trained_model = models.ForeignKey(
        TrainedModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=TrainingKind.values), name="training_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=TrainingStatus.values), name="training_status_valid"),
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=1), name="training_progress_unit"),
        ]
        indexes = [
            # Training jobs of a corpus, newest first, on GET /api/training-jobs/?corpus=.
            models.Index(fields=["corpus", "-created_at"], name="training_corpus_time_idx"),
        ]

    def __str__(self) -> str:
        return f"training {self.id} ({self.kind})"

    @property
    def is_finished(self) -> bool:
        return self.status in {TrainingStatus.DONE, TrainingStatus.FAILED, TrainingStatus.CANCELLED}


class FaceEncoding(models.Model):
    """A face's 128-d encoding (float32 little-endian bytes) for nearest-neighbour search."""

    face = models.OneToOneField("annotations.Face", on_delete=models.CASCADE, related_name="encoding")
    # Denormalised from the face's page, so a corpus's encodings load without joining pages.
    corpus = models.ForeignKey("annotations.Corpus", on_delete=models.CASCADE, related_name="+")
    vector = models.BinaryField()
    model_version = models.CharField(max_length=100)
    # The face's box when encoded (canvas pixels): a moved box needs a new encoding.
    x = models.IntegerField()
    y = models.IntegerField()
    w = models.IntegerField()
    h = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(model_version__gt=""), name="face_encoding_version_set"),
        ]
        indexes = [
            # Loading (and counting) a corpus's encodings for one model version, in id order.
            models.Index(fields=["corpus", "model_version", "id"], name="face_encoding_corpus_idx"),
        ]

    def __str__(self) -> str:
        return f"encoding of face {self.face_id}"
