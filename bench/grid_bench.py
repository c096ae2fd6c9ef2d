"""Review grid: keys and seconds per face to review the predicted gender of N faces (#17, target ≤ 1.2 keys/face).

Usage: .venv/bin/python bench/grid_bench.py [--faces 100] [--wrong 0.2] [--rounds 3] [--screenshot PATH] [--smoke]
Starts Django on a throwaway database, pastes N real portraits (the test fixtures' four, two women
and two men) onto synthetic newspaper pages, stores a prediction for each with a known share of
wrong genders (wrong ones tend to be less confident, as a model's are) and drives the search page's
review grid (?view=review) in Debian's Chromium at 1280x800 with a reviewer policy that knows only
the truth of each face:

- "walk every tile": look at each tile in order; a wrong one gets its gender key (f/m, which also
  moves on), a right one the right arrow; then Enter accepts the untouched ones.
- "jump to wrong ones": from the framed tile, the fewest arrow keys to the next wrong tile, its
  gender key; then Enter accepts every face nobody touched.

Keys are counted by the bench (and by the grid, as a check); seconds run from the grid shown to the
last write answered, so they measure the UI and the server, not a person's eyes. Each round of each
policy reviews a fresh copy of the same faces. The table's last column checks that every face ends
curated with its true gender.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _django import session_cookie, setup, start_server

VIEWPORT = {"width": 1280, "height": 800}
# The portraits newspaper_page pastes, in turn: scikit-image's astronaut, then the fixture crops.
PHOTO_GENDERS = ("female", "male", "female", "male")
KEYS = {"female": "f", "male": "m", "unknown": "u"}
FACES_PER_PAGE = 25
COLUMNS_ON_PAGE = 5
FACE_SIDE = 150


def make_corpus(name: str, user, *, faces: int, wrong: float, seed: int, scans: Path):
    """A corpus of `faces` predicted faces; returns it and each face's true gender by id."""
    from PIL import Image

    from annotations.ingest.manifests import document_import_run, document_request_import
    from annotations.models import Corpus, CorpusMembership, CorpusRole
    from annotations.services import FacePrediction, faces_store_predictions
    from tests.support.synthetic_pages import newspaper_page

    corpus = Corpus.objects.create(name=name, is_public=False)
    CorpusMembership.objects.create(corpus=corpus, user=user, role=CorpusRole.CURATOR)
    rng = random.Random(seed)
    pages = -(-faces // FACES_PER_PAGE)
    layout = [
        (100 + 320 * (n % COLUMNS_ON_PAGE), 100 + 360 * (n // COLUMNS_ON_PAGE), FACE_SIDE)
        for n in range(FACES_PER_PAGE)
    ]
    scans.mkdir(parents=True, exist_ok=True)
    boxes = []
    for n in range(pages):
        pixels, page_boxes = newspaper_page(1700, 1900, faces=layout, seed=seed + n)
        Image.fromarray(pixels).save(scans / f"page{n + 1}.jpg", "JPEG", quality=85)
        boxes.append(page_boxes)
    document = document_import_run(document_id=document_request_import(corpus=corpus, source=str(scans)).pk)
    wrong_ones = set(rng.sample(range(faces), round(wrong * faces)))
    truth = {}
    for n, page in enumerate(document.pages.order_by("order")):
        predictions, genders = [], []
        for index, (x, y, w, h) in enumerate(boxes[n]):
            number = n * FACES_PER_PAGE + index
            if number >= faces:
                break
            true_gender = PHOTO_GENDERS[index % len(PHOTO_GENDERS)]
            is_wrong = number in wrong_ones
            predicted = ("male" if true_gender == "female" else "female") if is_wrong else true_gender
            confidence = rng.uniform(0.5, 0.8) if is_wrong else rng.uniform(0.6, 0.99)
            predictions.append(
                FacePrediction(
                    x=x, y=y, w=w, h=h, confidence=0.9, gender=predicted, gender_confidence=round(confidence, 3)
                )
            )
            genders.append(true_gender)
        made = faces_store_predictions(page=page, predictions=predictions, source="bench")
        truth.update({face.pk: gender for face, gender in zip(made, genders, strict=True)})
    return corpus, truth


def open_grid(page, base_url: str, corpus, count: int) -> None:
    page.goto(f"{base_url}/search/?view=review&corpus={corpus.pk}&page_size={count}")
    page.wait_for_function(f"document.querySelectorAll('.grid-tile').length === {count}")
    page.locator("#result-grid").focus()


def tiles(page) -> list[dict]:
    return page.locator(".grid-tile").evaluate_all(
        "(nodes) => nodes.map((n) => ({id: Number(n.dataset.faceId), gender: n.dataset.gender}))"
    )


def walk_every_tile(shown: list[dict], truth: dict[int, str], columns: int) -> list[str]:
    """A right arrow for each right face, the gender key for each wrong one, then Enter."""
    keys = []
    for tile in shown:
        true_gender = truth[tile["id"]]
        keys.append(KEYS[true_gender] if tile["gender"] != true_gender else "ArrowRight")
    return [*keys, "Enter"]


def jump_to_wrong_ones(shown: list[dict], truth: dict[int, str], columns: int) -> list[str]:
    """The fewest arrow keys from the framed tile to the next wrong one, its gender key, then Enter."""
    keys, focus = [], 0
    for index, tile in enumerate(shown):
        true_gender = truth[tile["id"]]
        if tile["gender"] == true_gender:
            continue
        rows = index // columns - focus // columns
        keys += ["ArrowDown" if rows > 0 else "ArrowUp"] * abs(rows)
        across = index % columns - focus % columns
        keys += ["ArrowRight" if across > 0 else "ArrowLeft"] * abs(across)
        keys.append(KEYS[true_gender])
        focus = min(index + 1, len(shown) - 1)
    return [*keys, "Enter"]


POLICIES = {"walk every tile": walk_every_tile, "jump to wrong ones": jump_to_wrong_ones}


def review(page, policy, truth: dict[int, str]) -> dict:
    """Drive the grid with one policy; keys, seconds, and whether every face ended right."""
    from annotations.models import Face, FaceStatus

    shown = tiles(page)
    columns = page.evaluate("window.visagesFaceGrid.current.columns()")
    keys = policy(shown, truth, columns)
    started = time.perf_counter()
    for key in keys:
        page.keyboard.press(key)
    page.evaluate("window.visagesFaceGrid.current.idle()")
    page.wait_for_function("window.visagesFaceGrid.current.pending === 0")
    seconds = time.perf_counter() - started
    counted = page.evaluate("window.visagesFaceGrid.current.keys")
    assert counted == len(keys), f"the grid counted {counted} keys, the bench pressed {len(keys)}"
    curated = (FaceStatus.ACCEPTED, FaceStatus.EDITED)
    right = sum(
        1 for face in Face.objects.filter(pk__in=truth) if face.gender == truth[face.pk] and face.status in curated
    )
    return {
        "keys": len(keys),
        "seconds": seconds,
        "right": right,
        "wrong": sum(1 for tile in shown if tile["gender"] != truth[tile["id"]]),
    }


def launch(playwright):
    return playwright.chromium.launch(
        executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


def run_bench(args) -> None:
    from django.contrib.auth import get_user_model
    from playwright.sync_api import sync_playwright

    user = get_user_model().objects.create_user("bench")
    tmp = Path(tempfile.mkdtemp(prefix="visages-grid-bench-"))
    thread, base_url = start_server()
    runs: dict[str, list[dict]] = {name: [] for name in POLICIES}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport=VIEWPORT)
        context.add_cookies([session_cookie(user, base_url)])
        page = context.new_page()
        # Rounds interleave the policies so that load from other processes hits them alike.
        for round_ in range(args.rounds):
            for number, (name, policy) in enumerate(POLICIES.items()):
                corpus, truth = make_corpus(
                    f"Bench {round_}-{number}",
                    user,
                    faces=args.faces,
                    wrong=args.wrong,
                    seed=args.seed,
                    scans=tmp / f"scans-{round_}-{number}",
                )
                open_grid(page, base_url, corpus, args.faces)
                result = review(page, policy, truth)
                runs[name].append(result)
                print(f"  round {round_ + 1}, {name}: {result}", file=sys.stderr, flush=True)
        browser.close()
    thread.terminate()
    report(runs, args)


def report(runs: dict[str, list[dict]], args) -> None:
    print(f"Gender review of {args.faces} faces, {args.wrong:.0%} predicted wrong, {args.rounds} round(s), 1280x800")
    print()
    print("| policy | faces | wrong | keys | keys/face | s/face | right at the end |")
    print("|---|---|---|---|---|---|---|")
    for name, results in runs.items():
        keys = statistics.median(result["keys"] for result in results)
        seconds = statistics.median(result["seconds"] for result in results)
        right = min(result["right"] for result in results)
        wrong = results[0]["wrong"]
        print(
            f"| {name} | {args.faces} | {wrong} | {keys:.0f} | {keys / args.faces:.2f} | "
            f"{seconds / args.faces:.3f} | {right}/{args.faces} |"
        )
    print()
    print("keys and s/face: medians over the rounds; s/face runs from the grid shown to the last write answered.")


def make_screenshot(target: Path) -> None:
    """The grid mid-review: faces set, a selection, and one face another curator changed (its conflict shown)."""
    from django.contrib.auth import get_user_model
    from playwright.sync_api import sync_playwright

    from annotations.models import CorpusMembership, CorpusRole, Face
    from annotations.services import face_update

    user = get_user_model().objects.create_user("curator")
    corpus, truth = make_corpus(
        "Le Miroir", user, faces=50, wrong=0.2, seed=7, scans=Path(tempfile.mkdtemp(prefix="visages-grid-shot-"))
    )
    other = get_user_model().objects.create_user("dora")
    CorpusMembership.objects.create(corpus=corpus, user=other, role=CorpusRole.CURATOR)
    thread, base_url = start_server()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport=VIEWPORT)
        context.add_cookies([session_cookie(user, base_url)])
        page = context.new_page()
        open_grid(page, base_url, corpus, 50)
        shown = tiles(page)
        # Two neighbours of the same true gender, set together; another curator changed the first.
        pair = next(n for n in range(2, len(shown) - 1) if truth[shown[n]["id"]] == truth[shown[n + 1]["id"]])
        changed = Face.objects.get(pk=shown[pair]["id"])
        face_update(face=changed, user=other, expected_version=changed.version, data={"child": True})
        for tile in shown[:pair]:
            page.keyboard.press(KEYS[truth[tile["id"]]])
        page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press(KEYS[truth[shown[pair]["id"]]])
        for _ in range(2):
            page.keyboard.press("Shift+ArrowRight")
        page.evaluate("window.visagesFaceGrid.current.idle()")
        page.wait_for_function("window.visagesFaceGrid.current.pending === 0")
        page.wait_for_function("[...document.querySelectorAll('.grid-tile img')].every((i) => i.naturalWidth > 0)")
        page.evaluate("window.scrollTo(0, 0)")
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target))
        browser.close()
    thread.terminate()
    print(f"screenshot written to {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=100)
    parser.add_argument("--wrong", type=float, default=0.2, help="share of faces whose predicted gender is wrong")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--screenshot", type=Path, help="write the grid's screenshot here instead of benchmarking")
    parser.add_argument("--smoke", action="store_true", help="check that the bench runs: one round")
    args = parser.parse_args()
    if args.smoke:
        args.rounds = 1
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # As deployed: DEBUG off, static files collected (hashed, compressed) and served by WhiteNoise.
    os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp(prefix="visages-grid-static-"))
    setup("grid-bench")
    from django.conf import settings
    from django.core.management import call_command

    if not settings.DEBUG:
        call_command("collectstatic", "--noinput", verbosity=0)
    if args.screenshot:
        make_screenshot(args.screenshot)
    else:
        run_bench(args)


if __name__ == "__main__":
    main()
