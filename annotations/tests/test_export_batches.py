"""Export batches: pages with their document and faces as plain rows, in a few queries per batch (#19, 1 M faces)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.exports.scope import EXPORT_FACE_COLUMNS, export_querysets, page_batches
from annotations.exports.services import export_scope_params
from annotations.models import ExportKind, Face
from annotations.tests.factories import add_faces, export_document, make_face, scanned_document


@pytest.fixture
def document(tmp_path, db):
    document = scanned_document(tmp_path / "scans")
    add_faces(document)
    return document


def batches(document, *, batch_size=1, include_rejected=True, timestamps=False):
    pages, faces = export_querysets(export_scope_params({"document": document.pk}), include_rejected=include_rejected)
    return list(page_batches(pages, faces, batch_size=batch_size, timestamps=timestamps))


def queries(document, **options) -> int:
    with CaptureQueriesContext(connection) as captured:
        for batch in batches(document, **options):
            for page, faces in batch:
                page.document.corpus_id, [face.page.canvas_id for face in faces]
    return len(captured)


def test_faces_carry_the_stored_values_the_writers_read(document):
    exported = [face for batch in batches(document) for _, faces in batch for face in faces]

    stored = {face.pk: face for face in Face.objects.filter(page__document=document)}
    assert sorted(face.pk for face in exported) == sorted(stored)
    for face in exported:
        assert {column: getattr(face, column) for column in EXPORT_FACE_COLUMNS} == {
            column: getattr(stored[face.pk], column) for column in EXPORT_FACE_COLUMNS
        }
        assert face.page.pk == face.page_id
        assert type(face.child) is bool
        assert face.created_at is None and face.updated_at is None, "read only when a format writes them"


def test_timestamps_are_read_when_asked(document):
    exported = [face for batch in batches(document, timestamps=True) for _, faces in batch for face in faces]

    stored = {face.pk: face for face in Face.objects.filter(page__document=document)}
    assert [(face.created_at, face.updated_at) for face in exported] == [
        (stored[face.pk].created_at, stored[face.pk].updated_at) for face in exported
    ]


def test_web_annotations_say_when_each_face_was_made_and_changed(document, tmp_path):
    out = tmp_path / "faces.jsonld"
    export_document(ExportKind.W3C, document, out)

    items = json.loads(out.read_text())["first"]["items"]
    faces = {f"urn:visages:face:{face.pk}": face for face in Face.objects.filter(page__document=document)}
    assert len(items) == 4
    for item in items:
        face = faces[item["id"]]
        assert (item["created"], item["modified"]) == (face.created_at.isoformat(), face.updated_at.isoformat())


def test_pages_of_a_document_share_one_loaded_document(document):
    pages = [page for batch in batches(document) for page, _ in batch]

    assert len(pages) == document.pages.count() >= 2
    assert {id(page.document) for page in pages} == {id(pages[0].document)}
    assert pages[0].document.label == document.label


def test_a_batch_costs_the_same_queries_however_many_faces_it_holds(document):
    few = queries(document)
    page = document.pages.order_by("order").first()
    for n in range(20):
        make_face(page=page, x=10 + 40 * n, y=10, w=30, h=30)

    assert queries(document) == few
    # The page query, then per batch of one page: its faces, and its document for the first batch only.
    assert few == 1 + document.pages.count() + 1
