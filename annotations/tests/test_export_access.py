"""An export is readable only while its requester may view every corpus its file holds; it goes with them.

Security issue #13, hole 4: an export scoped by a filter alone (gender, person, ...) names no corpus,
so its scope cannot say whose data it holds; the build records the corpora of the pages it wrote.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage

from annotations.exports import services as export_services
from annotations.exports.services import export_build, export_create
from annotations.models import Corpus, CorpusMembership, CorpusRole, Export
from annotations.tests.factories import add_faces, scanned_document
from tests.support.clients import api_client
from webapp.jobs import JobStatus


@pytest.fixture
def document(tmp_path, corpus):
    document = scanned_document(tmp_path / "scans", corpus=corpus)
    add_faces(document)
    return document


@pytest.fixture
def other_document(tmp_path, bob, document):
    """A document with faces in a second private corpus, which bob also views."""
    other = Corpus.objects.create(name="Le Miroir", is_public=False)
    CorpusMembership.objects.create(corpus=other, user=bob, role=CorpusRole.VIEWER)
    document = scanned_document(tmp_path / "scans-2", corpus=other)
    add_faces(document)
    return document


def built(user, kind="csv", **scope) -> Export:
    export = export_create(user=user, kind=kind, scope=scope, options={}, base_url="http://testserver/")
    export = export_build(export_id=export.pk)
    assert export.status == JobStatus.DONE, export.error
    return export


def readable(user, export: Export, *members: str) -> dict[str, int]:
    """The status of every read of the export: detail, download, its members, and whether it is listed."""
    client = api_client(user)
    codes = {
        "detail": client.get(f"/api/exports/{export.pk}/").status_code,
        "download": client.get(f"/api/exports/{export.pk}/download/").status_code,
        "listed": 200 if export.pk in [item["id"] for item in client.get("/api/exports/").json()["results"]] else 404,
    }
    for member in members:
        codes[member] = client.get(f"/api/exports/{export.pk}/files/{member}").status_code
    return codes


def all_codes(codes: dict[str, int], code: int) -> dict[str, int]:
    return dict.fromkeys(codes, code)


def test_the_build_records_the_corpora_of_the_pages_it_wrote(bob, document, other_document):
    both = built(bob, gender="female")
    one = built(bob, document=document.pk)

    assert set(both.corpora.values_list("pk", flat=True)) == {document.corpus_id, other_document.corpus_id}
    assert list(one.corpora.values_list("pk", flat=True)) == [document.corpus_id]


def test_a_filtered_export_is_readable_until_its_requester_loses_membership(bob, document):
    export = built(bob, kind="iiif", gender="female")
    manifest = f"documents/{document.pk}/manifest.json"
    before = readable(bob, export, manifest)

    CorpusMembership.objects.filter(user=bob, corpus=document.corpus).delete()
    after = readable(bob, export, manifest)

    assert before == all_codes(before, 200)
    assert after == all_codes(after, 404)


def test_the_exports_page_drops_an_export_whose_corpus_its_requester_lost(client, bob, document):
    export = built(bob, gender="female")
    client.force_login(bob)
    before = client.get("/exports/").content.decode()

    CorpusMembership.objects.filter(user=bob, corpus=document.corpus).delete()
    after = client.get("/exports/").content.decode()

    assert f'id="export-{export.pk}"' in before and f'id="export-{export.pk}"' not in after


def test_an_export_spanning_two_corpora_needs_access_to_both(bob, document, other_document):
    export = built(bob, gender="female")
    before = readable(bob, export)

    CorpusMembership.objects.filter(user=bob, corpus=other_document.corpus).delete()
    after = readable(bob, export)

    assert before == all_codes(before, 200)
    assert after == all_codes(after, 404)


def test_a_superuser_still_reads_any_export(bob, document):
    admin = get_user_model().objects.create_superuser("root", password="root-password-123")
    export = built(bob, gender="female")
    CorpusMembership.objects.filter(user=bob).delete()

    codes = readable(admin, export)

    assert codes == all_codes(codes, 200)


def test_an_export_that_holds_nothing_records_nothing_and_stays_its_requesters(alice, charlie, document):
    export = built(charlie, gender="female")

    assert export.face_count == 0 and not export.corpora.exists()
    assert readable(charlie, export)["download"] == 200
    assert readable(alice, export) == {"detail": 404, "download": 404, "listed": 404}


def test_deleting_the_corpus_deletes_its_exports_and_their_files(
    bob, document, other_document, django_capture_on_commit_callbacks
):
    holding = built(bob, gender="female")
    elsewhere = built(bob, document=other_document.pk)
    path = Path(default_storage.path(holding.file.name))
    assert readable(bob, holding)["download"] == 200

    with django_capture_on_commit_callbacks(execute=True):
        Corpus.objects.get(pk=document.corpus_id).delete()

    assert not path.exists()
    assert not Export.objects.filter(pk=holding.pk).exists()
    assert api_client(bob).get(f"/api/exports/{holding.pk}/download/").status_code == 404
    assert Path(default_storage.path(elsewhere.file.name)).exists()
    assert readable(bob, elsewhere)["download"] == 200


def test_deleting_a_document_deletes_the_exports_that_may_hold_it(
    tmp_path, bob, document, django_capture_on_commit_callbacks
):
    sibling = scanned_document(tmp_path / "scans-3", corpus=document.corpus)
    of_document = built(bob, document=document.pk)
    of_corpus = built(bob, gender="female")
    of_sibling = built(bob, document=sibling.pk)
    paths = {export.pk: Path(default_storage.path(export.file.name)) for export in (of_document, of_corpus, of_sibling)}

    with django_capture_on_commit_callbacks(execute=True):
        document.delete()

    assert list(Export.objects.values_list("pk", flat=True)) == [of_sibling.pk]
    assert [pk for pk, path in paths.items() if path.exists()] == [of_sibling.pk]


def test_exports_built_before_the_corpora_were_recorded_get_their_scopes_corpora_or_all(bob, document, other_document):
    migration = importlib.import_module("annotations.migrations.0009_export_corpora")
    of_document = built(bob, document=other_document.pk)
    of_corpus = built(bob, corpus=document.corpus_id)
    unscoped = built(bob, gender="female")
    pending = export_create(user=bob, kind="csv", scope={}, options={})
    for export in (of_document, of_corpus, unscoped):
        export.corpora.clear()
    unseen = Corpus.objects.create(name="Unseen", is_public=False)

    migration.record_corpora_of_built_exports(django_apps, None)

    assert list(of_document.corpora.values_list("pk", flat=True)) == [other_document.corpus_id]
    assert list(of_corpus.corpora.values_list("pk", flat=True)) == [document.corpus_id]
    assert set(unscoped.corpora.values_list("pk", flat=True)) == {
        document.corpus_id,
        other_document.corpus_id,
        unseen.pk,
    }
    assert not pending.corpora.exists()


def test_a_build_whose_corpus_is_deleted_meanwhile_fails_and_keeps_no_file(bob, document, monkeypatch):
    export = export_create(user=bob, kind="csv", scope={"gender": "female"}, options={})
    write = export_services.export_write

    def write_then_lose_the_corpus(*args, **kwargs):
        result = write(*args, **kwargs)
        Corpus.objects.filter(pk=document.corpus_id).delete()
        return result

    monkeypatch.setattr(export_services, "export_write", write_then_lose_the_corpus)
    export = export_build(export_id=export.pk)

    assert export.status == JobStatus.FAILED and not export.file
    assert export.error == "A corpus this export holds was deleted while it was built"
    assert not list(Path(default_storage.path("exports")).iterdir())
