"""A page's detection error is also kept untranslated, as a message and its parameters, so that each
reader sees it in their own language (webapp.messages); pages failed before keep their text only.
Nullable without a default: SQLite adds the column in place."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('detection', '0009_trained_model_corpus_required'),
    ]

    operations = [
        migrations.AddField(
            model_name='pagedetection',
            name='error_message',
            field=models.JSONField(blank=True, null=True),
        ),
    ]
