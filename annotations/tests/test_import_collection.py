"""A IIIF Collection imports all its manifests as one job: nested, capped, no cycles, per-manifest progress."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
from annotations.models import Document
from tests.support.http_server import Scripted
from tests.support.manifests import p2_manifest
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


def p3_collection(url: str, label: str, items: list[tuple[str, str]]) -> str:
    """A Presentation 3 collection at `url` listing (type, url) items."""
    return json.dumps(
        {
            "@context": "http://iiif.io/api/presentation/3/context.json",
            "id": url,
            "type": "Collection",
            "label": {"none": [label]},
            "items": [{"id": item, "type": kind, "label": {"none": [item.rsplit("/", 1)[-1]]}} for kind, item in items],
        }
    )


def serve_manifest(http_server, path: str, canvases: int = 1, label: str = "Excelsior") -> str:
    return http_server.add(path, json.dumps(p2_manifest(http_server.base_url, canvases, label=label)))


def import_source(source: str) -> Document:
    document = document_request_import(corpus=corpus_get_or_create(name="Press"), source=source)
    return document_import_run(document_id=document.pk)


def test_a_collection_imports_every_manifest_and_reports_each(http_server):
    first = serve_manifest(http_server, "/m1.json", canvases=2, label="One")
    second = serve_manifest(http_server, "/m2.json", canvases=3, label="Two")
    broken = http_server.script("/m3.json", Scripted(404, b""))
    url = http_server.url("/collection.json")
    http_server.add(
        "/collection.json",
        p3_collection(url, "Press", [("Manifest", first), ("Manifest", second), ("Manifest", broken)]),
    )

    collection = import_source(url)

    assert collection.import_status == JobStatus.DONE, collection.import_error
    assert collection.label == "Press"
    report = collection.import_report["collection"]
    assert (report["total"], report["done"], report["failed"]) == (3, 2, 1)
    rows = {row["id"]: row for row in report["members"]}
    assert rows[broken]["status"] == "failed" and "HTTP 404" in rows[broken]["error"]
    one = Document.objects.get(pk=rows[first]["document"])
    two = Document.objects.get(pk=rows[second]["document"])
    assert (one.label, one.pages.count(), one.corpus_id) == ("One", 2, collection.corpus_id)
    assert (two.label, two.pages.count()) == ("Two", 3)


def test_nested_collections_are_walked_once_and_cycles_end(http_server):
    manifest = serve_manifest(http_server, "/m1.json")
    other = serve_manifest(http_server, "/m2.json")
    top = http_server.url("/top.json")
    nested = http_server.url("/nested.json")
    # The nested collection lists its parent, itself and a manifest the parent lists too.
    http_server.add("/top.json", p3_collection(top, "Top", [("Manifest", manifest), ("Collection", nested)]))
    http_server.add(
        "/nested.json",
        p3_collection(
            nested, "Nested", [("Collection", top), ("Collection", nested), ("Manifest", manifest), ("Manifest", other)]
        ),
    )

    collection = import_source(top)

    members = collection.import_report["collection"]["members"]
    assert [row["id"] for row in members] == [manifest, other]
    assert all(row["status"] == "done" for row in members)
    assert http_server.hits["/top.json"] == 1 and http_server.hits["/nested.json"] == 1
    assert http_server.hits["/m1.json"] == 1


def test_collections_nested_too_deep_are_reported_not_fetched(http_server, settings):
    settings.IIIF_MAX_COLLECTION_DEPTH = 2
    urls = [http_server.url(f"/c{n}.json") for n in range(4)]
    manifest = serve_manifest(http_server, "/m.json")
    http_server.add("/c0.json", p3_collection(urls[0], "c0", [("Collection", urls[1])]))
    http_server.add("/c1.json", p3_collection(urls[1], "c1", [("Manifest", manifest), ("Collection", urls[2])]))
    http_server.add("/c2.json", p3_collection(urls[2], "c2", [("Collection", urls[3])]))

    collection = import_source(urls[0])

    rows = {row["id"]: row for row in collection.import_report["collection"]["members"]}
    assert rows[manifest]["status"] == "done"
    assert rows[urls[2]]["status"] == "failed" and "deeper" in rows[urls[2]]["error"]
    assert http_server.hits["/c2.json"] == 0


def test_a_collection_over_the_cap_fails_before_importing_anything(http_server, settings):
    settings.IIIF_MAX_COLLECTION_MANIFESTS = 2
    manifests = [serve_manifest(http_server, f"/m{n}.json") for n in range(3)]
    url = http_server.url("/collection.json")
    http_server.add("/collection.json", p3_collection(url, "Big", [("Manifest", m) for m in manifests]))

    collection = import_source(url)

    assert collection.import_status == JobStatus.FAILED
    assert "more than 2" in collection.import_error
    assert Document.objects.count() == 1
    assert all(http_server.hits[f"/m{n}.json"] == 0 for n in range(3))


def test_a_member_that_is_not_an_http_url_is_never_read(http_server, tmp_path):
    """A collection cannot point the importer at a server path."""
    secret = tmp_path / "manifest.json"
    secret.write_text(json.dumps(p2_manifest(http_server.base_url, 1)))
    url = http_server.url("/collection.json")
    http_server.add(
        "/collection.json",
        p3_collection(url, "Sneaky", [("Manifest", str(secret)), ("Manifest", "file:///etc/passwd")]),
    )

    collection = import_source(url)

    assert collection.import_status == JobStatus.FAILED
    assert all("not an http(s) URL" in row["error"] for row in collection.import_report["collection"]["members"])
    assert Document.objects.count() == 1


def test_a_collection_whose_members_all_fail_fails(http_server):
    broken = http_server.add("/m1.json", "{broken")
    url = http_server.url("/collection.json")
    http_server.add("/collection.json", p3_collection(url, "Broken", [("Manifest", broken)]))

    collection = import_source(url)

    assert collection.import_status == JobStatus.FAILED
    assert "None of the 1 manifests" in collection.import_error
    assert "not valid JSON" in collection.import_report["collection"]["members"][0]["error"]


def test_the_command_prints_one_document_id_per_imported_manifest(http_server, capsys):
    first = serve_manifest(http_server, "/m1.json", label="One")
    second = serve_manifest(http_server, "/m2.json", label="Two")
    broken = http_server.script("/m3.json", Scripted(404, b""))
    url = http_server.url("/collection.json")
    http_server.add(
        "/collection.json",
        p3_collection(url, "Press", [("Manifest", first), ("Manifest", broken), ("Manifest", second)]),
    )

    call_command("import_manifest", url, "--corpus", "Press")

    captured = capsys.readouterr()
    ids = [int(line) for line in captured.out.split()]
    assert [Document.objects.get(pk=pk).label for pk in ids] == ["One", "Two"]
    assert f"failed {broken}" in captured.err and "HTTP 404" in captured.err
    assert "2 of 3 manifests imported" in captured.err


def test_the_command_fails_when_no_manifest_of_the_collection_imports(http_server):
    broken = http_server.script("/m1.json", Scripted(404, b""))
    url = http_server.url("/collection.json")
    http_server.add("/collection.json", p3_collection(url, "Broken", [("Manifest", broken)]))

    with pytest.raises(CommandError, match="None of the 1 manifests"):
        call_command("import_manifest", url)


def test_the_api_queues_a_collection_and_shows_its_members(
    client, alice, http_server, django_capture_on_commit_callbacks
):
    manifest = serve_manifest(http_server, "/m1.json", label="One")
    url = http_server.url("/collection.json")
    http_server.add("/collection.json", p3_collection(url, "Press", [("Manifest", manifest)]))
    client.force_login(alice)

    response = client.post("/api/documents/", {"source": url, "corpus": "Press"}, content_type="application/json")
    assert response.status_code == 202, response.content
    document_import_run(document_id=response.json()["id"])
    body = client.get(f"/api/documents/{response.json()['id']}/").json()

    assert body["import_status"] == "done"
    member = body["import_report"]["collection"]["members"][0]
    assert member["status"] == "done" and Document.objects.get(pk=member["document"]).label == "One"
