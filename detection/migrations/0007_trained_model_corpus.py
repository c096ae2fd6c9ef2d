"""A trained model belongs to the corpus it learned from: one active model per family and corpus, and the
model goes when its corpus goes. First step: the column, empty (0008 fills it, 0009 requires it; each
its own transaction, as PostgreSQL does not build an index on a table with row updates pending)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0022_person_name_key"),
        ("detection", "0006_training_kind_encoding_head"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="trainedmodel",
            name="trained_model_one_active_per_family",
        ),
        migrations.AddField(
            model_name="trainedmodel",
            name="corpus",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="trained_models",
                to="annotations.corpus",
            ),
        ),
    ]
