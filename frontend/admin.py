"""Admin view of the users' interface preferences."""

from django.contrib import admin

from frontend.models import UserPreference


@admin.register(UserPreference)
class UserPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "language"]
    list_filter = ["language"]
    raw_id_fields = ["user"]
