"""The on-disk similarity index of a corpus: built by a task or a command, never in a web request.

One directory per corpus under SIMILARITY_INDEX_DIR (`corpus-<id>/`), holding published builds
(detection/inference/disk_index.py). Web processes open the current build memory-mapped and
search the encodings stored since its build exactly, in memory (detection/similarity.py).
"""

from __future__ import annotations

import fcntl
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db.models import Count, Max

from annotations.models import Corpus
from detection.inference.disk_index import BuildInfo, build_current, build_publish, build_write
from detection.models import FaceEncoding
from detection.similarity import ENCODER_VERSION, encodings_as_matrix
from webapp.folders import folders_by_id

logger = logging.getLogger(__name__)

CORPUS_DIR_PREFIX = "corpus-"
# Encodings read from the database per chunk while building.
BUILD_CHUNK = 50_000


def corpus_index_dir(corpus_id: int) -> Path:
    """Where the corpus's on-disk index builds live."""
    return Path(settings.SIMILARITY_INDEX_DIR) / f"{CORPUS_DIR_PREFIX}{corpus_id}"


def corpus_index_current(corpus_id: int) -> BuildInfo | None:
    """The corpus's published build for the current encoder, or None (none yet, another encoder, unreadable)."""
    build = build_current(corpus_index_dir(corpus_id))
    if build is None:
        return None
    try:
        info = BuildInfo.read(build)
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("similarity index %s unreadable: %s", build, exc)
        return None
    return info if info.extra.get("model_version") == ENCODER_VERSION else None


def _encodings(corpus_id: int):
    return FaceEncoding.objects.filter(corpus_id=corpus_id, model_version=ENCODER_VERSION)


def similarity_index_changes(*, corpus_id: int, info: BuildInfo | None) -> int:
    """Encodings the build does not reflect: stored since it (or all of them without one), plus deleted ones."""
    rows = _encodings(corpus_id)
    if info is None:
        return rows.count()
    newer = rows.filter(id__gt=info.watermark).count()
    deleted = info.count - rows.filter(id__lte=info.watermark).count()
    return newer + max(deleted, 0)


def similarity_index_build(*, corpus_id: int, force: bool = False) -> BuildInfo | None:
    """Build and publish the corpus's on-disk index; None when it was already up to date (or being built).

    Idempotent: the current build is kept when it holds exactly the corpus's encodings. The new build
    is written beside it and published by an atomic rename, so a failed build leaves the previous
    one in use.
    """
    rows = _encodings(corpus_id)
    stats = rows.aggregate(n=Count("id"), newest=Max("id"))
    if not stats["n"]:
        return None
    info = corpus_index_current(corpus_id)
    if not force and info is not None and (info.count, info.watermark) == (stats["n"], stats["newest"]):
        return None
    directory = corpus_index_dir(corpus_id)
    with _build_lock(directory) as locked:
        if not locked:
            logger.info("similarity index of corpus %s: a build is already running", corpus_id)
            return None
        build = build_write(
            directory,
            _chunks(rows.filter(id__lte=stats["newest"])),
            watermark=stats["newest"],
            extra={"corpus_id": corpus_id, "model_version": ENCODER_VERSION},
        )
        build_publish(build)
    logger.info("similarity index of corpus %s: %s encodings in %s", corpus_id, stats["n"], build)
    return BuildInfo.read(build)


def similarity_index_delete(*, corpus_id: int) -> None:
    """Remove the on-disk index of a deleted corpus: its face encodings must not outlive it.

    Only this machine's copy: where each web host builds its own (docs/deploy.md), the others go at
    their next `similarity_index --all` (similarity_indexes_of_gone_corpora_delete).
    """
    shutil.rmtree(corpus_index_dir(corpus_id), ignore_errors=True)
    logger.info("similarity index of deleted corpus %s removed", corpus_id)


def similarity_indexes_of_gone_corpora_delete() -> list[int]:
    """Remove this machine's index directories of corpora that no longer exist; their ids."""
    found = folders_by_id(Path(settings.SIMILARITY_INDEX_DIR), CORPUS_DIR_PREFIX)
    gone = sorted(set(found) - set(Corpus.objects.filter(pk__in=found).values_list("pk", flat=True)))
    for corpus_id in gone:
        similarity_index_delete(corpus_id=corpus_id)
    return gone


def similarity_index_check_after_delete(*, corpus_id: int) -> None:
    """After a document's deletion commits: have a worker check its corpus's index, which still holds
    the deleted encodings (searches skip them, but answer with fewer faces until a rebuild). Nothing
    when the corpus went too, or has no index."""
    from detection.tasks import similarity_index_check_task

    if corpus_index_current(corpus_id) is None or not Corpus.objects.filter(pk=corpus_id).exists():
        return
    similarity_index_check_task.delay(corpus_id)


def similarity_index_queue(*, corpus_id: int) -> bool:
    """Queue a build (after commit) when the corpus is large enough and its index missing or stale enough."""
    from detection.tasks import similarity_index_build_task

    info = corpus_index_current(corpus_id)
    changes = similarity_index_changes(corpus_id=corpus_id, info=info)
    threshold = settings.SIMILARITY_INDEX_MIN if info is None else settings.SIMILARITY_INDEX_REBUILD
    if changes < max(threshold, 1):
        return False
    similarity_index_build_task.delay_on_commit(corpus_id)
    return True


def _chunks(rows) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    ids, blobs = [], []
    for encoding_id, vector in rows.order_by("id").values_list("id", "vector").iterator(chunk_size=10_000):
        ids.append(encoding_id)
        blobs.append(vector)
        if len(ids) == BUILD_CHUNK:
            yield np.asarray(ids, dtype=np.int64), encodings_as_matrix(blobs)
            ids, blobs = [], []
    if ids:
        yield np.asarray(ids, dtype=np.int64), encodings_as_matrix(blobs)


@contextmanager
def _build_lock(directory: Path) -> Iterator[bool]:
    """An exclusive, non-blocking lock on the corpus's directory: True when this process holds it."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
