"""Corpora are found by their exact name, and a corpus an import creates is private until made public.

Names are the owner's own: two users may each have a corpus named "Default", and a corpus a user
cannot see neither takes their import nor tells them its name exists.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from annotations.models import Corpus, CorpusMembership, CorpusRole, Document, ExportKind, Page
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


def import_into(client, django_capture_on_commit_callbacks, **fields):
    with django_capture_on_commit_callbacks(execute=False):
        return client.post("/api/documents/", {"source": "ark:/12148/bpt6k1", **fields}, "application/json")


def test_a_hidden_corpus_name_answers_like_a_free_one(client, charlie, corpus, django_capture_on_commit_callbacks):
    client.force_login(charlie)

    taken = import_into(client, django_capture_on_commit_callbacks, corpus="Excelsior")
    free = import_into(client, django_capture_on_commit_callbacks, corpus="Never used")

    assert taken.status_code == free.status_code == 202, taken.content
    own = Corpus.objects.get(pk=taken.json()["corpus"])
    assert own != corpus and own.name == "Excelsior" and own.owner == charlie and not own.is_public
    assert not corpus.documents.exists()


def test_each_user_imports_into_their_own_default_corpus(client, alice, charlie, django_capture_on_commit_callbacks):
    corpora = []
    for user in (alice, charlie):
        client.force_login(user)
        response = import_into(client, django_capture_on_commit_callbacks)
        assert response.status_code == 202, response.content
        corpora.append(Corpus.objects.get(pk=response.json()["corpus"]))

    assert [(c.name, c.owner) for c in corpora] == [("Default", alice), ("Default", charlie)]


def test_an_import_by_name_goes_to_the_corpus_the_importer_curates(
    client, alice, corpus, django_capture_on_commit_callbacks
):
    client.force_login(alice)

    response = import_into(client, django_capture_on_commit_callbacks, corpus="Excelsior")

    assert response.status_code == 202 and response.json()["corpus"] == corpus.pk


def test_the_importer_s_own_corpus_comes_before_one_they_curate(
    client, alice, corpus, django_capture_on_commit_callbacks
):
    own = Corpus.objects.create(name="Excelsior", owner=alice)
    client.force_login(alice)

    response = import_into(client, django_capture_on_commit_callbacks, corpus="Excelsior")

    assert response.json()["corpus"] == own.pk and not corpus.documents.exists()


def test_two_corpora_of_one_name_the_importer_curates_ask_for_its_id(
    client, alice, corpus, django_capture_on_commit_callbacks
):
    other = Corpus.objects.create(name="Excelsior", owner=get_user_model().objects.create_user("eve"))
    CorpusMembership.objects.create(corpus=other, user=alice, role=CorpusRole.CURATOR)
    client.force_login(alice)

    ambiguous = import_into(client, django_capture_on_commit_callbacks, corpus="Excelsior")
    by_id = import_into(client, django_capture_on_commit_callbacks, corpus_id=other.pk)

    assert ambiguous.status_code == 400 and "corpus_id" in ambiguous.json()["corpus"][0]
    assert by_id.status_code == 202 and by_id.json()["corpus"] == other.pk
    assert Document.objects.count() == 1


def test_an_import_into_a_corpus_id_needs_the_curator_role_there(
    client, bob, charlie, corpus, django_capture_on_commit_callbacks
):
    answers = []
    for user in (bob, charlie):
        client.force_login(user)
        answers.append(import_into(client, django_capture_on_commit_callbacks, corpus_id=corpus.pk).status_code)
    missing = import_into(client, django_capture_on_commit_callbacks, corpus_id=987_654)

    assert answers == [403, 404] and missing.status_code == 404
    assert missing.json() == import_into(client, django_capture_on_commit_callbacks, corpus_id=corpus.pk).json()
    assert not Document.objects.exists()


def test_a_viewer_importing_into_a_visible_corpus_by_name_is_refused(
    client, bob, corpus, django_capture_on_commit_callbacks
):
    client.force_login(bob)

    response = import_into(client, django_capture_on_commit_callbacks, corpus="Excelsior")

    assert response.status_code == 403 and not Document.objects.exists()
    assert list(Corpus.objects.all()) == [corpus]


def test_an_import_names_its_corpus_by_name_or_by_id_not_both(
    client, alice, corpus, django_capture_on_commit_callbacks
):
    client.force_login(alice)

    response = import_into(client, django_capture_on_commit_callbacks, corpus="Excelsior", corpus_id=corpus.pk)

    assert response.status_code == 400 and "corpus_id" in response.json()
    assert not Document.objects.exists()


def test_a_corpus_name_is_unique_per_owner(alice, charlie):
    Corpus.objects.create(name="Default", owner=alice)
    Corpus.objects.create(name="Default", owner=charlie)
    Corpus.objects.create(name="Default")

    for owner in (alice, None):
        with pytest.raises(IntegrityError), transaction.atomic():
            Corpus.objects.create(name="Default", owner=owner)


def test_an_export_by_name_finds_the_visible_corpus_of_that_name(
    client, alice, corpus, django_capture_on_commit_callbacks
):
    Corpus.objects.create(name="Excelsior", owner=get_user_model().objects.create_user("eve"), is_public=False)
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/api/exports/", {"kind": ExportKind.CSV, "corpus": "Excelsior"}, "application/json")

    assert response.status_code == 202 and response.json()["scope"]["corpus"] == corpus.pk


def test_an_export_by_a_name_two_visible_corpora_share_asks_for_the_id(
    client, alice, corpus, django_capture_on_commit_callbacks
):
    Corpus.objects.create(name="Excelsior", owner=alice)
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/api/exports/", {"kind": ExportKind.CSV, "corpus": "Excelsior"}, "application/json")

    assert response.status_code == 400 and "corpus" in response.json()


def test_the_command_refuses_a_name_several_users_corpora_share(alice, charlie):
    for owner in (alice, charlie):
        Corpus.objects.create(name="Shared name", owner=owner)

    with pytest.raises(CommandError, match="Shared name"):
        call_command("import_manifest", "ark:/12148/bpt6k1", "--corpus", "Shared name")

    assert not Document.objects.exists()


def test_the_command_adds_to_the_only_corpus_of_that_name_whoever_owns_it(http_server, alice, capsys):
    owned = Corpus.objects.create(name="Alice's", owner=alice)
    url = http_server.add("/manifest.json", json.dumps(p2_manifest(http_server.base_url, 2)))

    call_command("import_manifest", url, "--corpus", "Alice's")

    assert Document.objects.get(pk=int(capsys.readouterr().out.strip().splitlines()[-1])).corpus == owned


def test_the_web_form_imports_into_the_corpus_it_names_by_id(client, alice, corpus, django_capture_on_commit_callbacks):
    Corpus.objects.create(name="Excelsior", owner=alice)
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/documents/import/", {"source": "ark:/12148/bpt6k1", "corpus_id": corpus.pk})

    assert response.status_code == 302
    assert Document.objects.get().corpus == corpus


@pytest.mark.parametrize("corpus_id", ["abc", "99999999999999999999", "987654"])
def test_the_web_form_refuses_a_bad_corpus_id_and_stores_nothing(client, alice, corpus, corpus_id):
    client.force_login(alice)

    response = client.post("/documents/import/", {"source": "ark:/12148/bpt6k1", "corpus_id": corpus_id}, follow=True)

    assert response.status_code == 200
    assert "Import refused" in response.content.decode()
    assert not Document.objects.exists() and list(Corpus.objects.all()) == [corpus]


def test_a_collection_s_manifests_import_into_the_collection_s_own_corpus(client, alice, corpus):
    document = Document.objects.create(
        corpus=corpus,
        source="https://example.org/collection.json",
        label="Collection",
        import_report={"collection": {"manifests": [{"id": "https://example.org/m1.json", "label": "Issue 1"}]}},
    )
    client.force_login(alice)

    body = client.get(f"/documents/{document.pk}/").content.decode()

    assert f'name="corpus_id" value="{corpus.pk}"' in body and 'name="corpus"' not in body


def test_a_refused_import_into_a_new_name_leaves_no_corpus(client, charlie):
    client.force_login(charlie)

    not_a_zip = SimpleUploadedFile("scans.txt", b"text")

    response = client.post("/api/documents/", {"upload": not_a_zip, "corpus": "Brand new"})

    assert response.status_code == 400 and ".zip" in response.json()["source"][0]
    assert not Corpus.objects.exists()
