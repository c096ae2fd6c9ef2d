"""Import a generated 1,000-canvas manifest from a loopback server; print fetch, parse and store times.

Usage: .venv/bin/python bench/import_bench.py [--canvases 1000] [--repeat 3]
Uses a throwaway SQLite database unless DATABASE_URL is set. Target: parse + store < 5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from _django import setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--canvases", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    setup("import-bench")

    from django.db import connection

    from annotations.iiif.fetch import Fetcher
    from annotations.iiif.parse import parse_iiif
    from annotations.ingest.manifests import (
        corpus_get_or_create,
        document_request_import,
        document_store_parsed,
        fetch_policy,
    )
    from tests.support.http_server import LocalServer
    from tests.support.manifests import p2_manifest

    server = LocalServer().start()
    body = json.dumps(p2_manifest(server.base_url, args.canvases))
    url = server.add("/manifest.json", body)
    rows = []
    for attempt in range(args.repeat):
        corpus = corpus_get_or_create(name=f"bench-{attempt}")
        document = document_request_import(corpus=corpus, source=url)
        t0 = time.perf_counter()
        data = Fetcher(fetch_policy()).get_json(url, max_bytes=200 * 1024 * 1024)
        t1 = time.perf_counter()
        parsed = parse_iiif(data)
        t2 = time.perf_counter()
        document_store_parsed(document=document, parsed=parsed)
        t3 = time.perf_counter()
        document_store_parsed(document=document, parsed=parsed)
        t4 = time.perf_counter()
        rows.append((t1 - t0, t2 - t1, t3 - t2, t4 - t3))
    server.stop()

    print(f"# import_bench: {args.canvases} canvases, {len(body) / 1e6:.1f} MB manifest, {connection.vendor}")
    print(f"{'step':<22}{'median s':>10}{'min s':>10}")
    for index, name in enumerate(["fetch (loopback)", "parse", "store (new)", "store (re-import)"]):
        values = [row[index] for row in rows]
        print(f"{name:<22}{statistics.median(values):>10.3f}{min(values):>10.3f}")
    total = [row[1] + row[2] for row in rows]
    print(f"{'parse + store':<22}{statistics.median(total):>10.3f}{min(total):>10.3f}   target < 5 s")


if __name__ == "__main__":
    main()
