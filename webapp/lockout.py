"""One lockout policy for every password entry point: the web login, the admin login and the API token.

django-axes (settings `AXES_*`) counts failed logins in the database, so that every gunicorn process sees
them, and locks a (username, client address) pair after `LOGIN_MAX_FAILURES` failures until
`LOGIN_LOCKOUT_SECONDS` after the last one, refusing even the right password meanwhile. On top of it, a
username that failed `LOGIN_USERNAME_SLOWDOWN_FAILURES` times from any addresses within that cool-off is
slowed down, never locked: each client waits `LOGIN_USERNAME_SLOWDOWN_SECONDS` before each attempt for
it, its first one included. An attacker spread over many addresses thus guesses slowly, and the real
user, from any address, still gets in after that short wait. Both answer 429 with `Retry-After`.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import time

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import ngettext

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.cache
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_ip_address(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, unless that peer is one of `TRUSTED_PROXIES`.

    Behind trusted proxies, X-Forwarded-For is read from the right (each proxy appends the peer it saw)
    and the first address that is not a trusted proxy is the client; the entries left of it are
    whatever the client sent. An entry that is no address stops the walk at the proxy that forwarded it.
    """
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    peer = request.META.get("REMOTE_ADDR") or None
    client = _address(peer or "")
    if client is None:
        return peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        if not any(client in network for network in networks):
            break
        forwarded = _address(hop)
        if forwarded is None:
            break
        client = forwarded
    return str(client)


def _username_failures(request: HttpRequest, username: str) -> int:
    """Failures for this username from every address within the cool-off."""
    attempts = AccessAttempt.objects.filter(username=username, attempt_time__gte=get_cool_off_threshold(request))
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def username_wait(request: HttpRequest, username: str | None) -> int:
    """Seconds this client must still wait before trying this username; 0 when it may try now.

    Only while the username is slowed down: the client's first attempt starts its wait, and each
    attempt let through starts the next one. Attempts from other addresses never lengthen it.
    """
    if username is None or _username_failures(request, username) < settings.LOGIN_USERNAME_SLOWDOWN_FAILURES:
        return 0
    delay = settings.LOGIN_USERNAME_SLOWDOWN_SECONDS
    client = f"{username}\0{request.axes_ip_address}".encode()
    key = "login-slowdown:" + hashlib.sha256(client).hexdigest()
    # Outlives the wait by far, so that a client coming back late is let through, not made to wait again.
    timeout = delay + int(get_cool_off(request).total_seconds())
    now = time.time()
    if cache.add(key, now + delay, timeout=timeout):
        return delay
    allowed_at = cache.get(key, 0)
    if now < allowed_at:
        return math.ceil(allowed_at - now)
    cache.set(key, now + delay, timeout=timeout)
    return 0


class LoginLockoutHandler(AxesDatabaseHandler):
    """axes' database handler, which locks (username, client) pairs, plus the per-username slow-down."""

    def is_allowed(self, request, credentials: dict | None = None) -> bool:
        if not super().is_allowed(request, credentials):
            return False
        wait = username_wait(request, get_client_username(request, credentials))
        if wait:
            # Refused before the password is checked, and (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT
            # off) not counted as a failure.
            request.login_retry_after = wait
            return False
        return True


def _lockout_seconds(request: HttpRequest, credentials: dict | None) -> int:
    """Seconds until this refused login may be tried again: the slow-down, or what is left of the lockout."""
    wait = getattr(request, "login_retry_after", None)
    if wait:
        return wait
    attempts = AxesProxyHandler.get_implementation().get_user_attempts(request, credentials)
    lasts = [queryset.aggregate(last=Max("attempt_time"))["last"] for queryset in attempts]
    last = max((moment for moment in lasts if moment), default=timezone.now())
    return max(1, math.ceil((last + get_cool_off(request) - timezone.now()).total_seconds()))


def _lockout_message(seconds: int) -> str:
    if seconds < 120:
        text = ngettext(
            "Too many failed logins: wait %(count)d second and try again.",
            "Too many failed logins: wait %(count)d seconds and try again.",
            seconds,
        )
        return text % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    text = ngettext(
        "Too many failed logins: wait %(count)d minute and try again.",
        "Too many failed logins: wait %(count)d minutes and try again.",
        minutes,
    )
    return text % {"count": minutes}


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """The web and admin logins' answer to a refused login (AXES_LOCKOUT_CALLABLE): a 429 page."""
    seconds = _lockout_seconds(request, credentials)
    page = render_to_string("registration/locked_out.html", {"message": _lockout_message(seconds)}, request)
    response = HttpResponse(page, status=429)
    response["Retry-After"] = str(seconds)
    return response


def lockout_api_response(request: HttpRequest, credentials: dict | None = None) -> JsonResponse:
    """The API token endpoint's answer to a refused login: 429 with a JSON detail."""
    seconds = _lockout_seconds(request, credentials)
    response = JsonResponse({"detail": _lockout_message(seconds), "retry_after": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response
