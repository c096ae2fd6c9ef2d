"""Reads of the web interface."""

from __future__ import annotations

from frontend.models import UserPreference


def user_language(*, user) -> str | None:
    """The interface language a user chose, or None when they never chose one."""
    return UserPreference.objects.filter(user=user).values_list("language", flat=True).first()
