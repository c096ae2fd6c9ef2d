"""Pages carry a copy of their document's date span (`Page.document_date`, `document_date_end`), so
searches filter and order pages by date without joining documents. Database triggers keep the copy:
a new page, a page moved to another document, and any change of a document's dates (ingest, admin,
the shell) all pass through them."""

from django.db import migrations, models

COPY_SQL = """
    UPDATE annotations_page SET
        document_date = (SELECT date_start FROM annotations_document WHERE id = annotations_page.document_id),
        document_date_end = (SELECT date_end FROM annotations_document WHERE id = annotations_page.document_id)
"""

POSTGRESQL_TRIGGERS = [
    """CREATE FUNCTION annotations_page_document_date() RETURNS trigger AS $$
BEGIN
    SELECT date_start, date_end INTO NEW.document_date, NEW.document_date_end
    FROM annotations_document WHERE id = NEW.document_id;
    RETURN NEW;
END
$$ LANGUAGE plpgsql""",
    """CREATE TRIGGER annotations_page_document_date
    BEFORE INSERT OR UPDATE OF document_id, document_date, document_date_end ON annotations_page
    FOR EACH ROW EXECUTE FUNCTION annotations_page_document_date()""",
    """CREATE FUNCTION annotations_document_dates_to_pages() RETURNS trigger AS $$
BEGIN
    UPDATE annotations_page SET document_date = NEW.date_start, document_date_end = NEW.date_end
    WHERE document_id = NEW.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql""",
    """CREATE TRIGGER annotations_document_dates_to_pages
    AFTER UPDATE OF date_start, date_end ON annotations_document
    FOR EACH ROW
    WHEN (OLD.date_start IS DISTINCT FROM NEW.date_start OR OLD.date_end IS DISTINCT FROM NEW.date_end)
    EXECUTE FUNCTION annotations_document_dates_to_pages()""",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS annotations_document_dates_to_pages ON annotations_document",
    "DROP FUNCTION IF EXISTS annotations_document_dates_to_pages()",
    "DROP TRIGGER IF EXISTS annotations_page_document_date ON annotations_page",
    "DROP FUNCTION IF EXISTS annotations_page_document_date()",
]

# SQLite cannot assign NEW in a BEFORE trigger: the row is corrected right after it is written.
_SQLITE_PAGE_DATES = """
    UPDATE annotations_page SET
        document_date = (SELECT date_start FROM annotations_document WHERE id = NEW.document_id),
        document_date_end = (SELECT date_end FROM annotations_document WHERE id = NEW.document_id)
    WHERE id = NEW.id;
"""
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER annotations_page_document_date_insert AFTER INSERT ON annotations_page
    BEGIN {_SQLITE_PAGE_DATES} END""",
    f"""CREATE TRIGGER annotations_page_document_date_update
    AFTER UPDATE OF document_id, document_date, document_date_end ON annotations_page
    WHEN NEW.document_date IS NOT (SELECT date_start FROM annotations_document WHERE id = NEW.document_id)
        OR NEW.document_date_end IS NOT (SELECT date_end FROM annotations_document WHERE id = NEW.document_id)
    BEGIN {_SQLITE_PAGE_DATES} END""",
    """CREATE TRIGGER annotations_document_dates_to_pages AFTER UPDATE OF date_start, date_end ON annotations_document
    WHEN OLD.date_start IS NOT NEW.date_start OR OLD.date_end IS NOT NEW.date_end
    BEGIN
        UPDATE annotations_page SET document_date = NEW.date_start, document_date_end = NEW.date_end
        WHERE document_id = NEW.id;
    END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS annotations_document_dates_to_pages",
    "DROP TRIGGER IF EXISTS annotations_page_document_date_update",
    "DROP TRIGGER IF EXISTS annotations_page_document_date_insert",
]


def create_triggers(apps, schema_editor):
    schema_editor.execute(COPY_SQL)
    postgresql = schema_editor.connection.vendor == "postgresql"
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for statement in POSTGRESQL_DROP if postgresql else SQLITE_DROP:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0013_person_records"),
    ]

    operations = [
        migrations.AddField(
            model_name="page",
            name="document_date",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="page",
            name="document_date_end",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                fields=["document_date", "document", "order"],
                include=[
                    "document_date_end",
                    "is_front_page",
                    "review_status",
                    "face_count",
                    "female_count",
                    "male_count",
                    "child_count",
                    "unknown_count",
                ],
                name="page_date_order_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(fields=["document_date_end"], name="page_date_end_idx"),
        ),
    ]
