"""Admin views of detection runs (job history)."""

from django.contrib import admin

from detection.models import DetectionRun, PageDetection


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
