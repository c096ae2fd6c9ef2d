"""Detection benchmark: model time vs end-to-end pipeline time per page, for every detector.

    .venv/bin/python bench/detect_bench.py                       # 3 synthetic pages, all detectors
    .venv/bin/python bench/detect_bench.py --pages 2 --detectors res10 haar --repeat 3

On the same synthetic newspaper pages (tests/support/synthetic_pages.py: 2400x3200 paper
with 12 real portraits, faces 40 to 300 px wide, one page halftoned), imported as a local
scan into a throwaway SQLite database, it measures for each detector:

- model s/page: the detector (tiled or not, as a run would) plus age/gender on the faces it
  keeps, on the in-memory derivative: pure model time;
- pipeline s/page: `page_detect` through the service (claim, read and decode the scan,
  resize, detect, filter, age/gender, map to canvas, write faces and progress);
- overhead: (pipeline - model) / model per page, and the same ratio from the run's own
  timings (PageDetection.model_seconds / total_seconds, measured in the same call);
- pages/s, faces found, recall and precision at IoU 0.5 against the pasted faces.

It then compares res10's single 300x300 pass (the seed's) with tiling, on recall of all faces
and of small ones. Models are loaded and warmed before timing; with --repeat, times and ratios
are medians over pages and runs. Results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from _django import setup

SMALL_FACE_PX = 64
MATCH_IOU = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--detectors", nargs="+", default=["res10", "haar", "mtcnn", "dlib-mmod", "centerface"])
    parser.add_argument("--repeat", type=int, default=1, help="runs per detector (timings are medians)")
    args = parser.parse_args()
    data_dir = setup("detect")
    sys.stdout.write(f"data dir {data_dir}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")

    from django.conf import settings
    from PIL import Image

    from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
    from tests.support.synthetic_pages import newspaper_page

    scans = data_dir / "scans"
    scans.mkdir()
    truths = {}
    for index in range(args.pages):
        pixels, boxes = newspaper_page(seed=index, halftone=index % 3 == 1)
        Image.fromarray(pixels).save(scans / f"page{index + 1}.jpg", "JPEG", quality=90)
        truths[f"page{index + 1}"] = boxes
    document = document_import_run(
        document_id=document_request_import(corpus=corpus_get_or_create(name="Bench"), source=str(scans)).pk
    )
    pages = list(document.pages.order_by("order"))
    sys.stdout.write(
        f"{len(pages)} pages of {pages[0].width}x{pages[0].height}, {sum(map(len, truths.values()))} faces; "
        f"derivative {settings.DETECTION_MAX_DERIVATIVE} px, tiles {settings.DETECTION_TILE_SIZE} px, "
        f"detector threads {settings.DETECTION_THREADS} (DETECTION_THREADS)\n\n"
    )
    rows = [bench_detector(name, document, pages, truths, repeat=args.repeat) for name in args.detectors]
    sys.stdout.write(detector_table(rows) + "\n\n")
    if "res10" in args.detectors:
        sys.stdout.write(tiling_table(pages, truths) + "\n")


def derivatives(pages):
    from django.conf import settings

    from annotations.iiif_server.imaging import page_derivative

    return [page_derivative(page, max_size=settings.DETECTION_MAX_DERIVATIVE) for page in pages]


def bench_detector(name: str, document, pages, truths, *, repeat: int) -> dict:
    from annotations.iiif_server.imaging import _decoded_local
    from annotations.models import Face
    from detection.models import PageDetection
    from detection.services import (
        PipelineParams,
        page_detect,
        page_predictions,
        run_attribute_model,
        run_create,
        run_detector,
    )

    model, pipeline, in_run = [], [], []
    for attempt in range(repeat):
        run = run_create(user=None, document=document, detector=name, enqueue=False)
        detector, attributes = run_detector(run), run_attribute_model(run)
        params = PipelineParams.from_run(run)
        images = derivatives(pages)
        if attempt == 0:
            # Warm-up: weights loaded, first-call allocations done, before anything is timed.
            page_predictions(derivative=images[0], detector=detector, attribute_model=attributes, params=params)
        # Model and pipeline timings alternate page by page, so both see the same machine load.
        tasks = PageDetection.objects.filter(run=run).order_by("page__order")
        for derivative, task in zip(images, tasks, strict=True):
            started = time.perf_counter()
            page_predictions(derivative=derivative, detector=detector, attribute_model=attributes, params=params)
            model.append(time.perf_counter() - started)
            # The page is read from disk and decoded, as by a worker seeing it for the first time.
            _decoded_local.cache_clear()
            started = time.perf_counter()
            page_detect(page_detection_id=task.pk)
            pipeline.append(time.perf_counter() - started)
        in_run.extend(PageDetection.objects.filter(run=run).values_list("model_seconds", "total_seconds"))

    found = {page.label: [f.as_box() for f in Face.objects.filter(page=page, detection_run=run)] for page in pages}
    hits, total, kept = score(found, truths)
    model_median, pipeline_median = statistics.median(model), statistics.median(pipeline)
    return {
        "detector": name,
        "tiling": params.tiling,
        "model": model_median,
        "pipeline": pipeline_median,
        # Medians of per-page ratios: one page slowed by a neighbour's burst does not swing them.
        "overhead": statistics.median((p - m) / m for m, p in zip(model, pipeline, strict=True)),
        "in_run_overhead": statistics.median((total - m) / m for m, total in in_run),
        "in_run_seconds": statistics.median(total - m for m, total in in_run),
        "pages_per_s": 1.0 / pipeline_median,
        "faces": kept,
        "recall": hits / total,
        "precision": hits / kept if kept else None,
    }


def score(found: dict, truths: dict, *, max_width: int | None = None) -> tuple[int, int, int]:
    """(truth faces matched, truth faces, boxes found), optionally only truths at most max_width wide."""
    from detection.inference.types import Detection

    hits = total = kept = 0
    for label, truth in truths.items():
        boxes = [Detection.from_xywh(*box, 1.0) for box in found.get(label, [])]
        kept += len(boxes)
        for box in truth:
            if max_width is not None and box[2] > max_width:
                continue
            total += 1
            face = Detection.from_xywh(*box, 1.0)
            hits += any(face.iou(b) >= MATCH_IOU for b in boxes)
    return hits, total, kept


def tiling_table(pages, truths) -> str:
    """res10's single whole-page pass (the seed's) against tiling, on the same derivatives."""
    import numpy as np
    from django.conf import settings

    from detection.inference.registry import get_detector
    from detection.inference.tiling import detect_tiled, filter_implausible

    res10 = get_detector("res10")
    lines = [
        "| res10 on the derivative | time s/page | faces found | recall (all) | recall (faces <= 64 px) |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, tiled in (("single 300x300 pass (seed)", False), (f"tiled {settings.DETECTION_TILE_SIZE} px", True)):
        found, seconds = {}, []
        for page, derivative in zip(pages, derivatives(pages), strict=True):
            rgb = np.asarray(derivative.image)
            started = time.perf_counter()
            if tiled:
                dets = detect_tiled(
                    res10, rgb, tile_size=settings.DETECTION_TILE_SIZE, overlap=settings.DETECTION_TILE_OVERLAP
                )
            else:
                dets = res10.detect(rgb)
            seconds.append(time.perf_counter() - started)
            dets = filter_implausible(
                dets,
                image_width=rgb.shape[1],
                image_height=rgb.shape[0],
                max_area_share=settings.DETECTION_MAX_FACE_SHARE,
                min_size=settings.DETECTION_MIN_FACE_SIZE,
            )
            found[page.label] = [d.scaled(derivative.scale_x, derivative.scale_y).to_xywh() for d in dets]
        hits, total, kept = score(found, truths)
        small_hits, small_total, _ = score(found, truths, max_width=SMALL_FACE_PX)
        lines.append(
            f"| {label} | {statistics.mean(seconds):.2f} | {kept} | {hits}/{total} ({hits / total:.0%}) "
            f"| {small_hits}/{small_total} ({small_hits / small_total:.0%}) |"
        )
    return "\n".join(lines)


def detector_table(rows: list[dict]) -> str:
    lines = [
        "| detector | tiling | model s/page | pipeline s/page | overhead | overhead (in-run) | outside models s/page "
        "| pages/s | faces found | recall | precision |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        precision = "–" if row["precision"] is None else f"{row['precision']:.0%}"
        lines.append(
            f"| {row['detector']} | {'yes' if row['tiling'] else 'no'} | {row['model']:.2f} | {row['pipeline']:.2f} "
            f"| {row['overhead']:+.1%} | {row['in_run_overhead']:+.1%} | {row['in_run_seconds']:.2f} "
            f"| {row['pages_per_s']:.2f} | {row['faces']} "
            f"| {row['recall']:.0%} | {precision} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
