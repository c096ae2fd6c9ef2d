"""Every trained model has a corpus (0008 filled it), and one model per family and corpus is active."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("detection", "0008_trained_model_corpus_fill"),
    ]

    operations = [
        migrations.AlterField(
            model_name="trainedmodel",
            name="corpus",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="trained_models", to="annotations.corpus"
            ),
        ),
        migrations.AddConstraint(
            model_name="trainedmodel",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_active", True)),
                fields=("name", "corpus"),
                name="trained_model_one_active_per_family_and_corpus",
            ),
        ),
    ]
