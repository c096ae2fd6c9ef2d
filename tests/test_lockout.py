"""One lockout policy for every password entry point: the web login, the admin login and the API token.

A (username, client address) pair is locked after AXES_FAILURE_LIMIT failures until the cool-off passes,
even for the right password; a username that failed often from anywhere is slowed down, never locked; the
client address is REMOTE_ADDR unless TRUSTED_PROXIES names that peer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.authtoken.models import Token

from webapp.lockout import client_ip_address

ROOT = Path(__file__).resolve().parents[1]
RIGHT = "alice-password-123"
ATTACKER = "198.51.100.7"


@pytest.fixture
def policy(settings):
    """Three failures lock a pair for five minutes; six failures for one username slow it down."""
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=5)
    settings.LOGIN_USERNAME_SLOWDOWN_FAILURES = 6
    settings.LOGIN_USERNAME_SLOWDOWN_SECONDS = 5
    return settings


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("root", password="root-password-123")


def token(client, password, address=ATTACKER, **extra):
    return client.post("/api/auth/token/", {"username": "alice", "password": password}, REMOTE_ADDR=address, **extra)


def web_login(client, username, password, address=ATTACKER, path="/accounts/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_token_endpoint_locks_the_pair_and_refuses_the_right_password_until_the_cool_off(client, alice, policy, clock):
    assert [token(client, "wrong").status_code for _ in range(2)] == [400, 400]

    locking = token(client, "wrong")
    assert locking.status_code == 429
    locked = token(client, RIGHT)
    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/json"
    assert "detail" in locked.json()
    assert 0 < int(locked["Retry-After"]) <= 300
    assert not Token.objects.exists()

    clock.shift(timedelta(minutes=4))
    assert token(client, RIGHT).status_code == 429
    clock.shift(timedelta(minutes=1, seconds=1))
    assert token(client, RIGHT).status_code == 200


def test_attempts_during_a_lockout_do_not_extend_it(client, alice, policy, clock):
    for _ in range(3):
        token(client, "wrong")
    for _ in range(4):
        clock.shift(timedelta(minutes=1))
        assert token(client, "wrong").status_code == 429
    clock.shift(timedelta(minutes=1, seconds=1))
    assert token(client, RIGHT).status_code == 200


def test_admin_login_locks_and_refuses_the_right_password(client, admin_user, policy):
    for _ in range(3):
        web_login(client, "root", "wrong", path="/admin/login/")

    locked = web_login(client, "root", "root-password-123", path="/admin/login/")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_a_pair_locked_elsewhere_cannot_log_into_the_admin(client, admin_user, policy):
    """Failures on the web login and the token endpoint count towards one lockout, which the admin honours."""
    for _ in range(2):
        web_login(client, "root", "wrong")
    client.post("/api/auth/token/", {"username": "root", "password": "wrong"}, REMOTE_ADDR=ATTACKER)

    assert web_login(client, "root", "root-password-123", path="/admin/login/").status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_web_lockout_is_a_page_that_says_when_to_come_back(client, alice, policy):
    for _ in range(3):
        web_login(client, "alice", "wrong")

    locked = web_login(client, "alice", RIGHT)
    assert locked.status_code == 429
    assert locked["Content-Type"].startswith("text/html")
    assert 0 < int(locked["Retry-After"]) <= 300
    assert b"Too many failed logins" in locked.content


def test_another_client_address_is_not_locked_but_waits_the_short_delay(client, alice, policy, clock):
    for attacker in ["198.51.100.7", "198.51.100.8"]:
        for _ in range(3):
            token(client, "wrong", address=attacker)

    first = token(client, RIGHT, address="203.0.113.9")
    assert first.status_code == 429
    assert int(first["Retry-After"]) == 5
    clock.shift(timedelta(seconds=2))
    assert token(client, RIGHT, address="203.0.113.9").status_code == 429
    clock.shift(timedelta(seconds=3))
    assert token(client, RIGHT, address="203.0.113.9").status_code == 200


def test_below_the_username_limit_another_address_logs_in_at_once(client, alice, policy):
    for _ in range(3):
        token(client, "wrong")

    assert token(client, RIGHT, address="203.0.113.9").status_code == 200


def test_attackers_on_many_addresses_cannot_keep_the_real_user_out(client, alice, policy, clock):
    """However many addresses keep failing, the user's own wait never grows past the short delay."""
    for number in range(6):
        token(client, "wrong", address=f"198.51.100.{number}")

    assert token(client, RIGHT, address="203.0.113.9").status_code == 429
    for second in range(5):
        clock.shift(timedelta(seconds=1))
        for number in range(4):
            token(client, "wrong", address=f"192.0.2.{second * 4 + number}")
    response = token(client, RIGHT, address="203.0.113.9")

    assert response.status_code == 200, response.content
    assert Token.objects.filter(user=alice).exists()


def test_slowed_down_attempts_are_not_counted_as_failures(client, alice, policy, clock):
    """A client that keeps hitting the delay never locks its own pair."""
    for attacker in ["198.51.100.7", "198.51.100.8"]:
        for _ in range(3):
            token(client, "wrong", address=attacker)
    for _ in range(5):
        assert token(client, "wrong", address="203.0.113.9").status_code == 429

    clock.shift(timedelta(seconds=5))
    assert token(client, RIGHT, address="203.0.113.9").status_code == 200


def test_the_web_login_is_slowed_down_too(client, alice, policy, clock):
    for attacker in ["198.51.100.7", "198.51.100.8"]:
        for _ in range(3):
            web_login(client, "alice", "wrong", address=attacker)

    assert web_login(client, "alice", RIGHT, address="203.0.113.9").status_code == 429
    clock.shift(timedelta(seconds=5))
    assert web_login(client, "alice", RIGHT, address="203.0.113.9").status_code == 302


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(client, alice, policy):
    for number in range(3):
        token(client, "wrong", address="127.0.0.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{number}")

    assert token(client, RIGHT, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.50").status_code == 429


def test_behind_a_trusted_proxy_each_forwarded_client_is_its_own_pair(client, alice, policy):
    policy.TRUSTED_PROXIES = ["127.0.0.1"]
    for _ in range(3):
        token(client, "wrong", address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.1")

    assert token(client, RIGHT, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 429
    assert token(client, RIGHT, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 200


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "client"),
    [
        ([], "192.0.2.1", "203.0.113.5", "192.0.2.1"),
        (["10.0.0.1"], "192.0.2.1", "203.0.113.5", "192.0.2.1"),
        (["10.0.0.1"], "10.0.0.1", "203.0.113.5", "203.0.113.5"),
        # The left entries are whatever the client sent: only the right-most untrusted one is believed.
        (["10.0.0.1"], "10.0.0.1", "6.6.6.6, 203.0.113.5", "203.0.113.5"),
        (["10.0.0.0/8"], "10.1.1.1", "6.6.6.6, 203.0.113.5, 10.2.2.2", "203.0.113.5"),
        (["10.0.0.0/8", "2001:db8::/32"], "2001:db8::1", "2001:db8::2, 203.0.113.5", "203.0.113.5"),
        (["10.0.0.1"], "10.0.0.1", "", "10.0.0.1"),
        # Garbage where the client should be: the proxy that forwarded it stands for the client.
        (["10.0.0.0/8"], "10.0.0.1", "not-an-address, 10.0.0.2", "10.0.0.2"),
        (["10.0.0.0/8"], "10.0.0.1", "10.0.0.3, 10.0.0.2", "10.0.0.3"),
    ],
)
def test_client_address(settings, trusted, remote, forwarded, client):
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip_address(request) == client


def test_a_long_username_is_refused_with_400(client, db):
    response = client.post("/api/auth/token/", {"username": "a" * 300, "password": "x"})

    assert response.status_code == 400
    assert "username" in response.json()


def test_a_malformed_trusted_proxies_setting_refuses_to_start():
    environment = {**os.environ, "TRUSTED_PROXIES": "10.0.0.0/8,proxy.example.org"}
    result = subprocess.run(
        [sys.executable, "-c", "import webapp.settings"], cwd=ROOT, env=environment, capture_output=True, text=True
    )

    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr
