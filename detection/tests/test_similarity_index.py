"""The on-disk similarity index: built outside requests, searched memory-mapped, merged with newer encodings."""

import numpy as np
import pytest
from django.core.management import call_command

from annotations.models import FaceStatus
from annotations.services import face_build, face_create, face_reject, faces_write
from detection import similarity
from detection.inference.disk_index import DiskIndex, build_current, build_publish, build_write
from detection.inference.vector_index import ExactIndex
from detection.models import FaceEncoding
from detection.similarity import ENCODER_VERSION, similar_faces, similarity_cache_clear
from detection.similarity_index import (
    corpus_index_dir,
    similarity_index_build,
    similarity_index_check_after_delete,
    similarity_index_queue,
)
from detection.tasks import similarity_index_build_task, similarity_index_check_task
from detection.tests.factories import add_scan_page

PEOPLE = 30
FACES_PER_PERSON = 5


def clustered(n_people, per_person, seed=0):
    """Encodings like a corpus's: faces about 0.23 from their person, people about 1.6 apart."""
    rng = np.random.default_rng(seed)
    people = rng.normal(0, 0.1, (n_people, 128)).astype(np.float32)
    noise = rng.normal(0, 0.02, (n_people * per_person, 128))
    return (np.repeat(people, per_person, axis=0) + noise).astype(np.float32)


def test_the_disk_index_answers_as_exact_search_on_clustered_encodings(tmp_path):
    vectors = clustered(100, 5)
    ids = np.arange(1000, 1500)
    build = build_write(tmp_path / "corpus", [(ids[:300], vectors[:300]), (ids[300:], vectors[300:])], watermark=1499)
    build_publish(build)
    disk, exact = DiskIndex(build_current(tmp_path / "corpus")), ExactIndex(vectors, ids)

    for row in range(0, 500, 25):
        # The 4 other faces of the person.
        found = disk.search(vectors[row], 4, exclude_id=int(ids[row]))
        expected = exact.search(vectors[row], 4, exclude_id=int(ids[row]))
        assert {n.id for n in found} == {n.id for n in expected}
        # Re-ranked from float16 copies of the vectors: exact up to that rounding.
        assert [n.distance for n in found] == pytest.approx([n.distance for n in expected], abs=2e-3)


def encoding(face, vector):
    return FaceEncoding(
        face=face,
        corpus_id=face.page.document.corpus_id,
        vector=np.asarray(vector, "<f4").tobytes(),
        model_version=ENCODER_VERSION,
        x=face.x,
        y=face.y,
        w=face.w,
        h=face.h,
    )


def store_encoding(face, vector):
    encoding(face, vector).save()


@pytest.fixture
def people_faces(document, alice):
    """PEOPLE people of FACES_PER_PERSON encoded faces each, in person order, on one page."""
    page = add_scan_page(document, width=2000, height=2000)
    vectors = clustered(PEOPLE, FACES_PER_PERSON)
    built = [
        face_build(page=page, box=((i % 15) * 130, (i // 15) * 180, 60, 60), status=FaceStatus.ADDED)
        for i in range(len(vectors))
    ]
    faces = faces_write(user=alice, action="create", new=built)
    FaceEncoding.objects.bulk_create(encoding(face, vector) for face, vector in zip(faces, vectors, strict=True))
    similarity_cache_clear()
    yield faces
    similarity_cache_clear()


def same_person(faces, face):
    person = faces.index(face) // FACES_PER_PERSON
    return {f.pk for f in faces[person * FACES_PER_PERSON : (person + 1) * FACES_PER_PERSON]} - {face.pk}


def uses_disk(corpus_id):
    return similarity._indexes[corpus_id].disk is not None


@pytest.mark.django_db
def test_the_index_finds_a_persons_faces_first(people_faces, corpus):
    similarity_index_build(corpus_id=corpus.pk)

    for face in people_faces[::7]:
        found = similar_faces(face=face, limit=FACES_PER_PERSON - 1)
        assert {n.face.pk for n in found} == same_person(people_faces, face)
    assert uses_disk(corpus.pk)


@pytest.mark.django_db
def test_faces_encoded_after_the_build_are_found(people_faces, corpus, document, alice):
    similarity_index_build(corpus_id=corpus.pk)
    query = people_faces[10]
    similar_faces(face=query)
    newcomer = face_create(page=query.page, user=alice, x=1900, y=1900, w=60, h=60)
    store_encoding(newcomer, np.frombuffer(query.encoding.vector, "<f4") + np.float32(0.001))

    found = similar_faces(face=query, limit=FACES_PER_PERSON)

    assert found[0].face == newcomer
    assert {n.face.pk for n in found[1:]} == same_person(people_faces, query)
    assert uses_disk(corpus.pk)


@pytest.mark.django_db
def test_deleted_rejected_and_re_encoded_faces_are_never_returned(people_faces, corpus, alice):
    similarity_index_build(corpus_id=corpus.pk)
    query, deleted, rejected, moved = people_faces[20:24]
    deleted.delete()
    face_reject(face=rejected, user=alice)
    # Encoded again from another box: its old vector, still in the build, must not speak for it.
    FaceEncoding.objects.filter(face=moved).delete()
    store_encoding(moved, np.full(128, 5.0, np.float32))

    found = [n.face.pk for n in similar_faces(face=query, limit=20)]

    assert deleted.pk not in found and rejected.pk not in found and moved.pk not in found[:3]
    assert found[0] == people_faces[24].pk
    assert uses_disk(corpus.pk)


@pytest.mark.django_db
def test_building_twice_builds_once(people_faces, corpus):
    similarity_index_build_task(corpus.pk)
    first = build_current(corpus_index_dir(corpus.pk))

    similarity_index_build_task(corpus.pk)

    assert build_current(corpus_index_dir(corpus.pk)) == first
    assert [p.name for p in corpus_index_dir(corpus.pk).glob("build-*")] == [first.name]


@pytest.mark.django_db
def test_a_failed_build_leaves_the_previous_index_in_use(people_faces, corpus, alice, monkeypatch):
    similarity_index_build(corpus_id=corpus.pk)
    first = build_current(corpus_index_dir(corpus.pk))
    store_encoding(face_create(page=people_faces[0].page, user=alice, x=1900, y=10, w=60, h=60), np.zeros(128))

    def failing(rows):
        yield from []
        raise OSError("disk full")

    monkeypatch.setattr("detection.similarity_index._chunks", failing)
    with pytest.raises(OSError):
        similarity_index_build(corpus_id=corpus.pk)

    assert build_current(corpus_index_dir(corpus.pk)) == first
    assert [p.name for p in corpus_index_dir(corpus.pk).glob("build-*")] == [first.name]
    query = people_faces[3]
    assert {n.face.pk for n in similar_faces(face=query, limit=4)} == same_person(people_faces, query)


@pytest.mark.django_db
def test_without_a_usable_index_the_process_searches_in_memory(people_faces, corpus):
    query = people_faces[5]
    assert {n.face.pk for n in similar_faces(face=query, limit=4)} == same_person(people_faces, query)
    assert not uses_disk(corpus.pk)

    build = similarity_index_build(corpus_id=corpus.pk).path
    (build / "ivfpq.faiss").write_bytes(b"not an index")
    similarity_cache_clear()

    assert {n.face.pk for n in similar_faces(face=query, limit=4)} == same_person(people_faces, query)
    assert not uses_disk(corpus.pk)


@pytest.mark.django_db
def test_storing_encodings_queues_a_build_once_the_corpus_is_large_enough(
    people_faces, corpus, settings, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(similarity_index_build_task, "delay", lambda *args: sent.append(args))
    settings.SIMILARITY_INDEX_MIN = PEOPLE * FACES_PER_PERSON + 1
    settings.SIMILARITY_INDEX_REBUILD = 2

    with django_capture_on_commit_callbacks(execute=True):
        assert not similarity_index_queue(corpus_id=corpus.pk)
        settings.SIMILARITY_INDEX_MIN = PEOPLE * FACES_PER_PERSON
        assert similarity_index_queue(corpus_id=corpus.pk)
    similarity_index_build(corpus_id=corpus.pk)
    people_faces[0].delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert not similarity_index_queue(corpus_id=corpus.pk)
        people_faces[1].delete()
        assert similarity_index_queue(corpus_id=corpus.pk)

    assert sent == [(corpus.pk,), (corpus.pk,)]


@pytest.mark.django_db
def test_the_command_builds_then_keeps_an_up_to_date_index(people_faces, corpus, capsys, settings):
    settings.SIMILARITY_INDEX_MIN = 10
    call_command("similarity_index", "--corpus", str(corpus.pk))
    call_command("similarity_index", "--all")

    out = capsys.readouterr().out
    assert f"corpus {corpus.pk}: built, {PEOPLE * FACES_PER_PERSON} encodings" in out
    assert f"corpus {corpus.pk}: up to date" in out


@pytest.mark.django_db
def test_the_command_removes_the_indexes_of_corpora_deleted_elsewhere(people_faces, corpus, capsys, settings):
    """Where each web host builds its own copy, a corpus deleted through another host leaves this one's."""
    settings.SIMILARITY_INDEX_MIN = 10
    similarity_index_build(corpus_id=corpus.pk)
    gone = corpus_index_dir(corpus.pk + 1000)
    (gone / "build-1").mkdir(parents=True)
    (gone / "build-1" / "vectors.f16").write_bytes(b"encodings of a deleted corpus")
    stranger = corpus_index_dir(corpus.pk).parent / "corpus-notes"
    stranger.mkdir()

    call_command("similarity_index", "--all")

    assert not gone.exists()
    assert build_current(corpus_index_dir(corpus.pk)) is not None and stranger.exists()
    assert f"corpus {corpus.pk + 1000}: deleted, its index removed" in capsys.readouterr().out


@pytest.mark.django_db
def test_deleting_a_corpus_deletes_its_similarity_index(
    people_faces, corpus, monkeypatch, django_capture_on_commit_callbacks
):
    """The index holds the corpus's face encodings: they must not outlive it on disk."""
    similarity_index_build(corpus_id=corpus.pk)
    directory = corpus_index_dir(corpus.pk)
    assert build_current(directory) is not None
    similar_faces(face=people_faces[0], limit=4)
    corpus_id = corpus.pk
    assert corpus_id in similarity._indexes

    checks = []
    monkeypatch.setattr(similarity_index_check_task, "delay", lambda *args: checks.append(args))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        corpus.delete()
    # Nor does each of its documents ask for a check of it (a file read and a query each).
    assert not [c for c in callbacks if getattr(c, "func", None) is similarity_index_check_after_delete]

    assert not directory.exists()
    assert corpus_id not in similarity._indexes, "this process's in-memory copy goes too"
    # Its documents went with it: no check of the index that is gone is queued for them.
    assert checks == []


@pytest.mark.django_db
def test_corpora_deleted_as_a_queryset_ask_no_check_for_their_documents(
    people_faces, corpus, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        type(corpus).objects.filter(pk=corpus.pk).delete()

    assert callbacks and not [c for c in callbacks if getattr(c, "func", None) is similarity_index_check_after_delete]


@pytest.mark.django_db
def test_deleting_a_document_queues_a_check_that_rebuilds_a_stale_index(
    people_faces, corpus, document, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """Its encodings go with it; an index still holding them answers with faces that are gone, and
    fewer of the others, until it is built again."""
    settings.SIMILARITY_INDEX_MIN = 10
    settings.SIMILARITY_INDEX_REBUILD = 2
    similarity_index_build(corpus_id=corpus.pk)
    checks, builds = [], []
    monkeypatch.setattr(similarity_index_check_task, "delay", lambda *args: checks.append(args))
    monkeypatch.setattr(similarity_index_build_task, "delay", lambda *args: builds.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        document.delete()
    assert checks == [(corpus.pk,)]

    with django_capture_on_commit_callbacks(execute=True):
        similarity_index_check_task(corpus.pk)
    assert builds == [(corpus.pk,)]


@pytest.mark.django_db
def test_deleting_a_document_of_a_corpus_without_an_index_queues_nothing(
    people_faces, corpus, document, monkeypatch, django_capture_on_commit_callbacks
):
    checks = []
    monkeypatch.setattr(similarity_index_check_task, "delay", lambda *args: checks.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        document.delete()

    assert checks == []
