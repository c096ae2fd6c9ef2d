"""Every job's error, a training job's stage and why a trained model is (in)active are also kept untranslated,
as a message and its parameters, so that each reader sees them in their own language (webapp.messages);
rows before keep their text only. Nullable without a default: SQLite adds the columns in place."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('detection', '0010_page_detection_error_message'),
    ]

    operations = [
        migrations.AddField(
            model_name='detectionrun',
            name='error_message',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='inferencejob',
            name='error_message',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='trainedmodel',
            name='activation_reason_message',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='trainingjob',
            name='error_message',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='trainingjob',
            name='stage_message',
            field=models.JSONField(blank=True, null=True),
        ),
    ]
