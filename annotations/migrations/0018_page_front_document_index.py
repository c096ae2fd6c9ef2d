"""An index of front pages by document: statistics and searches of front pages whose title or full-text
filter was resolved into document ids find those pages without reading their documents' other pages."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0017_page_curated_and_confident_counts"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("is_front_page", True)), fields=["document"], name="page_front_document_idx"
            ),
        ),
    ]
