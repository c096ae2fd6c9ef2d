"""Query latency of face-similarity search at 100 k and 1 M encodings (numpy exact search and IVF).

    .venv/bin/python bench/similarity_bench.py [--sizes 100000 1000000] [--queries 200] [--k 10]

Two kinds of 128-d float32 data:
- `random`: independent Gaussian vectors, the issue's benchmark and the worst case for IVF
  (no clusters, so the nearest neighbours scatter over many lists);
- `clustered`: like a corpus of encodings, several faces per person (5 on average), people
  spread out and faces close to their person; queries are new faces of known people.
Prints build time, p50/p95/max query latency, and IVF recall against exact search: of the k
nearest on random data, of the same person's faces (exact neighbours closer than 0.6, dlib's
same-person distance) on clustered data.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detection.inference.vector_index import ExactIndex, IVFIndex  # noqa: E402

DIM = 128
FACES_PER_PERSON = 5
# dlib's same-person distance: the neighbours that matter on clustered data.
SAME_PERSON_DISTANCE = 0.6


def random_data(n: int, queries: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    return vectors, rng.standard_normal((queries, DIM), dtype=np.float32)


def clustered_data(n: int, queries: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    people = rng.normal(0, 0.09, (n // FACES_PER_PERSON, DIM)).astype(np.float32)
    owner = rng.integers(0, len(people), n)
    vectors = people[owner] + rng.normal(0, 0.025, (n, DIM)).astype(np.float32)
    asked = rng.integers(0, len(people), queries)
    return vectors, people[asked] + rng.normal(0, 0.025, (queries, DIM)).astype(np.float32)


def timed(search, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[list]]:
    latencies, answers = [], []
    for query in queries:
        started = time.perf_counter()
        found = search(query, k)
        latencies.append(time.perf_counter() - started)
        answers.append(found)
    return np.array(latencies) * 1000.0, answers


def recall(found: list[list], truth: list[list], k: int, kind: str) -> float:
    """Share of the true neighbours found: the k nearest (random data), or the same person's faces (clustered)."""
    shares = []
    for got, expected in zip(found, truth, strict=True):
        wanted = {n.id for n in expected if kind == "random" or n.distance < SAME_PERSON_DISTANCE}
        if wanted:
            shares.append(len(wanted & {n.id for n in got}) / len(wanted))
    return float(np.mean(shares)) if shares else 1.0


def bench(kind: str, n: int, *, queries: int, k: int, probes: list[int], seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    vectors, asked = (random_data if kind == "random" else clustered_data)(n, queries, rng)
    ids = np.arange(n)
    rows = []
    started = time.perf_counter()
    exact = ExactIndex(vectors, ids)
    build = time.perf_counter() - started
    # One untimed query warms the BLAS threads and caches.
    exact.search(asked[0], k)
    latency, truth = timed(exact.search, asked, k)
    rows.append(_row(kind, n, "exact", build, latency, 1.0))
    started = time.perf_counter()
    ivf = IVFIndex(vectors, ids, seed=seed)
    build = time.perf_counter() - started
    for n_probe in probes:
        ivf.search(asked[0], k, n_probe=n_probe)
        latency, found = timed(lambda q, kk, p=n_probe: ivf.search(q, kk, n_probe=p), asked, k)
        rows.append(
            _row(kind, n, f"IVF {ivf.n_lists} lists, {n_probe} probed", build, latency, recall(found, truth, k, kind))
        )
    return rows


def _row(kind: str, n: int, method: str, build: float, latency: np.ndarray, recall: float) -> str:
    p50, p95 = np.percentile(latency, [50, 95])
    return f"| {kind} | {n:,} | {method} | {build:.1f} | {p50:.2f} | {p95:.2f} | {latency.max():.2f} | {recall:.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--probes", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--data", choices=["random", "clustered", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    kinds = ["random", "clustered"] if args.data == "both" else [args.data]
    print(f"{args.queries} queries, k={args.k}; latency in ms per query, build in s; recall vs exact search")
    print("| data | encodings | method | build s | p50 ms | p95 ms | max ms | recall |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for kind in kinds:
        for n in args.sizes:
            for row in bench(kind, n, queries=args.queries, k=args.k, probes=args.probes, seed=args.seed):
                print(row, flush=True)


if __name__ == "__main__":
    main()
