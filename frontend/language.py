"""The interface language: Django's LocaleMiddleware picks it from the language cookie or the
browser's Accept-Language; a signed-in user's choice, stored on the user (UserPreference), is put
in their session at login and wins over both, so it follows them to another browser."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from frontend.selectors import user_language
from frontend.services import user_language_set

# The session key that carries a signed-in user's language between requests (no query per request).
SESSION_KEY = "visages_language"


@receiver(user_logged_in, dispatch_uid="language-of-user-at-login")
def language_restore(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    language = user_language(user=user)
    if language:
        request.session[SESSION_KEY] = language


class UserLanguageMiddleware:
    """After AuthenticationMiddleware: activates the signed-in user's chosen language and keeps
    the language cookie in step, so the pages after logout stay in it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Only a login or the switcher put it there, and logging out flushes the session.
        language = request.session.get(SESSION_KEY)
        if language and translation.check_for_language(language):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            )
        return response


@require_POST
def set_language(request):
    """The language switcher: Django's set_language (cookie, safe `next` redirect), and for a
    signed-in user the choice stored on the user and in the session."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        user_language_set(user=request.user, language=language)
        request.session[SESSION_KEY] = language
    return response
