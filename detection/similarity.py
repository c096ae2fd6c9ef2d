"""Face similarity: 128-d encodings of faces, nearest faces within a corpus, and naming people.

Encodings are stored per face (float32 bytes) and searched in memory: each process keeps one
matrix per corpus, reloaded only when the corpus's encodings change (their count or newest id),
and appended to when only new rows arrived. Up to `SIMILARITY_IVF_MIN` encodings the search is
exact; above, an IVF index (numpy k-means lists, see inference/vector_index.py) answers in about
a millisecond at 1 M faces. On PostgreSQL, pgvector's HNSW index would move this into the
database (future work: the extension is not installable here).

Searches stay inside the query face's corpus, so a user who may see the face may see every
neighbour: no face of another (possibly private) corpus ever comes back.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Max, Q, QuerySet

from annotations.access import corpora_visible_to
from annotations.iiif.messages import MessageError, gettext_noop
from annotations.iiif_server.imaging import ImageUnavailable, page_derivative
from annotations.models import Document, Face, FaceStatus, Page, Person
from annotations.services import face_update
from detection.inference.disk_index import DiskIndex
from detection.inference.encoder import FaceEncoder
from detection.inference.types import Detection
from detection.inference.vector_index import ExactIndex, IVFIndex, Neighbour
from detection.models import FaceEncoding

logger = logging.getLogger(__name__)

ENCODER_VERSION = f"{FaceEncoder.name}@{FaceEncoder.version}"
# Pages encoded per task call; a larger scope re-queues the task for the rest.
ENCODE_PAGE_BATCH = 50
# Encodings this far below an on-disk build's newest id are searched in memory too: a transaction
# that took its ids before the build's newest one and committed after the build read the table is
# found all the same (an encoding batch is one page's faces, far fewer ids than this).
DELTA_OVERLAP = 10_000


@functools.cache
def get_encoder() -> FaceEncoder:
    """The dlib encoder, loaded once per process on first use."""
    return FaceEncoder()


def encodings_as_matrix(vectors: Iterable[bytes]) -> np.ndarray:
    """Stored float32 encodings as one (n, 128) matrix."""
    blobs = [bytes(vector) for vector in vectors]
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1)


def faces_missing_encodings(*, faces: QuerySet[Face]) -> QuerySet[Face]:
    """Faces (not rejected) with no encoding from the current model, or one of a box since moved."""
    current = Q(encoding__model_version=ENCODER_VERSION) & Q(
        encoding__x=F("x"), encoding__y=F("y"), encoding__w=F("w"), encoding__h=F("h")
    )
    return faces.visible().exclude(current)


@dataclass(frozen=True)
class EncodeResult:
    """What one encoding pass did, and how many faces still wait for an encoding in its scope."""

    pages: int
    encoded: int
    skipped: int
    remaining: int
    last_page_id: int = 0


def face_encodings_compute(
    *,
    faces: QuerySet[Face],
    max_pages: int | None = None,
    after_page_id: int = 0,
    encoder: FaceEncoder | None = None,
) -> EncodeResult:
    """Encode the faces of this queryset that need it, page by page after `after_page_id`, a batch of pages."""
    todo = faces_missing_encodings(faces=faces).filter(page_id__gt=after_page_id)
    batch = ENCODE_PAGE_BATCH if max_pages is None else max_pages
    page_ids = list(todo.order_by("page_id").values_list("page_id", flat=True).distinct()[:batch])
    encoded = skipped = 0
    for page in Page.objects.filter(pk__in=page_ids).select_related("document"):
        page_faces = list(todo.filter(page=page))
        try:
            vectors = _encode_page(page, page_faces, encoder)
        except ImageUnavailable as exc:
            logger.warning("encoding page %s: image unavailable: %s", page.pk, exc)
            skipped += len(page_faces)
            continue
        face_encodings_store(page=page, encodings=vectors)
        encoded += len(vectors)
        skipped += len(page_faces) - len(vectors)
    last_page = max(page_ids, default=after_page_id)
    remaining = faces_missing_encodings(faces=faces).filter(page_id__gt=last_page).count()
    return EncodeResult(
        pages=len(page_ids), encoded=encoded, skipped=skipped, remaining=remaining, last_page_id=last_page
    )


def document_faces_encode(
    *, document_id: int, after_page_id: int = 0, encoder: FaceEncoder | None = None
) -> EncodeResult:
    """Encode one batch of a document's pages; queue the next batch (pages after this one) when faces remain,
    else the build of the corpus's on-disk similarity index when it needs one."""
    from detection.similarity_index import similarity_index_queue
    from detection.tasks import encode_faces_task

    result = face_encodings_compute(
        faces=Face.objects.filter(page__document_id=document_id), after_page_id=after_page_id, encoder=encoder
    )
    if result.remaining:
        encode_faces_task.delay_on_commit(document_id, result.last_page_id)
    else:
        # The document is encoded: its corpus's on-disk index is built, or rebuilt, if it needs it.
        similarity_index_queue(corpus_id=Document.objects.values_list("corpus_id", flat=True).get(pk=document_id))
    return result


def encodings_queue(*, document_id: int) -> None:
    """Queue the encoding of a document's faces (after the current transaction commits)."""
    from detection.tasks import encode_faces_task

    encode_faces_task.delay_on_commit(document_id, 0)


def _encode_page(page: Page, faces: list[Face], encoder: FaceEncoder | None) -> list[tuple[Face, np.ndarray]]:
    derivative = page_derivative(page, max_size=settings.DETECTION_MAX_DERIVATIVE)
    rgb = np.asarray(derivative.image.convert("RGB"))
    # Loaded only once an image is in hand: a page that cannot be read costs no model load.
    encoder = encoder or get_encoder()
    encoded = []
    for face in faces:
        # Canvas pixels to derivative pixels, where the face is read.
        box = Detection.from_xywh(face.x, face.y, face.w, face.h, 1.0).scaled(
            1.0 / derivative.scale_x, 1.0 / derivative.scale_y
        )
        vector = encoder.encode(rgb, box)
        if vector is not None:
            encoded.append((face, vector))
    return encoded


@transaction.atomic
def face_encodings_store(*, page: Page, encodings: list[tuple[Face, np.ndarray]]) -> list[FaceEncoding]:
    """Replace these faces' encodings (one row per face) with the given vectors."""
    FaceEncoding.objects.filter(face_id__in=[face.pk for face, _vector in encodings]).delete()
    return FaceEncoding.objects.bulk_create(
        FaceEncoding(
            face=face,
            corpus_id=page.document.corpus_id,
            vector=np.asarray(vector, dtype="<f4").tobytes(),
            model_version=ENCODER_VERSION,
            x=face.x,
            y=face.y,
            w=face.w,
            h=face.h,
        )
        for face, vector in encodings
    )


def face_encoding_ensure(*, face: Face) -> np.ndarray | None:
    """The face's current encoding, computed now (one page read, a model load) when it is missing or stale."""
    faces = Face.objects.filter(pk=face.pk)
    if faces_missing_encodings(faces=faces).exists():
        face_encodings_compute(faces=faces, max_pages=1)
    return face_encoding_current(face=face)


def face_encoding_current(*, face: Face) -> np.ndarray | None:
    """The face's stored encoding from the current model; None when it has none (nothing is computed)."""
    if faces_missing_encodings(faces=Face.objects.filter(pk=face.pk)).exists():
        return None
    vector = (
        FaceEncoding.objects.filter(face_id=face.pk, model_version=ENCODER_VERSION)
        .values_list("vector", flat=True)
        .first()
    )
    return None if vector is None else encodings_as_matrix([vector])[0]


# ---------------------------------------------------------------------------------------------
# Nearest faces: one in-memory index per corpus and process.


class _CorpusIndex:
    """A corpus's encodings for search in this process: its on-disk build, if any, and the rest in memory.

    With a published build (detection/similarity_index.py) the process maps the build's index read-only
    and keeps in memory only the encodings stored since (from a little below the build's newest id),
    searched exactly. Without one, every encoding is in memory, keyed by the (count, newest id) it was
    loaded at: exact search answers at once, and from SIMILARITY_IVF_MIN encodings an IVF index is
    built in a background thread (about a minute at 1 M on 2 cores) and takes over when ready.
    """

    def __init__(self) -> None:
        self.key: tuple[int, int] = (0, 0)
        self.index: ExactIndex | IVFIndex = _empty_index()
        self.building: threading.Thread | None = None
        self.disk: DiskIndex | None = None
        # Encodings with a larger id are searched in memory (0: all of them).
        self.since = 0
        self.unusable: Path | None = None

    def refresh(self, corpus_id: int) -> None:
        self._refresh_disk(corpus_id)
        rows = FaceEncoding.objects.filter(corpus_id=corpus_id, model_version=ENCODER_VERSION, id__gt=self.since)
        stats = rows.aggregate(n=Count("id"), newest=Max("id"))
        key = (stats["n"], stats["newest"] or 0)
        if key == self.key:
            return
        count, newest = self.key
        appended = rows.filter(id__gt=newest)
        # Only new rows since the last load (nothing deleted): add them to what is loaded.
        if newest and key[0] - count == appended.count():
            face_ids, vectors = _load(appended)
            if isinstance(self.index, IVFIndex):
                self.index.add(vectors, face_ids)
            else:
                self._serve_exact(
                    np.concatenate([self.index.vectors, vectors]), np.concatenate([self.index.ids, face_ids])
                )
        else:
            face_ids, vectors = _load(rows)
            self._serve_exact(vectors, face_ids)
        self.key = key

    def _refresh_disk(self, corpus_id: int) -> None:
        """Open the corpus's current build when it changed; the in-memory part then reloads from its watermark."""
        from detection.similarity_index import corpus_index_current

        info = corpus_index_current(corpus_id)
        path = info.path if info else None
        if path == (self.disk.path if self.disk else None) or (path is not None and path == self.unusable):
            return
        disk = None
        if info is not None:
            try:
                disk = DiskIndex(
                    info.path, n_probe=settings.SIMILARITY_INDEX_PROBES, rerank=settings.SIMILARITY_INDEX_RERANK
                )
            except (OSError, RuntimeError, ValueError) as exc:
                # A build that cannot be opened is not retried on every request; the previous state stays.
                logger.warning("similarity index %s cannot be opened: %s", info.path, exc)
                self.unusable = info.path
                return
        self.disk = disk
        self.since = max(0, info.watermark - DELTA_OVERLAP) if info is not None else 0
        self.key = (0, 0)
        self.index = _empty_index()

    def _serve_exact(self, vectors: np.ndarray, face_ids: np.ndarray) -> None:
        self.index = ExactIndex(vectors, face_ids)
        if len(face_ids) >= settings.SIMILARITY_IVF_MIN and self.building is None:
            self.building = threading.Thread(target=self._build_ivf, args=(self.index,), daemon=True)
            self.building.start()

    def _build_ivf(self, exact: ExactIndex) -> None:
        ivf = IVFIndex(exact.vectors, exact.ids, n_probe=settings.SIMILARITY_IVF_PROBES)
        with _indexes_lock:
            self.building = None
            current = self.index
            if current is not exact:
                grown = isinstance(current, ExactIndex) and np.array_equal(current.ids[: len(exact)], exact.ids)
                if not grown:
                    # Reloaded from scratch meanwhile: build again from what is served now.
                    self._serve_exact(current.vectors, current.ids)
                    return
                # Rows appended while it was built: add them to the new index.
                ivf.add(current.vectors[len(exact) :], current.ids[len(exact) :])
            self.index = ivf


def _empty_index() -> ExactIndex:
    return ExactIndex(np.empty((0, 128), np.float32), np.empty(0, np.int64))


def _load(rows: QuerySet[FaceEncoding]) -> tuple[np.ndarray, np.ndarray]:
    face_ids, blobs = [], []
    for face_id, vector in rows.order_by("id").values_list("face_id", "vector").iterator(chunk_size=10_000):
        face_ids.append(face_id)
        blobs.append(vector)
    vectors = encodings_as_matrix(blobs) if blobs else np.empty((0, 128), dtype=np.float32)
    return np.asarray(face_ids, dtype=np.int64), vectors


_indexes: dict[int, _CorpusIndex] = {}
_indexes_lock = threading.Lock()


def corpus_neighbours(corpus_id: int, query: np.ndarray, k: int, *, exclude_face_id: int) -> list[Neighbour]:
    """The k faces of the corpus whose encodings are nearest the query (ids are face ids), nearest first.

    The on-disk build answers with encoding ids: only those still stored count, so a face deleted or
    encoded again since the build (its row replaced by a newer one, searched in memory) is left out.
    """
    with _indexes_lock:
        entry = _indexes.setdefault(corpus_id, _CorpusIndex())
        entry.refresh(corpus_id)
        memory, disk = entry.index, entry.disk
    found = memory.search(query, k, exclude_id=exclude_face_id)
    if disk is None:
        return found
    hits = disk.search(query, k + 1)
    faces = dict(
        FaceEncoding.objects.filter(
            pk__in=[hit.id for hit in hits], corpus_id=corpus_id, model_version=ENCODER_VERSION
        ).values_list("id", "face_id")
    )
    for hit in hits:
        face_id = faces.get(hit.id)
        if face_id is not None and face_id != exclude_face_id:
            found.append(Neighbour(face_id, hit.distance))
    # The in-memory part overlaps the build a little (DELTA_OVERLAP): one answer per face, the nearest.
    nearest: dict[int, Neighbour] = {}
    for neighbour in sorted(found, key=lambda n: n.distance):
        nearest.setdefault(neighbour.id, neighbour)
    return list(nearest.values())[:k]


def similarity_cache_forget(corpus_id: int) -> None:
    """Drop this process's in-memory index of a corpus that was deleted (its encodings and mapped build)."""
    with _indexes_lock:
        _indexes.pop(corpus_id, None)


def similarity_cache_clear() -> None:
    """Forget every in-memory index (tests; a worker that must reload)."""
    with _indexes_lock:
        _indexes.clear()


@dataclass(frozen=True)
class SimilarFace:
    """A neighbour of the query face: the face and its encoding distance (below 0.6: likely the same person)."""

    face: Face
    distance: float

    @property
    def same_person_likely(self) -> bool:
        return self.distance < FaceEncoder.SAME_PERSON_DISTANCE


NO_ENCODING = gettext_noop("The face cannot be encoded: its image is unavailable or its box is too small")


class NoEncoding(MessageError):
    """The face cannot be encoded (image unavailable or box too small); translated where read."""


def similar_faces(*, face: Face, limit: int = 10) -> list[SimilarFace]:
    """The faces of the same corpus nearest to this one, nearest first; rejected faces never come back.

    It reads the face's stored encoding: computing a missing one is an inference job
    (detection.model_loop.inference_jobs), so a request never loads the encoder.
    """
    query = face_encoding_current(face=face)
    if query is None:
        raise NoEncoding(NO_ENCODING)
    # Rejected or deleted faces may still sit in the index: ask for more than needed.
    neighbours = corpus_neighbours(face.page.document.corpus_id, query, limit * 2 + 10, exclude_face_id=face.pk)
    found = Face.objects.filter(pk__in=[n.id for n in neighbours]).visible().select_related("page", "person").in_bulk()
    return [SimilarFace(found[n.id], n.distance) for n in neighbours if n.id in found][:limit]


def person_suggestion(*, neighbours: list[SimilarFace]) -> str:
    """The name most often given to likely-same-person neighbours ('' when none is named)."""
    names = Counter(n.face.person_name for n in neighbours if n.same_person_likely and n.face.person_id)
    return names.most_common(1)[0][0] if names else ""


@transaction.atomic
def faces_name_person(*, user, person: str, faces: list[tuple[Face, int]]) -> list[Face]:
    """Give a person's name to faces (each with the version the curator saw); all or none.

    Raises annotations.services.FaceConflict when any face changed in the meantime.
    """
    return [
        face_update(face=face, user=user, expected_version=version, data={"person": person}) for face, version in faces
    ]


def people_list(*, user, corpus_id: int | None = None, query: str = "") -> QuerySet[Person]:
    """The people of corpora the user may view (`query`: a substring of the name), with their number
    of faces (rejected ones never count), most faces first."""
    people = Person.objects.filter(corpus__in=corpora_visible_to(user))
    if corpus_id is not None:
        people = people.filter(corpus_id=corpus_id)
    if query:
        people = people.filter(name__icontains=query)
    faces = Count("faces", filter=~Q(faces__status=FaceStatus.REJECTED))
    return people.annotate(face_count=faces).order_by("-face_count", "name", "id")
