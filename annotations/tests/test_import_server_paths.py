"""Server paths: web and API users import folders, manifest files and zips only from IMPORT_SERVER_ROOTS."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from annotations.ingest.manifests import document_import_run
from annotations.models import Corpus, Document
from tests.support.manifests import jpeg_bytes, write_scans
from webapp.jobs import JobStatus

REFUSAL = "Server paths can only be imported from IMPORT_SERVER_ROOTS"


SCANS = [(300, 400), (300, 400)]


def copied_scans() -> list[Path]:
    """Every file our imports copied into local storage."""
    local = Path(django_settings.LOCAL_IMAGES_DIR)
    return sorted(p for p in local.rglob("*") if p.is_file()) if local.exists() else []


@pytest.fixture
def share(tmp_path, settings):
    """A scan share listed in IMPORT_SERVER_ROOTS, with one folder of scans."""
    root = tmp_path / "share"
    write_scans(root / "1915-03-12", SCANS)
    settings.IMPORT_SERVER_ROOTS = [str(root)]
    return root


@pytest.fixture
def outside(tmp_path):
    """Scans on the server but outside every root."""
    return write_scans(tmp_path / "elsewhere" / "scans", SCANS)


def api_import(client, source: str, corpus: str = "Excelsior"):
    return client.post("/api/documents/", {"source": source, "corpus": corpus}, content_type="application/json")


def form_import(client, source: str, corpus: str = "Excelsior"):
    return client.post("/documents/import/", {"source": source, "corpus": corpus}, follow=True)


def state() -> tuple[list, list, list]:
    """What a refused import must leave as it was: corpora, documents and copied scans."""
    return list(Corpus.objects.values_list("pk", "name")), list(Document.objects.values_list("pk")), copied_scans()


def test_a_curator_imports_a_folder_inside_a_root_through_the_api(
    curator_client, share, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api_import(curator_client, str(share / "1915-03-12"))

    assert response.status_code == 202, response.content
    assert len(queued) == 1
    document = Document.objects.get(pk=response.json()["id"])
    assert document.source == str((share / "1915-03-12").resolve())
    document = document_import_run(document_id=document.pk)
    assert document.import_status == JobStatus.DONE, document.import_error
    assert document.pages.count() == 2
    assert len(copied_scans()) == 2


def test_a_curator_imports_a_folder_inside_a_root_through_the_web_form(curator_client, share):
    response = form_import(curator_client, str(share / "1915-03-12"))

    document = Document.objects.get()
    assert response.redirect_chain[-1][0] == f"/documents/{document.pk}/"
    assert document.corpus.name == "Excelsior"
    assert document_import_run(document_id=document.pk).import_status == JobStatus.DONE


def test_a_manifest_file_inside_a_root_is_accepted(curator_client, share):
    manifest = share / "manifest.json"
    manifest.write_text("{}")

    response = api_import(curator_client, str(manifest))

    assert response.status_code == 202, response.content


def test_a_folder_outside_the_roots_is_refused_through_the_api(curator_client, share, outside):
    before = state()

    response = api_import(curator_client, str(outside))

    assert response.status_code == 400
    assert REFUSAL in response.json()["source"][0]
    assert str(share.resolve()) in response.json()["source"][0], "the message names the roots to use"
    assert state() == before


def test_a_folder_outside_the_roots_is_refused_through_the_web_form(curator_client, share, outside):
    before = state()

    response = form_import(curator_client, str(outside))

    assert response.redirect_chain[-1][0] == "/"
    assert f"Import refused: {REFUSAL}" in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("kind", ["manifest file", "zip"])
def test_manifest_files_and_zips_outside_the_roots_are_refused(curator_client, share, tmp_path, kind):
    if kind == "zip":
        path = tmp_path / "scans.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("page1.jpg", jpeg_bytes(40, 50))
    else:
        path = tmp_path / "manifest.json"
        path.write_text("{}")
    before = state()

    response = api_import(curator_client, str(path))

    assert response.status_code == 400 and REFUSAL in response.json()["source"][0]
    assert state() == before


def test_a_user_cannot_copy_another_corpus_scans_into_a_corpus_of_their_own(client, charlie, share, settings):
    """The attack this guards against: a new corpus (its creator is admin) pointed at our local scans."""
    write_scans(Path(settings.LOCAL_IMAGES_DIR) / "0123456789abcdef", SCANS)
    client.force_login(charlie)
    before = state()

    for source in (str(settings.LOCAL_IMAGES_DIR), str(settings.MEDIA_ROOT), "/etc", "~"):
        response = api_import(client, source, corpus="Mine")
        assert response.status_code == 400, source
        assert REFUSAL in response.json()["source"][0]
    assert state() == before


def test_dot_dot_cannot_climb_out_of_a_root(curator_client, share, outside):
    before = state()

    response = api_import(curator_client, str(share / ".." / "elsewhere" / "scans"))

    assert response.status_code == 400 and REFUSAL in response.json()["source"][0]
    assert state() == before


def test_a_symlink_inside_a_root_pointing_outside_is_refused(curator_client, share, outside):
    (share / "linked").symlink_to(outside, target_is_directory=True)
    before = state()

    response = api_import(curator_client, str(share / "linked"))

    assert response.status_code == 400 and REFUSAL in response.json()["source"][0]
    assert state() == before


def test_a_missing_path_outside_the_roots_gets_the_same_refusal_as_an_existing_one(curator_client, share, outside):
    existing = api_import(curator_client, str(outside))
    missing = api_import(curator_client, str(outside.parent / "no-such-folder"))

    assert existing.status_code == missing.status_code == 400
    assert existing.json() == missing.json()


def test_with_no_roots_configured_every_server_path_is_refused(curator_client, settings, outside):
    settings.IMPORT_SERVER_ROOTS = []

    response = api_import(curator_client, str(outside))

    assert response.status_code == 400
    assert response.json()["source"] == [f"{REFUSAL} (none configured)"]
    assert not Document.objects.exists()


def test_urls_arks_and_uploads_need_no_root(curator_client, settings, django_capture_on_commit_callbacks):
    settings.IMPORT_SERVER_ROOTS = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("page1.jpg", jpeg_bytes(40, 50))

    with django_capture_on_commit_callbacks(execute=False):
        ark = api_import(curator_client, "ark:/12148/bpt6k46000341")
        url = api_import(curator_client, "https://example.org/iiif/manifest.json")
        upload = curator_client.post(
            "/api/documents/", {"upload": SimpleUploadedFile("scans.zip", buffer.getvalue()), "corpus": "Excelsior"}
        )

    assert (ark.status_code, url.status_code, upload.status_code) == (202, 202, 202)
    # The stored upload lies under MEDIA_ROOT, in no root: our own path, imported as usual.
    document = document_import_run(document_id=upload.json()["id"])
    assert document.import_status == JobStatus.DONE, document.import_error
    assert document.pages.count() == 1


def test_a_superuser_may_import_any_path(client, db, outside, settings, django_capture_on_commit_callbacks):
    settings.IMPORT_SERVER_ROOTS = []
    client.force_login(get_user_model().objects.create_superuser("root", password="root-password-123"))

    with django_capture_on_commit_callbacks(execute=False):
        response = api_import(client, str(outside), corpus="Admin")

    assert response.status_code == 202, response.content
    assert document_import_run(document_id=response.json()["id"]).import_status == JobStatus.DONE


def test_the_management_command_may_import_any_path(db, outside, settings, capsys):
    settings.IMPORT_SERVER_ROOTS = []

    call_command("import_manifest", str(outside), "--corpus", "Operator")

    document = Document.objects.get(pk=int(capsys.readouterr().out.strip().splitlines()[-1]))
    assert document.import_status == JobStatus.DONE and document.pages.count() == 2
