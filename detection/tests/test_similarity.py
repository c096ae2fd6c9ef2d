"""Face similarity: the vector indexes, and dlib encodings of real photos finding the same person first."""

import numpy as np
import pytest
import skimage.io

from annotations.models import Face, FaceRevision, Person
from annotations.services import FaceConflict, face_create, face_update
from detection.inference.encoder import FaceEncoder
from detection.inference.types import Detection
from detection.inference.vector_index import ExactIndex, IVFIndex
from detection.models import FaceEncoding
from detection.similarity import (
    face_encodings_compute,
    faces_missing_encodings,
    faces_name_person,
    person_suggestion,
    similar_faces,
    similarity_cache_clear,
)
from detection.tests.factories import add_scan_page
from tests.support.identities import CROPS, IDENTITIES, PHOTOS
from tests.support.synthetic_pages import FACE_DIR, FIXTURE_FACES


def test_exact_search_returns_the_nearest_first_and_skips_the_query():
    vectors = np.array([[0, 0], [1, 0], [3, 0], [0.5, 0]], dtype=np.float32)
    index = ExactIndex(vectors, np.array([10, 11, 12, 13]))

    found = index.search(np.array([0, 0], np.float32), 3, exclude_id=10)

    assert [n.id for n in found] == [13, 11, 12]
    assert [n.distance for n in found] == pytest.approx([0.5, 1.0, 3.0])
    assert ExactIndex(np.empty((0, 2), np.float32), np.empty(0)).search(np.zeros(2, np.float32), 5) == []


def clustered(n_people, per_person, seed=0):
    """Encodings like a corpus's: several faces per person, people spread out, faces close to their person."""
    rng = np.random.default_rng(seed)
    people = rng.normal(0, 0.1, (n_people, 128)).astype(np.float32)
    vectors = np.repeat(people, per_person, axis=0) + rng.normal(0, 0.02, (n_people * per_person, 128))
    return vectors.astype(np.float32), np.arange(n_people * per_person)


def test_the_ivf_index_finds_what_exact_search_finds_on_clustered_encodings():
    vectors, ids = clustered(400, 5)
    exact, ivf = ExactIndex(vectors, ids), IVFIndex(vectors, ids, n_probe=4)
    queries = vectors[::50] + np.float32(0.01)

    recall = np.mean([len({n.id for n in ivf.search(q, 5)} & {n.id for n in exact.search(q, 5)}) / 5 for q in queries])

    assert ivf.n_lists == int(np.sqrt(2000))
    assert recall >= 0.95


def test_vectors_added_to_the_ivf_index_are_found():
    vectors, ids = clustered(100, 5)
    ivf = IVFIndex(vectors, ids, n_probe=3)
    newcomer = vectors[7] + np.float32(0.001)

    ivf.add(newcomer[None, :], np.array([9999]))

    assert len(ivf) == 501
    assert ivf.search(newcomer, 1)[0].id == 9999


@pytest.fixture
def photo_faces(document, alice):
    """Each identity photo as a page of local scans, with its faces drawn by a curator."""
    faces = []
    pages = {}
    for name, person, box in PHOTOS:
        if name not in pages:
            pixels = skimage.io.imread(IDENTITIES / name)
            pages[name] = add_scan_page(document, width=pixels.shape[1], height=pixels.shape[0], pixels=pixels)
        x1, y1, x2, y2 = box
        faces.append((person, face_create(page=pages[name], user=alice, x=x1, y=y1, w=x2 - x1, h=y2 - y1)))
    for name, person in CROPS:
        pixels = skimage.io.imread(FACE_DIR / name)
        page = add_scan_page(document, width=pixels.shape[1], height=pixels.shape[0], pixels=pixels)
        x1, y1, x2, y2 = FIXTURE_FACES[name]
        faces.append((person, face_create(page=page, user=alice, x=x1, y=y1, w=x2 - x1, h=y2 - y1)))
    similarity_cache_clear()
    yield faces
    similarity_cache_clear()


@pytest.mark.realmodel
@pytest.mark.django_db
def test_the_same_person_ranks_first_on_real_photos(photo_faces):
    result = face_encodings_compute(faces=Face.objects.all())

    assert result.encoded == len(photo_faces) == FaceEncoding.objects.count()
    assert result.remaining == 0
    people = {face.pk: person for person, face in photo_faces}
    for person, face in photo_faces:
        found = similar_faces(face=face, limit=3)
        assert people[found[0].face.pk] == person, (person, [(people[n.face.pk], n.distance) for n in found])
        assert found[0].distance < FaceEncoder.SAME_PERSON_DISTANCE
        assert face.pk not in {n.face.pk for n in found}


@pytest.mark.realmodel
@pytest.mark.django_db
def test_encoding_twice_adds_nothing_and_a_moved_box_is_encoded_again(photo_faces, alice):
    face_encodings_compute(faces=Face.objects.all())
    rows = set(FaceEncoding.objects.values_list("pk", flat=True))

    again = face_encodings_compute(faces=Face.objects.all())

    assert (again.pages, again.encoded) == (0, 0)
    assert set(FaceEncoding.objects.values_list("pk", flat=True)) == rows
    _person, face = photo_faces[0]
    moved_to = face.x + 4
    face_update(face=face, user=alice, expected_version=face.version, data={"x": moved_to})
    assert list(faces_missing_encodings(faces=Face.objects.all())) == [face]
    assert face_encodings_compute(faces=Face.objects.all()).encoded == 1
    assert FaceEncoding.objects.get(face=face).x == moved_to


@pytest.mark.realmodel
@pytest.mark.django_db
def test_a_rejected_face_never_comes_back_as_similar(photo_faces, alice):
    from annotations.services import face_reject

    face_encodings_compute(faces=Face.objects.all())
    obamas = [face for person, face in photo_faces if person == "obama"]
    face_reject(face=obamas[1], user=alice)

    found = similar_faces(face=obamas[0], limit=20)

    assert obamas[1].pk not in {n.face.pk for n in found}
    assert obamas[2].pk == found[0].face.pk


@pytest.mark.realmodel
@pytest.mark.django_db
def test_a_named_match_suggests_its_name_and_naming_accepts_matches(photo_faces, alice):
    face_encodings_compute(faces=Face.objects.all())
    kits = [face for person, face in photo_faces if person == "kit"]
    faces_name_person(user=alice, person="Kit Harington", faces=[(kits[1], kits[1].version)])

    neighbours = similar_faces(face=kits[0], limit=5)
    suggestion = person_suggestion(neighbours=neighbours)
    named = faces_name_person(user=alice, person=suggestion, faces=[(kits[0], kits[0].version)])

    assert suggestion == "Kit Harington"
    assert named[0].person_name == "Kit Harington" and named[0].version == 2
    assert FaceRevision.objects.filter(face=kits[0], after__person="Kit Harington").count() == 1


@pytest.mark.django_db
def test_naming_with_a_stale_version_changes_no_face(document, alice):
    page = add_scan_page(document, width=400, height=400)
    first = face_create(page=page, user=alice, x=10, y=10, w=50, h=50)
    second = face_create(page=page, user=alice, x=100, y=10, w=50, h=50)
    face_update(face=second, user=alice, expected_version=1, data={"gender": "female"})

    with pytest.raises(FaceConflict):
        faces_name_person(user=alice, person="Colette", faces=[(first, 1), (second, 1)])

    assert set(Face.objects.values_list("person", flat=True)) == {None}
    assert not Person.objects.exists()


def test_a_box_too_small_has_no_encoding():
    encoder = FaceEncoder.__new__(FaceEncoder)

    assert encoder.encode(np.zeros((50, 50, 3), np.uint8), Detection(1, 1, 6, 6, 1.0)) is None
