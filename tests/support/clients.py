"""API clients for tests of every app."""

from __future__ import annotations

from django.test import Client
from rest_framework.test import APIClient


def api_client(user=None) -> APIClient:
    """A DRF test client, authenticated as `user` when one is given (anonymous otherwise)."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def browser_log_in(page, live_server, user) -> None:
    """Share a Django session with a Playwright page (no password round trip)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
