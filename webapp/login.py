"""Login with a limit on failed attempts per client address and username (guessing passwords is slow)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpResponse


def _keys(request) -> list[str]:
    address = request.META.get("REMOTE_ADDR", "unknown")
    username = (request.POST.get("username") or "").strip().lower()
    return [f"login-fail:ip:{address}", f"login-fail:user:{username}"]


def login_is_locked(request) -> bool:
    """True when this address or this username has failed too often recently."""
    return any((cache.get(key) or 0) >= settings.LOGIN_MAX_FAILURES for key in _keys(request))


def login_record_failure(request) -> None:
    """Count one failed attempt for the address and the username."""
    for key in _keys(request):
        cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        cache.incr(key)


class RateLimitedLoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        if login_is_locked(request):
            return HttpResponse(
                "Too many failed logins: wait a few minutes and try again.", status=429, content_type="text/plain"
            )
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        login_record_failure(self.request)
        return super().form_invalid(form)
