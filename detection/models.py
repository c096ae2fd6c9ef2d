"""Detection runs over a set of pages, and the per-page work items they claim."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from webapp.jobs import Job, JobStatus
from webapp.messages import message_render


class DetectionRun(Job):
    """One detection job over a corpus, a document or chosen pages (running from its first page's claim)."""

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
    pages_total = models.PositiveIntegerField(default=0)
    pages_done = models.PositiveIntegerField(default=0)
    pages_failed = models.PositiveIntegerField(default=0)
    faces_found = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="run_status_valid"),
            models.CheckConstraint(condition=Q(pages_done__lte=F("pages_total")), name="run_progress_bounded"),
        ]
        indexes = [
            # Runs of a document, newest first, on the document page.
            models.Index(fields=["document", "-created_at"], name="run_document_time_idx"),
        ]

    def __str__(self) -> str:
        return f"run {self.id} ({self.detector})"


class PageDetection(Job):
    """The work item for one page of a run; tasks claim it with a conditional UPDATE (webapp.jobs)."""

    run = models.ForeignKey(DetectionRun, on_delete=models.CASCADE, related_name="page_tasks")
    page = models.ForeignKey("annotations.Page", on_delete=models.CASCADE, related_name="+")
    # The current claim's time; started_at is the first claim's (a retry or a reclaim keeps it).
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    faces_found = models.PositiveIntegerField(default=0)
    model_seconds = models.FloatField(null=True, blank=True)
    total_seconds = models.FloatField(null=True, blank=True)
    derivative_scale = models.FloatField(null=True, blank=True)
    # The detector's raw boxes on this page, canvas pixels, every score down to the run's
    # evaluation floor: [{"x", "y", "w", "h", "score", "gender", "age", "child"}]. The run's
    # evaluation is recomputed from these, whatever ran on the page later. Null for runs made
    # before they were kept.
    predictions = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "page_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "page"], name="page_detection_unique"),
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="page_detection_status_valid"),
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
    # What it learned from: only that corpus's members see it, and it goes with the corpus.
    corpus = models.ForeignKey("annotations.Corpus", on_delete=models.CASCADE, related_name="trained_models")
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
    # Bumped by every activation change: a curator's override names it, and a stale one is refused.
    updated_at = models.DateTimeField(auto_now=True)
    is_active = models.BooleanField(default=False, help_text="Registered and selectable for new runs.")
    # The held-out comparison with the model that was active when this one was trained:
    # {"metric", "new", "active", "active_model", "held_out_faces", "enough_data", "decision"}.
    comparison = models.JSONField(default=dict, blank=True)
    # Why it is (in)active: the automatic rule's reason, or a curator's written override, in English;
    # `activation_reason_message` keeps it untranslated (webapp.messages).
    activation_reason = models.TextField(blank=True)
    activation_reason_message = models.JSONField(null=True, blank=True)
    activation_overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="trained_model_unique_version"),
            models.CheckConstraint(condition=Q(kind__in=ModelKind.values), name="trained_model_kind_valid"),
            models.CheckConstraint(condition=Q(version__gte=1), name="trained_model_version_positive"),
            # "The active model" of a family in a corpus, which a new one must beat, is one model.
            models.UniqueConstraint(
                fields=["name", "corpus"],
                condition=Q(is_active=True),
                name="trained_model_one_active_per_family_and_corpus",
            ),
        ]

    def __str__(self) -> str:
        return self.registry_name

    def activation_reason_translated(self, *, overrider_named: bool = True) -> str:
        """Why it is (in)active, in the active language (the reader's); with `overrider_named` False, the curator
        who overrode the activation rule is "a curator" (a reader the corpus does not name its curators to)."""
        stored = self.activation_reason_message
        if not overrider_named:
            # The message keeps the name even once the curator's account is gone.
            params = (stored or {}).get("params") or {}
            if "user" in params:
                return gettext("Overridden by a curator: %(reason)s") % {"reason": params.get("reason", "")}
            if not stored and self.activation_reason.startswith("Overridden by"):
                # Written before reasons were stored as messages: its English text names the curator.
                return gettext("Overridden by a curator.")
        return message_render(stored, fallback=self.activation_reason)

    @property
    def registry_name(self) -> str:
        """The name runs select it by."""
        return f"{self.name}@v{self.version}"


class TrainingKind(models.TextChoices):
    ATTRIBUTES = "attributes", _("Age / gender / child classifier")
    RESCORER = "rescorer", _("Detector re-scorer")
    ENCODING_HEAD = "encoding-head", _("Gender / child head on face encodings")


class TrainingJob(Job):
    """One training of a model on the reviewed pages of a corpus (or of one document)."""

    kind = models.CharField(max_length=16, choices=TrainingKind.choices)
    corpus = models.ForeignKey("annotations.Corpus", on_delete=models.CASCADE, related_name="training_jobs")
    document = models.ForeignKey(
        "annotations.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    params = models.JSONField(default=dict, blank=True)
    # Share of the work done, 0 to 1: data preparation, then epochs.
    progress = models.FloatField(default=0.0)
    # What it is doing now, in English; `stage_message` keeps it untranslated (webapp.messages).
    stage = models.CharField(max_length=200, blank=True)
    stage_message = models.JSONField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    cancel_requested = models.BooleanField(default=False)
    trained_model = models.ForeignKey(
        TrainedModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=TrainingKind.values), name="training_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="training_status_valid"),
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=1), name="training_progress_unit"),
        ]
        indexes = [
            # Training jobs of a corpus, newest first, on GET /api/training-jobs/?corpus=.
            models.Index(fields=["corpus", "-created_at"], name="training_corpus_time_idx"),
        ]

    def __str__(self) -> str:
        return f"training {self.id} ({self.kind})"

    def stage_translated(self) -> str:
        """The stage in the active language (the reader's)."""
        return message_render(self.stage_message, fallback=self.stage)


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


class InferenceKind(models.TextChoices):
    EVALUATION = "evaluation", _("Evaluate a detector on reviewed pages")
    FACE_ENCODING = "face_encoding", _("Encode a face")


class InferenceJob(Job):
    """Model work a page or an API call asked for, done on the inference queue (the web process loads no model)."""

    kind = models.CharField(max_length=16, choices=InferenceKind.choices)
    # Evaluation: the document whose reviewed pages are evaluated; encoding: the face.
    document = models.ForeignKey(
        "annotations.Document", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    face = models.ForeignKey("annotations.Face", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # Evaluation: detector, threshold, attribute_model; encoding: the box encoded (x, y, w, h).
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    # Share of the work done, 0 to 1.
    progress = models.FloatField(default=0.0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=InferenceKind.values), name="inference_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="inference_status_valid"),
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=1), name="inference_progress_unit"),
            models.CheckConstraint(
                condition=Q(kind=InferenceKind.EVALUATION, document__isnull=False)
                | Q(kind=InferenceKind.FACE_ENCODING, face__isnull=False),
                name="inference_subject_set",
            ),
        ]
        indexes = [
            # The job already asked for the same evaluation of a document, or the same face's encoding.
            models.Index(fields=["document", "kind", "-created_at"], name="inference_document_idx"),
            models.Index(fields=["face", "kind", "-created_at"], name="inference_face_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} job {self.id} ({self.status})"
