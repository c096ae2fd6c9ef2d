"""A document's import error is also kept untranslated, as a message and its parameters, so that each
reader sees it in their own language (webapp.messages); rows failed before keep their text only."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotations', '0023_corpus_name_unique_per_owner'),
    ]

    operations = [
        migrations.AddField(
            model_name='document',
            name='import_error_message',
            field=models.JSONField(blank=True, null=True),
        ),
    ]
