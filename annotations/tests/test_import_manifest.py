"""Importing manifests: parsing into pages, politeness, failures, idempotency and safety."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotations.ingest.manifests import (
    ImportFailed,
    corpus_get_or_create,
    document_import_run,
    document_request_import,
    source_resolve,
)
from annotations.models import Document, Page
from tests.support.http_server import Scripted
from tests.support.manifests import p2_manifest
from webapp.jobs import JobStatus

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "iiif"


def import_source(source: str, corpus_name: str = "Test") -> Document:
    document = document_request_import(corpus=corpus_get_or_create(name=corpus_name), source=source)
    return document_import_run(document_id=document.pk)


@pytest.mark.django_db
def test_it_imports_a_p2_manifest_from_a_url_into_pages(http_server):
    url = http_server.add("/manifest.json", json.dumps(p2_manifest(http_server.base_url, 3)))

    document = import_source(url)

    assert document.import_status == JobStatus.DONE, document.import_error
    assert document.iiif_version == "2"
    assert document.label == "Excelsior"
    assert (document.date_start, document.date_end) == (date(1915, 3, 12), date(1915, 3, 12))
    pages = list(document.pages.order_by("order"))
    assert [p.order for p in pages] == [1, 2, 3]
    assert pages[0].image_service_id == f"{http_server.base_url}/iiif/doc/f1"
    assert pages[0].image_service_version == "2"
    assert (pages[0].width, pages[0].height) == (2000, 3000)
    assert pages[0].is_front_page and not pages[1].is_front_page
    assert {"label": "Title", "value": "Excelsior"} in document.metadata


@pytest.mark.django_db
def test_a_date_longer_than_the_date_field_is_cut_and_still_read(http_server):
    # A cataloguer's note in the Date metadata (300 characters) crashed the import on PostgreSQL, whose
    # date_text holds 200: the import stored nothing and said "unexpected error". The full text stays in
    # the document's metadata; the date span is read from it as before.
    note = "1915-03-12" + " (printed on the front page; the issue number is missing from the record)" * 4
    manifest = p2_manifest(http_server.base_url, 1)
    manifest["metadata"] = [{"label": "Date", "value": note}]
    url = http_server.add("/manifest.json", json.dumps(manifest))

    document = import_source(url)

    assert document.import_status == JobStatus.DONE, document.import_error
    assert len(note) > 200 and len(document.date_text) == 200
    assert document.date_text == note[:199] + "…"
    assert (document.date_start, document.date_end) == (date(1915, 3, 12), date(1915, 3, 12))
    assert {"label": "Date", "value": note} in document.metadata


@pytest.mark.django_db
def test_it_imports_the_gallica_like_fixture_with_image_api_1_1_and_canvas_scaling():
    document = import_source(str(FIXTURES / "gallica-p2-excelsior-1915.json"))

    assert document.import_status == JobStatus.DONE, document.import_error
    pages = list(document.pages.order_by("order"))
    assert pages and all(p.image_service_version == "1" for p in pages)
    assert pages[0].image_service_id.startswith("https://gallica.bnf.fr/iiif/ark:/12148/")
    assert any(p.image_width and p.image_width != p.width for p in pages)


@pytest.mark.django_db
def test_it_imports_p3_and_lists_skipped_canvases_in_the_report():
    document = import_source(str(FIXTURES / "p3-excelsior-mixed-canvases.json"))

    assert document.import_status == JobStatus.DONE, document.import_error
    assert document.iiif_version == "3"
    assert document.import_report["skipped"], "sound and empty canvases are listed"
    assert document.pages.count() == document.import_report["pages"]
    versions = set(document.pages.values_list("image_service_version", flat=True))
    assert {"2", "3"} <= versions, "ImageService2 and ImageService3 bodies are both recognised"


def test_it_resolves_a_gallica_ark_to_its_manifest_url():
    resolved = source_resolve("ark:/12148/bpt6k46000341")
    assert resolved.kind == "url"
    assert resolved.location == "https://gallica.bnf.fr/iiif/ark:/12148/bpt6k46000341/manifest.json"
    viewer = source_resolve("https://gallica.bnf.fr/ark:/12148/bpt6k46000341/f1.item")
    assert viewer.location == "https://gallica.bnf.fr/iiif/ark:/12148/bpt6k46000341/manifest.json"


def test_it_refuses_a_source_that_does_not_exist():
    with pytest.raises(ImportFailed, match="Source not found"):
        source_resolve("/no/such/folder")


@pytest.mark.django_db
def test_a_reimport_updates_in_place_without_duplicating_pages(http_server):
    manifest = p2_manifest(http_server.base_url, 3)
    url = http_server.add("/manifest.json", json.dumps(manifest))
    first = import_source(url)
    page_ids = sorted(first.pages.values_list("id", flat=True))

    manifest["label"] = "Excelsior (corrected)"
    manifest["sequences"][0]["canvases"][0]["label"] = "Une"
    http_server.add("/manifest.json", json.dumps(manifest))
    second = import_source(url)

    assert second.pk == first.pk
    assert Document.objects.count() == 1
    assert sorted(second.pages.values_list("id", flat=True)) == page_ids
    assert second.label == "Excelsior (corrected)"
    assert second.pages.get(order=1).label == "Une"
    assert second.import_report["created"] == 0
    assert (second.import_report["updated"], second.import_report["unchanged"]) == (1, 2)


@pytest.mark.django_db
def test_it_waits_for_retry_after_on_429_then_succeeds(http_server):
    body = json.dumps(p2_manifest(http_server.base_url, 2)).encode()
    url = http_server.script(
        "/manifest.json",
        Scripted(429, b"slow down", {"Retry-After": "1"}),
        Scripted(200, body, {"Content-Type": "application/json"}),
    )

    started = time.monotonic()
    document = import_source(url)

    assert document.import_status == JobStatus.DONE, document.import_error
    assert time.monotonic() - started >= 1.0, "Retry-After was honoured"
    assert http_server.hits["/manifest.json"] == 2
    user_agent = http_server.requests[0][1].get("User-Agent", "")
    assert user_agent.startswith("Visages/")


@pytest.mark.django_db
def test_persistent_429_fails_with_a_rate_limit_message(http_server, settings):
    settings.IIIF_MAX_RETRIES = 1
    url = http_server.script("/manifest.json", Scripted(429, b"", {"Retry-After": "0"}))

    document = import_source(url)

    assert document.import_status == JobStatus.FAILED
    assert "Rate limited (HTTP 429)" in document.import_error


@pytest.mark.django_db
def test_a_403_fails_the_job_with_a_clear_message_and_no_pages(http_server):
    url = http_server.script("/manifest.json", Scripted(403, b"forbidden"))

    document = import_source(url)

    assert document.import_status == JobStatus.FAILED
    assert "HTTP 403" in document.import_error
    assert not Page.objects.exists()


@pytest.mark.django_db
def test_invalid_json_fails_the_job_with_a_clear_message(http_server):
    url = http_server.add("/manifest.json", "{not json")

    document = import_source(url)

    assert document.import_status == JobStatus.FAILED
    assert "not valid JSON" in document.import_error


@pytest.mark.django_db
def test_a_json_that_is_not_a_manifest_fails_cleanly():
    document = import_source(str(FIXTURES / "not-a-manifest-labelme.json"))

    assert document.import_status == JobStatus.FAILED
    assert document.import_error
    assert not Page.objects.exists()


@pytest.mark.django_db
def test_a_manifest_without_image_canvases_fails_cleanly():
    document = import_source(str(FIXTURES / "p3-no-image-canvas.json"))

    assert document.import_status == JobStatus.FAILED
    assert "image" in document.import_error.lower()


@pytest.mark.django_db
def test_a_collection_met_as_a_collections_member_lists_its_manifests_instead():
    """Members of a collection are imported with collections off (see test_import_collection.py)."""
    source = str(FIXTURES / "p3-collection-gallica-mercure-galant-1713.json")
    document = document_request_import(corpus=corpus_get_or_create(name="Test"), source=source)
    document = document_import_run(document_id=document.pk, expand_collections=False)

    assert document.import_status == JobStatus.FAILED
    assert "Collection" in document.import_error
    manifests = document.import_report["collection"]["manifests"]
    assert manifests and all(m["id"].startswith("http") for m in manifests)


@pytest.mark.django_db
def test_it_refuses_loopback_hosts_unless_allowed(http_server, settings):
    settings.IIIF_ALLOW_PRIVATE_HOSTS = False
    url = http_server.add("/manifest.json", json.dumps(p2_manifest(http_server.base_url, 1)))

    document = import_source(url)

    assert document.import_status == JobStatus.FAILED
    assert "private, loopback or link-local" in document.import_error
    assert http_server.hits["/manifest.json"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://[::1]/manifest.json", "http://10.0.0.8/m.json"]
)
def test_it_refuses_private_and_link_local_addresses(settings, url):
    settings.IIIF_ALLOW_PRIVATE_HOSTS = False

    document = import_source(url)

    assert document.import_status == JobStatus.FAILED
    assert "Refused" in document.import_error


@pytest.mark.django_db
def test_it_refuses_non_http_schemes():
    document = import_source("file:///etc/passwd")

    assert document.import_status == JobStatus.FAILED
    assert "scheme 'file'" in document.import_error


@pytest.mark.django_db
def test_an_oversize_manifest_is_refused(http_server, settings):
    settings.IIIF_MAX_MANIFEST_BYTES = 1000
    url = http_server.add("/manifest.json", json.dumps(p2_manifest(http_server.base_url, 20)))

    document = import_source(url)

    assert document.import_status == JobStatus.FAILED
    assert "too large" in document.import_error


@pytest.mark.django_db
def test_the_command_prints_the_document_id_on_its_last_line(http_server, capsys):
    url = http_server.add("/manifest.json", json.dumps(p2_manifest(http_server.base_url, 2)))

    call_command("import_manifest", url, "--corpus", "Press")

    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    document = Document.objects.get(pk=int(last_line))
    assert document.corpus.name == "Press" and document.pages.count() == 2


@pytest.mark.django_db
def test_the_command_exits_with_a_message_on_failure(http_server):
    url = http_server.script("/manifest.json", Scripted(403, b""))

    with pytest.raises(CommandError, match="HTTP 403"):
        call_command("import_manifest", url)


@pytest.mark.django_db
def test_a_reimport_with_reordered_canvases_moves_pages_and_keeps_those_with_faces(http_server):
    from annotations.models import Face

    manifest = p2_manifest(http_server.base_url, 3)
    url = http_server.add("/manifest.json", json.dumps(manifest))
    document = import_source(url)
    first, second, third = document.pages.order_by("order")
    Face.objects.create(page=third, x=1, y=1, w=10, h=10)

    canvases = manifest["sequences"][0]["canvases"]
    manifest["sequences"][0]["canvases"] = [canvases[1], canvases[0]]
    http_server.add("/manifest.json", json.dumps(manifest))
    document = import_source(url)

    assert document.import_status == JobStatus.DONE, document.import_error
    orders = dict(document.pages.values_list("id", "order"))
    assert orders == {second.pk: 1, first.pk: 2, third.pk: 3}
    assert document.import_report["kept_with_faces"] == 1


@pytest.mark.django_db
def test_a_reimport_that_resizes_a_canvas_keeps_its_face_sizes_as_shares_of_the_new_page(http_server):
    from annotations.models import Face
    from annotations.services import page_counts_refresh

    manifest = p2_manifest(http_server.base_url, 1)
    url = http_server.add("/manifest.json", json.dumps(manifest))
    page = import_source(url).pages.get()
    Face.objects.create(page=page, x=1, y=1, w=200, h=300)
    page_counts_refresh(page_ids=[page.pk])
    page.refresh_from_db()
    assert page.max_face_share == pytest.approx(1.0)  # 200 x 300 on 2000 x 3000

    canvas = manifest["sequences"][0]["canvases"][0]
    canvas["width"], canvas["height"] = 4000, 6000
    http_server.add("/manifest.json", json.dumps(manifest))
    import_source(url)

    page.refresh_from_db()
    assert (page.width, page.height) == (4000, 6000)
    assert page.max_face_share == pytest.approx(0.25)
    assert page.min_face_share == pytest.approx(0.25)
