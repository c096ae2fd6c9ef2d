"""Messages stored untranslated (webapp.messages): a job's error is kept as a template and its parameters,
nested causes included, and rendered in the language of whoever reads it."""

from __future__ import annotations

import pickle

import pytest
from django.utils import translation

from annotations.iiif.fetch import FetchError
from annotations.iiif.messages import Message, MessageError
from annotations.ingest.manifests import corpus_get_or_create, document_request_import
from annotations.models import Document
from webapp import jobs
from webapp.jobs import JobStatus, job_claim, job_fail
from webapp.messages import message_as_json, message_render, message_text

# Templates the French catalogue translates.
UNEXPECTED = "Unexpected error: %(kind)s: %(error)s"
NOT_HTTP = "not an http(s) URL"


def test_a_nested_message_is_stored_as_json_and_rendered_in_the_active_language():
    error = MessageError(UNEXPECTED, kind="ValueError", error=Message(NOT_HTTP))

    stored = message_as_json(error)

    assert stored == {
        "message": UNEXPECTED,
        "params": {"kind": "ValueError", "error": {"message": NOT_HTTP, "params": {}}},
    }
    with translation.override("fr"):
        assert message_render(stored) == "Erreur inattendue\u00a0: ValueError\u00a0: pas une URL http(s)"
    with translation.override("en"):
        assert message_render(stored) == "Unexpected error: ValueError: not an http(s) URL"
    with translation.override("fr"):
        assert message_text(error) == str(error) == "Unexpected error: ValueError: not an http(s) URL"


def test_a_list_parameter_renders_each_of_its_messages():
    stored = message_as_json(Message(UNEXPECTED, {"kind": "IIIFError", "error": [Message(NOT_HTTP), "plain"]}))

    with translation.override("fr"):
        assert message_render(stored) == "Erreur inattendue\u00a0: IIIFError\u00a0: pas une URL http(s), plain"


def test_a_decimal_shown_plainly_follows_the_reader_s_language_and_one_with_a_format_keeps_it():
    """%(floor)s shows 0.1 as the reader writes it (0,1 in French); %(ap).3f formats the number itself."""
    stored = {
        "message": "floor %(floor)s, AP %(ap).3f, %(count)s pages",
        "params": {"floor": 0.1, "ap": 0.51234, "count": 3},
    }

    with translation.override("fr"):
        french = message_render(stored)
    with translation.override("en"):
        english = message_render(stored)

    assert french == "floor 0,1, AP 0.512, 3 pages"
    assert english == "floor 0.1, AP 0.512, 3 pages"


@pytest.mark.parametrize(
    "stored",
    [None, {}, {"message": UNEXPECTED, "params": {"kind": "ValueError"}}, {"message": 3, "params": {}}],
)
def test_no_message_or_one_that_no_longer_fits_its_template_shows_the_stored_text(stored):
    assert message_render(stored, fallback="the stored text") == "the stored text"


@pytest.mark.django_db
def test_a_failed_job_keeps_the_english_text_and_the_message_and_a_new_claim_clears_both():
    document = document_request_import(corpus=corpus_get_or_create(name="Messages"), source="https://example.org/m")
    claimed = job_claim(jobs.DOCUMENT_IMPORT, document.pk)

    with translation.override("fr"):
        assert job_fail(jobs.DOCUMENT_IMPORT, document.pk, claimed_at=claimed, error=Message(NOT_HTTP))

    failed = Document.objects.get(pk=document.pk)
    assert (failed.import_error, failed.import_error_message) == (NOT_HTTP, {"message": NOT_HTTP, "params": {}})
    Document.objects.filter(pk=document.pk).update(import_status=JobStatus.PENDING)
    assert job_claim(jobs.DOCUMENT_IMPORT, document.pk) is not None
    claimed_again = Document.objects.get(pk=document.pk)
    assert (claimed_again.import_error, claimed_again.import_error_message) == ("", None)


@pytest.mark.django_db
def test_a_plain_text_error_is_stored_as_it_is_without_a_message():
    document = document_request_import(corpus=corpus_get_or_create(name="Messages"), source="https://example.org/m")
    claimed = job_claim(jobs.DOCUMENT_IMPORT, document.pk)

    assert job_fail(jobs.DOCUMENT_IMPORT, document.pk, claimed_at=claimed, error="Worker lost")

    failed = Document.objects.get(pk=document.pk)
    assert (failed.import_error, failed.import_error_message) == ("Worker lost", None)
    with translation.override("fr"):
        assert failed.import_error_translated() == "Worker lost"


def test_an_error_with_a_message_survives_pickling_with_its_attributes():
    error = FetchError("Not found (HTTP 404): %(url)s", url="https://example.org/m.json", status=404)

    restored = pickle.loads(pickle.dumps(error))

    assert (type(restored), restored.message, restored.status, restored.url) == (
        FetchError,
        error.message,
        404,
        "https://example.org/m.json",
    )
    assert str(restored) == "Not found (HTTP 404): https://example.org/m.json"
