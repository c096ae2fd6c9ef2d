"""Expensive writes are rate-limited per user; reads and progress polling are not."""

import pytest

from webapp.throttling import ScopedWriteThrottle


@pytest.mark.django_db
def test_imports_past_the_rate_get_429_while_reads_stay_free(
    client, alice, corpus, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(ScopedWriteThrottle, "THROTTLE_RATES", {"expensive": "2/hour"})
    client.force_login(alice)
    payload = {"source": "ark:/12148/bpt6k46000341", "corpus": "Excelsior"}

    with django_capture_on_commit_callbacks(execute=False):
        statuses = [
            client.post("/api/documents/", payload, content_type="application/json").status_code for _ in range(3)
        ]

    assert statuses == [202, 202, 429]
    assert all(client.get("/api/documents/").status_code == 200 for _ in range(5))
