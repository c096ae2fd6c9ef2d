"""Local scans belong to the document that imported them (issue #13, hole 1).

Only a folder or zip import creates local scan paths; no manifest may point a page at them; a scan
is served only to users who may view its own document, under a random key stored on that document;
deleting the document deletes its files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from annotations.ingest.local_scans import local_scans_delete
from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
from annotations.models import Corpus, Document, Page
from tests.support.manifests import jpeg_bytes
from webapp.jobs import JobStatus


def write_scans(folder: Path, count: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, count + 1):
        (folder / f"p{n}.jpg").write_bytes(jpeg_bytes(300, 400, label=f"private {n}"))
    return folder


def run_import(corpus: Corpus, source: str) -> Document:
    return document_import_run(document_id=document_request_import(corpus=corpus, source=source).pk)


def key_of(document: Document) -> str:
    """The key in the document's scan URLs (/iiif/local/<key>/<file>)."""
    return document.pages.order_by("order").first().image_service_id.split("/")[3]


@pytest.fixture
def private_scans(tmp_path, corpus) -> Document:
    """A folder of scans imported into the private `corpus` (alice curates it, bob views it)."""
    document = run_import(corpus, str(write_scans(tmp_path / "private-scans")))
    assert document.import_status == JobStatus.DONE, document.import_error
    return document


@pytest.fixture
def public_corpus(db) -> Corpus:
    return corpus_get_or_create(name="Attacker's public corpus", is_public=True)


def manifest_pointing_at(service_id: str, *, manifest_id: str = "https://attacker.example/manifest.json") -> dict:
    """A Presentation 3 manifest of one canvas whose image (and its service) is `service_id`."""
    return {
        "@context": "http://iiif.io/api/presentation/3/context.json",
        "id": manifest_id,
        "type": "Manifest",
        "label": {"none": ["Harmless newspaper"]},
        "items": [
            {
                "id": "https://attacker.example/canvas/1",
                "type": "Canvas",
                "width": 300,
                "height": 400,
                "items": [
                    {
                        "id": "https://attacker.example/page/1",
                        "type": "AnnotationPage",
                        "items": [
                            {
                                "id": "https://attacker.example/anno/1",
                                "type": "Annotation",
                                "motivation": "painting",
                                "target": "https://attacker.example/canvas/1",
                                "body": {
                                    "id": f"{service_id}/full/max/0/default.jpg",
                                    "type": "Image",
                                    "format": "image/jpeg",
                                    "width": 300,
                                    "height": 400,
                                    "service": [{"id": service_id, "type": "ImageService3", "profile": "level1"}],
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }


def import_manifest_file(tmp_path: Path, corpus: Corpus, manifest: dict) -> Document:
    path = tmp_path / "forged" / "manifest.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(manifest))
    return run_import(corpus, str(path))


def test_a_forged_manifest_id_does_not_expose_a_private_scan(client, tmp_path, private_scans, public_corpus):
    """The issue's attack: manifest `id` /iiif/local/<key> imported into a public corpus."""
    key = key_of(private_scans)
    forged = import_manifest_file(
        tmp_path, public_corpus, manifest_pointing_at(f"/iiif/local/{key}/p1.jpg", manifest_id=f"/iiif/local/{key}")
    )

    response = client.get(f"/iiif/local/{key}/p1.jpg/full/max/0/default.jpg")

    assert response.status_code == 404
    assert forged.import_status == JobStatus.FAILED
    assert "local scans" in forged.import_error
    assert not Page.objects.filter(document=forged).exists()


@pytest.mark.parametrize(
    "spelling",
    [
        "/iiif/local/{key}/p1.jpg",
        "http://testserver/iiif/local/{key}/p1.jpg",
        "https://localhost:8000/iiif/local/{key}/p1.jpg",
        "//testserver/iiif/local/{key}/p1.jpg",
        "iiif/local/{key}/p1.jpg",
        "/IIIF/Local/{key}/p1.jpg",
        "/iiif/%6Cocal/{key}/p1.jpg",
        "%2Fiiif%2Flocal%2F{key}%2Fp1.jpg",
        "/iiif/%256Cocal/{key}/p1.jpg",
        "/iiif/documents/../local/{key}/p1.jpg",
        "http://testserver/static/..%2F..%2Fiiif/local/{key}/p1.jpg",
        "\\iiif\\local\\{key}\\p1.jpg",
    ],
)
def test_no_manifest_may_point_a_page_at_local_scans(tmp_path, private_scans, public_corpus, spelling):
    forged = import_manifest_file(
        tmp_path, public_corpus, manifest_pointing_at(spelling.format(key=key_of(private_scans)))
    )

    assert forged.import_status == JobStatus.FAILED, "a manifest pointing at our local scans is refused"
    assert "local scans" in forged.import_error
    assert not Page.objects.filter(document=forged).exists()


def test_a_remote_manifest_may_not_point_at_local_scans_either(http_server, private_scans, public_corpus):
    url = http_server.add(
        "/manifest.json",
        json.dumps(manifest_pointing_at(f"http://testserver/iiif/local/{key_of(private_scans)}/p1.jpg")),
    )

    forged = run_import(public_corpus, url)

    assert forged.import_status == JobStatus.FAILED
    assert not Page.objects.filter(document=forged).exists()


def test_another_server_with_the_same_path_is_an_ordinary_image_server(tmp_path, public_corpus):
    """Another Visages instance's scans are remote images like any other: only ours are refused."""
    document = import_manifest_file(
        tmp_path, public_corpus, manifest_pointing_at("https://visages.other.example/iiif/local/abcd/p1.jpg")
    )

    assert document.import_status == JobStatus.DONE, document.import_error
    page = document.pages.get()
    assert page.image_service_id == "https://visages.other.example/iiif/local/abcd/p1.jpg"
    assert page.local_path == ""


def test_a_page_of_another_document_pointing_at_the_files_is_not_served(client, private_scans, public_corpus):
    """A row left by the old code (or written by hand): the files are served through their own document only."""
    key = key_of(private_scans)
    owned = private_scans.pages.get(order=1)
    stray = Document.objects.create(corpus=public_corpus, source="stray", import_status=JobStatus.DONE)
    Page.objects.create(
        document=stray,
        order=1,
        canvas_id="stray-1",
        width=300,
        height=400,
        image_service_id=owned.image_service_id,
        image_service_version="3",
        local_path=owned.local_path,
    )

    assert client.get(f"/iiif/local/{key}/p1.jpg/full/max/0/default.jpg").status_code == 404
    assert client.get(f"/iiif/local/{key}/p1.jpg/info.json").status_code == 404


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 404), ("charlie", 404), ("bob", 200), ("alice", 200)])
def test_a_scan_is_served_to_viewers_of_its_document_and_hidden_from_others(
    client, private_scans, who, expected, request
):
    """A key that exists but belongs to a document the user cannot view answers 404, like an unknown key."""
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    key = key_of(private_scans)

    image = client.get(f"/iiif/local/{key}/p1.jpg/full/max/0/default.jpg")
    info = client.get(f"/iiif/local/{key}/p1.jpg/info.json")

    assert (image.status_code, info.status_code) == (expected, expected)


def test_keys_are_random_stored_on_the_document_and_kept_by_a_reimport(tmp_path, corpus, private_scans):
    source = private_scans.source
    key = key_of(private_scans)

    assert private_scans.local_key == key
    assert key != hashlib.sha256(f"{corpus.pk}:{source}".encode()).hexdigest()[:16], "not computable"
    assert len(key) == 32
    again = run_import(corpus, source)
    assert again.local_key == key and key_of(again) == key
    other = run_import(corpus_get_or_create(name="Another"), source)
    assert other.local_key not in {"", key}, "the same folder in another corpus gets its own key"


def test_deleting_a_document_deletes_its_files_and_its_key_answers_404(
    client, alice, private_scans, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    key = key_of(private_scans)
    folder = (Path(django_settings.LOCAL_IMAGES_DIR) / private_scans.pages.get(order=1).local_path).parent
    assert client.get(f"/iiif/local/{key}/p1.jpg/full/max/0/default.jpg").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        private_scans.delete()

    assert not folder.exists()
    assert client.get(f"/iiif/local/{key}/p1.jpg/full/max/0/default.jpg").status_code == 404
    assert client.get(f"/iiif/local/{key}/p1.jpg/info.json").status_code == 404


def test_deleting_a_corpus_deletes_the_files_of_its_documents(
    tmp_path, corpus, private_scans, django_capture_on_commit_callbacks
):
    second = run_import(corpus, str(write_scans(tmp_path / "second")))
    folders = [
        (Path(django_settings.LOCAL_IMAGES_DIR) / document.pages.get(order=1).local_path).parent
        for document in (private_scans, second)
    ]
    assert all(folder.is_dir() for folder in folders)

    with django_capture_on_commit_callbacks(execute=True):
        corpus.delete()

    assert [folder.exists() for folder in folders] == [False, False]


def test_a_rolled_back_delete_keeps_the_files(private_scans, django_capture_on_commit_callbacks):
    folder = (Path(django_settings.LOCAL_IMAGES_DIR) / private_scans.pages.get(order=1).local_path).parent

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        private_scans.delete()

    assert folder.is_dir(), "files go only once the delete is committed"
    assert [callback.func for callback in callbacks].count(local_scans_delete) == 1


def test_shared_caches_keep_a_public_scan_only_as_long_as_the_setting_says(client, tmp_path, settings, bob, corpus):
    """An admin may make a public corpus private at any time: proxies and CDNs may keep its scans only
    IIIF_IMAGE_CACHE_SECONDS; a private corpus's scans are for the viewer's own browser."""
    settings.IIIF_IMAGE_CACHE_SECONDS = 600
    Corpus.objects.filter(pk=corpus.pk).update(is_public=True)
    document = run_import(corpus, str(write_scans(tmp_path / "public")))
    url = f"/iiif/local/{key_of(document)}/p1.jpg/full/max/0/default.jpg"

    assert client.get(url)["Cache-Control"] == "public, max-age=600"

    Corpus.objects.filter(pk=corpus.pk).update(is_public=False)
    assert client.get(url).status_code == 404
    client.force_login(bob)
    assert client.get(url)["Cache-Control"] == "private, max-age=600"
