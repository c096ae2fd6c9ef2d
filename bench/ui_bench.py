"""Review canvas: time-to-interactive and pan/zoom frame times with 1,000 and 3,000 faces.

Usage: .venv/bin/python bench/ui_bench.py [--faces 1000 3000 10000] [--frames 40] [--rounds 3] [--annotorious]
                                          [--screenshots docs/screenshots] [--smoke]
Starts Django on a throwaway SQLite database, generates a page with N faces, and drives Debian's
Chromium (Playwright) at 1280x800 over the review page and over a bare OpenSeadragon viewer of the
same image and size, configured like the review page (Canvas 2D drawer). Variants are interleaved
over rounds and medians reported, with frame times also as ratios to the bare viewer measured in
the same run (DESIGN.md §7). Reference rows: the bare viewer with OpenSeadragon's default WebGL
drawer (software-rendered here) and, with --annotorious, stock Annotorious 3 holding the same boxes.
Targets at 1,000 faces: TTI < 1.5 s and p95 frame time < 33 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

from _django import ROOT, session_cookie, setup, start_server

VIEWPORT = {"width": 1280, "height": 800}
# The reference every ratio divides by: OpenSeadragon alone, configured as the review page's is.
BASELINE = "bare OpenSeadragon"
STATUS_MIX = [("predicted", 0.70), ("accepted", 0.10), ("edited", 0.08), ("added", 0.05), ("rejected", 0.07)]

# One rAF loop that alternately pans and zooms the viewer a little each frame (or, to sweep, pans
# steadily across the page), recording frame intervals; `draws` collects the box layer's own time.
MEASURE_JS = """
async ({frames, zoom, sweep, settle}) => {
  const v = window.benchViewer;
  v.viewport.goHome(true);
  if (zoom > 1) v.viewport.zoomBy(zoom, null, true);
  await new Promise((r) => setTimeout(r, settle));
  const layer = window.visagesReview && window.visagesReview.layer;
  const draws = [];
  if (layer) v.addHandler("update-viewport", () => draws.push([layer.stats.drawMs, layer.stats.rendered]));
  const times = [];
  await new Promise((resolve) => {
    let last = null;
    let i = 0;
    function tick(now) {
      if (last !== null) times.push(now - last);
      last = now;
      if (i >= frames) return resolve();
      const phase = Math.floor(i / 10) % 4;
      if (sweep) v.viewport.panBy(new OpenSeadragon.Point(0.04 / zoom, 0.02 / zoom), true);
      else if (phase === 0) v.viewport.panBy(new OpenSeadragon.Point(0.01 / zoom, 0), true);
      else if (phase === 1) v.viewport.zoomBy(1.04, null, true);
      else if (phase === 2) v.viewport.panBy(new OpenSeadragon.Point(-0.01 / zoom, 0.005 / zoom), true);
      else v.viewport.zoomBy(1 / 1.04, null, true);
      i += 1;
      requestAnimationFrame(tick);
    }
    requestAnimationFrame(tick);
  });
  return {times, draws, drawn: layer ? layer.stats.drawn : null};
}
"""

HIDE_BOXES_JS = """
(() => {
  const layer = window.visagesReview.layer;
  layer.canvas.style.display = "none";
  layer.active.style.display = "none";
  layer.draw = () => {};
  layer.stats = {drawMs: null, drawn: null};
})()
"""

BARE_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>bare</title>
<style>body{{margin:0}} #v{{width:{w}px;height:{h}px;background:#222}}</style></head><body>
<div id="v"></div>
<script src="/static/frontend/vendor/openseadragon/openseadragon.min.js"></script>
{extra_head}
<script>
const viewer = OpenSeadragon({{element: document.getElementById("v"), tileSources: {tiles},
  prefixUrl: "/static/frontend/vendor/openseadragon/images/", showNavigator: true,
  crossOriginPolicy: "Anonymous", gestureSettingsMouse: {{clickToZoom: false}}, drawer: {drawer}}});
window.benchViewer = viewer;
viewer.addHandler("open", () => {{ {on_open} window.benchReadyAt = performance.now(); }});
</script></body></html>"""

# Stock Annotorious, vendored for this comparison only (the app does not use it): the browser gets
# its files from bench/vendor/, answered by Playwright, not from the app's static files.
ANNOTORIOUS_DIR = ROOT / "bench" / "vendor" / "annotorious"
ANNOTORIOUS_URL = "/bench/vendor/annotorious/"
ANNOTORIOUS_HEAD = """<link rel="stylesheet" href="/bench/vendor/annotorious/annotorious-openseadragon.css">
<script src="/bench/vendor/annotorious/annotorious-openseadragon.js"></script>
<script>window.benchBoxes = {boxes};</script>"""

ANNOTORIOUS_OPEN = """
const anno = AnnotoriousOSD.createOSDAnnotator(viewer, {
  adapter: AnnotoriousOSD.W3CImageFormat("page"), drawingEnabled: false });
anno.setAnnotations(window.benchBoxes.map(([id, x, y, w, h]) => ({
  "@context": "http://www.w3.org/ns/anno.jsonld", id: "f" + id, type: "Annotation", body: [],
  target: { source: "page", selector: { type: "FragmentSelector",
    conformsTo: "http://www.w3.org/TR/media-frags/", value: `xywh=pixel:${x},${y},${w},${h}` } } })));
"""


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else float("nan")


def make_document(corpus, *, pages: int, width: int, height: int, scans: Path):
    from PIL import Image

    from annotations.ingest.manifests import document_import_run, document_request_import
    from tests.support.synthetic_pages import newspaper_page

    scans.mkdir(parents=True, exist_ok=True)
    pixels, _ = newspaper_page(width, height, seed=7)
    for n in range(1, pages + 1):
        Image.fromarray(pixels).save(scans / f"page{n}.jpg", "JPEG", quality=80)
    return document_import_run(document_id=document_request_import(corpus=corpus, source=str(scans)).pk)


def add_faces(page, count: int, seed: int) -> list[tuple[int, int, int, int, int]]:
    """Random faces (sizes 20-200 px, log-uniform) in a realistic mix of statuses and genders."""
    from annotations.models import Face
    from annotations.services import FacePrediction, faces_store_predictions, page_counts_refresh

    rng = random.Random(seed)
    predictions = []
    for _ in range(count):
        side = round(20 * 10 ** rng.random())
        predictions.append(
            FacePrediction(
                x=rng.randrange(0, page.width - side),
                y=rng.randrange(0, page.height - side),
                w=side,
                h=round(side * 1.2),
                confidence=round(rng.uniform(0.2, 1.0), 3),
                gender=rng.choice(["female", "male", "unknown"]),
                age=rng.choice([None, rng.randrange(3, 80)]),
            )
        )
    faces = faces_store_predictions(page=page, predictions=predictions, source="bench")
    ids = [face.pk for face in Face.objects.filter(page=page).order_by("id")]
    rng.shuffle(ids)
    start = 0
    # Bench data only: statuses other than `predicted` set directly so the layer draws every colour.
    for status, share in STATUS_MIX[1:]:
        chunk = ids[start : start + round(share * len(ids))]
        Face.objects.filter(pk__in=chunk).update(status=status)
        start += len(chunk)
    page_counts_refresh(page_ids=[page.pk])
    return [(face.pk, face.x, face.y, face.w, face.h) for face in faces]


def open_review(page, url: str) -> float:
    page.goto(url, wait_until="commit")
    page.wait_for_selector("#review[data-ready='1']", timeout=120000)
    page.evaluate("window.benchViewer = window.visagesViewer")
    return page.evaluate("window.visagesReview.readyAt")


def serve_annotorious(route) -> None:
    """Answers a request for one of the vendored Annotorious files from bench/vendor/annotorious/."""
    name = route.request.url.rsplit("/", 1)[-1]
    path = ANNOTORIOUS_DIR / name
    if path.parent == ANNOTORIOUS_DIR and path.is_file():
        route.fulfill(status=200, path=path)
    else:
        route.fulfill(status=404, body="not vendored")


def open_bare(
    page, base_url: str, db_page, size: dict, *, drawer: str = "canvas", boxes=None, timeout_s: float = 60
) -> float | None:
    """A page with nothing but OpenSeadragon on the same image at the same size (plus Annotorious with boxes)."""
    tiles = json.dumps(f"{base_url}{db_page.image_service_id}/info.json")
    extra_head = ANNOTORIOUS_HEAD.format(boxes=json.dumps(boxes)) if boxes is not None else ""
    on_open = ANNOTORIOUS_OPEN if boxes is not None else ""
    html = BARE_HTML.format(
        w=round(size["width"]),
        h=round(size["height"]),
        tiles=tiles,
        drawer=json.dumps(drawer),
        extra_head=extra_head,
        on_open=on_open,
    )
    path = f"/bench/{'annotorious' if boxes is not None else 'bare'}-{drawer}/"
    page.route(f"{base_url}{path}", lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    if boxes is not None:
        page.route(f"{base_url}{ANNOTORIOUS_URL}*", serve_annotorious)
    page.goto(f"{base_url}{path}", wait_until="commit")
    try:
        page.wait_for_function("window.benchReadyAt !== undefined", timeout=timeout_s * 1000)
    except Exception:  # noqa: BLE001 - a variant that never gets ready is a result, not a crash
        return None
    return page.evaluate("window.benchReadyAt")


def measure(page, frames: int, zoom: float, *, sweep: bool = False, settle_ms: int = 1500) -> dict:
    result = page.evaluate(MEASURE_JS, {"frames": frames, "zoom": zoom, "sweep": sweep, "settle": settle_ms})
    draws = [ms for ms, _ in result["draws"] if ms is not None]
    renders = [ms for ms, rendered in result["draws"] if ms is not None and rendered]
    return {
        "p50": statistics.median(result["times"]),
        "p95": p95(result["times"]),
        "draw_p95": p95(draws) if draws else None,
        "draw_mean": statistics.fmean(draws) if draws else None,
        "renders": len(renders) if draws else None,
        "render_max": max(renders) if renders else None,
        "drawn": result["drawn"],
    }


def run_bench(args) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from playwright.sync_api import sync_playwright

    from annotations.models import Corpus, CorpusMembership, CorpusRole

    user = get_user_model().objects.create_user("bench")
    corpus = Corpus.objects.create(name="Bench", is_public=False)
    CorpusMembership.objects.create(corpus=corpus, user=user, role=CorpusRole.CURATOR)
    tmp = Path(tempfile.mkdtemp(prefix="visages-ui-bench-"))
    document = make_document(corpus, pages=len(args.faces), width=args.width, height=args.height, scans=tmp / "scans")
    pages = list(document.pages.order_by("order"))
    boxes = {n: add_faces(db_page, n, seed=n) for n, db_page in zip(args.faces, pages, strict=True)}
    thread, base_url = start_server(static_handler=settings.DEBUG)

    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for n, db_page in zip(args.faces, pages, strict=True):
            context = browser.new_context(viewport=VIEWPORT)
            context.add_cookies([session_cookie(user, base_url)])
            page = context.new_page()
            # A warm-up load so every variant finds the same tiles in the browser cache.
            open_review(page, f"{base_url}/pages/{db_page.pk}/")
            page.wait_for_load_state("networkidle")
            size = page.locator("#viewer").bounding_box()
            results: dict[str, list[dict]] = {}
            # Rounds interleave the variants so that load from other processes hits them alike.
            for round_ in range(args.rounds):
                for name, result in bench_round(page, base_url, db_page, size, n, boxes, args, round_):
                    results.setdefault(name, []).append(result)
                    print(f"  {n} faces, round {round_ + 1}, {name}: {result}", file=sys.stderr, flush=True)
            context.close()
            rows.append((n, results))
        browser.close()
    thread.terminate()
    report(rows, args)


def bench_round(page, base_url, db_page, size, n, boxes, args, round_):
    """One measurement of each variant: bare viewer, our page with and without its boxes, Annotorious."""
    tti = open_bare(page, base_url, db_page, size)
    yield BASELINE, settle_and_measure(page, args, tti)
    if round_ == 0 and not args.smoke:
        tti = open_bare(page, base_url, db_page, size, drawer="webgl")
        yield "bare OSD, WebGL drawer", settle_and_measure(page, args, tti)
    tti = open_review(page, f"{base_url}/pages/{db_page.pk}/")
    server = page.evaluate("performance.getEntriesByType('navigation')[0].responseStart")
    yield "Visages review", {**settle_and_measure(page, args, tti), "server": server}
    page.evaluate(HIDE_BOXES_JS)
    yield "Visages, boxes hidden", settle_and_measure(page, args, None)
    if args.annotorious and n <= 3000 and round_ == 0:
        tti = open_bare(page, base_url, db_page, size, boxes=[list(box) for box in boxes[n]], timeout_s=120)
        yield "stock Annotorious 3", settle_and_measure(page, args, tti) if tti is not None else {"tti": None}


def settle_and_measure(page, args, tti) -> dict:
    page.wait_for_load_state("networkidle")
    # A smoke run only checks that the bench works: no pause for the viewer to settle, so no comparable numbers.
    settle_ms = 0 if args.smoke else 1500
    page.wait_for_timeout(0 if args.smoke else 1000)
    return {
        "tti": tti,
        "home": measure(page, args.frames, 1, settle_ms=settle_ms),
        "zoomed": measure(page, args.frames, 4, settle_ms=settle_ms),
        "sweep": measure(page, args.frames, 2, sweep=True, settle_ms=settle_ms),
    }


def report(rows, args) -> None:
    size = f"{VIEWPORT['width']}x{VIEWPORT['height']}"
    print(f"# ui_bench: {size}, page {args.width}x{args.height}, {args.frames} frames per phase, {args.rounds} rounds")
    header = ["TTI ms", "server", "home", "ratio", "zoom", "ratio", "sweep", "ratio", "renders", "render", "drawn"]
    print(f"{'faces':>6}  {'variant':<24}" + "".join(f"{h:>10}" for h in header))

    def med(runs, *keys):
        values = [run_value(run, keys) for run in runs]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def cell(value, fmt):
        return f"{value:{fmt}}" if value is not None else "-"

    for n, results in rows:
        bare = results.get(BASELINE, [])
        for name, runs in results.items():
            if med(runs, "home", "p95") is None:
                print(f"{n:>6}  {name:<24}{'never ready':>10}")
                continue
            cells = [cell(med(runs, "tti"), ".0f"), cell(med(runs, "server"), ".0f")]
            for phase in ("home", "zoomed", "sweep"):
                value = med(runs, phase, "p95")
                cells += [cell(value, ".1f"), cell(value / med(bare, phase, "p95"), ".2f")]
            cells += [
                cell(med(runs, "sweep", "renders"), ".0f"),
                cell(med(runs, "sweep", "render_max"), ".1f"),
                cell(med(runs, "home", "drawn"), ".0f"),
            ]
            print(f"{n:>6}  {name:<24}" + "".join(f"{c:>10}" for c in cells))
    print("TTI: navigation start to boxes drawn and keys live (bare: viewer open); server: first byte of the page.")
    print("home, zoom, sweep: p95 frame times in ms (medians over rounds) while panning and zooming with the whole")
    print("page in view (every box drawn), at 4x zoom, and sweeping across the page at 2x; ratio = / bare")
    print("OpenSeadragon (Canvas 2D drawer, as the review page). renders: full redraws of the cached boxes")
    print(f"during the {args.frames}-frame sweep, render: the slowest (ms). drawn: boxes drawn, whole page in view.")


def run_value(run: dict, keys: tuple):
    value = run
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def make_screenshots(target: Path) -> None:
    """Review view screenshots on the bundled demo document, with faces in every status."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from playwright.sync_api import sync_playwright

    from annotations.ingest.manifests import document_import_run, document_request_import
    from annotations.models import Corpus, CorpusMembership, CorpusRole, Gender
    from annotations.services import (
        FacePrediction,
        face_accept,
        face_create,
        face_reject,
        face_update,
        faces_store_predictions,
    )

    user = get_user_model().objects.create_user("curator")
    corpus = Corpus.objects.create(name="Excelsior", is_public=False)
    CorpusMembership.objects.create(corpus=corpus, user=user, role=CorpusRole.CURATOR)
    document = document_import_run(
        document_id=document_request_import(corpus=corpus, source=str(ROOT / "demo" / "excelsior-1915")).pk
    )
    truth = json.loads((ROOT / "demo" / "excelsior-1915-ground-truth.json").read_text())
    page1 = document.pages.get(order=1)
    genders = [Gender.FEMALE, Gender.MALE, Gender.FEMALE, Gender.UNKNOWN, Gender.FEMALE]
    boxes = truth[Path(page1.local_path).name]
    confidences = [0.98, 0.91, 0.84, 0.62, 0.57]
    ages = [31, 45, 52, None, 24]
    # Predicted boxes sit a little off the true faces, as a detector's do.
    predictions = [
        FacePrediction(x=x + 8, y=y - 6, w=w, h=h, confidence=c, gender=g, age=a)
        for (x, y, w, h), c, g, a in zip(boxes[:5], confidences, genders, ages, strict=False)
    ]
    predictions.append(FacePrediction(x=820, y=1500, w=90, h=100, confidence=0.41))
    faces = faces_store_predictions(page=page1, predictions=predictions, source="res10-ssd 1.0")
    face_accept(face=faces[0], user=user, expected_version=1)
    face_update(face=faces[1], user=user, expected_version=1, data={"x": boxes[1][0], "y": boxes[1][1], "age": 47})
    face_accept(face=faces[2], user=user, expected_version=1)
    face_reject(face=faces[5], user=user, expected_version=1)
    x, y, w, h = boxes[5]
    face_create(page=page1, user=user, x=x, y=y, w=w, h=h, gender=Gender.MALE, age=40)
    thread, base_url = start_server(static_handler=settings.DEBUG)
    target.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"), args=["--no-sandbox"]
        )
        for size, name in [
            ({"width": 1280, "height": 800}, "review-1280x800.png"),
            ({"width": 1920, "height": 1080}, "review-1920x1080.png"),
        ]:
            context = browser.new_context(viewport=size)
            context.add_cookies([session_cookie(user, base_url)])
            page = context.new_page()
            page.goto(f"{base_url}/pages/{page1.pk}/")
            page.wait_for_selector("#review[data-ready='1']")
            page.keyboard.press("v")
            for _ in range(2):
                page.keyboard.press("j")
            page.wait_for_load_state("networkidle")
            if size["width"] > 1280:
                page.click("#face-history summary")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(target / name))
            if size["width"] == 1280:
                page.keyboard.press("?")
                page.wait_for_timeout(300)
                page.screenshot(path=str(target / "review-shortcuts.png"))
            context.close()
        browser.close()
    thread.terminate()
    print(f"screenshots written to {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--width", type=int, default=3000)
    parser.add_argument("--height", type=int, default=4200)
    parser.add_argument("--annotorious", action="store_true", help="also measure stock Annotorious 3 (≤ 3,000 faces)")
    parser.add_argument("--screenshots", type=Path, help="write review screenshots here instead of benchmarking")
    parser.add_argument(
        "--smoke", action="store_true", help="check that the bench runs: no WebGL reference, no settling pauses"
    )
    args = parser.parse_args()
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # DEBUG off (the default): static files collected (hashed, compressed) and served by WhiteNoise,
    # as deployed; with DEBUG on, Django's own static handler serves them from the apps' folders.
    os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp(prefix="visages-ui-static-"))
    setup("ui-bench")
    from django.conf import settings
    from django.core.management import call_command

    if not settings.DEBUG:
        call_command("collectstatic", "--noinput", verbosity=0)
    if args.screenshots:
        make_screenshots(args.screenshots)
    else:
        run_bench(args)


if __name__ == "__main__":
    main()
