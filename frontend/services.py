"""Write services of the web interface."""

from __future__ import annotations

from frontend.models import UserPreference


def user_language_set(*, user, language: str) -> UserPreference:
    """Remembers the interface language a signed-in user chose (a code of settings.LANGUAGES)."""
    preference, _ = UserPreference.objects.update_or_create(user=user, defaults={"language": language})
    return preference
