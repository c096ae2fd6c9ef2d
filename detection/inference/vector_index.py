"""Nearest neighbours among face encodings, in numpy: exact search and an IVF coarse quantiser.

Exact search is one matrix-vector product over a float32 matrix (|x - q|² = |x|² - 2 x·q + |q|²
with the row norms computed once), then `argpartition` for the k best: about 3 ms per query at
100 k encodings and 60 ms at 1 M here (it reads the whole matrix). The IVF index clusters the
encodings with k-means, keeps each cluster's rows contiguous, and searches only the `n_probe`
clusters whose centroids are nearest the query: sub-millisecond at 1 M, at the price of missing
a neighbour that fell in an unprobed cluster (see docs/benchmarks.md for the measured recall).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Neighbour:
    """One search result: the id given with the vector and its Euclidean distance to the query."""

    id: int
    distance: float


def _as_matrix(vectors: np.ndarray) -> np.ndarray:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"expected an (n, d) matrix, got shape {matrix.shape}")
    return matrix


def _top_k(squared: np.ndarray, ids: np.ndarray, k: int, exclude_id: int | None) -> list[Neighbour]:
    """The k smallest squared distances as sorted neighbours, without `exclude_id`."""
    if exclude_id is not None:
        squared = np.where(ids == exclude_id, np.inf, squared)
    k = min(k, len(squared))
    if k <= 0:
        return []
    best = np.argpartition(squared, k - 1)[:k] if k < len(squared) else np.arange(len(squared))
    best = best[np.argsort(squared[best], kind="stable")]
    return [
        Neighbour(int(ids[index]), math.sqrt(max(float(squared[index]), 0.0)))
        for index in best
        if np.isfinite(squared[index])
    ]


class ExactIndex:
    """Brute-force Euclidean search over every vector."""

    def __init__(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        self.vectors = _as_matrix(vectors)
        self.ids = np.asarray(ids, dtype=np.int64)
        if len(self.ids) != len(self.vectors):
            raise ValueError("one id per vector is needed")
        self.norms = np.einsum("ij,ij->i", self.vectors, self.vectors)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: np.ndarray, k: int = 10, *, exclude_id: int | None = None) -> list[Neighbour]:
        """The k nearest vectors to `query`, nearest first."""
        if not len(self):
            return []
        q = np.asarray(query, dtype=np.float32)
        squared = self.norms - 2.0 * (self.vectors @ q) + float(q @ q)
        return _top_k(squared, self.ids, k, exclude_id)


def kmeans(vectors: np.ndarray, n_clusters: int, *, iterations: int = 12, seed: int = 0) -> np.ndarray:
    """Lloyd's k-means from a random sample of rows; returns the (n_clusters, d) centroids."""
    matrix = _as_matrix(vectors)
    rng = np.random.default_rng(seed)
    n_clusters = max(1, min(n_clusters, len(matrix)))
    centroids = matrix[rng.choice(len(matrix), n_clusters, replace=False)].copy()
    for _ in range(iterations):
        labels = assign(matrix, centroids)
        sums = np.zeros_like(centroids)
        np.add.at(sums, labels, matrix)
        counts = np.bincount(labels, minlength=n_clusters)
        empty = counts == 0
        centroids[~empty] = sums[~empty] / counts[~empty, None]
        # An empty cluster restarts on a random row, so no list stays unused.
        if empty.any():
            centroids[empty] = matrix[rng.choice(len(matrix), int(empty.sum()), replace=False)]
    return centroids


def assign(vectors: np.ndarray, centroids: np.ndarray, *, chunk: int = 65_536) -> np.ndarray:
    """Index of the nearest centroid of every row, computed in chunks to bound memory."""
    centroid_norms = np.einsum("ij,ij->i", centroids, centroids)
    labels = np.empty(len(vectors), dtype=np.int64)
    for start in range(0, len(vectors), chunk):
        block = vectors[start : start + chunk]
        # |x|² is the same for every centroid, so it does not change the argmin.
        labels[start : start + chunk] = np.argmin(centroid_norms - 2.0 * (block @ centroids.T), axis=1)
    return labels


class IVFIndex:
    """Inverted-file index: k-means lists of vectors, searched `n_probe` lists at a time."""

    # Rows used to fit the centroids; more adds build time and little quality.
    TRAIN_SAMPLE = 100_000

    def __init__(
        self,
        vectors: np.ndarray,
        ids: np.ndarray,
        *,
        n_lists: int | None = None,
        n_probe: int = 16,
        seed: int = 0,
    ) -> None:
        matrix = _as_matrix(vectors)
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) != len(matrix):
            raise ValueError("one id per vector is needed")
        # About sqrt(n) lists balances the centroid scan against the rows read per probed list.
        self.n_lists = n_lists or max(1, int(math.sqrt(len(matrix))))
        self.n_probe = n_probe
        rng = np.random.default_rng(seed)
        sample = (
            matrix
            if len(matrix) <= self.TRAIN_SAMPLE
            else matrix[rng.choice(len(matrix), self.TRAIN_SAMPLE, replace=False)]
        )
        self.centroids = kmeans(sample, self.n_lists, seed=seed)
        self.n_lists = len(self.centroids)
        self._store(matrix, ids, assign(matrix, self.centroids))

    def _store(self, matrix: np.ndarray, ids: np.ndarray, labels: np.ndarray) -> None:
        order = np.argsort(labels, kind="stable")
        self.vectors = matrix[order]
        self.ids = ids[order]
        self.norms = np.einsum("ij,ij->i", self.vectors, self.vectors)
        counts = np.bincount(labels, minlength=self.n_lists)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.centroid_norms = np.einsum("ij,ij->i", self.centroids, self.centroids)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Append vectors to their nearest lists, keeping the centroids (no re-clustering)."""
        matrix = _as_matrix(vectors)
        labels_old = np.repeat(np.arange(self.n_lists), np.diff(self.offsets))
        labels_new = assign(matrix, self.centroids)
        self._store(
            np.concatenate([self.vectors, matrix]),
            np.concatenate([self.ids, np.asarray(ids, dtype=np.int64)]),
            np.concatenate([labels_old, labels_new]),
        )

    def search(
        self, query: np.ndarray, k: int = 10, *, exclude_id: int | None = None, n_probe: int | None = None
    ) -> list[Neighbour]:
        """The k nearest vectors among the lists nearest the query, nearest first."""
        if not len(self):
            return []
        q = np.asarray(query, dtype=np.float32)
        probe = min(n_probe or self.n_probe, self.n_lists)
        # einsum, not BLAS: these products are small, and a threaded BLAS call that waits for a busy
        # core costs more than the arithmetic.
        to_centroids = self.centroid_norms - 2.0 * np.einsum("ij,j->i", self.centroids, q)
        lists = np.argpartition(to_centroids, probe - 1)[:probe] if probe < self.n_lists else np.arange(self.n_lists)
        rows = np.concatenate([np.arange(self.offsets[i], self.offsets[i + 1]) for i in lists])
        squared = self.norms[rows] - 2.0 * np.einsum("ij,j->i", self.vectors[rows], q) + float(q @ q)
        return _top_k(squared, self.ids[rows], k, exclude_id)
