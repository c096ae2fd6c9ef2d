"""Page summaries counted by review status too, so that a page search by review status (with a gender,
a confidence step, years or front pages) is counted from them (annotations.search.summaries).

The page and document triggers of 0015 are replaced by the same triggers with the page's review status
in its page rows (a change of status moves the page's row), and the page rows are recounted.
"""

import importlib

from django.db import migrations, models

year_summaries = importlib.import_module("annotations.migrations.0015_year_summaries")

REVIEW_STATUS = ("review_status",)


# SQLite rebuilds the summary table to add the column, which fails while triggers name it: the page,
# document and corpus triggers are dropped around the rebuild.
SQLITE_DROP = [
    *(f"DROP TRIGGER annotations_page_summaries_{event}" for event in ("insert", "delete", "update", "move")),
    "DROP TRIGGER annotations_document_to_pages",
    "DROP TRIGGER annotations_corpus_summaries",
]


def _triggers(vendor: str, page_columns: tuple[str, ...]) -> list[str]:
    """The page and document triggers, their page rows counted by `page_columns` too."""
    sql = year_summaries.Dialect(vendor, page_columns)
    page_changes = year_summaries.PAGE_MAXIMA + page_columns
    if vendor == "postgresql":
        return [
            year_summaries.page_function_postgresql(sql, page_changes, create="CREATE OR REPLACE"),
            year_summaries.document_function_postgresql(sql, create="CREATE OR REPLACE"),
        ]
    return [
        *year_summaries.page_triggers_sqlite(sql, page_changes),
        year_summaries.document_trigger_sqlite(sql),
        year_summaries.CORPUS_TRIGGER_SQLITE,
    ]


def _execute(schema_editor, statements: list[str]) -> None:
    for statement in statements:
        schema_editor.execute(statement, params=None)


def drop_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _execute(schema_editor, SQLITE_DROP)


def restore_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _execute(schema_editor, _triggers("sqlite", ()))


def count_by_review_status(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _execute(schema_editor, _triggers(vendor, REVIEW_STATUS))
    pages = "annotations_page p JOIN annotations_document d ON d.id = p.document_id"
    recount = year_summaries.Dialect(vendor, REVIEW_STATUS).page_rows("p", "d.corpus_id", "1 = 1", 1, source=pages)
    _execute(schema_editor, [f"DELETE FROM {year_summaries.PAGE_TABLE}", recount])


def count_without_review_status(apps, schema_editor):
    # The rows keep their counts: once the column is gone, rows of one key differing only by status add up.
    if schema_editor.connection.vendor == "sqlite":
        _execute(schema_editor, SQLITE_DROP)
    else:
        _execute(schema_editor, _triggers("postgresql", ()))


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0020_page_gender_date_indexes"),
    ]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, restore_sqlite_triggers),
        migrations.AddField(
            model_name="pageyearsummary",
            name="review_status",
            field=models.CharField(default="unreviewed", max_length=10),
            preserve_default=False,
        ),
        migrations.RunPython(count_by_review_status, count_without_review_status),
    ]
