"""Query latency of face-similarity search: in memory (numpy exact and IVF) or on disk (faiss IVF-PQ, memory-mapped).

    .venv/bin/python bench/similarity_bench.py [--sizes 100000 1000000] [--queries 200] [--k 10]
    .venv/bin/python bench/similarity_bench.py --disk [--sizes 1000000 10000000] [--queries 250] [--workers 4]

Two kinds of 128-d float32 data:
- `random`: independent Gaussian vectors, the issue's benchmark and the worst case for IVF
  (no clusters, so the nearest neighbours scatter over many lists);
- `clustered`: like a corpus of encodings, several faces per person (5 on average), people
  spread out and faces close to their person; queries are new faces of known people.
Prints build time, p50/p95/max query latency, and IVF recall against exact search: of the k
nearest on random data, of the same person's faces (exact neighbours closer than 0.6, dlib's
same-person distance) on clustered data.

`--disk` measures the on-disk index the web processes use (detection/inference/disk_index.py) on
clustered data: the encodings are generated in chunks into a file (never several copies in memory),
the index is built from it, then `--workers` separate processes (spawned, as gunicorn's workers are
separate) each open it memory-mapped and answer `--queries` queries at the same time; each reports
its latencies and, after its queries while all are still alive, its proportional set size (PSS) from
/proc/self/smaps_rollup: shared page-cache pages count divided by the processes sharing them.
`--baseline` adds one process holding the same encodings in memory, as today's fallback does.
`--web` makes each of those processes a web worker first: it loads the application as a gunicorn
worker does (settings, the WSGI application, every route's view module) before it opens the index, so
its PSS is a web process's whole footprint, not the index's share alone.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detection.inference.disk_index import build_write  # noqa: E402
from detection.inference.vector_index import ExactIndex, IVFIndex, Neighbour  # noqa: E402

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


# ---------------------------------------------------------------------------------------------
# --disk: the on-disk index in separate processes.

# Lines printed under the table: data, build time and size of each corpus.
NOTES: list[str] = []
GENERATE_CHUNK = 500_000
TRUTH_CHUNK = 100_000


def clustered_to_file(path: Path, n: int, queries: int, rng: np.random.Generator) -> tuple[np.memmap, np.ndarray]:
    """`clustered_data`, written a chunk at a time into a float32 file (only the people stay in memory)."""
    people = rng.normal(0, 0.09, (max(1, n // FACES_PER_PERSON), DIM)).astype(np.float32)
    vectors = np.memmap(path, dtype=np.float32, mode="w+", shape=(n, DIM))
    for start in range(0, n, GENERATE_CHUNK):
        size = min(GENERATE_CHUNK, n - start)
        owner = rng.integers(0, len(people), size)
        vectors[start : start + size] = people[owner] + rng.normal(0, 0.025, (size, DIM)).astype(np.float32)
    vectors.flush()
    asked = rng.integers(0, len(people), queries)
    return vectors, people[asked] + rng.normal(0, 0.025, (queries, DIM)).astype(np.float32)


def same_person_truth(vectors: np.ndarray, queries: np.ndarray, k: int) -> list[list[Neighbour]]:
    """Exact k nearest closer than the same-person distance, for every query, reading the file in chunks."""
    candidates: list[list[tuple[float, int]]] = [[] for _ in queries]
    query_norms = np.einsum("ij,ij->i", queries, queries)
    for start in range(0, len(vectors), TRUTH_CHUNK):
        block = np.asarray(vectors[start : start + TRUTH_CHUNK])
        squared = np.einsum("ij,ij->i", block, block)[:, None] - 2.0 * (block @ queries.T) + query_norms[None, :]
        rows, asked = np.nonzero(squared < SAME_PERSON_DISTANCE**2)
        for row, query in zip(rows, asked, strict=True):
            candidates[query].append((float(squared[row, query]), start + int(row)))
    return [[Neighbour(i, float(np.sqrt(max(d, 0.0)))) for d, i in sorted(found)[:k]] for found in candidates]


def memory_kb() -> dict[str, int]:
    """This process's memory from /proc/self/smaps_rollup (Rss, Pss, Pss_Anon, Pss_File, ...), in kB."""
    fields = {}
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            name, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                fields[name] = int(rest.split()[0])
    return fields


def load_web_application() -> None:
    """What a gunicorn worker holds before its first request: settings, the WSGI application, every view."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    os.environ.setdefault("SECRET_KEY", "similarity-bench: a worker that serves no request")
    from django.urls import get_resolver

    from webapp.wsgi import application  # noqa: F401

    get_resolver().url_patterns  # noqa: B018  (imports every route's view module, as the first request does)


def disk_worker(
    slot: int, build: str, queries: np.ndarray, k: int, n_probe: int, rerank: int, web: bool, barrier, results
):
    """One web-like process: open the index memory-mapped, answer the queries, report latency and memory."""
    import faiss  # noqa: F401  (loaded before the first reading: the library is not the index's memory)

    if web:
        load_web_application()

    from detection.inference.disk_index import DiskIndex

    before = memory_kb()
    index = DiskIndex(Path(build), n_probe=n_probe, rerank=rerank)
    index.search(queries[0], k)
    latency, found = timed(index.search, queries, k)
    _report(slot, barrier, results, latency, found, before)


def memory_worker(slot: int, data: str, n: int, queries: np.ndarray, k: int, barrier, results) -> None:
    """Today's fallback for comparison: the corpus's encodings loaded into this process, exact search."""
    before = memory_kb()
    vectors = np.fromfile(data, dtype=np.float32).reshape(n, DIM)
    index = ExactIndex(vectors, np.arange(n))
    del vectors
    index.search(queries[0], k)
    latency, found = timed(index.search, queries, k)
    _report(slot, barrier, results, latency, found, before)


def _report(slot, barrier, results, latency: np.ndarray, found: list[list[Neighbour]], before) -> None:
    # Memory is read while every worker is still alive, so shared pages are divided among all of them.
    barrier.wait()
    memory = memory_kb()
    barrier.wait()
    memory["Pss_before"] = before["Pss"]
    results.put((slot, latency, [[(n.id, n.distance) for n in got] for got in found], memory))


def run_workers(targets: list[tuple]) -> list[tuple]:
    """Start one spawned process per (function, args), each given its slot; their answers once all are in."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(targets))
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(slot, *args, barrier, results))
        for slot, (target, args) in enumerate(targets)
    ]
    for process in processes:
        process.start()
    answers = []
    while len(answers) < len(processes):
        try:
            answers.append(results.get(timeout=5))
        except queue.Empty:
            # A worker that died never answers, and its siblings wait at the barrier: stop them all.
            if any(process.exitcode for process in processes):
                for process in processes:
                    process.kill()
                raise SystemExit("a worker failed (its traceback is above)") from None
    for process in processes:
        process.join()
    return answers


def bench_disk(n: int, args: argparse.Namespace) -> list[str]:
    rng = np.random.default_rng(args.seed)
    work = Path(tempfile.mkdtemp(prefix="similarity-bench-", dir=args.workdir))
    try:
        total = args.queries * args.workers
        started = time.perf_counter()
        vectors, asked = clustered_to_file(work / "vectors.f32", n, total, rng)
        truth = same_person_truth(vectors, asked, args.k)
        prepared = time.perf_counter() - started

        def chunks():
            for start in range(0, n, GENERATE_CHUNK):
                block = np.asarray(vectors[start : start + GENERATE_CHUNK])
                yield np.arange(start, start + len(block)), block

        started = time.perf_counter()
        build = build_write(work / "index", chunks(), watermark=n - 1)
        built = time.perf_counter() - started
        on_disk = sum(f.stat().st_size for f in build.iterdir()) / 2**20
        # Peak RSS counts the pages of the memory-mapped data file (page cache); anonymous memory is the heap.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        heap = memory_kb().get("Anonymous", 0) / 1024
        NOTES.append(
            f"# {n:,} encodings: data and exact truth {prepared:.0f} s, build {built:.0f} s, "
            f"bench process peak RSS {peak:,.0f} MB (anonymous {heap:,.0f} MB after the build), "
            f"index {on_disk:,.0f} MB on disk"
        )
        slices = [asked[i * args.queries : (i + 1) * args.queries] for i in range(args.workers)]
        rows = []
        for n_probe in args.probes:
            targets = [(disk_worker, (str(build), part, args.k, n_probe, args.rerank, args.web)) for part in slices]
            answers = run_workers(targets)
            rows.append(
                _disk_row(
                    n, f"disk IVF-PQ, {n_probe} probed, {args.rerank} re-ranked", built, answers, truth, slices, args
                )
            )
        if args.baseline:
            answers = run_workers([(memory_worker, (str(work / "vectors.f32"), n, slices[0], args.k))])
            rows.append(_disk_row(n, "in memory (exact), 1 process", 0.0, answers, truth, slices[:1], args))
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _disk_row(n, method, build, answers, truth, slices, args) -> str:
    # In the order of the query slices given to the workers, as the truth is.
    answers = sorted(answers, key=lambda answer: answer[0])
    latency = np.concatenate([answer[1] for answer in answers])
    found = [[Neighbour(i, d) for i, d in got] for answer in answers for got in answer[2]]
    wanted = truth[: len(found)]
    p50, p95 = np.percentile(latency, [50, 95])
    memory = [answer[3] for answer in answers]
    pss = max(m["Pss"] for m in memory) / 1024
    rss = max(m["Rss"] for m in memory) / 1024
    anon = max(m.get("Pss_Anon", m.get("Anonymous", 0)) for m in memory) / 1024
    before = max(m["Pss_before"] for m in memory) / 1024
    return (
        f"| {n:,} | {method} | {len(answers)} | {build:.0f} | {p50:.2f} | {p95:.2f} | "
        f"{recall(found, wanted, args.k, 'clustered'):.3f} | {before:,.0f} | {pss:,.0f} | {anon:,.0f} | {rss:,.0f} |"
    )


def main_disk(args: argparse.Namespace) -> None:
    print(
        f"clustered data; {args.workers} {'web ' if args.web else ''}processes x {args.queries} queries at once, "
        f"k={args.k}; "
        f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    print(
        "| encodings | method | processes | build s | p50 ms | p95 ms | recall "
        "| PSS MB at start | PSS MB | anon MB | RSS MB |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        for row in bench_disk(n, args):
            print(row, flush=True)
    print()
    for note in NOTES:
        print(note)
    print(f"load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--probes", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--data", choices=["random", "clustered", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--disk", action="store_true", help="the on-disk index in separate processes")
    parser.add_argument("--workers", type=int, default=4, help="--disk: processes searching at once")
    parser.add_argument("--rerank", type=int, default=100, help="--disk: candidates re-ranked exactly")
    parser.add_argument("--baseline", action="store_true", help="--disk: add one in-memory process")
    parser.add_argument("--workdir", default=None, help="--disk: where the data and index are written")
    parser.add_argument("--web", action="store_true", help="--disk: each process loads the web application first")
    args = parser.parse_args()
    if args.disk:
        main_disk(args)
        return
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
