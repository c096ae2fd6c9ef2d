"""An export's failure, and the pages a finished export skipped, read in the reader's language.

The worker stores them once, untranslated (webapp.messages): the API and the exports page render them
in the language of whoever reads them, the skipped pages' own reasons (a missing scan) included.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import translation

from annotations.exports import services as export_services
from annotations.exports.services import export_build, export_create
from annotations.tests.factories import add_faces, scanned_document
from tests.support.clients import api_client
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db

TOO_LONG = "The export took longer than its time limit: narrow the scope or leave images out"
PAGES_SKIPPED = "Pages skipped, their image unavailable (%(count)s): %(pages)s"
PAGE_SKIPPED = "page %(page)s (document %(document)s, p%(order)s): %(error)s"


@pytest.fixture
def document(tmp_path, corpus):
    document = scanned_document(tmp_path / "scans", corpus=corpus)
    add_faces(document)
    return document


def api_error(user, export, language: str) -> str:
    return api_client(user).get(f"/api/exports/{export.pk}/", HTTP_ACCEPT_LANGUAGE=language).json()["error"]


def test_a_failed_export_reads_in_the_reader_s_language(bob, document, monkeypatch, french_catalogue):
    french_catalogue({TOO_LONG: "L’export a dépassé sa limite de temps"})
    export = export_create(user=bob, kind="csv", scope={"gender": "female"}, options={})

    def out_of_time(*args, **kwargs):
        raise SoftTimeLimitExceeded

    monkeypatch.setattr(export_services, "export_write", out_of_time)
    with translation.override("fr"):
        export = export_build(export_id=export.pk)

    assert export.status == JobStatus.FAILED and export.error == TOO_LONG
    assert api_error(bob, export, "en") == TOO_LONG
    assert api_error(bob, export, "fr") == "L’export a dépassé sa limite de temps"


def test_the_pages_an_export_skipped_read_in_the_reader_s_language(alice, curator_client, document, french_catalogue):
    french_catalogue(
        {
            PAGES_SKIPPED: "Pages omises, leur image manquant (%(count)s) : %(pages)s",
            PAGE_SKIPPED: "page %(page)s (document %(document)s, p. %(order)s) : %(error)s",
        }
    )
    page = document.pages.order_by("order").first()
    (Path(settings.LOCAL_IMAGES_DIR) / page.local_path).unlink()
    export = export_create(user=alice, kind="labelme", scope={"document": document.pk}, options={"with_images": True})
    export = export_build(export_id=export.pk)
    assert export.status == JobStatus.DONE

    english = api_error(alice, export, "en")
    french = api_error(alice, export, "fr")

    assert english.startswith(
        f"Pages skipped, their image unavailable (1): page {page.pk} (document {document.pk}, p1): "
    )
    assert french.startswith(
        f"Pages omises, leur image manquant (1) : page {page.pk} (document {document.pk}, p. 1) : "
    )
    # The scan's own reason is translated too (the catalogue has it).
    assert "Local image missing" in english and "Image locale manquante" in french
    exports_page = curator_client.get("/exports/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Pages omises, leur image manquant (1)" in exports_page
