"""Combinations of the encoding head and the shipped age/gender model on the heritage dev set's curated faces (#14).

    .venv/bin/python bench/heritage_heads.py --labelme bench/data/heritage_dev --cache /tmp/faces.npz  # tuning half
    .venv/bin/python bench/heritage_heads.py --labelme bench/data/heritage_dev --cache /tmp/faces.npz --report
    .venv/bin/python bench/heritage_heads.py --labelme bench/data/heritage_dev --cache /tmp/faces.npz --report --matched
    .venv/bin/python bench/heritage_heads.py --smoke      # generated features, no model: checks the harness

Every curated face of the dev set (split by document as `heritage_eval.py` splits it) is read once,
as it is and mirrored: its 128-d dlib encoding and `onnx-age-gender`'s mirror-averaged reading
(P(female), age). `--cache FILE` keeps those readings (written on the first run, read after), so
the combinations can be studied without running the models again.

On the tuning half, with 5 folds grouped by document (`detection.training.encoding_head`), each
gender reading gets out-of-fold P(female) for every woman and man:

- `onnx`: the shipped model as it reads (no fitting); `onnx-cal`: its logit, Platt-scaled;
- `head`: the encoding head (C by grouped cross-validation, calibrated on out-of-fold scores);
- `gate`: the head below a face width W, the calibrated `onnx` at and above it (W from WIDTHS);
- `stack`: a logistic regression on the head's logit, onnx's logit and log face width;
  `stack-x`: the same with each logit's product with log width (the weight of each may follow width).

A reading's unknown band (and the gate's W) is chosen on the training folds: among the bands where
women and men are each labelled as the other sex at most MAX_OTHER_SEX of the time, the one with the
most faces right in the worse-served sex (#14's targets are per sex); where no band gets there, the
one with the lowest worse other-sex rate. Applied to the held-out fold, this is the nested figure;
the band chosen on all out-of-fold readings is printed too (what a model fitted on the whole tuning
half would use). The reading chosen for the reporting half is the one with the most faces right in
the worse-served sex at that band, out of fold. The child flag: `onnx-age-gender`'s age under
CHILD_AGE (no fitting), and a child head on the encodings with each document's children weighing at
most DOCUMENT_CHILDREN faces (so one crowd does not make the head), out-of-fold AUC.

`--report` then fits every reading on the whole tuning half and reads the reporting half's curated
boxes once (every face, found by a detector or not). `--matched` also reads the faces res10 (tiled)
finds at its default threshold, the ones `heritage_eval.py` reads, on res10's boxes as a run reads
them: the tuning half's out of fold (readings fitted on the other folds' curated boxes) and, with
`--report`, the reporting half's. Nothing is written but the cache.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from heritage_eval import _f  # noqa: E402

from detection.inference.encoding_head import sigmoid  # noqa: E402
from detection.training.encoding_head import (  # noqa: E402
    FaceSample,
    auc,
    balanced_weights,
    choose_c,
    document_folds,
    fit_logistic,
    platt,
)

MAX_OTHER_SEX = 0.05
BANDS = tuple(np.round(np.arange(0.5, 0.9951, 0.005), 3))
WIDTHS = (0.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 50.0, 60.0, 80.0, math.inf)
READINGS = ("onnx", "onnx-cal", "head", "gate", "stack", "stack-x")
CHILD_AGE = 13.0
DOCUMENT_CHILDREN = 5.0
CHILD_C = (1e-5, 1e-4, 1e-3, 1e-2)
# The stacked regressions' inverse regularisation: almost none for three features, some for five.
STACK_C = {"stack": 1e6, "stack-x": 10.0}


@dataclass
class Faces:
    """Curated faces' readings: encodings (n, 2, 128; as it is and mirrored), onnx's logit of P(female) and age."""

    encodings: np.ndarray
    onnx_logit: np.ndarray
    onnx_age: np.ndarray
    width: np.ndarray
    document: np.ndarray
    gender: np.ndarray
    child: np.ndarray
    half: np.ndarray
    page: np.ndarray
    # (x1, y1, x2, y2) of each curated box, to find the faces a detector matched.
    box: np.ndarray

    def take(self, keep: np.ndarray) -> Faces:
        return Faces(**{name: value[keep] for name, value in vars(self).items()})

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **vars(self))

    @classmethod
    def load(cls, path: Path) -> Faces:
        with np.load(path, allow_pickle=False) as data:
            return cls(**{name: data[name] for name in data.files})


def read_faces(folder: Path) -> tuple[Faces, int]:
    """Every curated face's readings (faces the encoder cannot read are left out; their count is returned)."""
    from heritage_eval import _document, frozen_split, split_by_document

    from detection.inference.encoding_head import FaceFeatures
    from detection.inference.types import AGE_SCALE
    from detection.training.data import read_labelme_folder

    tuning, reporting = split_by_document(read_labelme_folder(folder), frozen_split(folder))
    reader = FaceFeatures(("encoding", "age-gender"))
    columns: dict[str, list] = {name: [] for name in Faces.__dataclass_fields__}
    unread = 0
    for half, images in (("tuning", tuning), ("reporting", reporting)):
        for image in images:
            faces = [labelled for labelled in image.boxes if labelled.is_face]
            pixels = image.load() if faces else None
            for labelled in faces:
                rows = reader.of(pixels, labelled.box)
                if rows is None:
                    unread += 1
                    continue
                columns["encodings"].append(rows[:, :-2])
                columns["onnx_logit"].append(rows[0, -2])
                columns["onnx_age"].append(rows[0, -1] * AGE_SCALE)
                columns["width"].append(labelled.box.width)
                columns["document"].append(_document(image))
                columns["gender"].append(labelled.gender)
                columns["child"].append(labelled.child)
                columns["half"].append(half)
                columns["page"].append(image.page)
                columns["box"].append((labelled.box.x1, labelled.box.y1, labelled.box.x2, labelled.box.y2))
    return Faces(**{name: np.asarray(values) for name, values in columns.items()}), unread


def generated_faces(seed: int = 0) -> Faces:
    """Readings of generated faces for --smoke: 12 documents of 20 faces (7 women, 4 children each), the sex on
    the first encoding dimension and in onnx's logit (wider faces read better), the child in onnx's age."""
    rng = np.random.default_rng(seed)
    n = 240
    index = np.arange(n) // 12
    female = index % 3 == 0
    sign = np.where(female, 1.0, -1.0)
    width = rng.uniform(12, 90, n)
    encodings = rng.normal(size=(n, 2, 8))
    encodings[:, :, 0] += 1.5 * sign[:, None]
    onnx_logit = sign * width / 20 + rng.normal(size=n)
    document = np.array([f"doc{i % 12}" for i in range(n)])
    return Faces(
        encodings=encodings,
        onnx_logit=onnx_logit,
        onnx_age=np.where(index % 5 == 0, 8.0, 40.0) + rng.normal(scale=3, size=n),
        width=width,
        document=document,
        gender=np.where(female, "female", "male"),
        child=index % 5 == 0,
        half=np.where(np.isin(document, [f"doc{i}" for i in range(8)]), "tuning", "reporting"),
        page=document,
        box=np.zeros((n, 4)),
    )


def rates(p_female: np.ndarray, female: np.ndarray, band: float) -> dict[str, float]:
    """Right and other-sex rates of women and of men at this unknown band (a class without faces reads 0)."""
    read_female, read_male = p_female >= band, p_female <= 1 - band

    def share(flags, cls):
        return float(flags[cls].mean()) if cls.any() else 0.0

    return {
        "women right": share(read_female, female),
        "women other": share(read_male, female),
        "men right": share(read_male, ~female),
        "men other": share(read_female, ~female),
    }


def band_key(p_female: np.ndarray, female: np.ndarray, band: float) -> tuple:
    """How good a band is: meeting MAX_OTHER_SEX for both sexes first, then the worse-served sex's right rate
    (or, short of the cap, the lower worse other-sex rate)."""
    r = rates(p_female, female, band)
    worse_other = max(r["women other"], r["men other"])
    meets = worse_other <= MAX_OTHER_SEX
    return (meets, min(r["women right"], r["men right"]) if meets else -worse_other)


def choose_band(p_female: np.ndarray, female: np.ndarray) -> float:
    return float(max(BANDS, key=lambda band: (band_key(p_female, female, band), -band)))


Reading = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def fit_reading(kind: str, head_logit, onnx_logit, width, female) -> Reading:
    """A reading P(female) of (head logit, onnx logit, width), fitted on these faces (their head logits out of fold)."""
    if kind == "onnx":
        return lambda h, o, w: sigmoid(o)
    a, b = platt(onnx_logit, female)
    if kind == "onnx-cal":
        return lambda h, o, w: sigmoid(a * o + b)
    if kind == "head":
        return lambda h, o, w: sigmoid(h)
    if kind == "gate":

        def gated(cut):
            return lambda h, o, w: np.where(w < cut, sigmoid(h), sigmoid(a * o + b))

        def quality(cut):
            p = gated(cut)(head_logit, onnx_logit, width)
            return band_key(p, female, choose_band(p, female))

        best = max(WIDTHS, key=quality)
        reading = gated(best)
        reading.width = best
        return reading
    if kind in STACK_C:
        stack = fit_logistic(
            stack_features(kind, head_logit, onnx_logit, width),
            female,
            c=STACK_C[kind],
            weights=balanced_weights(female),
        )
        return lambda h, o, w: sigmoid(stack.logit(stack_features(kind, h, o, w)))
    raise ValueError(f"unknown reading {kind!r}")


def stack_features(kind: str, head_logit, onnx_logit, width) -> np.ndarray:
    log_width = np.log(width)
    columns = [head_logit, onnx_logit, log_width]
    if kind == "stack-x":
        columns += [head_logit * log_width, onnx_logit * log_width]
    return np.stack(columns, axis=1)


@dataclass
class Gender:
    """The tuning half's sexed faces and the head's out-of-fold (calibrated) logit for each."""

    faces: Faces
    female: np.ndarray
    folds: np.ndarray
    head_logit: np.ndarray
    c: float
    calibration: tuple[float, float]
    head_auc: float | None


def samples_of(faces: Faces) -> list[FaceSample]:
    return [
        FaceSample(
            rows=faces.encodings[i],
            gender=str(faces.gender[i]),
            child=bool(faces.child[i]),
            document=str(faces.document[i]),
            width=float(faces.width[i]),
        )
        for i in range(len(faces.width))
    ]


def gender_cv(tuning: Faces) -> Gender:
    sexed = tuning.take(np.isin(tuning.gender, ("female", "male")))
    female = sexed.gender == "female"
    choice = choose_c(samples_of(sexed), female)
    a, b = choice.calibration
    return Gender(
        faces=sexed,
        female=female,
        folds=document_folds(list(sexed.document), female),
        head_logit=a * choice.scores + b,
        c=choice.c,
        calibration=choice.calibration,
        head_auc=choice.auc,
    )


def nested(kind: str, g: Gender) -> tuple[np.ndarray, np.ndarray, list]:
    """Out-of-fold P(female), each face's band (chosen on the other folds), and each fold's chosen width (gate)."""
    p = np.full(len(g.female), np.nan)
    bands = np.full(len(g.female), np.nan)
    widths = []
    f = g.faces
    for fold in np.unique(g.folds):
        train, test = g.folds != fold, g.folds == fold
        reading = fit_reading(kind, g.head_logit[train], f.onnx_logit[train], f.width[train], g.female[train])
        bands[test] = choose_band(reading(g.head_logit[train], f.onnx_logit[train], f.width[train]), g.female[train])
        p[test] = reading(g.head_logit[test], f.onnx_logit[test], f.width[test])
        widths.append(getattr(reading, "width", None))
    return p, bands, widths


def confusion(p_female: np.ndarray, female: np.ndarray, band) -> dict[str, tuple[int, int, int]]:
    """(right, other sex, unknown) counts of women and of men; `band` a number or one per face."""
    band = np.broadcast_to(np.asarray(band, dtype=float), p_female.shape)
    read_female, read_male = p_female >= band, p_female <= 1 - band
    result = {}
    for name, cls, right, other in (
        ("women", female, read_female, read_male),
        ("men", ~female, read_male, read_female),
    ):
        result[name] = (int(right[cls].sum()), int(other[cls].sum()), int((cls & ~right & ~other).sum()))
    return result


def confusion_row(label: str, band: str, counts: dict[str, tuple[int, int, int]]) -> str:
    cells = [label, band]
    for name in ("women", "men"):
        right, other, unknown = counts[name]
        total = max(right + other + unknown, 1)
        cells += [f"{right} / {other} / {unknown}", f"{right / total:.3f}", f"{other / total:.3f}"]
    return "| " + " | ".join(cells) + " |"


HEADER = [
    "| reading | band | women right / as men / unknown | women right | women as men "
    "| men right / as women / unknown | men right | men as women |",
    "|---|---:|---|---:|---:|---|---:|---:|",
]


def worse_right(counts: dict[str, tuple[int, int, int]]) -> float:
    return min(c[0] / max(sum(c), 1) for c in counts.values())


def gender_tables(g: Gender) -> tuple[list[str], dict[str, float], str]:
    """The tuning half's out-of-fold tables, each reading's band chosen on all its out-of-fold readings,
    and the reading chosen for the reporting half."""
    f = g.faces
    lines = [
        f"Gender, tuning half out of fold: {len(g.female)} faces ({int(g.female.sum())} women, "
        f"{int((~g.female).sum())} men) of {len(set(f.document))} documents, {len(set(g.folds))} folds by document; "
        f"head C {g.c:g}, out-of-fold AUC {_f(g.head_auc)}; onnx AUC {_f(auc(f.onnx_logit, g.female))}",
        "",
        "Nested (band, and the gate's width, chosen on the other folds):",
        "",
        *HEADER,
    ]
    out_of_fold = {}
    for kind in READINGS:
        p, bands, widths = nested(kind, g)
        out_of_fold[kind] = p
        label = kind if kind != "gate" else f"gate (W per fold: {', '.join(_w(w) for w in widths)})"
        lines.append(
            confusion_row(label, f"{np.nanmin(bands):.3f}–{np.nanmax(bands):.3f}", confusion(p, g.female, bands))
        )
    lines += ["", "Band chosen on all out-of-fold readings (and at 0.6, the models' default):", "", *HEADER]
    chosen_bands, scores = {}, {}
    for kind in READINGS:
        p = out_of_fold[kind]
        band = choose_band(p, g.female)
        chosen_bands[kind] = band
        counts = confusion(p, g.female, band)
        scores[kind] = worse_right(counts) if band_key(p, g.female, band)[0] else -1.0
        lines.append(confusion_row(kind, f"{band:.3f}", counts))
        lines.append(confusion_row(f"{kind} at 0.6", "0.600", confusion(p, g.female, 0.6)))
    lines += [
        "",
        "Gender AUC out of fold by curated width (women / men):",
        "",
        "| reading | " + " | ".join(f">= {w:g} px" for w in (0, 20, 25, 40)) + " |",
        "|---|" + "---:|" * 4,
    ]
    for kind in READINGS:
        cells = []
        for low in (0, 20, 25, 40):
            keep = f.width >= low
            cells.append(
                f"{_f(auc(out_of_fold[kind][keep], g.female[keep]))} "
                f"({int(g.female[keep].sum())} / {int((~g.female[keep]).sum())})"
            )
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    chosen = max(READINGS, key=lambda kind: (scores[kind], -READINGS.index(kind)))
    lines += [
        "",
        f"Chosen for the reporting half: {chosen} (band {chosen_bands[chosen]:.3f}; most faces right in the "
        f"worse-served sex at a band meeting <= {MAX_OTHER_SEX} other sex out of fold).",
    ]
    return lines, chosen_bands, chosen


def child_tables(tuning: Faces, reporting: Faces | None) -> list[str]:
    lines = [
        "",
        "Children:",
        "",
        "| reading | half | children (documents) | recall | precision | AUC |",
        "|---|---|---:|---:|---:|---:|",
    ]
    halves = [("tuning", tuning)] + ([("reporting", reporting)] if reporting is not None else [])
    for name, faces in halves:
        flagged = faces.onnx_age < CHILD_AGE
        lines.append(_child_row(f"onnx age < {CHILD_AGE:g}", name, flagged, faces, auc(-faces.onnx_age, faces.child)))
    child = tuning.child
    if child.sum() >= 3 and (~child).sum() >= 3:
        folds = document_folds(list(tuning.document), child)
        for c in CHILD_C:
            for capped in (False, True):
                scores = child_out_of_fold(tuning, folds, c=c, capped=capped)
                read = ~np.isnan(scores)
                label = f"child head C {c:g}" + (f", {DOCUMENT_CHILDREN:g} children a document" if capped else "")
                lines.append(
                    f"| {label} | tuning, out of fold | {int(child.sum())} ({len(set(tuning.document[child]))}) "
                    f"| | | {_f(auc(scores[read], child[read]))} |"
                )
    return lines


def _child_row(label, half, flagged, faces, area) -> str:
    hits = int((flagged & faces.child).sum())
    return (
        f"| {label} | {half} | {int(faces.child.sum())} ({len(set(faces.document[faces.child]))}) | "
        f"{hits} / {int(faces.child.sum())} = {_f(hits / faces.child.sum() if faces.child.any() else None)} | "
        f"{hits} / {int(flagged.sum())} = {_f(hits / flagged.sum() if flagged.any() else None)} | {_f(area)} |"
    )


def child_weights(child: np.ndarray, documents: np.ndarray) -> np.ndarray:
    """Each document's children weigh at most DOCUMENT_CHILDREN faces in all; then both classes weigh half."""
    weights = np.ones(len(child))
    for document in set(documents[child]):
        theirs = child & (documents == document)
        weights[theirs] = min(1.0, DOCUMENT_CHILDREN / theirs.sum())
    positives, negatives = weights[child].sum(), weights[~child].sum()
    return np.where(child, weights * len(child) / (2 * positives), weights * len(child) / (2 * negatives))


def child_out_of_fold(faces: Faces, folds: np.ndarray, *, c: float, capped: bool, min_width: float = 20.0):
    scores = np.full(len(faces.child), np.nan)
    for fold in np.unique(folds):
        train = np.flatnonzero((folds != fold) & (faces.width >= min_width))
        test = np.flatnonzero(folds == fold)
        labels = faces.child[train]
        if not labels.any() or labels.all():
            continue
        weights = child_weights(labels, faces.document[train]) if capped else balanced_weights(labels)
        dims = faces.encodings.shape[2]
        head = fit_logistic(
            faces.encodings[train].reshape(-1, dims), np.repeat(labels, 2), c=c, weights=np.repeat(weights, 2)
        )
        scores[test] = head.logit(faces.encodings[test].reshape(-1, dims)).reshape(-1, 2).mean(axis=1)
    return scores


def report_half(g: Gender, reporting: Faces, bands: dict[str, float], chosen: str, *, which: str) -> list[str]:
    """Every reading fitted on the whole tuning half, read once on these faces of the reporting half."""
    from detection.training.encoding_head import fit_head, head_scores

    sexed = reporting.take(np.isin(reporting.gender, ("female", "male")))
    female = sexed.gender == "female"
    head = fit_head(samples_of(g.faces), g.female, c=g.c)
    a, b = g.calibration
    head_logit = a * head_scores(head, samples_of(sexed)) + b
    lines = [
        "",
        f"Reporting half, read once ({which}): {len(female)} faces ({int(female.sum())} women, "
        f"{int((~female).sum())} men) of {len(set(sexed.document))} documents; each reading fitted on the whole "
        f"tuning half, at the band chosen there (chosen reading: {chosen}):",
        "",
        *HEADER,
    ]
    f = g.faces
    for kind in READINGS:
        reading = fit_reading(kind, g.head_logit, f.onnx_logit, f.width, g.female)
        p = reading(head_logit, sexed.onnx_logit, sexed.width)
        label = (
            kind + (f" (W {_w(reading.width)})" if kind == "gate" else "") + (" **chosen**" if kind == chosen else "")
        )
        lines.append(confusion_row(label, f"{bands[kind]:.3f}", confusion(p, female, bands[kind])))
        lines.append(confusion_row(f"{kind} at 0.6", "0.600", confusion(p, female, 0.6)))
        lines.append(f"| {kind} AUC | {_f(auc(p, female))} | | | | | | |")
    flagged = reporting.onnx_age < CHILD_AGE
    lines += [
        "",
        _child_row(f"onnx age < {CHILD_AGE:g}", which, flagged, reporting, auc(-reporting.onnx_age, reporting.child)),
    ]
    return lines


def found_out_of_fold(g: Gender, found: Faces) -> list[str]:
    """The tuning half's faces the detector finds, each read on its box: every reading fitted on the other folds'
    curated boxes (as in `nested`), the held-out fold's found faces read with it."""
    from detection.training.encoding_head import fit_head, head_scores

    sexed = found.take(np.isin(found.gender, ("female", "male")))
    female = sexed.gender == "female"
    fold_of = dict(zip(g.faces.document, g.folds, strict=True))
    folds = np.array([fold_of[document] for document in sexed.document])
    a, b = g.calibration
    head_logit = np.full(len(female), np.nan)
    samples = samples_of(g.faces)
    for fold in np.unique(folds):
        train = g.folds != fold
        head = fit_head([s for s, kept in zip(samples, train, strict=True) if kept], g.female[train], c=g.c)
        test = folds == fold
        head_logit[test] = a * head_scores(head, samples_of(sexed.take(test))) + b
    lines = [
        "",
        f"Tuning half, the faces res10 (tiled) finds at its default threshold, read on its boxes, out of fold: "
        f"{len(female)} faces ({int(female.sum())} women, {int((~female).sum())} men) of "
        f"{len(set(sexed.document))} documents; readings and bands from the other folds' curated boxes:",
        "",
        *HEADER,
    ]
    f = g.faces
    for kind in READINGS:
        p = np.full(len(female), np.nan)
        bands = np.full(len(female), np.nan)
        for fold in np.unique(folds):
            train, test = g.folds != fold, folds == fold
            reading = fit_reading(kind, g.head_logit[train], f.onnx_logit[train], f.width[train], g.female[train])
            bands[test] = choose_band(
                reading(g.head_logit[train], f.onnx_logit[train], f.width[train]), g.female[train]
            )
            p[test] = reading(head_logit[test], sexed.onnx_logit[test], sexed.width[test])
        lines.append(confusion_row(kind, f"{np.nanmin(bands):.3f}–{np.nanmax(bands):.3f}", confusion(p, female, bands)))
        lines.append(confusion_row(f"{kind} at 0.6", "0.600", confusion(p, female, 0.6)))
        lines.append(f"| {kind} AUC | {_f(auc(p, female))} | | | | | | |")
    return lines


def found_faces(folder: Path, faces: Faces, detector: str = "res10") -> Faces:
    """The curated faces the detector finds at its default threshold (run as `heritage_eval.py` runs it), each
    read on the detector's box, as a run reads it (curated labels kept; faces the encoder cannot read there are
    left out)."""
    from heritage_eval import MAX_FACE_SHARE, Pipeline

    from detection.inference.encoding_head import FaceFeatures
    from detection.inference.metrics import IOU_THRESHOLD, match
    from detection.inference.types import AGE_SCALE
    from detection.training.data import read_labelme_folder

    pipeline = Pipeline(detector, "", tiling=None, max_face_share=MAX_FACE_SHARE)
    reader = FaceFeatures(("encoding", "age-gender"))
    pages = set(faces.page)
    found: dict[tuple[str, tuple[float, ...]], tuple[np.ndarray, float]] = {}
    for image in read_labelme_folder(folder):
        if image.page not in pages:
            continue
        truths = [labelled.box for labelled in image.boxes if labelled.is_face]
        pixels, boxes = pipeline.detect(image)
        for box, index in zip(boxes, match(boxes, truths, IOU_THRESHOLD), strict=True):
            if index is None or box.score < pipeline.default_threshold:
                continue
            rows = reader.of(pixels, box)
            if rows is not None:
                truth = truths[index]
                found[(image.page, (truth.x1, truth.y1, truth.x2, truth.y2))] = (rows, box.width)
    keys = [(str(page), tuple(map(float, box))) for page, box in zip(faces.page, faces.box, strict=True)]
    keep = np.array([key in found for key in keys])
    read = [found[key] for key in keys if key in found]
    return replace(
        faces.take(keep),
        encodings=np.stack([rows[:, :-2] for rows, _ in read]),
        onnx_logit=np.array([rows[0, -2] for rows, _ in read]),
        onnx_age=np.array([rows[0, -1] * AGE_SCALE for rows, _ in read]),
        width=np.array([width for _, width in read]),
    )


def _w(width) -> str:
    return "–" if width is None else ("∞" if math.isinf(width) else f"{width:g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--labelme", type=Path, help="LabelMe folder (the dev set)")
    source.add_argument("--smoke", action="store_true", help="generated readings, no model: checks the harness")
    parser.add_argument("--cache", type=Path, help="the faces' readings: written if missing, read if there")
    parser.add_argument("--report", action="store_true", help="then read the reporting half once")
    parser.add_argument(
        "--matched", action="store_true", help="also the faces res10 finds, read on its boxes (as heritage_eval.py)"
    )
    args = parser.parse_args()
    unread = 0
    if args.smoke:
        faces = generated_faces()
    elif args.cache and args.cache.exists():
        faces = Faces.load(args.cache)
    else:
        faces, unread = read_faces(args.labelme)
        if args.cache:
            faces.save(args.cache)
    tuning, reporting = faces.take(faces.half == "tuning"), faces.take(faces.half == "reporting")
    print(
        f"# heritage_heads: {len(faces.width)} curated faces read ({unread} too small to encode), "
        f"tuning half {len(tuning.width)} of {len(set(tuning.document))} documents, "
        f"reporting half {len(reporting.width)} of {len(set(reporting.document))} documents"
    )
    print()
    g = gender_cv(tuning)
    lines, bands, chosen = gender_tables(g)
    print("\n".join(lines))
    print("\n".join(child_tables(tuning, reporting if args.report else None)))
    if args.matched and args.labelme:
        print("\n".join(found_out_of_fold(g, found_faces(args.labelme, tuning))))
    if args.report:
        print("\n".join(report_half(g, reporting, bands, chosen, which="curated boxes, every face")))
        if args.matched and args.labelme:
            which = "the faces res10 (tiled) finds at its default threshold, read on its boxes"
            print("\n".join(report_half(g, found_faces(args.labelme, reporting), bands, chosen, which=which)))


if __name__ == "__main__":
    main()
