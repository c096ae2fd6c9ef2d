"""Indexes for search counts at scale.

Front pages by document: statistics and searches of front pages whose title or full-text filter was
resolved into document ids find those pages without reading their documents' other pages. Each
gender's count where above zero, and the largest and smallest face share where there are faces: a
count of "pages with at least two men" or "a face of at least 1 % of the page" reads one range of
one index, instead of a whole index that leads with other columns."""

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
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("female_count__gt", 0)), fields=["female_count"], name="page_female_count_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("male_count__gt", 0)), fields=["male_count"], name="page_male_count_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("unknown_count__gt", 0)), fields=["unknown_count"], name="page_unknown_count_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("child_count__gt", 0)), fields=["child_count"], name="page_child_count_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("max_face_share__isnull", False)),
                fields=["max_face_share"],
                name="page_max_face_share_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("min_face_share__isnull", False)),
                fields=["min_face_share"],
                name="page_min_face_share_idx",
            ),
        ),
    ]
