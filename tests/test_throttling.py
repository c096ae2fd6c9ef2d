"""Expensive writes are rate-limited per user; reads and progress polling are not."""

import pytest

from annotations.models import Document, Export, ExportKind
from detection.models import InferenceJob
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


@pytest.mark.django_db
def test_the_web_import_form_counts_against_the_same_limit_as_the_api(
    client, alice, corpus, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(ScopedWriteThrottle, "THROTTLE_RATES", {"expensive": "2/hour"})
    client.force_login(alice)
    sources = [f"ark:/12148/bpt6k4600034{n}" for n in range(4)]

    with django_capture_on_commit_callbacks(execute=False):
        statuses = [
            client.post("/documents/import/", {"source": source, "corpus": "Excelsior"}).status_code
            for source in sources[:3]
        ]
        api = client.post("/api/documents/", {"source": sources[3], "corpus": "Excelsior"}, "application/json")

    assert statuses == [302, 302, 429]
    assert api.status_code == 429, "the form and the API share one count"
    assert Document.objects.filter(corpus=corpus).count() == 2
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_the_web_export_form_counts_against_the_same_limit_as_the_api(
    client, alice, corpus, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(ScopedWriteThrottle, "THROTTLE_RATES", {"expensive": "2/hour"})
    document = Document.objects.create(corpus=corpus, source="ark:/12148/bpt6k46000341", label="Excelsior")
    client.force_login(alice)
    form = {"kind": ExportKind.CSV, "document": document.pk}

    with django_capture_on_commit_callbacks(execute=False):
        first = client.post("/api/exports/", form, "application/json").status_code
        statuses = [client.post("/exports/", form).status_code for _ in range(2)]

    assert (first, statuses) == (202, [302, 429])
    assert Export.objects.filter(requested_by=alice).count() == 2
    assert client.get("/exports/").status_code == 200


@pytest.mark.django_db
def test_fresh_evaluations_past_the_rate_get_429_while_reading_the_latest_stays_free(
    client, alice, corpus, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(ScopedWriteThrottle, "THROTTLE_RATES", {"expensive": "2/hour"})
    document = Document.objects.create(corpus=corpus, source="ark:/12148/bpt6k46000341", label="Excelsior")
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=False):
        statuses = [
            client.post(
                "/api/evaluation/",
                {"document": document.pk, "detector": "res10", "threshold": threshold},
                content_type="application/json",
            ).status_code
            for threshold in (0.1, 0.2, 0.3)
        ]

    assert statuses == [202, 202, 429]
    assert InferenceJob.objects.count() == 2
    reads = [client.get(f"/api/evaluation/?document={document.pk}").status_code for _ in range(3)]
    assert reads == [400, 400, 400], "reading is not counted (no run yet to read: 400, not 429)"


@pytest.mark.django_db
def test_member_additions_past_the_rate_get_429_through_the_api_and_the_form(client, monkeypatch, django_user_model):
    """Adding a member names a user: a corpus admin (any signed-in user, once they import) could test names
    one after another, so additions count per user, the web form's with the API's."""
    from annotations.models import Corpus, CorpusMembership

    monkeypatch.setattr(ScopedWriteThrottle, "THROTTLE_RATES", {"members": "2/hour"})
    owner = django_user_model.objects.create_user("eve")
    corpus = Corpus.objects.create(name="Albums", owner=owner)
    for name in ("ann", "ben", "cid"):
        django_user_model.objects.create_user(name)
    client.force_login(owner)

    api = client.post(
        f"/api/corpora/{corpus.pk}/members/",
        {"username": "ann", "role": "viewer", "access_version": 1},
        content_type="application/json",
    )
    form = client.post(
        f"/corpora/{corpus.pk}/", {"action": "add", "username": "ben", "role": "viewer", "access_version": 2}
    )
    refused = client.post(
        f"/corpora/{corpus.pk}/", {"action": "add", "username": "cid", "role": "viewer", "access_version": 3}
    )
    refused_api = client.post(
        f"/api/corpora/{corpus.pk}/members/",
        {"username": "cid", "role": "viewer", "access_version": 3},
        content_type="application/json",
    )

    assert (api.status_code, form.status_code, refused.status_code, refused_api.status_code) == (201, 302, 429, 429)
    assert sorted(CorpusMembership.objects.values_list("user__username", flat=True)) == ["ann", "ben"]
    settings_change = client.post(
        f"/corpora/{corpus.pk}/", {"action": "settings", "is_public": "true", "access_version": 3}
    )
    assert settings_change.status_code == 302, "only additions count"
    assert client.get(f"/api/corpora/{corpus.pk}/members/").status_code == 200
