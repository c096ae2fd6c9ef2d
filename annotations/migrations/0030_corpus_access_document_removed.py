"""A corpus admin removes a document in the app: the access history records it as its own action."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0029_corpus_owner_changed_action"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="corpusaccesschange",
            name="corpus_access_change_action_valid",
        ),
        migrations.AlterField(
            model_name="corpusaccesschange",
            name="action",
            field=models.CharField(
                choices=[
                    ("settings", "Settings changed"),
                    ("member_added", "Member added"),
                    ("role_changed", "Role changed"),
                    ("member_removed", "Member removed"),
                    ("owner_changed", "Owner changed"),
                    ("document_removed", "Document removed"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="corpusaccesschange",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "action__in",
                        [
                            "settings",
                            "member_added",
                            "role_changed",
                            "member_removed",
                            "owner_changed",
                            "document_removed",
                        ],
                    )
                ),
                name="corpus_access_change_action_valid",
            ),
        ),
    ]
