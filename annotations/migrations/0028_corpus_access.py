"""Corpus admins change who may see or change a corpus in the app: each change names the corpus's
`access_version` and is recorded (CorpusAccessChange). A corpus made without saying is private.

SQLite rebuilds the corpus table for these changes, which drops the trigger 0015 put on it (the
corpus's summary rows go with it): it is made again after them, either way.
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The same restore as 0023's: the trigger of 0015, made again when SQLite's rebuild dropped it.
corpus_trigger_restore = importlib.import_module(
    "annotations.migrations.0023_corpus_name_unique_per_owner"
).corpus_trigger_restore


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0027_page_review_changes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, corpus_trigger_restore),
        migrations.AddField(
            model_name="corpus",
            name="access_version",
            field=models.PositiveIntegerField(db_default=1, default=1),
        ),
        migrations.AlterField(
            model_name="corpus",
            name="is_public",
            field=models.BooleanField(default=False, help_text="Anyone, even anonymous, may view and search it."),
        ),
        migrations.CreateModel(
            name="CorpusAccessChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("settings", "Settings changed"),
                            ("member_added", "Member added"),
                            ("role_changed", "Role changed"),
                            ("member_removed", "Member removed"),
                        ],
                        max_length=20,
                    ),
                ),
                ("member_name", models.CharField(blank=True, max_length=150)),
                ("before", models.JSONField(default=dict)),
                ("after", models.JSONField(default=dict)),
                (
                    "corpus",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="access_changes",
                        to="annotations.corpus",
                    ),
                ),
                (
                    "member",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["corpus", "-created_at"], name="corpus_access_change_time_idx")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("action__in", ["settings", "member_added", "role_changed", "member_removed"])
                        ),
                        name="corpus_access_change_action_valid",
                    )
                ],
            },
        ),
        migrations.RunPython(corpus_trigger_restore, migrations.RunPython.noop),
    ]
