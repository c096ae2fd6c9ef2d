"""Corpora are found by their exact name, and a corpus an import creates is private until made public."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotations.models import Corpus, Document, ExportKind, Page
from tests.support.manifests import p2_manifest

pytestmark = pytest.mark.django_db


def test_the_command_finds_corpora_by_their_exact_name_and_creates_new_ones_private(http_server, capsys):
    existing = Corpus.objects.create(name="CorpC", is_public=True)
    url = http_server.add("/manifest.json", json.dumps(p2_manifest(http_server.base_url, 2)))

    call_command("import_manifest", url, "--corpus", "corpc")

    document = Document.objects.get(pk=int(capsys.readouterr().out.strip().splitlines()[-1]))
    assert document.corpus.name == "corpc" and document.corpus != existing
    assert not document.corpus.is_public, "a corpus an import creates is private"
    assert not existing.documents.exists()


def test_the_command_adds_to_an_existing_corpus_of_that_exact_name(http_server, capsys):
    existing = Corpus.objects.create(name="CorpC", is_public=True)
    url = http_server.add("/manifest.json", json.dumps(p2_manifest(http_server.base_url, 2)))

    call_command("import_manifest", url, "--corpus", "CorpC")

    assert Document.objects.get(pk=int(capsys.readouterr().out.strip().splitlines()[-1])).corpus == existing
    assert existing.is_public


def test_the_command_creates_a_public_corpus_on_request(http_server):
    url = http_server.add("/manifest.json", json.dumps(p2_manifest(http_server.base_url, 2)))

    call_command("import_manifest", url, "--corpus", "Demo", "--public")

    assert Corpus.objects.get(name="Demo").is_public


def test_a_corpus_a_web_import_creates_is_private_and_owned_by_the_importer(client, django_capture_on_commit_callbacks):
    dora = get_user_model().objects.create_user("dora", password="dora-password-123")
    client.force_login(dora)

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/api/documents/", {"source": "ark:/12148/bpt6k1", "corpus": "Dora"}, "application/json")

    assert response.status_code == 202, response.content
    corpus = Corpus.objects.get(name="Dora")
    assert not corpus.is_public and corpus.owner == dora
    assert client.logout() is None and client.get(f"/api/documents/{response.json()['id']}/").status_code == 404


def test_an_export_names_its_corpus_exactly(client, alice, corpus, django_capture_on_commit_callbacks):
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=False):
        wrong_case = client.post("/api/exports/", {"kind": ExportKind.CSV, "corpus": "excelsior"}, "application/json")
        exact = client.post("/api/exports/", {"kind": ExportKind.CSV, "corpus": "Excelsior"}, "application/json")

    assert wrong_case.status_code == 404
    assert exact.status_code == 202 and exact.json()["scope"]["corpus"] == corpus.pk


def test_search_filters_by_the_exact_corpus_name(client):
    for name in ("CorpC", "corpc"):
        document = Document.objects.create(
            corpus=Corpus.objects.create(name=name, is_public=True), source=name, label=name
        )
        Page.objects.create(document=document, order=1, canvas_id=f"{name}/c1", width=100, height=100)

    labels = {row["document_label"] for row in client.get("/api/search/pages/?corpus=corpc").json()["results"]}

    assert labels == {"corpc"}
