"""`/healthz` reports the database, the broker and the workers."""

import pytest


@pytest.mark.django_db
def test_health_reports_a_down_broker_with_503(client, settings):
    from webapp.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = previous

    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is False
    assert body["status"] == "down"
