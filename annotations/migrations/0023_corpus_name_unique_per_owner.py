"""Corpus names are their owner's: unique per owner (and among the shared, ownerless corpora), no
longer across the instance, so a private corpus's name neither blocks another user's nor leaks.

SQLite rebuilds the corpus table for these changes, which drops the trigger 0015 put on it (the
corpus's summary rows go with it): it is made again after them, either way.
"""

import importlib

from django.conf import settings
from django.db import migrations, models

year_summaries = importlib.import_module("annotations.migrations.0015_year_summaries")


def corpus_trigger_restore(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            year_summaries.CORPUS_TRIGGER_SQLITE.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0022_person_name_key"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, corpus_trigger_restore),
        migrations.AlterField(
            model_name="corpus",
            name="name",
            field=models.CharField(max_length=200),
        ),
        migrations.AddConstraint(
            model_name="corpus",
            constraint=models.UniqueConstraint(fields=("owner", "name"), name="corpus_name_unique_per_owner"),
        ),
        migrations.AddConstraint(
            model_name="corpus",
            constraint=models.UniqueConstraint(
                condition=models.Q(("owner__isnull", True)), fields=("name",), name="corpus_name_unique_among_shared"
            ),
        ),
        migrations.RunPython(corpus_trigger_restore, migrations.RunPython.noop),
    ]
