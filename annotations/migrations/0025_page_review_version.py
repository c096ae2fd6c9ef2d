"""A page's review status gets a version: every change names the one it read (409 otherwise).

The column is added in place, every page at 1. Django's own AddField would rebuild the page table
on SQLite (a NOT NULL column), which fails while the face triggers of 0015 name it.
"""

from django.db import migrations, models

COLUMN_TYPE = {"sqlite": "integer unsigned", "postgresql": "integer"}


def add_column(apps, schema_editor):
    column_type = COLUMN_TYPE[schema_editor.connection.vendor]
    schema_editor.execute(
        "ALTER TABLE annotations_page ADD COLUMN review_version "
        f"{column_type} NOT NULL DEFAULT 1 CHECK (review_version >= 0)"
    )


def drop_column(apps, schema_editor):
    schema_editor.execute("ALTER TABLE annotations_page DROP COLUMN review_version")


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0024_document_import_error_message"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(add_column, drop_column)],
            state_operations=[
                migrations.AddField(
                    model_name="page",
                    name="review_version",
                    field=models.PositiveIntegerField(default=1),
                )
            ],
        )
    ]
