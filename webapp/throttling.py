"""API throttles: expensive writes (imports, runs, exports, training) are rate-limited per user."""

from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import ScopedRateThrottle


class ScopedWriteThrottle(ScopedRateThrottle):
    """ScopedRateThrottle that counts only writes, so listing and polling progress stay free."""

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
