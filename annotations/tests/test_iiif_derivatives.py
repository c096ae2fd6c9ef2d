"""A page whose image host sends no CORS headers: one bounded derivative, fetched by a worker, served by us."""

from __future__ import annotations

import io
import os
import time

import pytest
from django.conf import settings as django_settings
from PIL import Image

from annotations.iiif.image_api import derivative_scale, image_request_url, size_within
from annotations.iiif_server.derivatives import derivative_build, derivative_path, derivatives_purge
from annotations.tests.factories import make_corpus, make_document, make_page
from tests.support.http_server import Scripted
from tests.support.manifests import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote_page(http_server, corpus):
    """A 4000x6000 page on an image service (the loopback server sends no CORS headers), in a private corpus."""
    service = f"{http_server.base_url}/iiif/f1"
    document = make_document(corpus=corpus)
    page = make_page(document=document, width=4000, height=6000, service_id=service)
    w, h = derivative_scale(4000, 6000, 2000, 2000)
    path = image_request_url(service, "2", size=size_within("2", w, h)).removeprefix(http_server.base_url)
    http_server.add(path, jpeg_bytes(w, h), content_type="image/jpeg")
    return page, path


def test_the_first_request_queues_one_fetch_and_answers_202(
    client, bob, remote_page, http_server, monkeypatch, django_capture_on_commit_callbacks
):
    page, path = remote_page
    queued = []
    monkeypatch.setattr("annotations.tasks.page_derivative_task.delay", queued.append)
    client.force_login(bob)

    with django_capture_on_commit_callbacks(execute=True):
        first = client.get(f"/iiif/pages/{page.pk}/derivative.jpg")
        second = client.get(f"/iiif/pages/{page.pk}/derivative.jpg")

    assert (first.status_code, second.status_code) == (202, 202)
    assert first["Retry-After"] == "1"
    assert queued == [page.pk], "one fetch however many viewers ask"
    assert http_server.hits[path] == 0, "the web request itself never fetches"


def test_the_worker_fetches_a_bounded_copy_which_is_then_served_cached(client, bob, remote_page, http_server):
    page, path = remote_page
    client.force_login(bob)

    derivative_build(page_id=page.pk)
    responses = [client.get(f"/iiif/pages/{page.pk}/derivative.jpg") for _ in range(2)]

    assert [r.status_code for r in responses] == [200, 200]
    image = Image.open(io.BytesIO(b"".join(responses[0].streaming_content)))
    assert image.size == (1333, 2000)
    assert responses[0]["Cache-Control"].startswith("private")
    assert responses[0]["Access-Control-Allow-Origin"] == "*"
    assert http_server.hits[path] == 1


def test_a_fetch_that_fails_is_reported_not_retried_forever(client, bob, corpus, http_server):
    service = f"{http_server.base_url}/iiif/gone"
    page = make_page(document=make_document(corpus=corpus), service_id=service)
    client.force_login(bob)

    derivative_build(page_id=page.pk)
    response = client.get(f"/iiif/pages/{page.pk}/derivative.jpg")

    assert response.status_code == 502
    assert "HTTP 404" in response.json()["detail"]


def test_the_fetch_goes_through_the_ssrf_safe_fetcher(client, bob, remote_page, http_server, settings):
    page, path = remote_page
    settings.IIIF_ALLOW_PRIVATE_HOSTS = False

    derivative_build(page_id=page.pk)

    assert http_server.hits[path] == 0
    assert not derivative_path(page).is_file()
    client.force_login(bob)
    assert "not allowed" in client.get(f"/iiif/pages/{page.pk}/derivative.jpg").json()["detail"]


def test_strangers_never_get_the_derivative(client, charlie, remote_page):
    page, _ = remote_page
    derivative_build(page_id=page.pk)
    client.force_login(charlie)

    assert client.get(f"/iiif/pages/{page.pk}/derivative.jpg").status_code == 404


def test_a_public_page_is_served_anonymously_and_publicly_cacheable(client, http_server):
    page = make_page(document=make_document(corpus=make_corpus(is_public=True)), width=800, height=1000)
    page.image_service_id, page.image_url = "", f"{http_server.base_url}/scan.jpg"
    page.save(update_fields=["image_service_id", "image_url"])
    http_server.script("/scan.jpg", Scripted(200, jpeg_bytes(800, 1000), {"Content-Type": "image/jpeg"}))

    derivative_build(page_id=page.pk)
    response = client.get(f"/iiif/pages/{page.pk}/derivative.jpg")

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public")


def _aged(path, seconds: float, *, read_ago: float | None = None) -> None:
    """Make the file last written `seconds` ago, and last read then too or `read_ago` seconds ago."""
    now = time.time()
    os.utime(path, (now - (seconds if read_ago is None else read_ago), now - seconds))


def test_a_failed_fetch_is_tried_again_once_its_retry_period_is_over(
    client, bob, corpus, http_server, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.IIIF_DERIVATIVE_RETRY_S = 600
    page = make_page(document=make_document(corpus=corpus), service_id=f"{http_server.base_url}/iiif/down")
    derivative_build(page_id=page.pk)
    queued = []
    monkeypatch.setattr("annotations.tasks.page_derivative_task.delay", queued.append)
    client.force_login(bob)
    error = next(derivative_path(page).parent.glob(f"{derivative_path(page).name}.error"))

    _aged(error, 300)
    with django_capture_on_commit_callbacks(execute=True):
        within = client.get(f"/iiif/pages/{page.pk}/derivative.jpg")
    # Written past the retry period, though the last 502 read it just now.
    _aged(error, 700, read_ago=1)
    with django_capture_on_commit_callbacks(execute=True):
        after = client.get(f"/iiif/pages/{page.pk}/derivative.jpg")

    assert (within.status_code, after.status_code) == (502, 202)
    assert queued == [page.pk]


def test_the_purge_deletes_unread_derivatives_and_stale_markers_only(settings, remote_page):
    settings.IIIF_DERIVATIVE_RETENTION_DAYS = 30
    settings.IIIF_DERIVATIVE_RETRY_S = 3600
    page, _ = remote_page
    derivative_build(page_id=page.pk)
    folder = derivative_path(page).parent
    files = {
        "read yesterday": (derivative_path(page), 86400),
        "unread for 31 days": (folder / "page-999-0123456789abcdef.jpg", 31 * 86400),
        "fetched 40 days ago, read yesterday": (folder / "page-993-0123456789abcdef.jpg", 40 * 86400, 86400),
        "failed 2 hours ago": (folder / "page-998-0123456789abcdef.jpg.error", 7200),
        "failed 2 hours ago, reported a minute ago": (folder / "page-994-0123456789abcdef.jpg.error", 7200, 60),
        "failed 10 minutes ago": (folder / "page-997-0123456789abcdef.jpg.error", 600),
        "fetch that died": (folder / "page-996-0123456789abcdef.jpg.pending", 3600),
        "fetch under way": (folder / "page-995-0123456789abcdef.jpg.pending", 10),
    }
    for path, age, *read_ago in files.values():
        path.touch()
        _aged(path, age, read_ago=read_ago[0] if read_ago else None)

    purged = derivatives_purge()

    left = {name for name, (path, *_) in files.items() if path.exists()}
    assert left == {"read yesterday", "fetched 40 days ago, read yesterday", "failed 10 minutes ago", "fetch under way"}
    assert purged == 4
    assert derivatives_purge() == 0


def test_the_beat_schedule_runs_the_derivative_purge():
    from annotations.tasks import derivatives_purge_task
    from webapp.celery import app

    scheduled = [entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()]
    assert derivatives_purge_task.name in scheduled
    assert derivatives_purge_task.name in app.tasks


def test_a_derivative_purged_between_the_check_and_the_read_is_fetched_again(
    client, bob, remote_page, monkeypatch, django_capture_on_commit_callbacks
):
    from annotations.iiif_server import views
    from annotations.iiif_server.derivatives import READY, DerivativeState, derivative_request

    page, _ = remote_page
    asked = []

    def gone_after_the_check(*, page):
        asked.append(page.pk)
        # The first answer names a file the purge has just deleted (here: never built).
        return DerivativeState(READY, path=derivative_path(page)) if len(asked) == 1 else derivative_request(page=page)

    monkeypatch.setattr(views, "derivative_request", gone_after_the_check)
    queued = []
    monkeypatch.setattr("annotations.tasks.page_derivative_task.delay", queued.append)
    client.force_login(bob)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/iiif/pages/{page.pk}/derivative.jpg")

    assert response.status_code == 202
    assert (asked, queued) == ([page.pk, page.pk], [page.pk])
