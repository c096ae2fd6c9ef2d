"""The dates of the pages with a face of each gender (or a child), with the columns a search count
tests: a gender search within a date range and a face density or front pages counts one range of
this index (annotations.search.planner.page_search_results). Plain CREATE INDEX: the page table is
not rebuilt on SQLite (its triggers, migrations 0014 and 0015, stay)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0019_document_span_days_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("female_count__gt", 0)),
                fields=["document_date"],
                include=("document_date_end", "is_front_page", "face_count", "female_count"),
                name="page_female_count_date_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("male_count__gt", 0)),
                fields=["document_date"],
                include=("document_date_end", "is_front_page", "face_count", "male_count"),
                name="page_male_count_date_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("unknown_count__gt", 0)),
                fields=["document_date"],
                include=("document_date_end", "is_front_page", "face_count", "unknown_count"),
                name="page_unknown_count_date_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("child_count__gt", 0)),
                fields=["document_date"],
                include=("document_date_end", "is_front_page", "face_count", "child_count"),
                name="page_child_count_date_idx",
            ),
        ),
    ]
