"""The migration that turns free-text person names into Person records of their corpus, and back."""

from __future__ import annotations

import pytest

from tests.support.migrations import at_migration, migrate

BEFORE = ("annotations", "0012_facerevision_batch")
AFTER = ("annotations", "0013_person_records")


@pytest.fixture
def migrated_back(transactional_db):
    yield from at_migration(BEFORE)


def named_faces(apps, corpus, names: list[str]) -> list[int]:
    Document = apps.get_model("annotations", "Document")
    Page = apps.get_model("annotations", "Page")
    Face = apps.get_model("annotations", "Face")
    document = Document.objects.create(corpus=corpus, source=f"https://example.org/{corpus.name}", import_status="done")
    page = Page.objects.create(document=document, order=1, canvas_id=f"{corpus.name}-1", width=400, height=400)
    return [Face.objects.create(page=page, x=10 * i, y=10, w=20, h=20, person=name).pk for i, name in enumerate(names)]


def test_free_text_names_become_people_of_their_corpus(migrated_back):
    apps = migrate(BEFORE)
    Corpus = apps.get_model("annotations", "Corpus")
    first, second = Corpus.objects.create(name="First"), Corpus.objects.create(name="Second")
    first_faces = named_faces(apps, first, ["Joffre", "Joffre", "Foch", ""])
    second_faces = named_faces(apps, second, ["Joffre"])

    apps = migrate(AFTER)
    Person = apps.get_model("annotations", "Person")
    Face = apps.get_model("annotations", "Face")

    people = {(person.corpus_id, person.name): person.pk for person in Person.objects.all()}
    # The same name in two corpora is two people; one person per name in a corpus.
    assert set(people) == {(first.pk, "Joffre"), (first.pk, "Foch"), (second.pk, "Joffre")}
    person_of = dict(Face.objects.values_list("pk", "person_id"))
    assert [person_of[pk] for pk in first_faces] == [
        people[(first.pk, "Joffre")],
        people[(first.pk, "Joffre")],
        people[(first.pk, "Foch")],
        None,
    ]
    assert person_of[second_faces[0]] == people[(second.pk, "Joffre")]


def test_going_back_writes_the_names_again(migrated_back):
    apps = migrate(BEFORE)
    Corpus = apps.get_model("annotations", "Corpus")
    faces = named_faces(apps, Corpus.objects.create(name="First"), ["Joffre", ""])
    migrate(AFTER)

    apps = migrate(BEFORE)

    names = dict(apps.get_model("annotations", "Face").objects.values_list("pk", "person"))
    assert [names[pk] for pk in faces] == ["Joffre", ""]
