"""A GiST index on each page's date span (PostgreSQL only): a date search is one range test
(annotations.search.sql.DateSpanOverlaps) that this index answers. SQLite tests the bounds.
And a (normally empty) index of pages with an end date but no start date, which the planner
checks before bounding start dates (annotations.search.planner._start_bounds)."""

from django.db import migrations, models

# Must match annotations.search.sql.DATE_SPAN_SQL for the page's columns.
INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS page_date_span_idx ON annotations_page USING gist ("
    "daterange(COALESCE(document_date, document_date_end), COALESCE(document_date_end, document_date), '[]')) "
    # Undated pages: their range would be unbounded (every search would read them), and never match.
    "WHERE COALESCE(document_date, document_date_end) IS NOT NULL"
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX_SQL)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS page_date_span_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0015_year_summaries"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(document_date__isnull=True, document_date_end__isnull=False),
                fields=["document_date_end"],
                name="page_date_end_only_idx",
            ),
        ),
    ]
