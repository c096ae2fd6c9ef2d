"""The migration that makes one person of a name whatever its case and spacing: spellings merged
into the first person made, their faces moved (a new version each) and their notes kept."""

from __future__ import annotations

import pytest

from tests.support.migrations import at_migration, migrate

BEFORE = ("annotations", "0021_page_summary_review_status")
AFTER = ("annotations", "0022_person_name_key")


@pytest.fixture
def migrated_back(transactional_db):
    yield from at_migration(BEFORE)


def test_spellings_of_one_name_become_the_first_person_made(migrated_back):
    apps = migrate(BEFORE)
    Corpus = apps.get_model("annotations", "Corpus")
    Document = apps.get_model("annotations", "Document")
    Page = apps.get_model("annotations", "Page")
    Face = apps.get_model("annotations", "Face")
    Person = apps.get_model("annotations", "Person")
    corpus, other = Corpus.objects.create(name="Excelsior"), Corpus.objects.create(name="Miroir")
    document = Document.objects.create(corpus=corpus, source="https://example.org/1", import_status="done")
    page = Page.objects.create(document=document, order=1, canvas_id="c1", width=800, height=600)
    joffre = Person.objects.create(corpus=corpus, name="Maréchal Joffre", note="Chef d'état-major")
    shouted = Person.objects.create(corpus=corpus, name="MARÉCHAL  JOFFRE", note="Photo Rol")
    lower = Person.objects.create(corpus=corpus, name="maréchal joffre")
    elsewhere = Person.objects.create(corpus=other, name="maréchal joffre")
    colette = Person.objects.create(corpus=corpus, name="Colette")
    faces = {
        person.pk: Face.objects.create(page=page, x=10 * n, y=10, w=20, h=20, person=person)
        for n, person in enumerate((joffre, shouted, lower, colette))
    }

    apps = migrate(AFTER)
    Person = apps.get_model("annotations", "Person")
    Face = apps.get_model("annotations", "Face")

    people = {(p.corpus_id, p.name): (p.pk, p.name_key, p.note) for p in Person.objects.all()}
    assert people == {
        (corpus.pk, "Maréchal Joffre"): (joffre.pk, "maréchal joffre", "Chef d'état-major\n\nPhoto Rol"),
        (corpus.pk, "Colette"): (colette.pk, "colette", ""),
        # Another corpus's person of the same name stays apart.
        (other.pk, "maréchal joffre"): (elsewhere.pk, "maréchal joffre", ""),
    }
    after = {face.pk: face for face in Face.objects.all()}
    for person in (joffre, shouted, lower):
        assert after[faces[person.pk].pk].person_id == joffre.pk
    # Moved faces get a new version; the others keep theirs.
    assert [after[faces[p.pk].pk].version - faces[p.pk].version for p in (joffre, shouted, lower, colette)] == [
        0,
        1,
        1,
        0,
    ]
