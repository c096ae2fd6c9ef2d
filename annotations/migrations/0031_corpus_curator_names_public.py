"""A corpus names its curators (who edited, reviewed, ran or trained what) to its members only, unless its
admins show the names to every reader (`curator_names_public`).

SQLite rebuilds the corpus table to add the column, which drops the trigger 0015 put on it: it is made
again after the change, either way.
"""

import importlib

from django.db import migrations, models

# The same restore as 0023's and 0028's: the trigger of 0015, made again when SQLite's rebuild dropped it.
corpus_trigger_restore = importlib.import_module(
    "annotations.migrations.0023_corpus_name_unique_per_owner"
).corpus_trigger_restore


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0030_corpus_access_document_removed"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, corpus_trigger_restore),
        migrations.AddField(
            model_name="corpus",
            name="curator_names_public",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text=(
                    "Readers who are not members (a public corpus's visitors) see who edited, reviewed or ran what."
                ),
            ),
        ),
        migrations.RunPython(corpus_trigger_restore, migrations.RunPython.noop),
    ]
