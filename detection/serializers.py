"""API representations of detection runs, their pages, and the input that starts a run."""

from dataclasses import asdict

from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import serializers

from annotations.serializers import CuratorNameField, StrictInputSerializer
from detection.models import DetectionRun, PageDetection
from detection.selectors import run_progress, run_timings
from webapp.ids import IdField

MAX_PAGES_PER_REQUEST = 10_000


class RunInputSerializer(StrictInputSerializer):
    """Start a run on exactly one of a document, a corpus or a list of pages."""

    document = IdField(required=False)
    corpus = IdField(required=False)
    pages = serializers.ListField(child=IdField(), required=False, allow_empty=False, max_length=MAX_PAGES_PER_REQUEST)
    detector = serializers.CharField(required=False, max_length=100)
    threshold = serializers.FloatField(required=False, allow_null=True, min_value=0.0, max_value=1.0)
    tiling = serializers.BooleanField(required=False, allow_null=True, default=None)
    attribute_model = serializers.CharField(required=False, allow_blank=True, max_length=100)
    # The largest share of a page a face box may cover; boxes above it are taken for a photo or a headline.
    max_face_share = serializers.FloatField(required=False, allow_null=True, max_value=1.0)
    # Also read each page turned a quarter turn each way, for faces lying on their side (album pages).
    turned_faces = serializers.BooleanField(required=False, default=False)

    def validate_max_face_share(self, value):
        if value is not None and value <= 0.0:
            raise serializers.ValidationError(_("Ensure this value is greater than 0."))
        return value

    def validate(self, attrs):
        scopes = [name for name in ("document", "corpus", "pages") if attrs.get(name) is not None]
        if len(scopes) != 1:
            raise serializers.ValidationError(_("Give exactly one of document, corpus or pages"))
        return attrs


class RunSerializer(serializers.ModelSerializer):
    created_by = CuratorNameField(user="created_by", corpus_id="corpus_id")
    error = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = DetectionRun
        fields = [
            "id",
            "corpus",
            "document",
            "detector",
            "attribute_model",
            "params",
            "model_versions",
            "status",
            "pages_total",
            "pages_done",
            "pages_failed",
            "faces_found",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "progress",
            "links",
        ]

    def get_error(self, run: DetectionRun) -> str:
        """The run's error in the request's language: it is stored as its msgid (EVERY_PAGE_FAILED), or empty."""
        return _(run.error) if run.error else ""

    def get_progress(self, run: DetectionRun) -> dict:
        return asdict(run_progress(run=run))

    def get_links(self, run: DetectionRun) -> dict:
        return {
            "self": reverse("api-run", args=[run.pk]),
            "cancel": reverse("api-run-cancel", args=[run.pk]),
            "retry": reverse("api-run-retry", args=[run.pk]),
            "pages": reverse("api-run-pages", args=[run.pk]),
            "faces_csv": reverse("api-run-faces-csv", args=[run.pk]),
        }


class RunDetailSerializer(RunSerializer):
    timings = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "timings"]

    def get_timings(self, run: DetectionRun) -> dict:
        return run_timings(run=run)


class PageDetectionSerializer(serializers.ModelSerializer):
    page_order = serializers.IntegerField(source="page.order", read_only=True)
    page_label = serializers.CharField(source="page.label", read_only=True)
    annotated_url = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = PageDetection
        fields = [
            "id",
            "page",
            "page_order",
            "page_label",
            "status",
            "attempts",
            "faces_found",
            "model_seconds",
            "total_seconds",
            "derivative_scale",
            "error",
            "claimed_at",
            "finished_at",
            "annotated_url",
        ]

    def get_annotated_url(self, task: PageDetection) -> str:
        return reverse("api-page-annotated", args=[task.page_id])

    def get_error(self, task: PageDetection) -> str:
        """The page's error in the request's language (its text for pages failed before messages were kept)."""
        return task.error_translated()
