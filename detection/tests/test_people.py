"""People as records of their corpus: naming faces, the person field's autocomplete, the person page."""

import pytest
from django.contrib.admin import site
from django.db import IntegrityError, transaction

from annotations.models import CorpusMembership, CorpusRole, Document, Face, FaceRevision, Person
from annotations.services import face_create, face_reject, face_revert
from detection.tests.factories import add_scan_page
from tests.support.clients import api_client
from webapp.jobs import JobStatus


@pytest.fixture
def faces(document, other_corpus, alice):
    """Three faces of the private corpus (two pages) and one of another corpus alice also curates."""
    CorpusMembership.objects.create(corpus=other_corpus, user=alice, role=CorpusRole.CURATOR)
    first, second = add_scan_page(document, width=800, height=600), add_scan_page(document, width=800, height=600)
    other_document = Document.objects.create(corpus=other_corpus, source="y", import_status=JobStatus.DONE)
    elsewhere = add_scan_page(other_document, width=400, height=400)
    return [
        face_create(page=first, user=alice, x=10, y=10, w=80, h=80),
        face_create(page=second, user=alice, x=100, y=10, w=80, h=80),
        face_create(page=second, user=alice, x=300, y=10, w=80, h=80),
        face_create(page=elsewhere, user=alice, x=10, y=10, w=80, h=80),
    ]


def name(user, face: Face, person: str):
    face.refresh_from_db()
    return api_client(user).patch(f"/api/faces/{face.pk}/", {"person": person, "version": face.version}, format="json")


def test_a_name_written_on_a_face_is_a_person_of_its_corpus(faces, alice):
    first, second, _third, elsewhere = faces

    named = name(alice, first, "Joffre").json()
    again = name(alice, second, " Joffre ").json()
    other = name(alice, elsewhere, "Joffre").json()

    joffre = Person.objects.get(corpus=first.page.document.corpus, name="Joffre")
    assert (named["person"], named["person_id"]) == ("Joffre", joffre.pk)
    assert (again["person"], again["person_id"]) == ("Joffre", joffre.pk)
    # The same name in another corpus is another person.
    assert other["person"] == "Joffre" and other["person_id"] not in (None, joffre.pk)
    assert Person.objects.count() == 2
    assert FaceRevision.objects.filter(face=first, action="update", after__person="Joffre").count() == 1


def test_a_blank_name_leaves_the_face_without_a_person(faces, alice):
    first = faces[0]
    name(alice, first, "Joffre")

    body = name(alice, first, "").json()

    assert (body["person"], body["person_id"]) == ("", None)
    assert Face.objects.get(pk=first.pk).person_id is None


def test_reverting_a_naming_gives_the_face_its_former_person_back(faces, alice):
    first = faces[0]
    name(alice, first, "Joffre")
    name(alice, first, "Foch")
    renaming = FaceRevision.objects.filter(face=first, after__person="Foch").get()

    reverted = face_revert(revision=renaming, user=alice)

    assert reverted.person_name == "Joffre"
    assert Face.objects.get(pk=first.pk).person == Person.objects.get(name="Joffre")


def test_naming_matches_gives_them_all_the_same_person_one_revision_each(faces, alice):
    first, second, third, _elsewhere = faces

    response = api_client(alice).post(
        f"/api/faces/{first.pk}/person/",
        {"person": "Colette", "version": 1, "matches": [{"id": f.pk, "version": f.version} for f in (second, third)]},
        format="json",
    )

    assert response.status_code == 200, response.content
    colette = Person.objects.get(name="Colette")
    assert response.json()["person_id"] == colette.pk
    assert [face["person_id"] for face in response.json()["faces"]] == [colette.pk] * 3
    assert set(colette.faces.values_list("pk", flat=True)) == {first.pk, second.pk, third.pk}
    assert [f.version for f in Face.objects.filter(person=colette)] == [2, 2, 2]
    assert FaceRevision.objects.filter(after__person="Colette").count() == 3


def test_the_person_field_offers_the_people_one_may_view(faces, alice, bob, charlie):
    first, second, _third, elsewhere = faces
    name(alice, first, "Joffre")
    name(alice, second, "Jeanne")
    name(alice, elsewhere, "Joffre")
    corpus_id = first.page.document.corpus_id

    as_bob = api_client(bob).get("/api/people/?q=jof").json()["results"]
    in_corpus = api_client(alice).get(f"/api/people/?corpus={corpus_id}&q=J").json()["results"]

    # bob views the first corpus only; alice curates both, and names the corpus the face belongs to.
    assert [(p["person"], p["corpus"], p["faces"]) for p in as_bob] == [("Joffre", corpus_id, 1)]
    assert sorted(p["person"] for p in in_corpus) == ["Jeanne", "Joffre"]
    assert {p["corpus"] for p in in_corpus} == {corpus_id}
    assert api_client(charlie).get("/api/people/?q=j").json()["count"] == 0
    assert api_client(bob).get(f"/api/people/?corpus={elsewhere.page.document.corpus_id}").json()["count"] == 0


def test_search_by_person_matches_a_substring_of_the_name(faces, alice, bob):
    first, second, third, _elsewhere = faces
    name(alice, first, "Joseph Joffre")
    name(alice, second, "Ferdinand Foch")

    found = api_client(bob).get("/api/search/faces/?person=joffre").json()["results"]

    assert [face["id"] for face in found] == [first.pk]
    assert found[0]["person"] == "Joseph Joffre"


def test_the_person_page_lists_their_faces_with_links_into_the_canvas(faces, alice, bob, charlie, client):
    first, second, third, _elsewhere = faces
    for face in (first, second, third):
        name(alice, face, "Joffre")
    face_reject(face=Face.objects.get(pk=third.pk), user=alice)
    joffre = Person.objects.get(name="Joffre")

    client.force_login(bob)
    html = client.get(f"/people/{joffre.pk}/").content.decode()

    for face in (first, second):
        assert f'href="/pages/{face.page_id}/?face={face.pk}"' in html
    assert f"?face={third.pk}" not in html  # rejected
    client.force_login(charlie)
    assert client.get(f"/people/{joffre.pk}/").status_code == 404


def test_a_bulk_answer_names_people_without_a_query_per_face(faces, alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotations.serializers import face_representation
    from annotations.services import faces_bulk_set_status

    _first, second, third, _elsewhere = faces
    name(alice, second, "Joffre")
    name(alice, third, "Foch")
    versions = {face.pk: face.version for face in Face.objects.filter(pk__in=[second.pk, third.pk])}

    with CaptureQueriesContext(connection) as queries:
        results = faces_bulk_set_status(page=second.page, user=alice, status="accepted", versions=versions)
        answers = [face_representation(result.face) for result in results]

    assert [answer["person"] for answer in answers] == ["Joffre", "Foch"]
    assert sum("annotations_person" in query["sql"] for query in queries.captured_queries) == 1


def test_a_name_in_another_case_or_spacing_is_the_same_person(faces, alice):
    first, second, third, _elsewhere = faces
    name(alice, first, "Maréchal Joffre")

    variants = [name(alice, second, "maréchal  JOFFRE").json(), name(alice, third, "MARÉCHAL joffre ").json()]

    joffre = Person.objects.get(name="Maréchal Joffre")
    # The first spelling stays the person's name.
    assert {(body["person"], body["person_id"]) for body in variants} == {("Maréchal Joffre", joffre.pk)}
    assert Person.objects.count() == 1


def test_a_name_as_long_as_the_field_allows_keeps_its_longer_casefolded_key(faces, alice):
    body = name(alice, faces[0], "ß" * 200).json()

    assert Person.objects.get(pk=body["person_id"]).name_key == "ss" * 200


def test_the_database_refuses_a_second_spelling_of_a_name_in_one_corpus(document, other_corpus):
    Person.objects.create(corpus=document.corpus, name="Colette")
    Person.objects.create(corpus=other_corpus, name="COLETTE")

    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(corpus=document.corpus, name=" colette")


def test_renaming_a_person_in_the_admin_onto_another_spelling_of_a_name_is_a_form_error(document, rf, admin_user):
    Person.objects.create(corpus=document.corpus, name="Colette")
    willy = Person.objects.create(corpus=document.corpus, name="Willy")
    request = rf.post("/admin/")
    request.user = admin_user
    form_class = site._registry[Person].get_form(request, willy)

    refused = form_class({"corpus": document.corpus_id, "name": "COLETTE", "note": ""}, instance=willy)
    assert not refused.is_valid()
    assert list(refused.errors) == ["name"]

    renamed = form_class({"corpus": document.corpus_id, "name": "Willy Gauthier-Villars", "note": ""}, instance=willy)
    assert renamed.is_valid(), renamed.errors
    assert renamed.save().name_key == "willy gauthier-villars"
