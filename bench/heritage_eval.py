"""Heritage evaluation harness: a detector and an attribute model on a hand-annotated LabelMe dev set (#14).

    .venv/bin/python bench/heritage_eval.py --labelme bench/data/heritage_dev   # the repository's dev set (partial)
    .venv/bin/python bench/heritage_eval.py --labelme DEV_SET [--detector centerface] [--attributes onnx-age-gender]
    .venv/bin/python bench/heritage_eval.py --labelme DEV_SET --target-precision 0.9   # threshold from the tuning half
    .venv/bin/python bench/heritage_eval.py --fixtures ../shared/fixtures/faces/detection-gt   # dlib's photos
    .venv/bin/python bench/heritage_eval.py --labelme DEV_SET --attributes encoding-head   # fitted on the tuning half
    .venv/bin/python bench/heritage_eval.py --labelme DEV_SET --turned-faces   # a run reading turned faces too
    .venv/bin/python bench/heritage_eval.py --labelme DEV_SET --by-document    # where the faces are missed
    .venv/bin/python bench/heritage_eval.py --smoke            # generated pages, stand-in models: checks the harness

The dev set is a folder of LabelMe files (the app's LabelMe export: rectangles labelled `face`
with `gender`, `age` and a `child` flag, or `not_face`; a `document` key per file). Pages are
split by document into a tuning half and a reporting half: a document the set's SPLIT.csv
(`document,half`) names keeps its half, so a document added later never moves an earlier one;
the others are ordered by the SHA-256 of their name and the first half of them (rounded up)
tunes, so the split never depends on the order of the files and never puts one document on
both sides. Figures are read on the reporting
half (`--half tuning` reads the tuning half, to explore a change without looking at the reporting
half; `--half all` reads every page, for sets too small to split).

The pipeline is a run's: the detector down to a score floor (so AP reads the whole ranking),
tiled for res10, the plausibility filter with the run's largest face share, the attribute model
on the boxes kept at the threshold. It prints, with 95 % bootstrap intervals (pages resampled
with replacement, fixed seed): AP@0.5, precision and recall at the threshold, gender accuracy,
per-class recall and precision, the labelled-as-the-other-sex rate, child recall and precision,
and seconds per page; then the gender and child confusion matrices. Nothing is written anywhere.

`--attributes encoding-head` fits gender and child heads (logistic regressions on dlib's face
encodings, `detection.training.encoding_head`) on the curated faces of the tuning half at run
time, their regularisation chosen by cross-validation grouped by document, prints that choice
and its cross-validated figures, then reads the other half with them: the head is fitted again on
whatever the dev set holds, so it follows the set as it grows. `--head-features
encoding+age-gender` adds the shipped model's reading of each face to the encoding.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import re
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detection.inference.metrics import (  # noqa: E402
    IOU_THRESHOLD,
    AttributePair,
    ConfusionMatrix,
    attribute_confusion,
    average_precision,
    match,
    suggest_threshold,
    threshold_sweep,
)
from detection.inference.registry import DEFAULT_DETECTOR  # noqa: E402
from detection.inference.types import Detection  # noqa: E402
from detection.training.data import LabelledImage, read_labelme_folder  # noqa: E402

# Boxes down to this score are kept so AP and the tuning sweep read the whole ranking.
FLOOR = 0.1
# The run defaults (DETECTION_MAX_FACE_SHARE, DETECTION_MIN_FACE_SIZE, DETECTION_TILE_SIZE,
# DETECTION_TILE_OVERLAP) without loading Django settings.
MAX_FACE_SHARE = 0.8
MIN_FACE_SIZE = 12
TILE_SIZE = 300
TILE_OVERLAP = 0.25
BOOTSTRAP_SAMPLES = 1000
SEED = 0
ENCODING_HEAD = "encoding-head"
# Curated face widths the cross-validated AUC is read above, as in docs/benchmarks.md's tables.
AUC_WIDTHS = (0, 20, 25, 40)


@dataclass
class PageResult:
    """One page through the pipeline: boxes with scores and whether each hit a face, and the attribute pairs."""

    name: str
    document: str
    scores: list[float]
    hits: list[bool]
    truths: int
    seconds: float
    # Attribute pairs of the faces matched by boxes kept at the threshold.
    pairs: list[AttributePair] = field(default_factory=list)


HALVES = ("tuning", "reporting")
# The source the agent's labels take when a curator checks them in Visages (bench/data/heritage_dev/README.md).
AGENT_SOURCE = "ai-agent"
DEV_SET_STEM = re.compile(r"d(\d+)_p\d+")
SPLIT_FILE = "SPLIT.csv"


def frozen_split(folder: Path) -> dict[str, str]:
    """The half of each document the dev set's SPLIT.csv (`document,half`) freezes; none without the file."""
    path = Path(folder) / SPLIT_FILE
    if not path.exists():
        return {}
    with path.open(newline="") as rows:
        frozen = {row["document"]: row["half"] for row in csv.DictReader(rows)}
    unknown = sorted({half for half in frozen.values() if half not in HALVES})
    if unknown:
        raise ValueError(f"{path}: halves are {' or '.join(HALVES)}, not {', '.join(unknown)}")
    return frozen


def split_by_document(
    images: Sequence[LabelledImage], frozen: Mapping[str, str] | None = None
) -> tuple[list[LabelledImage], list[LabelledImage]]:
    """(tuning, reporting): a document in `frozen` keeps its half; the others are ordered by the SHA-256 of
    their name and the first half of them (rounded up) tunes."""
    frozen = frozen or {}
    documents = {_document(image) for image in images}
    new = sorted(documents - frozen.keys(), key=lambda name: hashlib.sha256(name.encode()).digest())
    tuning = {name for name in documents if frozen.get(name) == "tuning"} | set(new[: math.ceil(len(new) / 2)])
    return (
        [image for image in images if _document(image) in tuning],
        [image for image in images if _document(image) not in tuning],
    )


def label_provenance(images: Sequence[LabelledImage]) -> dict[str, int]:
    """How many faces a curator checked, left as the agent proposed, or never saw.

    A curator checks the dev set in Visages with the agent's labels as `AGENT_SOURCE` proposals (its
    README.md): on a page of that check (one holding a box of that source), a face reads `checked` unless it
    is still a proposal; on another page every face is the agent's own, `unchecked`.
    """
    counts = {"checked": 0, "proposed": 0, "unchecked": 0}
    for image in images:
        in_check = any(labelled.source == AGENT_SOURCE for labelled in image.boxes)
        for labelled in image.boxes:
            if not labelled.is_face:
                continue
            if not in_check:
                counts["unchecked"] += 1
            elif labelled.source == AGENT_SOURCE and labelled.status == "predicted":
                counts["proposed"] += 1
            else:
                counts["checked"] += 1
    return counts


def _document(image: LabelledImage) -> str:
    """The dev set's document of a page: the N of its file name d<N>_p<order>, which survives a curator's round
    trip through another instance (`import_dataset`, `export_labelme --names labels`) where the ids in
    the file do not; else the file's document, and a file without one is a document of its own."""
    named = DEV_SET_STEM.fullmatch(image.image_path.stem)
    return named.group(1) if named else image.document or image.page


class Pipeline:
    """A registry detector and attribute model, run as a detection run runs them."""

    def __init__(
        self,
        detector: str,
        attributes: str,
        *,
        tiling: bool | None,
        max_face_share: float,
        flip_average: bool | None = None,
        turned_faces: bool = False,
    ) -> None:
        from detection.inference.registry import ATTRIBUTE_MODELS, DETECTORS, get_attribute_model, get_detector

        params = {"score_threshold": FLOOR} if "score_threshold" in DETECTORS[detector].default_params else {}
        self.detector = get_detector(detector, **params)
        read_params = (
            {"flip_average": flip_average}
            if attributes in ATTRIBUTE_MODELS
            and flip_average is not None
            and "flip_average" in ATTRIBUTE_MODELS[attributes].default_params
            else {}
        )
        # The encoding head is fitted on the tuning half before it reads anything (`fit_encoding_head`).
        self.attributes = (
            get_attribute_model(attributes, **read_params) if attributes and attributes != ENCODING_HEAD else None
        )
        self.tiling = DETECTORS[detector].tiling_default if tiling is None else tiling
        self.max_face_share = max_face_share
        self.turned_faces = turned_faces
        # Where each face of the page last detected stands upright (the page turned, for a turned face).
        self._upright: dict[int, tuple[int, Detection]] = {}
        self.default_threshold = float(DETECTORS[detector].default_params.get("score_threshold", 0.5))
        flipped = {True: " (flip-averaged)", False: " (one reading)"}.get(read_params.get("flip_average"), "")
        turned = ", turned faces too" if turned_faces else ""
        self.name = f"{detector}{' (tiled)' if self.tiling else ''}{turned} + {attributes or 'no attributes'}{flipped}"

    def detect(self, image: LabelledImage) -> tuple[np.ndarray, list[Detection]]:
        from detection.inference.turned import detect_turned, upright

        pixels = image.load()
        faces = detect_turned(self._plausible, pixels) if self.turned_faces else upright(self._plausible(pixels))
        self._upright = {id(face.box): (face.turns, face.upright) for face in faces}
        return pixels, [face.box for face in faces]

    def _plausible(self, pixels: np.ndarray) -> list[Detection]:
        from detection.inference.tiling import plausible_faces

        return plausible_faces(
            self.detector,
            pixels,
            tiling=self.tiling,
            tile_size=TILE_SIZE,
            overlap=TILE_OVERLAP,
            max_area_share=self.max_face_share,
            min_size=MIN_FACE_SIZE,
            lowest_score=FLOOR,
        )

    def read(self, pixels: np.ndarray, box: Detection) -> tuple[str, bool] | None:
        """The gender and child flag of a face of the page last detected, read where it stands upright."""
        from detection.inference.turned import turned_page

        if self.attributes is None:
            return None
        turns, upright_box = self._upright.get(id(box), (0, box))
        estimate = self.attributes.predict(turned_page(pixels, turns) if turns else pixels, upright_box)
        return estimate.gender, estimate.child


class StandIn:
    """Stand-in models for --smoke: every face at 0.9 and every `not_face` box at 0.6; genders read
    right except every third face, which is given the other sex. Checks the harness, not a model."""

    name = "stand-in detector + stand-in attributes"
    default_threshold = 0.5

    def __init__(self) -> None:
        self._truths: dict[tuple[float, float, float, float], str] = {}
        self._read = 0

    def detect(self, image: LabelledImage) -> tuple[np.ndarray, list[Detection]]:
        boxes = []
        for labelled in image.boxes:
            box = labelled.box
            boxes.append(Detection(box.x1, box.y1, box.x2, box.y2, 0.9 if labelled.is_face else 0.6))
            self._truths[(box.x1, box.y1, box.x2, box.y2)] = labelled.gender
        return np.zeros((1, 1, 3), np.uint8), boxes

    def read(self, pixels: np.ndarray, box: Detection) -> tuple[str, bool] | None:
        gender = self._truths.get((box.x1, box.y1, box.x2, box.y2), "unknown")
        self._read += 1
        if self._read % 3 == 0:
            gender = {"female": "male", "male": "female"}.get(gender, gender)
        return gender, False


def fit_encoding_head(
    pipeline: Pipeline, tuning: Sequence[LabelledImage], *, features: Sequence[str], gender_threshold: float
) -> list[str]:
    """Fit the encoding heads on the tuning half's curated faces, set them as the pipeline's attribute
    model, and return the lines that say what the fit chose and how it cross-validated."""
    from detection.inference.encoding_head import EncodingHeadAttributes, FaceFeatures
    from detection.training.encoding_head import face_samples, fit_encoding_heads

    reader = FaceFeatures(features)
    samples = face_samples(tuning, reader)
    heads, choices = fit_encoding_heads(samples, features=features, gender_threshold=gender_threshold)
    pipeline.attributes = EncodingHeadAttributes(heads=heads, encoder=reader.encoder, age_gender=reader.age_gender)
    pipeline.name = pipeline.name.replace(ENCODING_HEAD, f"{ENCODING_HEAD} ({'+'.join(features)})")
    return encoding_head_report(samples, heads, choices, pages=len(tuning))


def encoding_head_report(samples, heads, choices, *, pages: int) -> list[str]:
    """The fit's choices and cross-validated figures (out-of-fold, folds grouped by document) as Markdown."""
    from detection.training.encoding_head import auc

    widths = [f">= {width} px" for width in AUC_WIDTHS[1:]]
    lines = [
        f"encoding head fitted on the tuning half: {pages} pages, {len(samples)} curated faces the encoder reads, "
        f"{len({s.document for s in samples})} documents; trained on faces of "
        f"{heads.report['min_train_width']:.0f} px and more, each also mirrored",
        "",
        "| head | faces (positive) | documents | folds | C | CV AUC | " + " | ".join(widths) + " | kept |",
        "|---|---:|---:|---:|---:|---:|" + "---:|" * len(widths) + "---|",
    ]
    sexed = [s for s in samples if s.gender in ("female", "male")]
    face_widths = {"gender": np.array([s.width for s in sexed]), "child": np.array([s.width for s in samples])}
    for name, choice in choices.items():
        width = face_widths[name]
        by_width = []
        for low in AUC_WIDTHS[1:]:
            kept = (width >= low) & ~np.isnan(choice.scores)
            by_width.append(_f(auc(choice.scores[kept], choice.labels[kept])))
        positive = "female" if name == "gender" else "child"
        lines.append(
            f"| {name} | {choice.faces} ({choice.positives} {positive}) | {choice.documents} | {choice.folds} | "
            f"{choice.c:g} | {_f(choice.auc)} | "
            + " | ".join(by_width)
            + f" | {'yes' if getattr(heads, name) else 'no'} |"
        )
    gender = choices.get("gender")
    if gender is not None and heads.gender is not None:
        p, female = gender.probabilities, gender.labels
        band = heads.gender_threshold
        rows = []
        for label, cls in (("women", female), ("men", ~female)):
            right = (p >= band) if label == "women" else (p <= 1 - band)
            other = (p <= 1 - band) if label == "women" else (p >= band)
            rows.append(f"{label} right {_f(right[cls].mean())}, other sex {_f(other[cls].mean())}")
        lines += ["", f"Out of fold, unknown band {band}: " + "; ".join(rows) + "."]
    child = choices.get("child")
    if child is not None and heads.child is not None:
        flagged = child.probabilities >= heads.child_threshold
        hits = int((flagged & child.labels).sum())
        lines += [
            f"Out of fold, child at {heads.child_threshold}: recall {_f(hits / max(child.labels.sum(), 1))}, "
            f"precision {_f(hits / flagged.sum() if flagged.sum() else None)}."
        ]
    return lines


def run_pages(pipeline, images: Sequence[LabelledImage], threshold: float) -> list[PageResult]:
    results = []
    for image in images:
        truths = [labelled for labelled in image.boxes if labelled.is_face]
        started = time.perf_counter()
        pixels, boxes = pipeline.detect(image)
        matched = match(boxes, [labelled.box for labelled in truths], IOU_THRESHOLD)
        pairs = []
        for box, truth_index in zip(boxes, matched, strict=True):
            if truth_index is None or box.score < threshold:
                continue
            read = pipeline.read(pixels, box)
            if read is None:
                continue
            truth = truths[truth_index]
            pairs.append(AttributePair(truth.gender, read[0], truth_child=truth.child, predicted_child=read[1]))
        results.append(
            PageResult(
                name=image.page,
                document=_document(image),
                scores=[box.score for box in boxes],
                hits=[index is not None for index in matched],
                truths=len(truths),
                seconds=time.perf_counter() - started,
                pairs=pairs,
            )
        )
    return results


def figures(pages: Sequence[PageResult], threshold: float) -> dict[str, float | None]:
    """Every reported figure on these pages (a bootstrap sample may repeat pages)."""
    scores = [score for page in pages for score in page.scores]
    hits = [hit for page in pages for hit in page.hits]
    truths = sum(page.truths for page in pages)
    # Matching is greedy by score, so the boxes at or above the threshold match as they would alone.
    kept = [hit for score, hit in zip(scores, hits, strict=True) if score >= threshold]
    true_positives = sum(kept)
    pairs = [pair for page in pages for pair in page.pairs]
    confusion = attribute_confusion(pairs)
    gender = {f.label: f for f in confusion.gender.per_class}
    child = {f.label: f for f in confusion.child.per_class}
    sexed = [pair for pair in pairs if pair.truth_gender in ("female", "male")]
    return {
        "AP@0.5": average_precision(scores, hits, truths),
        "precision": true_positives / len(kept) if kept else None,
        "recall": true_positives / truths if truths else None,
        "gender accuracy (curated female/male)": (
            sum(pair.truth_gender == pair.predicted_gender for pair in sexed) / len(sexed) if sexed else None
        ),
        "female recall": gender["female"].recall,
        "female precision": gender["female"].precision,
        "male recall": gender["male"].recall,
        "male precision": gender["male"].precision,
        "labelled as the other sex": confusion.other_sex_rate["overall"],
        "child recall": child["child"].recall,
        "child precision": child["child"].precision,
        "seconds per page": float(np.mean([page.seconds for page in pages])) if pages else None,
    }


def bootstrap(
    pages: Sequence[PageResult], statistic: Callable[[Sequence[PageResult]], dict[str, float | None]], samples: int
) -> dict[str, tuple[float, float] | None]:
    """95 % percentile intervals of each figure over page resamples (with replacement, fixed seed)."""
    rng = np.random.default_rng(SEED)
    drawn: dict[str, list[float]] = {}
    for _ in range(samples):
        sample = [pages[index] for index in rng.integers(0, len(pages), len(pages))]
        for name, value in statistic(sample).items():
            if value is not None:
                drawn.setdefault(name, []).append(value)
    intervals: dict[str, tuple[float, float] | None] = {}
    for name in statistic(pages):
        values = drawn.get(name, [])
        # An interval from a handful of defined resamples would claim more than it knows.
        intervals[name] = (
            (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
            if len(values) >= samples // 2
            else None
        )
    return intervals


def tuned_threshold(pages: Sequence[PageResult], target_precision: float) -> float | None:
    """The lowest threshold reaching the target precision on these pages (the best recall there)."""
    scores = [score for page in pages for score in page.scores]
    hits = [hit for page in pages for hit in page.hits]
    point = suggest_threshold(threshold_sweep(scores, hits, sum(page.truths for page in pages)), target_precision)
    return None if point is None else point.threshold


def confusion_table(title: str, matrix: ConfusionMatrix) -> list[str]:
    lines = [
        f"| {title} (rows curated) | " + " | ".join(matrix.classes) + " | recall |",
        "|---|" + "---:|" * (len(matrix.classes) + 1),
    ]
    for figures_of in matrix.per_class:
        lines.append(
            f"| {figures_of.label} | "
            + " | ".join(str(count) for count in figures_of.row)
            + f" | {_f(figures_of.recall)} |"
        )
    lines.append("| precision | " + " | ".join(_f(f.precision) for f in matrix.per_class) + " | |")
    return lines


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def labelme_from_dlib_boxes(folder: Path, out: Path) -> Path:
    """A LabelMe folder from dlib's `gt_boxes_from_xml.csv` (faces only, no attributes); each photo its own document."""
    boxes: dict[str, list[dict]] = {}
    sizes: dict[str, tuple[int, int]] = {}
    with (folder / "gt_boxes_from_xml.csv").open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            if row["ignore"] == "1":
                continue
            x, y, w, h = (float(row[key]) for key in ("x", "y", "w", "h"))
            sizes[row["file"]] = (int(row["img_w"]), int(row["img_h"]))
            boxes.setdefault(row["file"], []).append(
                {"label": "face", "shape_type": "rectangle", "points": [[x, y], [x + w, y + h]], "flags": {}}
            )
    out.mkdir(parents=True, exist_ok=True)
    for name, shapes in boxes.items():
        (out / name).write_bytes((folder / name).read_bytes())
        width, height = sizes[name]
        record = {"imagePath": name, "imageWidth": width, "imageHeight": height, "document": name, "shapes": shapes}
        (out / f"{Path(name).stem}.json").write_text(json.dumps(record), encoding="utf-8")
    return out


def labelme_from_generated_pages(out: Path, *, documents: int, pages_per_document: int) -> Path:
    """A LabelMe folder of generated newspaper pages (real portraits with gender and age, face-like ornaments)."""
    from PIL import Image

    from tests.support.model_loop_pages import curated_page

    out.mkdir(parents=True, exist_ok=True)
    for document in range(documents):
        for number in range(pages_per_document):
            seed = document * pages_per_document + number
            page = curated_page(seed, width=600, height=800, face_sizes=(30, 70), halftone=seed % 2 == 1)
            name = f"doc{document}-p{number}"
            Image.fromarray(page.pixels).save(out / f"{name}.jpg", quality=90)
            shapes = [
                {
                    "label": "face",
                    "shape_type": "rectangle",
                    "points": [[int(face.x), int(face.y)], [int(face.x + face.w), int(face.y + face.h)]],
                    "gender": face.gender,
                    "age": face.age,
                    "flags": {"child": face.age < 13},
                }
                for face in page.faces
            ] + [
                {
                    "label": "not_face",
                    "shape_type": "rectangle",
                    "points": [[int(x), int(y)], [int(x + w), int(y + h)]],
                    "flags": {},
                }
                for x, y, w, h in page.ornaments
            ]
            record = {"imagePath": f"{name}.jpg", "document": f"generated-{document}", "page": name, "shapes": shapes}
            (out / f"{name}.json").write_text(json.dumps(record), encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--labelme", type=Path, help="LabelMe folder (the dev set)")
    source.add_argument("--fixtures", type=Path, help="dlib's detection-gt folder of the shared fixtures")
    source.add_argument("--generated", action="store_true", help="generated newspaper pages (6 documents x 2 pages)")
    source.add_argument("--smoke", action="store_true", help="generated pages and stand-in models: checks the harness")
    parser.add_argument("--detector", default=DEFAULT_DETECTOR, help=f"registry name (default {DEFAULT_DETECTOR})")
    parser.add_argument(
        "--attributes",
        default="onnx-age-gender",
        help=f"attribute model, '{ENCODING_HEAD}' (fitted on the tuning half), or '' for boxes only",
    )
    parser.add_argument(
        "--head-features",
        choices=("encoding", "encoding+age-gender"),
        default="encoding",
        help=f"what the {ENCODING_HEAD} reads: the face encoding, or it and the shipped age/gender reading",
    )
    parser.add_argument(
        "--gender-threshold", type=float, default=0.6, help=f"the {ENCODING_HEAD}'s unknown band (as the models')"
    )
    parser.add_argument("--threshold", type=float, help="operating threshold (default: the detector's)")
    parser.add_argument("--target-precision", type=float, help="take the threshold from the tuning half instead")
    parser.add_argument("--tiling", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--max-face-share", type=float, default=MAX_FACE_SHARE)
    parser.add_argument(
        "--by-document",
        action="store_true",
        help="then each document's faces found and missed at the threshold, the documents missing the most first",
    )
    parser.add_argument(
        "--turned-faces",
        action="store_true",
        help="also read each page turned a quarter turn each way, as a run with turned faces does",
    )
    parser.add_argument(
        "--flip-average",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read each face and its mirror image and average (default: the attribute model's)",
    )
    parser.add_argument(
        "--half", choices=("reporting", "tuning", "all"), default="reporting", help="the pages the figures are read on"
    )
    parser.add_argument("--bootstrap", type=int, default=BOOTSTRAP_SAMPLES, help="resamples for the intervals")
    parser.add_argument(
        "--share-correction",
        action="store_true",
        help="measure how the attribute model reads the tuning half's matched women and men (as reviewed pages), "
        "then correct the women's share it reads on the reporting half, as the statistics do",
    )
    args = parser.parse_args()
    if args.attributes == ENCODING_HEAD and args.half != "reporting":
        parser.error(f"{ENCODING_HEAD} is fitted on the tuning half: read it on the reporting half only")
    if args.share_correction and args.half != "reporting":
        parser.error("--share-correction measures on the tuning half and corrects the reporting half")

    with tempfile.TemporaryDirectory() as scratch:
        if args.labelme:
            folder = args.labelme
        elif args.fixtures:
            folder = labelme_from_dlib_boxes(args.fixtures, Path(scratch) / "fixtures")
        else:
            folder = labelme_from_generated_pages(Path(scratch) / "generated", documents=6, pages_per_document=2)
        images = read_labelme_folder(folder)
        if not images:
            sys.exit(f"no LabelMe page with its image in {folder}")
        pipeline = (
            StandIn()
            if args.smoke
            else Pipeline(
                args.detector,
                args.attributes,
                tiling=args.tiling,
                max_face_share=args.max_face_share,
                flip_average=args.flip_average,
                turned_faces=args.turned_faces,
            )
        )
        tuning, reporting = split_by_document(images, frozen_split(folder))
        head_lines: list[str] = []
        if args.attributes == ENCODING_HEAD and not args.smoke:
            head_lines = fit_encoding_head(
                pipeline,
                tuning,
                features=tuple(args.head_features.split("+")),
                gender_threshold=args.gender_threshold,
            )
        if args.half == "all":
            reporting = images
        elif args.half == "tuning":
            # Exploring a change on the tuning half keeps the reporting half unseen.
            reporting = tuning
        threshold = pipeline.default_threshold if args.threshold is None else args.threshold
        threshold_from = "the detector's default" if args.threshold is None else "given"
        if args.target_precision is not None:
            tuned = tuned_threshold(run_pages(pipeline, tuning, math.inf), args.target_precision)
            if tuned is None:
                sys.exit(f"precision {args.target_precision} is not reached on the tuning half")
            threshold, threshold_from = tuned, f"the tuning half, lowest reaching precision {args.target_precision}"
        if not reporting:
            sys.exit("the reporting half is empty: give more documents, or --half all")
        pages = run_pages(pipeline, reporting, threshold)
        faces = sum(page.truths for page in pages)
        print(f"# heritage_eval: {pipeline.name}, threshold {threshold:.3f} ({threshold_from})")
        if head_lines:
            print("\n".join(head_lines))
            print()
        print(
            f"{len(images)} pages of {len({_document(i) for i in images})} documents in {folder.name}; "
            f"reading {len(pages)} pages ({args.half} half) of {len({p.document for p in pages})} documents, "
            f"{faces} faces, {sum(len(p.pairs) for p in pages)} matched faces read; "
            f"{args.bootstrap} bootstrap resamples of pages, seed {SEED}"
        )
        read = label_provenance(reporting)
        print(
            f"labels of these faces: {read['checked']} checked by a curator, {read['proposed']} left as the agent "
            f"proposed on pages a curator reviewed, {read['unchecked']} as the AI agent made them (unchecked)"
        )
        print()
        point = figures(pages, threshold)
        intervals = bootstrap(pages, lambda sample: figures(sample, threshold), args.bootstrap)
        print("| figure | value | 95 % interval |")
        print("|---|---:|---:|")
        for name, value in point.items():
            interval = intervals[name]
            digits = 2 if name == "seconds per page" else 3
            shown = "–" if interval is None else f"{_f(interval[0], digits)} – {_f(interval[1], digits)}"
            print(f"| {name} | {_f(value, digits)} | {shown} |")
        confusion = attribute_confusion([pair for page in pages for pair in page.pairs])
        print()
        print("\n".join(confusion_table("gender", confusion.gender)))
        print()
        print("\n".join(confusion_table("child", confusion.child)))
        if args.by_document:
            print()
            print("\n".join(document_table(pages, threshold)))
        if args.share_correction:
            print()
            print("\n".join(share_correction_report(run_pages(pipeline, tuning, threshold), pages)))


def document_table(pages: Sequence[PageResult], threshold: float) -> list[str]:
    """Where the faces are missed: each document's curated faces, those found and missed at the threshold, and
    the false boxes kept there, the documents missing the most first."""
    rows: dict[str, list[int]] = {}
    for page in pages:
        row = rows.setdefault(page.document, [0, 0, 0, 0])
        kept = [hit for score, hit in zip(page.scores, page.hits, strict=True) if score >= threshold]
        row[0] += 1
        row[1] += page.truths
        row[2] += sum(kept)
        row[3] += len(kept) - sum(kept)
    lines = [
        f"| document | pages | faces | found at {threshold:.3f} | missed | false boxes | recall |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for document, (count, faces, found, false) in sorted(
        rows.items(), key=lambda item: (item[1][2] - item[1][1], item[0])
    ):
        recall = _f(found / faces if faces else None)
        lines.append(f"| {document} | {count} | {faces} | {found} | {faces - found} | {false} | {recall} |")
    return lines


def share_correction_report(tuning: Sequence[PageResult], reporting: Sequence[PageResult]) -> list[str]:
    """The women's share the model reads on the reporting half's matched faces, corrected with the rates
    measured on the tuning half's (detection/inference/prevalence.py), beside the curated share; then
    the same with two women in three left out at random, a share far from a half as in most years of
    a press corpus, where the model's pull towards the middle is larger."""
    from detection.inference.prevalence import ReadingRates, ShareCorrector

    rates = ReadingRates.from_readings(
        ([(pair.truth_gender, pair.predicted_gender) for pair in page.pairs] for page in tuning),
        positive="female",
        negative="male",
    )
    pairs = [pair for page in reporting for pair in page.pairs]
    rng = np.random.default_rng(SEED)
    thinned = [pair for pair in pairs if pair.truth_gender != "female" or rng.random() < 1 / 3]
    true_positive, false_positive = rates.point_rates
    lines = [
        f"women's share, reporting half: rates measured on the tuning half's matched faces "
        f"({rates.positives} women, {rates.negatives} men on {rates.units} pages: women read as women "
        f"{_f(true_positive)}, men read as women {_f(false_positive)})",
        "",
        "| faces | curated (the truth) | read by the model | corrected | 95 % interval | faces read |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    corrector = None if rates.shortfall else ShareCorrector(rates)
    for label, sample in (("reporting half", pairs), ("reporting half, 1 woman in 3 kept (seed 0)", thinned)):
        women = sum(pair.truth_gender == "female" for pair in sample)
        men = sum(pair.truth_gender == "male" for pair in sample)
        read_women = sum(pair.predicted_gender == "female" for pair in sample)
        read_men = sum(pair.predicted_gender == "male" for pair in sample)
        corrected = corrector and corrector.share(
            labelled_positive=0, labelled_negative=0, read_positive=read_women, read_negative=read_men
        )
        estimate, interval = ("–", "–")
        if corrected:
            estimate, interval = _f(corrected[0]), f"{_f(corrected[1])} – {_f(corrected[2])}"
        lines.append(
            f"| {label} | {_f(women / (women + men) if women + men else None)} "
            f"| {_f(read_women / (read_women + read_men) if read_women + read_men else None)} "
            f"| {estimate} | {interval} | {read_women + read_men} |"
        )
    if rates.shortfall:
        lines += ["", f"no correction: {rates.shortfall}"]
    return lines


if __name__ == "__main__":
    main()
