"""Admin views, including the audit trails of face revisions and of corpus access changes."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import transaction

from annotations.models import (
    Corpus,
    CorpusAccessAction,
    CorpusAccessChange,
    CorpusMembership,
    DatasetImport,
    Document,
    Export,
    Face,
    FaceRevision,
    Page,
    Person,
)
from annotations.services import CORPUS_SETTINGS, corpus_access_recorded, corpus_owner_recorded


class MembershipInline(admin.TabularInline):
    model = CorpusMembership
    extra = 0


@admin.register(Corpus)
class CorpusAdmin(admin.ModelAdmin):
    """An operator's changes of a corpus's settings, owner or members are recorded and move its access
    version on, as an admin's in the app are (CorpusAccessChange)."""

    list_display = ["name", "owner", "is_public", "created_at"]
    readonly_fields = ["access_version"]
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        changed = [field for field in form.changed_data if field in CORPUS_SETTINGS] if change else []
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if changed:
                before = {field: form.initial.get(field) for field in changed}
                after = {field: getattr(obj, field) for field in changed}
                corpus_access_recorded(
                    corpus=obj, user=request.user, action=CorpusAccessAction.SETTINGS, before=before, after=after
                )

    def save_related(self, request, form, formsets, change):
        """A new owner is handed the corpus once its member rows are saved, as a hand-over in the app is."""
        super().save_related(request, form, formsets, change)
        if "owner" in form.changed_data:
            old_owner = get_user_model().objects.filter(pk=form.initial.get("owner")).first() if change else None
            corpus_owner_recorded(corpus=form.instance, user=request.user, old_owner=old_owner)

    def save_formset(self, request, form, formset, change):
        with transaction.atomic():
            previous = dict(CorpusMembership.objects.filter(corpus=form.instance).values_list("user_id", "role"))
            super().save_formset(request, form, formset, change)
            # (action, membership, role before, role after): None where the member was not, or is no more.
            changes = [
                *((CorpusAccessAction.MEMBER_ADDED, m, None, m.role) for m in formset.new_objects),
                *(
                    (CorpusAccessAction.ROLE_CHANGED, m, previous.get(m.user_id), m.role)
                    for m, _ in formset.changed_objects
                ),
                *(
                    (CorpusAccessAction.MEMBER_REMOVED, m, previous.get(m.user_id), None)
                    for m in formset.deleted_objects
                ),
            ]
            for action, membership, before, after in changes:
                corpus_access_recorded(
                    corpus=form.instance,
                    user=request.user,
                    action=action,
                    member=membership.user,
                    before={} if before is None else {"role": before},
                    after={} if after is None else {"role": after},
                )


@admin.register(CorpusAccessChange)
class CorpusAccessChangeAdmin(admin.ModelAdmin):
    list_display = ["id", "corpus", "user", "action", "member_name", "created_at"]
    list_filter = ["action"]
    raw_id_fields = ["corpus", "user", "member"]
    readonly_fields = ["corpus", "user", "action", "member", "member_name", "before", "after", "created_at"]

    def has_add_permission(self, request):
        # Changes are recorded by the services and the corpus admin that make them.
        return False


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


@admin.register(DatasetImport)
class DatasetImportAdmin(admin.ModelAdmin):
    """Dataset uploads and their reports, as the worker left them (an operator reads them, the worker writes)."""

    list_display = ["id", "name", "corpus", "status", "source", "boxes_only", "created_by", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["corpus", "created_by"]
    readonly_fields = [field.name for field in DatasetImport._meta.fields]

    def has_add_permission(self, request):
        # An import starts from an upload (the exports page, the API), which stores its zip.
        return False
