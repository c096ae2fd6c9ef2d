"""An export's error is also kept untranslated, as a message and its parameters, so that each reader sees it
in their own language (webapp.messages); exports failed before keep their text only. Nullable without a
default: SQLite adds the column in place."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotations', '0025_page_review_version'),
    ]

    operations = [
        migrations.AddField(
            model_name='export',
            name='error_message',
            field=models.JSONField(blank=True, null=True),
        ),
    ]
