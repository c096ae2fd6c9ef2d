"""People become records of their corpus: one Person per distinct (corpus, name) of the free-text
`Face.person`, and each face points at its person. Reversible: going back writes the names again."""

import django.db.models.deletion
from django.db import migrations, models


def names_to_people(apps, schema_editor):
    Face = apps.get_model("annotations", "Face")
    Person = apps.get_model("annotations", "Person")
    named = (
        Face.objects.exclude(person_name_text="")
        .values_list("page__document__corpus_id", "person_name_text")
        .distinct()
    )
    for corpus_id, name in sorted(set(named)):
        person = Person.objects.create(corpus_id=corpus_id, name=name)
        Face.objects.filter(page__document__corpus_id=corpus_id, person_name_text=name).update(person=person)


def people_to_names(apps, schema_editor):
    Face = apps.get_model("annotations", "Face")
    Person = apps.get_model("annotations", "Person")
    for person in Person.objects.all():
        Face.objects.filter(person=person).update(person_name_text=person.name)


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0012_facerevision_batch"),
    ]

    operations = [
        migrations.CreateModel(
            name="Person",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200)),
                ("note", models.TextField(blank=True, default="")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "corpus",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="people", to="annotations.corpus"
                    ),
                ),
            ],
            options={
                "ordering": ["corpus_id", "name"],
                "constraints": [
                    models.UniqueConstraint(fields=("corpus", "name"), name="person_unique_name_in_corpus"),
                    models.CheckConstraint(
                        condition=models.Q(("name", ""), _negated=True), name="person_name_not_empty"
                    ),
                ],
            },
        ),
        migrations.RenameField(model_name="face", old_name="person", new_name="person_name_text"),
        migrations.AddField(
            model_name="face",
            name="person",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="faces",
                to="annotations.person",
            ),
        ),
        migrations.RunPython(names_to_people, people_to_names),
        migrations.RemoveField(model_name="face", name="person_name_text"),
    ]
