"""A nearest-neighbour index on disk, shared by every process of a machine through the page cache.

A build is a directory of three files, written once and never changed:
- `ivfpq.faiss`: a faiss IVF-PQ index (√n k-means lists, 16-byte product-quantised codes) whose
  ids are row numbers. Searchers open it memory-mapped and read-only (`IO_FLAG_MMAP`), so the
  codes live in the page cache, shared by all processes, not in each one's heap;
- `vectors.f16`: every vector in row order, float16 (256 bytes a row), to re-rank the short list
  of the IVF-PQ answer with exact distances;
- `ids.i64`: the caller's id of every row (int64).
The two raw files are read with `os.pread`, a few rows per query, so they are never mapped into
a process at all. `meta.json` (written last) describes the build; `builds_publish` points the
directory's `current` link at a finished build with an atomic rename, so a reader sees the old
build or the new one, never a half-written one.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .vector_index import Neighbour, _top_k

FORMAT = 1
DIM = 128
CURRENT = "current"
INDEX_FILE = "ivfpq.faiss"
VECTORS_FILE = "vectors.f16"
IDS_FILE = "ids.i64"
META_FILE = "meta.json"
# Bytes of one product-quantised code (16 sub-vectors of 8 dimensions, 8 bits each).
PQ_BYTES = 16
# Most k-means lists: more shortens each list and lengthens training and assignment.
MAX_LISTS = 4096
# Training rows per list (faiss warns below 39) and in all, and k-means rounds.
TRAIN_PER_LIST = 64
MAX_TRAIN = 300_000
TRAIN_ROUNDS = 10
ADD_CHUNK = 100_000


def _faiss():
    # Imported on first use: a web process that never opens an index does not load the library.
    import faiss

    return faiss


def _lists_for(n: int) -> int:
    return max(1, min(MAX_LISTS, int(math.sqrt(n)), n // TRAIN_PER_LIST or 1))


def _pq_bits_for(n: int) -> int:
    # 256 centroids per sub-quantiser need a few thousand training rows; tiny corpora use 16.
    return 8 if n >= 256 * TRAIN_PER_LIST else 4


@dataclass(frozen=True)
class BuildInfo:
    """What a finished build holds: its rows, the largest id at build time and the caller's notes."""

    path: Path
    count: int
    watermark: int
    extra: dict

    @classmethod
    def read(cls, path: Path) -> BuildInfo:
        meta = json.loads((path / META_FILE).read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: index format {meta.get('format')!r}, expected {FORMAT}")
        return cls(path=path, count=meta["count"], watermark=meta["watermark"], extra=meta.get("extra", {}))


def build_write(
    directory: Path,
    chunks: Iterable[tuple[np.ndarray, np.ndarray]],
    *,
    watermark: int,
    extra: dict | None = None,
    seed: int = 0,
) -> Path:
    """Write a new build under `directory` from (ids, vectors) chunks; returns its path (not yet published).

    The vectors are streamed to disk first, then sampled for training and added back in chunks, so
    memory holds one chunk, the training sample and the codes (24 bytes a row), never the matrix.
    On any error the half-written build is removed.
    """
    faiss = _faiss()
    directory.mkdir(parents=True, exist_ok=True)
    build = directory / f"build-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    build.mkdir()
    try:
        count = 0
        with open(build / VECTORS_FILE, "wb") as vectors_out, open(build / IDS_FILE, "wb") as ids_out:
            for ids, vectors in chunks:
                matrix = np.asarray(vectors, dtype=np.float32).reshape(-1, DIM)
                if len(matrix) != len(ids):
                    raise ValueError("one id per vector is needed")
                vectors_out.write(matrix.astype("<f2").tobytes())
                ids_out.write(np.asarray(ids, dtype="<i8").tobytes())
                count += len(matrix)
        if not count:
            raise ValueError("an index needs at least one vector")
        stored = np.memmap(build / VECTORS_FILE, dtype="<f2", mode="r", shape=(count, DIM))
        n_lists = _lists_for(count)
        index = faiss.IndexIVFPQ(faiss.IndexFlatL2(DIM), DIM, n_lists, PQ_BYTES, _pq_bits_for(count))
        # Ten k-means rounds instead of 25: the lists barely move after that, and training is the slow part.
        index.cp.niter = TRAIN_ROUNDS
        # A small corpus has fewer training rows than faiss recommends: fine here, so no warning.
        index.cp.min_points_per_centroid = index.pq.cp.min_points_per_centroid = 1
        rng = np.random.default_rng(seed)
        sample_size = min(count, MAX_TRAIN)
        sample = np.sort(rng.choice(count, sample_size, replace=False)) if sample_size < count else np.arange(count)
        training = np.ascontiguousarray(stored[sample], dtype=np.float32)
        # k-means needs at least as many rows as centroids: a tiny corpus repeats its rows (the
        # re-ranking is exact, so coarse codes cost nothing there).
        centroids = max(n_lists, 2 ** _pq_bits_for(count))
        if len(training) < centroids:
            training = np.resize(training, (centroids, DIM))
        index.train(training)
        for start in range(0, count, ADD_CHUNK):
            block = np.ascontiguousarray(stored[start : start + ADD_CHUNK], dtype=np.float32)
            index.add_with_ids(block, np.arange(start, start + len(block), dtype=np.int64))
        del stored
        faiss.write_index(index, str(build / INDEX_FILE))
        meta = {"format": FORMAT, "count": count, "watermark": int(watermark), "lists": n_lists, "extra": extra or {}}
        (build / META_FILE).write_text(json.dumps(meta))
        for name in (INDEX_FILE, VECTORS_FILE, IDS_FILE, META_FILE):
            _fsync(build / name)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return build


def _fsync(path: Path) -> None:
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def build_publish(build: Path) -> None:
    """Make `build` its directory's current one (atomic rename of a link), then remove older builds.

    The build it replaces stays (a process may be opening it right now); older ones go.
    """
    directory = build.parent
    previous = build_current(directory)
    link = directory / f".{CURRENT}-{os.getpid()}-{time.monotonic_ns()}"
    link.symlink_to(build.name)
    os.replace(link, directory / CURRENT)
    keep = {build.name, previous.name if previous else None}
    for old in directory.glob("build-*"):
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def build_current(directory: Path) -> Path | None:
    """The published build of `directory`, or None when there is none (or it is unreadable)."""
    try:
        target = os.readlink(directory / CURRENT)
    except OSError:
        return None
    build = directory / target
    return build if (build / META_FILE).is_file() else None


class DiskIndex:
    """A published build opened for search: IVF-PQ candidates, re-ranked exactly from the stored vectors."""

    def __init__(self, build: Path, *, n_probe: int = 32, rerank: int = 100) -> None:
        faiss = self._faiss = _faiss()
        # One thread per query: a request is one query, and OpenMP threads that spin waiting for a
        # core cost more than they save (a build, in a worker, keeps every core).
        faiss.omp_set_num_threads(1)
        self.info = BuildInfo.read(build)
        self.path = build
        # Without IVF-PQ's precomputed table (lists x 16 x 256 floats: 52 MB per process at 10 M encodings),
        # which saves under a millisecond a query.
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY | faiss.IO_FLAG_SKIP_PRECOMPUTE_TABLE
        self.index = faiss.read_index(str(build / INDEX_FILE), flags)
        self.n_probe = n_probe
        self.rerank = rerank
        self._vectors = os.open(build / VECTORS_FILE, os.O_RDONLY)
        self._ids = os.open(build / IDS_FILE, os.O_RDONLY)

    def __len__(self) -> int:
        return self.info.count

    def close(self) -> None:
        for fd in (self._vectors, self._ids):
            os.close(fd)

    def __del__(self) -> None:
        try:
            self.close()
        except (OSError, AttributeError):
            pass

    def _rows(self, fd: int, rows: np.ndarray, width: int) -> Iterator[bytes]:
        for row in rows:
            yield os.pread(fd, width, int(row) * width)

    def search(
        self, query: np.ndarray, k: int = 10, *, exclude_id: int | None = None, n_probe: int | None = None
    ) -> list[Neighbour]:
        """The k nearest stored vectors, nearest first (distances exact up to float16 rounding)."""
        q = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, DIM))
        # Per-call parameters, not the index's nprobe attribute: threads of one process share the index.
        params = self._faiss.SearchParametersIVF(nprobe=n_probe or self.n_probe)
        _, found = self.index.search(q, max(k + 1, self.rerank), params=params)
        rows = np.sort(found[0][found[0] >= 0])
        if not len(rows):
            return []
        vectors = np.frombuffer(b"".join(self._rows(self._vectors, rows, DIM * 2)), dtype="<f2")
        vectors = vectors.reshape(len(rows), DIM).astype(np.float32)
        ids = np.frombuffer(b"".join(self._rows(self._ids, rows, 8)), dtype="<i8")
        difference = vectors - q
        return _top_k(np.einsum("ij,ij->i", difference, difference), ids, k, exclude_id)
