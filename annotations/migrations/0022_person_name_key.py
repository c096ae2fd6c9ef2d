"""One person per name in a corpus whatever its case and spacing: people get a `name_key` (the name's
words, casefolded), unique in their corpus instead of the name itself.

People whose names differ only by case or spacing are merged into the first one made: their faces
point at it (each face's version moves on, so an open review canvas reloads it rather than saving
over it) and their notes are appended to its note. Going back keeps them merged.
"""

from django.db import migrations, models
from django.db.models import F


def name_key(name: str) -> str:
    """annotations.models.person_name_key, frozen here."""
    return " ".join(name.split()).casefold()


def merge_spellings(apps, schema_editor):
    Person = apps.get_model("annotations", "Person")
    Face = apps.get_model("annotations", "Face")
    first_of: dict[tuple[int, str], object] = {}
    for person in Person.objects.order_by("pk"):
        key = (person.corpus_id, name_key(person.name))
        first = first_of.get(key)
        if first is None:
            person.name_key = key[1]
            person.save(update_fields=["name_key"])
            first_of[key] = person
            continue
        Face.objects.filter(person_id=person.pk).update(person_id=first.pk, version=F("version") + 1)
        if person.note and person.note not in first.note:
            first.note = "\n\n".join(note for note in (first.note, person.note) if note)
            first.save(update_fields=["note"])
        person.delete()
    if schema_editor.connection.vendor == "postgresql":
        # The foreign-key checks of these writes are deferred to the commit, and PostgreSQL alters no
        # table with checks pending: run them now (then defer again, as Django's constraints are).
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE", params=None)
        schema_editor.execute("SET CONSTRAINTS ALL DEFERRED", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0021_page_summary_review_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="name_key",
            field=models.CharField(default="", editable=False, max_length=600),
            preserve_default=False,
        ),
        migrations.RunPython(merge_spellings, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="person", name="person_unique_name_in_corpus"),
        migrations.AddConstraint(
            model_name="person",
            constraint=models.UniqueConstraint(fields=("corpus", "name_key"), name="person_unique_name_key_in_corpus"),
        ),
        migrations.AddConstraint(
            model_name="person",
            constraint=models.CheckConstraint(
                condition=models.Q(("name_key", ""), _negated=True), name="person_name_key_not_empty"
            ),
        ),
    ]
