"""The migration that re-keys existing local scans: keys computed before it are dead afterwards."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from tests.support.manifests import jpeg_bytes
from tests.support.migrations import at_migration, migrate

BEFORE = ("annotations", "0009_export_corpora")
AFTER = ("annotations", "0010_document_local_scan_key")


def old_key(corpus_id: int, source: str) -> str:
    """How the code before the migration named a document's scan folder (and its URL key)."""
    return hashlib.sha256(f"{corpus_id}:{source}".encode()).hexdigest()[:16]


def old_scan_document(apps, corpus, source: str, *, folder: str | None = None):
    Document = apps.get_model("annotations", "Document")
    Page = apps.get_model("annotations", "Page")
    document = Document.objects.create(corpus=corpus, source=source, import_status="done")
    key = folder or old_key(corpus.pk, source)
    (Path(django_settings.LOCAL_IMAGES_DIR) / key).mkdir(parents=True, exist_ok=True)
    for order in (1, 2):
        name = f"p{order}.jpg"
        (Path(django_settings.LOCAL_IMAGES_DIR) / key / name).write_bytes(jpeg_bytes(60, 80))
        service = f"/iiif/local/{key}/{name}"
        Page.objects.create(
            document=document,
            order=order,
            canvas_id=f"{service}/canvas",
            width=60,
            height=80,
            image_url=f"{service}/full/max/0/default.jpg",
            image_service_id=service,
            image_service_version="3",
            local_path=f"{key}/{name}",
        )
    return document, key


@pytest.fixture
def migrated_back(transactional_db):
    yield from at_migration(BEFORE)


def test_existing_scans_get_random_keys_and_consistent_urls(migrated_back, client):
    apps = migrate(BEFORE)
    Corpus = apps.get_model("annotations", "Corpus")
    Page = apps.get_model("annotations", "Page")
    private = Corpus.objects.create(name="Private", is_public=False)
    public = Corpus.objects.create(name="Public", is_public=True)
    scans, old = old_scan_document(apps, private, "/srv/scans/1915")
    public_scans, public_old = old_scan_document(apps, public, "/srv/scans/1916")
    # A page the old code let a forged manifest create: the private document's files in a public corpus.
    forged = apps.get_model("annotations", "Document").objects.create(
        corpus=public, source="forged", import_status="done"
    )
    Page.objects.create(
        document=forged,
        order=1,
        canvas_id="forged-1",
        width=60,
        height=80,
        image_service_id=f"/iiif/local/{old}/p1.jpg",
        image_service_version="3",
        local_path=f"{old}/p1.jpg",
    )

    apps = migrate(AFTER)

    Document = apps.get_model("annotations", "Document")
    Page = apps.get_model("annotations", "Page")
    for document_id, previous in [(scans.pk, old), (public_scans.pk, public_old)]:
        document = Document.objects.get(pk=document_id)
        assert len(document.local_key) == 32 and document.local_key != previous
        assert document.local_folder == previous, "the files stay where they are"
        for page in Page.objects.filter(document=document):
            name = Path(page.local_path).name
            assert page.local_path == f"{previous}/{name}"
            assert page.image_service_id == f"/iiif/local/{document.local_key}/{name}"
            assert page.image_url == f"{page.image_service_id}/full/max/0/default.jpg"
            assert page.canvas_id == f"{page.image_service_id}/canvas"
    assert Page.objects.get(document_id=forged.pk).local_path == "", "a page pointing at another document's files"
    assert Document.objects.get(pk=forged.pk).local_key == ""
    public_key = Document.objects.get(pk=public_scans.pk).local_key
    # The app's code reads today's schema: the later migrations first (they keep these rows).
    call_command("migrate", verbosity=0)
    assert client.get(f"/iiif/local/{public_key}/p1.jpg/full/max/0/default.jpg").status_code == 200
    assert client.get(f"/iiif/local/{public_old}/p1.jpg/full/max/0/default.jpg").status_code == 404
    assert client.get(f"/iiif/local/{old}/p1.jpg/full/max/0/default.jpg").status_code == 404


def test_a_folder_nobody_computes_goes_to_the_first_document_using_it(migrated_back):
    """A document moved to another corpus (its computed key no longer matches) keeps its scans."""
    apps = migrate(BEFORE)
    corpus = apps.get_model("annotations", "Corpus").objects.create(name="Moved")
    document, _ = old_scan_document(apps, corpus, "/srv/scans/moved", folder="0123456789abcdef")

    apps = migrate(AFTER)

    migrated = apps.get_model("annotations", "Document").objects.get(pk=document.pk)
    assert migrated.local_folder == "0123456789abcdef" and len(migrated.local_key) == 32
    assert apps.get_model("annotations", "Page").objects.filter(document_id=document.pk, local_path="").count() == 0


def test_the_migration_reverses_to_the_folder_names_as_keys(migrated_back):
    apps = migrate(BEFORE)
    corpus = apps.get_model("annotations", "Corpus").objects.create(name="Back")
    document, old = old_scan_document(apps, corpus, "/srv/scans/back")
    migrate(AFTER)

    apps = migrate(BEFORE)

    pages = apps.get_model("annotations", "Page").objects.filter(document_id=document.pk).order_by("order")
    assert [p.image_service_id for p in pages] == [f"/iiif/local/{old}/p1.jpg", f"/iiif/local/{old}/p2.jpg"]
    assert [p.local_path for p in pages] == [f"{old}/p1.jpg", f"{old}/p2.jpg"]
