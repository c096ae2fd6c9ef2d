"""Throttles: expensive writes (imports, runs, evaluations, exports, training) per user, and anonymous
image rendering, corrected statistics and face encodings.

The API views declare `throttle_scope`; plain Django views (web forms, the IIIF image route) count
against the same scopes through `throttled`, so a form never has a limit of its own.
"""

import math
from functools import wraps
from types import SimpleNamespace

from django.http import HttpResponse
from django.utils.translation import gettext as _
from rest_framework.exceptions import Throttled
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import ScopedRateThrottle


class ScopedWriteThrottle(ScopedRateThrottle):
    """ScopedRateThrottle that counts only writes, so listing and polling progress stay free."""

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class AnonymousRenderThrottle(ScopedRateThrottle):
    """ScopedRateThrottle that counts only anonymous visitors (by address); signed-in users are not limited."""

    def allow_request(self, request, view):
        if request.user.is_authenticated:
            return True
        return super().allow_request(request, view)


def _over_rate(request, scope: str, throttle_class) -> ScopedRateThrottle | None:
    """Count the request against `scope`: the throttle that refuses it (its wait() says for how long), or None."""
    throttle = throttle_class()
    return None if throttle.allow_request(request, SimpleNamespace(throttle_scope=scope)) else throttle


def anonymous_throttle_check(request, scope: str, detail: str | None = None) -> None:
    """Count an anonymous visitor's request (by address) against `scope` in an API view: Throttled (a 429
    with Retry-After; `detail` says why, DRF's words otherwise) when over its rate; signed-in users are
    not limited."""
    refusing = _over_rate(request, scope, AnonymousRenderThrottle)
    if refusing is not None:
        # A lazy translation is read now, in the request's language (DRF joins the detail as a str).
        raise Throttled(wait=refusing.wait(), detail=None if detail is None else str(detail))


def throttled(request, scope: str, throttle_class=ScopedWriteThrottle) -> HttpResponse | None:
    """Count a plain Django request against a DRF throttle scope: a 429 response when over its rate, else None.

    The count is the API's own (same cache key per user or address), so the API and the web form
    share one limit.
    """
    refusing = _over_rate(request, scope, throttle_class)
    if refusing is None:
        return None
    seconds = max(1, math.ceil(refusing.wait() or 1))
    response = HttpResponse(
        _("Too many requests: try again in %(seconds)d seconds.") % {"seconds": seconds},
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(seconds)
    return response


def throttle_writes(scope: str):
    """Decorator for web form views: their writes count against the API scope `scope` (reads stay free)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            return throttled(request, scope) or view(request, *args, **kwargs)

        return wrapper

    return decorator
