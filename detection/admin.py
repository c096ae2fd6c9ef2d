"""Admin views of detection runs (job history), training jobs, inference jobs and trained models."""

from django.contrib import admin

from detection.models import DetectionRun, FaceEncoding, InferenceJob, PageDetection, TrainedModel, TrainingJob


@admin.register(DetectionRun)
class DetectionRunAdmin(admin.ModelAdmin):
    list_display = ["id", "detector", "corpus", "document", "status", "pages_done", "pages_total", "faces_found"]
    list_filter = ["status", "detector"]
    raw_id_fields = ["corpus", "document", "created_by"]


@admin.register(PageDetection)
class PageDetectionAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "page", "status", "attempts", "faces_found"]
    list_filter = ["status"]
    raw_id_fields = ["run", "page"]


@admin.register(TrainedModel)
class TrainedModelAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "version", "kind", "is_active", "created_at"]
    list_filter = ["kind", "is_active", "name"]
    raw_id_fields = ["created_by"]


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "corpus", "status", "progress", "stage", "created_at"]
    list_filter = ["status", "kind"]
    raw_id_fields = ["corpus", "document", "trained_model", "created_by"]


@admin.register(InferenceJob)
class InferenceJobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "document", "face", "created_at"]
    list_filter = ["status", "kind"]
    raw_id_fields = ["document", "face", "created_by"]


@admin.register(FaceEncoding)
class FaceEncodingAdmin(admin.ModelAdmin):
    list_display = ["id", "face", "corpus", "model_version", "created_at"]
    list_filter = ["model_version"]
    raw_id_fields = ["face", "corpus"]
    exclude = ["vector"]
