"""Admin views, including the audit trail of face revisions."""

from django.contrib import admin

from annotations.models import Corpus, CorpusMembership, Document, Export, Face, FaceRevision, Page, Person


class MembershipInline(admin.TabularInline):
    model = CorpusMembership
    extra = 0


@admin.register(Corpus)
class CorpusAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "is_public", "created_at"]
    inlines = [MembershipInline]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["id", "label", "corpus", "date_text", "import_status", "created_at"]
    list_filter = ["import_status", "corpus"]
    search_fields = ["label", "source"]


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    list_display = ["id", "document", "order", "face_count", "review_status"]
    list_filter = ["review_status"]
    raw_id_fields = ["document", "reviewed_by"]


@admin.register(Face)
class FaceAdmin(admin.ModelAdmin):
    list_display = ["id", "page", "status", "gender", "confidence", "source", "updated_at"]
    list_filter = ["status", "gender", "source"]
    raw_id_fields = ["page", "detection_run", "person"]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "corpus", "created_at"]
    list_filter = ["corpus"]
    search_fields = ["name", "note"]


@admin.register(FaceRevision)
class FaceRevisionAdmin(admin.ModelAdmin):
    list_display = ["id", "face", "user", "action", "created_at"]
    list_filter = ["action"]
    raw_id_fields = ["face", "user"]
    readonly_fields = ["face", "user", "action", "before", "after", "created_at"]

    def has_add_permission(self, request):
        # Revisions are recorded by the services that change a face; an empty one cannot be saved.
        return False


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress_done", "progress_total", "face_count", "requested_by"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["requested_by"]
    readonly_fields = ["started_at", "finished_at"]
