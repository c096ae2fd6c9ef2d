"""Measure every model on generated pages and the face fixtures: the numbers in docs/models.md.

    .venv/bin/python bench/model_metrics.py [--pages 6] [--skip mtcnn dlib-mmod]

Pages come from tests/support/model_loop_pages.py (photos of faces and face-like ornaments on
fake newspaper pages, plain and halftoned). Detectors run as a run would (res10 tiled, the
others on the whole page), down to a score floor of 0.1 so AP reads the whole ranking. Age and
gender models are scored on the curated face boxes; the encoder on the identity photos.
Nothing here is a test: it prints tables to paste into the docs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detection.inference.metrics import evaluate_detections  # noqa: E402
from detection.inference.registry import DETECTORS, get_attribute_model, get_detector  # noqa: E402
from detection.inference.tiling import detect_tiled, filter_implausible  # noqa: E402
from detection.inference.types import Detection  # noqa: E402
from tests.support.model_loop_pages import curated_page  # noqa: E402

PAGE = (900, 1200)
FLOOR = 0.1


def pages(count: int, *, halftone: bool, first_seed: int = 0):
    return [
        curated_page(first_seed + seed, width=PAGE[0], height=PAGE[1], halftone=halftone, face_sizes=(30, 90))
        for seed in range(count)
    ]


def truths(page) -> list[Detection]:
    return [Detection.from_xywh(f.x, f.y, f.w, f.h, 1.0) for f in page.faces]


def detect(name: str, pixels: np.ndarray) -> list[Detection]:
    params = {"score_threshold": FLOOR} if "score_threshold" in DETECTORS[name].default_params else {}
    detector = get_detector(name, **params)
    if DETECTORS[name].tiling_default:
        found = detect_tiled(detector, pixels, tile_size=300, overlap=0.25)
    else:
        found = detector.detect(pixels)
    return filter_implausible(found, image_width=pixels.shape[1], image_height=pixels.shape[0])


def detector_rows(names: list[str], sets: dict[str, list]) -> None:
    print("| detector | pages | faces | AP@0.5 | AP@0.5:0.95 | precision @ default | recall @ default | s/page |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name in names:
        default = float(DETECTORS[name].default_params.get("score_threshold", 0.5))
        for label, generated in sets.items():
            detect(name, generated[0].pixels)  # load the model outside the timing
            started = time.perf_counter()
            pairs = [(detect(name, page.pixels), truths(page)) for page in generated]
            seconds = (time.perf_counter() - started) / len(generated)
            ranking = evaluate_detections(pairs)
            operating = evaluate_detections(pairs, score_threshold=default)
            print(
                f"| {name} | {label} | {ranking.truths} | {_f(ranking.ap50)} | {_f(ranking.ap50_95)} | "
                f"{_f(operating.precision)} | {_f(operating.recall)} | {seconds:.2f} |",
                flush=True,
            )


def attribute_rows(sets: dict[str, list], model_names: list[str]) -> None:
    print("| model | pages | faces | gender accuracy | unknown | age MAE (years) | ms/face |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in model_names:
        model = get_attribute_model(name)
        for label, generated in sets.items():
            model.predict(generated[0].pixels, truths(generated[0])[0])
            right = unknown = total = 0
            errors = []
            started = time.perf_counter()
            for page in generated:
                for face, box in zip(page.faces, truths(page), strict=True):
                    estimate = model.predict(page.pixels, box)
                    total += 1
                    right += estimate.gender == face.gender
                    unknown += estimate.gender == "unknown"
                    if estimate.age is not None:
                        errors.append(abs(estimate.age - face.age))
            ms = 1000 * (time.perf_counter() - started) / max(total, 1)
            print(
                f"| {name} | {label} | {total} | {right / total:.3f} | {unknown / total:.3f} | "
                f"{_f(np.mean(errors) if errors else None, 1)} | {ms:.0f} |",
                flush=True,
            )


def encoder_rows() -> None:
    import skimage.io

    from detection.inference.encoder import FaceEncoder
    from tests.support.identities import CROPS, IDENTITIES, PHOTOS
    from tests.support.synthetic_pages import FACE_DIR, FIXTURE_FACES

    encoder = FaceEncoder()
    faces = []
    for name, person, box in PHOTOS:
        faces.append((person, skimage.io.imread(IDENTITIES / name), Detection(*box, 1.0)))
    for name, person in CROPS:
        faces.append((person, skimage.io.imread(FACE_DIR / name), Detection(*FIXTURE_FACES[name], 1.0)))
    encoder.encode(faces[0][1], faces[0][2])
    started = time.perf_counter()
    vectors = [encoder.encode(image, box) for _person, image, box in faces]
    ms = 1000 * (time.perf_counter() - started) / len(faces)
    same, other, top1 = [], [], 0
    for i, (person, _image, _box) in enumerate(faces):
        distances = [(float(np.linalg.norm(vectors[i] - vectors[j])), faces[j][0]) for j in range(len(faces)) if j != i]
        for distance, who in distances:
            (same if who == person else other).append(distance)
        top1 += min(distances)[1] == person
    print(
        f"dlib encoder: {len(faces)} faces of 5 people; nearest other face is the same person for {top1}/{len(faces)}; "
        f"same-person distances {min(same):.2f}-{max(same):.2f}, different people {min(other):.2f}-{max(other):.2f}; "
        f"{ms:.0f} ms per face"
    )


def trained_rows(train_count: int, val_count: int) -> None:
    """Train the attribute CNN and the re-scorer as a job would, on generated pages; score on held-out pages."""
    import tempfile

    from PIL import Image

    from detection.inference.trained import CandidateSearch
    from detection.training.attributes import attribute_samples, train_attribute_model
    from detection.training.data import LabelledBox, LabelledImage
    from detection.training.rescorer import candidate_pages, train_rescorer

    folder = Path(tempfile.mkdtemp(prefix="visages-model-metrics-"))
    images = []
    for seed in range(train_count + val_count):
        page = curated_page(100 + seed, width=600, height=800, n_ornaments=3, face_sizes=(30, 66), halftone=True)
        path = folder / f"p{seed}.jpg"
        Image.fromarray(page.pixels).save(path, quality=90)
        boxes = [LabelledBox(b, True, f.gender, f.age) for f, b in zip(page.faces, truths(page), strict=True)]
        boxes += [LabelledBox(Detection.from_xywh(*o, 1.0), False) for o in page.ornaments]
        document = "train" if seed < train_count else "validation"
        images.append(LabelledImage(path, tuple(boxes), document=document, page=str(seed)))
    train, validation = images[:train_count], images[train_count:]
    started = time.perf_counter()
    attributes = train_attribute_model(
        attribute_samples(train, size=64, margin=0.2),
        attribute_samples(validation, size=64, margin=0.2),
    )
    m = attributes.metrics
    print(
        f"keras-attributes: {len(train)} training pages, {m['val_faces']} held-out faces: validation loss "
        f"{attributes.initial_val_loss:.3f} -> {attributes.best_val_loss:.3f} (epoch {attributes.best_epoch}); "
        f"gender accuracy {_f(m['val_gender_accuracy'])}, age MAE {_f(m['val_age_mae'], 1)}; "
        f"{time.perf_counter() - started:.0f} s"
    )
    search = CandidateSearch()
    base = get_detector("res10", score_threshold=0.2)
    started = time.perf_counter()
    rescorer = train_rescorer(candidate_pages(train, base, search), candidate_pages(validation, base, search))
    m = rescorer.metrics
    print(
        f"res10+rescore: {len(train)} training pages, {m['val_pages']} held-out pages ({m['val_truths']} faces): "
        f"AP@0.5 {_f(m['val_base_ap50'])} -> {_f(m['val_rescored_ap50'])}, "
        f"AP@0.5:0.95 {_f(m['val_base_ap50_95'])} -> {_f(m['val_rescored_ap50_95'])}, "
        f"precision {_f(m['val_base_precision'])} -> {_f(m['val_rescored_precision'])}, "
        f"recall {_f(m['val_base_recall'])} -> {_f(m['val_rescored_recall'])}; {time.perf_counter() - started:.0f} s"
    )


def _f(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        help="detectors or steps to skip: a detector name, detectors, attributes, encoder, trained",
    )
    args = parser.parse_args()
    sets = {"plain": pages(args.pages, halftone=False), "halftone": pages(args.pages, halftone=True, first_seed=50)}
    if "detectors" not in args.skip:
        detector_rows(
            [name for name in ("res10", "haar", "mtcnn", "dlib-mmod", "centerface") if name not in args.skip], sets
        )
        print()
    if "attributes" not in args.skip:
        attribute_rows(sets, ["onnx-age-gender"])
        print()
    if "encoder" not in args.skip:
        encoder_rows()
        print()
    if "trained" not in args.skip:
        trained_rows(train_count=12, val_count=6)


if __name__ == "__main__":
    main()
