"""Login pages, lockout after repeated failures, and API tokens for scripts."""

import pytest


@pytest.mark.django_db
def test_repeated_failed_logins_are_locked_out(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
    # The failure that reaches the limit is already answered with the lockout.
    assert client.post("/accounts/login/", {"username": "alice", "password": "wrong"}).status_code == 429
    locked = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-123"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_correct_login_starts_a_session(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-123"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


@pytest.mark.django_db
def test_scripts_get_a_token_and_use_it(client, alice, corpus):
    response = client.post("/api/auth/token/", {"username": "alice", "password": "alice-password-123"})
    assert response.status_code == 200
    token = response.json()["token"]

    listed = client.get("/api/corpora/", HTTP_AUTHORIZATION=f"Token {token}")
    assert [c["name"] for c in listed.json()["results"]] == ["Excelsior"]
    anonymous = client.get("/api/corpora/")
    assert anonymous.json()["results"] == []
