"""API clients for tests of every app."""

from __future__ import annotations

from rest_framework.test import APIClient


def api_client(user=None) -> APIClient:
    """A DRF test client, authenticated as `user` when one is given (anonymous otherwise)."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client
