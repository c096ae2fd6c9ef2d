"""An import's failure is stored once, untranslated, and read in the language of whoever reads it.

The worker writes the error; a French curator and an English one read that same stored failure, each
in their own language, on the API, the home page and the document page (collection members too).
"""

from __future__ import annotations

import json
import socket

import pytest
from django.conf import settings
from django.utils import translation

from annotations.ingest.manifests import document_import_run, document_request_import
from annotations.models import Document
from tests.support.http_server import Scripted
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db

RATE_LIMITED = "Rate limited (HTTP 429) by %(host)s even after waiting and retrying"
COULD_NOT_REACH = "Could not reach %(host)s: %(reason)s"
CONNECTION_FAILED = "the connection failed"


def failed_import(corpus, alice, source: str) -> Document:
    document = document_request_import(corpus=corpus, source=source, user=alice)
    document = document_import_run(document_id=document.pk)
    assert document.import_status == JobStatus.FAILED
    return document


def api_error(client, document: Document, language: str) -> str:
    return client.get(f"/api/documents/{document.pk}/", HTTP_ACCEPT_LANGUAGE=language).json()["import_error"]


def test_a_malformed_manifest_reads_in_french_and_in_english_from_the_same_stored_failure(
    curator_client, corpus, alice, tmp_path
):
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{not json")

    document = failed_import(corpus, alice, str(manifest))

    assert api_error(curator_client, document, "fr").startswith("manifest.json n’est pas du JSON valide (")
    assert api_error(curator_client, document, "en").startswith("manifest.json is not valid JSON (")


def test_the_language_cookie_picks_the_language_of_the_error(curator_client, corpus, alice, tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{not json")
    document = failed_import(corpus, alice, str(manifest))

    curator_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    french = curator_client.get(f"/api/documents/{document.pk}/").json()["import_error"]
    curator_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = curator_client.get(f"/api/documents/{document.pk}/").json()["import_error"]

    assert "n’est pas du JSON valide" in french
    assert "is not valid JSON" in english


def test_a_rate_limited_fetch_reads_in_the_readers_language(
    curator_client, corpus, alice, http_server, settings, french_catalogue
):
    settings.IIIF_MAX_RETRIES = 0
    french_catalogue({RATE_LIMITED: "Trop de requêtes (HTTP 429) pour %(host)s, même après attente et nouvel essai"})
    url = http_server.script("/manifest.json", Scripted(429, b"", {"Retry-After": "0"}))

    document = failed_import(corpus, alice, url)

    assert api_error(curator_client, document, "fr") == (
        "Trop de requêtes (HTTP 429) pour 127.0.0.1, même après attente et nouvel essai"
    )
    assert api_error(curator_client, document, "en") == (
        "Rate limited (HTTP 429) by 127.0.0.1 even after waiting and retrying"
    )


def test_an_unreachable_host_reads_in_the_readers_language_with_its_cause(
    curator_client, corpus, alice, settings, french_catalogue
):
    settings.IIIF_MAX_RETRIES = 0
    french_catalogue(
        {
            COULD_NOT_REACH: "Impossible de joindre %(host)s\u00a0: %(reason)s",
            CONNECTION_FAILED: "la connexion a échoué",
        }
    )
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    document = failed_import(corpus, alice, f"http://127.0.0.1:{port}/manifest.json")

    assert api_error(curator_client, document, "fr") == "Impossible de joindre 127.0.0.1\u00a0: la connexion a échoué"
    assert api_error(curator_client, document, "en") == "Could not reach 127.0.0.1: the connection failed"


def test_the_stored_failure_does_not_depend_on_the_workers_language(corpus, alice, tmp_path):
    """The text column (CLI, logs) is English; the message beside it is the template and its parameters."""
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{not json")
    document = document_request_import(corpus=corpus, source=str(manifest), user=alice)

    with translation.override("fr"):
        document = document_import_run(document_id=document.pk)

    assert document.import_error.startswith("manifest.json is not valid JSON (")
    assert document.import_error_message["message"] == "%(name)s is not valid JSON (%(error)s)"
    assert document.import_error_message["params"]["name"] == "manifest.json"


def test_the_home_and_document_pages_show_the_error_in_the_readers_language(curator_client, corpus, alice, tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{not json")
    document = failed_import(corpus, alice, str(manifest))

    for url in ("/", f"/documents/{document.pk}/"):
        french = curator_client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
        english = curator_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "manifest.json n’est pas du JSON valide" in french, url
        assert "is not valid JSON" not in french, url
        assert "manifest.json is not valid JSON" in english, url


def test_a_row_stored_before_messages_shows_its_text(curator_client, corpus):
    document = Document.objects.create(
        corpus=corpus, source="https://example.org/m.json", import_status=JobStatus.FAILED, import_error="Old failure"
    )

    assert api_error(curator_client, document, "fr") == "Old failure"
    assert "Old failure" in curator_client.get(f"/documents/{document.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()


def test_a_collections_member_errors_read_in_the_readers_language(curator_client, corpus, alice, http_server):
    url = http_server.url("/collection.json")
    collection = {
        "@context": "http://iiif.io/api/presentation/3/context.json",
        "id": url,
        "type": "Collection",
        "label": {"none": ["Sneaky"]},
        "items": [{"id": "file:///etc/passwd", "type": "Manifest"}],
    }
    http_server.add("/collection.json", json.dumps(collection))

    document = failed_import(corpus, alice, url)

    french_page = curator_client.get(f"/documents/{document.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "pas une URL http(s)" in french_page
    assert "Aucun des 1 manifestes de la collection n’a pu être importé" in french_page
    assert "not an http(s) URL" not in french_page
    french = curator_client.get(f"/api/documents/{document.pk}/", HTTP_ACCEPT_LANGUAGE="fr").json()
    english = curator_client.get(f"/api/documents/{document.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert french["import_report"]["collection"]["members"][0]["error"] == "pas une URL http(s)"
    assert english["import_report"]["collection"]["members"][0]["error"] == "not an http(s) URL"
    assert french["import_error"] == "Aucun des 1 manifestes de la collection n’a pu être importé"
