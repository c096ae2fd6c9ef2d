"""The database triggers that keep the year summaries and page dates current survive every migration.

SQLite drops a table's triggers when a migration rebuilds the table (most column and constraint
changes do), silently: this checks the migrated schema still has each of them.
"""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

SQLITE_TRIGGERS = {
    # 0014: a page's date follows its document's.
    "annotations_page_document_date_insert": "annotations_page",
    "annotations_page_document_date_update": "annotations_page",
    # 0015 and 0021: the face, page, document and corpus changes the summaries follow.
    "annotations_face_summaries_insert": "annotations_face",
    "annotations_face_summaries_delete": "annotations_face",
    "annotations_face_summaries_update": "annotations_face",
    "annotations_page_summaries_insert": "annotations_page",
    "annotations_page_summaries_delete": "annotations_page",
    "annotations_page_summaries_update": "annotations_page",
    "annotations_page_summaries_move": "annotations_page",
    "annotations_document_to_pages": "annotations_document",
    "annotations_corpus_summaries": "annotations_corpus",
}


def test_the_migrated_sqlite_schema_keeps_every_trigger():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's table rebuilds drop triggers; PostgreSQL alters tables in place and keeps them")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
        found = dict(cursor.fetchall())

    assert found == SQLITE_TRIGGERS
