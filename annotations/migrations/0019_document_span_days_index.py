"""An index on each document's span in days (SQLite only): a date search on SQLite bounds the pages'
start dates by the longest span (annotations.search.planner._start_bounds) and reads it in one
step down this index. PostgreSQL finds the spanning pages through the page span's GiST index."""

from django.db import migrations

# Must match annotations.search.sql.DOCUMENT_SPAN_DAYS_SQL.
INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS document_span_days_idx ON annotations_document "
    "((julianday(date_end) - julianday(date_start)))"
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(INDEX_SQL)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP INDEX IF EXISTS document_span_days_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0018_page_search_count_indexes"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
