"""Pages count their curated faces and their faces at confidence steps 0.5, 0.8 and 0.9, by gender and
among children (kept from then on by annotations.services.page_counts_refresh), filled here from the
faces in one grouped UPDATE, before the partial indexes of the pages with at least one are built.

The columns are added with ALTER TABLE ADD COLUMN on both databases: Django would rebuild the page
table on SQLite (a NOT NULL column), which the triggers of migrations 0014 and 0015 do not survive.
SQLite keeps the DEFAULT 0 it cannot drop; PostgreSQL drops it, as Django does.
"""

from django.db import migrations, models

SELECTORS = {
    "face": "TRUE",
    "female": "gender = 'female'",
    "male": "gender = 'male'",
    "unknown": "gender = 'unknown'",
    "child": "child",
}
STEPS = {"50": 0.5, "80": 0.8, "90": 0.9}
COUNTS = {
    **{
        f"curated_{selector}_count": f"status IN ('accepted', 'edited', 'added') AND {sql}"
        for selector, sql in SELECTORS.items()
    },
    **{
        f"{selector}_count_{suffix}": f"search_confidence >= {step} AND {sql}"
        for suffix, step in STEPS.items()
        for selector, sql in SELECTORS.items()
    },
}
ADD_SQL = {
    "postgresql": [
        'ALTER TABLE "annotations_page" ADD COLUMN "{0}" integer DEFAULT 0 NOT NULL CHECK ("{0}" >= 0)',
        'ALTER TABLE "annotations_page" ALTER COLUMN "{0}" DROP DEFAULT',
    ],
    "sqlite": [
        'ALTER TABLE "annotations_page" ADD COLUMN "{0}" integer unsigned NOT NULL DEFAULT 0 CHECK ("{0}" >= 0)'
    ],
}
# Grouped once over the faces (UPDATE ... FROM: PostgreSQL, SQLite >= 3.33), not one subquery per page.
FILL_SQL = f"""
    UPDATE annotations_page SET ({", ".join(COUNTS)}) = ({", ".join(f"counted.{column}" for column in COUNTS)})
    FROM (
        SELECT page_id, {", ".join(f"COUNT(*) FILTER (WHERE {sql}) AS {column}" for column, sql in COUNTS.items())}
        FROM annotations_face
        WHERE status <> 'rejected'
        GROUP BY page_id
    ) AS counted
    WHERE annotations_page.id = counted.page_id
"""


def add_columns(apps, schema_editor):
    for column in COUNTS:
        for statement in ADD_SQL[schema_editor.connection.vendor]:
            schema_editor.execute(statement.format(column), params=None)


def drop_columns(apps, schema_editor):
    for column in COUNTS:
        schema_editor.execute(f'ALTER TABLE "annotations_page" DROP COLUMN "{column}"', params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0016_page_date_span_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(add_columns, drop_columns)],
            state_operations=[
                migrations.AddField(
                    model_name="page",
                    name="child_count_50",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="child_count_80",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="child_count_90",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="curated_child_count",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="curated_face_count",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="curated_female_count",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="curated_male_count",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="curated_unknown_count",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="face_count_50",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="face_count_80",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="face_count_90",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="female_count_50",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="female_count_80",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="female_count_90",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="male_count_50",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="male_count_80",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="male_count_90",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="unknown_count_50",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="unknown_count_80",
                    field=models.PositiveIntegerField(default=0),
                ),
                migrations.AddField(
                    model_name="page",
                    name="unknown_count_90",
                    field=models.PositiveIntegerField(default=0),
                ),
            ],
        ),
        migrations.RunSQL(FILL_SQL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("curated_face_count__gt", 0)),
                fields=["curated_face_count"],
                name="page_curated_face_count_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("curated_female_count__gt", 0)),
                fields=["curated_female_count"],
                name="page_curated_female_count_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("curated_male_count__gt", 0)),
                fields=["curated_male_count"],
                name="page_curated_male_count_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("curated_unknown_count__gt", 0)),
                fields=["curated_unknown_count"],
                name="page_curated_unknown_count_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("curated_child_count__gt", 0)),
                fields=["curated_child_count"],
                name="page_curated_child_count_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("face_count_50__gt", 0)), fields=["face_count_50"], name="page_face_count_50_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("female_count_50__gt", 0)),
                fields=["female_count_50"],
                name="page_female_count_50_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("male_count_50__gt", 0)), fields=["male_count_50"], name="page_male_count_50_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("unknown_count_50__gt", 0)),
                fields=["unknown_count_50"],
                name="page_unknown_count_50_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("child_count_50__gt", 0)), fields=["child_count_50"], name="page_child_count_50_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("face_count_80__gt", 0)), fields=["face_count_80"], name="page_face_count_80_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("female_count_80__gt", 0)),
                fields=["female_count_80"],
                name="page_female_count_80_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("male_count_80__gt", 0)), fields=["male_count_80"], name="page_male_count_80_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("unknown_count_80__gt", 0)),
                fields=["unknown_count_80"],
                name="page_unknown_count_80_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("child_count_80__gt", 0)), fields=["child_count_80"], name="page_child_count_80_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("face_count_90__gt", 0)), fields=["face_count_90"], name="page_face_count_90_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("female_count_90__gt", 0)),
                fields=["female_count_90"],
                name="page_female_count_90_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("male_count_90__gt", 0)), fields=["male_count_90"], name="page_male_count_90_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("unknown_count_90__gt", 0)),
                fields=["unknown_count_90"],
                name="page_unknown_count_90_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="page",
            index=models.Index(
                condition=models.Q(("child_count_90__gt", 0)), fields=["child_count_90"], name="page_child_count_90_idx"
            ),
        ),
    ]
