"""Detection and attribute metrics against curated faces: IoU matching, P/R/F1, AP, threshold sweep.

Conventions (COCO's, so numbers compare with published detector results):
- Matching is greedy in descending score order (a stable sort: equal scores keep their input
  order). Each prediction takes the still-unmatched truth it overlaps most, if that IoU reaches
  the threshold (ties go to the first truth). A second box on an already-matched face is a
  false positive.
- AP is COCO's 101-point interpolated average precision: precision is made monotone (each
  point takes the best precision at any higher recall), then read at recall 0, 0.01, ..., 1
  and averaged; a recall level never reached contributes 0. It is slightly above VOC's
  all-points area when the curve has steps. AP@0.5:0.95 is the mean of AP at IoU 0.50,
  0.55, ..., 0.95.
- Undefined ratios are None, never 0 or 1: precision without predictions, recall and AP
  without truths.
- Size buckets use the square root of the box area (COCO's areas 32² and 96²): a truth counts
  in its own bucket; a prediction matched to a truth counts in that truth's bucket, an
  unmatched one in its own bucket. (COCO re-matches within each area range; matching once is
  simpler and differs only when a box straddles a bucket edge.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .types import Detection

IOU_THRESHOLD = 0.5
# Runs keep (and fresh evaluations read) boxes down to this score, so a threshold sweep can
# reach below a detector's default threshold.
EVALUATION_FLOOR = 0.1
COCO_IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * step, 2) for step in range(10))
RECALL_LEVELS = np.linspace(0.0, 1.0, 101)
# (name, lower, upper) bounds of sqrt(box area) in pixels; lower inclusive, upper exclusive.
SIZE_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("small", 0.0, 32.0),
    ("medium", 32.0, 96.0),
    ("large", 96.0, math.inf),
)
# A precision–recall curve for a chart needs no more points than this.
MAX_CURVE_POINTS = 200

# One evaluated image: the model's boxes (with scores) and the curated truth boxes.
ImagePair = tuple[Sequence[Detection], Sequence[Detection]]


def match(
    predictions: Sequence[Detection], truths: Sequence[Detection], iou_threshold: float = IOU_THRESHOLD
) -> list[int | None]:
    """For each prediction, in input order, the index of the truth it matched, or None."""
    if not predictions:
        return []
    matched: list[int | None] = [None] * len(predictions)
    if not truths:
        return matched
    overlaps = iou_matrix(predictions, truths)
    taken = np.zeros(len(truths), dtype=bool)
    order = sorted(range(len(predictions)), key=lambda index: -predictions[index].score)
    for index in order:
        candidates = np.where(taken, -1.0, overlaps[index])
        best = int(np.argmax(candidates))
        if candidates[best] >= iou_threshold:
            matched[index] = best
            taken[best] = True
    return matched


def iou_matrix(first: Sequence[Detection], second: Sequence[Detection]) -> np.ndarray:
    """IoU of every box of `first` (rows) with every box of `second` (columns)."""
    a = np.array([(d.x1, d.y1, d.x2, d.y2) for d in first], dtype=np.float64).reshape(-1, 4)
    b = np.array([(d.x1, d.y1, d.x2, d.y2) for d in second], dtype=np.float64).reshape(-1, 4)
    widths = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    heights = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    shared = widths * heights
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - shared
    return np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)


def average_precision(scores: Sequence[float], is_true: Sequence[bool], n_truths: int) -> float | None:
    """COCO 101-point interpolated AP of scored predictions flagged true/false positive."""
    if n_truths == 0:
        return None
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    hits = np.asarray(is_true, dtype=bool)[order]
    true_positives = np.cumsum(hits)
    precision = true_positives / np.arange(1, len(hits) + 1)
    recall = true_positives / n_truths
    # The envelope: at each rank, the best precision reachable at this recall or beyond.
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    ranks = np.searchsorted(recall, RECALL_LEVELS, side="left")
    reached = ranks < len(recall)
    values = np.zeros_like(RECALL_LEVELS)
    values[reached] = envelope[ranks[reached]]
    return float(values.mean())


@dataclass(frozen=True)
class SweepPoint:
    """Counts and ratios when only predictions scoring at least `threshold` are kept."""

    threshold: float
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float | None
    recall: float | None
    f1: float | None


@dataclass(frozen=True)
class SizeReport:
    """Detection metrics restricted to one face-size bucket."""

    name: str
    truths: int
    predictions: int
    true_positives: int
    precision: float | None
    recall: float | None
    ap50: float | None


@dataclass(frozen=True)
class DetectionReport:
    """How a detector's boxes compare with the truth over a set of images."""

    images: int
    truths: int
    predictions: int
    score_threshold: float
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float | None
    recall: float | None
    f1: float | None
    ap50: float | None
    ap50_95: float | None
    by_size: list[SizeReport]
    sweep: list[SweepPoint]
    # Per image, (prediction index, truth index) pairs matched at IoU 0.5 among the kept predictions.
    matches: list[list[tuple[int, int]]] = field(repr=False)

    def suggest_threshold(self, target_precision: float) -> SweepPoint | None:
        """The sweep point with the best recall whose precision reaches the target; None if none does."""
        return suggest_threshold(self.sweep, target_precision)

    def best_f1(self) -> SweepPoint | None:
        """The sweep point with the highest F1 (the higher threshold on ties)."""
        scored = [point for point in self.sweep if point.f1 is not None]
        return max(scored, key=lambda point: (point.f1, point.threshold), default=None)


def ratios(
    true_positives: int, false_positives: int, false_negatives: int
) -> tuple[float | None, float | None, float | None]:
    """Precision, recall and F1 from counts; None where the denominator is empty."""
    predicted = true_positives + false_positives
    actual = true_positives + false_negatives
    precision = true_positives / predicted if predicted else None
    recall = true_positives / actual if actual else None
    if not predicted and not actual:
        return precision, recall, None
    f1 = 2 * true_positives / (predicted + actual)
    return precision, recall, f1


def evaluate_detections(images: Sequence[ImagePair], *, score_threshold: float = 0.0) -> DetectionReport:
    """Compare predictions with truths, image by image; predictions below the threshold are dropped."""
    kept_images = [
        ([d for d in predictions if d.score >= score_threshold], list(truths)) for predictions, truths in images
    ]
    scores: list[float] = []
    hits: list[bool] = []
    truth_sizes: list[float] = []
    matched_truth_sizes: list[float] = []
    prediction_sizes: list[float] = []
    matches: list[list[tuple[int, int]]] = []
    for predictions, truths in kept_images:
        pairs = match(predictions, truths)
        matches.append([(p, t) for p, t in enumerate(pairs) if t is not None])
        truth_sizes.extend(_size(t) for t in truths)
        for prediction, truth in zip(predictions, pairs, strict=True):
            scores.append(prediction.score)
            hits.append(truth is not None)
            prediction_sizes.append(_size(prediction))
            matched_truth_sizes.append(_size(truths[truth]) if truth is not None else math.nan)
    n_truths = len(truth_sizes)
    true_positives = sum(hits)
    false_positives = len(hits) - true_positives
    false_negatives = n_truths - true_positives
    precision, recall, f1 = ratios(true_positives, false_positives, false_negatives)
    return DetectionReport(
        images=len(kept_images),
        truths=n_truths,
        predictions=len(hits),
        score_threshold=score_threshold,
        true_positives=true_positives,
        false_positives=false_positives,
        false_negatives=false_negatives,
        precision=precision,
        recall=recall,
        f1=f1,
        ap50=average_precision(scores, hits, n_truths),
        ap50_95=_ap_over_ious(kept_images),
        by_size=_by_size(scores, hits, prediction_sizes, matched_truth_sizes, truth_sizes),
        sweep=threshold_sweep(scores, hits, n_truths),
        matches=matches,
    )


def threshold_sweep(scores: Sequence[float], is_true: Sequence[bool], n_truths: int) -> list[SweepPoint]:
    """Precision, recall and F1 at each distinct score used as the threshold, highest first.

    Greedy matching runs in score order, so the boxes kept at a threshold match exactly as
    they did in the full run: the counts at each threshold are prefix sums. Long curves are
    thinned to about MAX_CURVE_POINTS, always keeping the lowest threshold.
    """
    if len(scores) == 0:
        return []
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    sorted_scores = np.asarray(scores, dtype=np.float64)[order]
    true_positives = np.cumsum(np.asarray(is_true, dtype=bool)[order])
    # The last rank of each run of equal scores: a threshold keeps all of them or none.
    ends = np.flatnonzero(np.append(sorted_scores[1:] != sorted_scores[:-1], True))
    if len(ends) > MAX_CURVE_POINTS:
        step = math.ceil(len(ends) / MAX_CURVE_POINTS)
        ends = np.unique(np.append(ends[::step], ends[-1]))
    points = []
    for end in ends:
        tp = int(true_positives[end])
        fp = int(end + 1 - tp)
        fn = n_truths - tp
        precision, recall, f1 = ratios(tp, fp, fn)
        points.append(SweepPoint(float(sorted_scores[end]), tp, fp, fn, precision, recall, f1))
    return points


def suggest_threshold(sweep: Sequence[SweepPoint], target_precision: float) -> SweepPoint | None:
    """The lowest threshold (so the best recall) whose precision is at least the target."""
    good = [point for point in sweep if point.precision is not None and point.precision >= target_precision]
    return min(good, key=lambda point: point.threshold, default=None)


def _size(box: Detection) -> float:
    return math.sqrt(max(box.area, 0.0))


def _bucket_of(size: float) -> str:
    for name, lower, upper in SIZE_BUCKETS:
        if lower <= size < upper:
            return name
    return SIZE_BUCKETS[-1][0]


def _by_size(
    scores: list[float],
    hits: list[bool],
    prediction_sizes: list[float],
    matched_truth_sizes: list[float],
    truth_sizes: list[float],
) -> list[SizeReport]:
    reports = []
    for name, _lower, _upper in SIZE_BUCKETS:
        n_truths = sum(1 for size in truth_sizes if _bucket_of(size) == name)
        kept = [
            index
            for index, hit in enumerate(hits)
            if _bucket_of(matched_truth_sizes[index] if hit else prediction_sizes[index]) == name
        ]
        bucket_scores = [scores[index] for index in kept]
        bucket_hits = [hits[index] for index in kept]
        tp = sum(bucket_hits)
        precision, recall, _f1 = ratios(tp, len(kept) - tp, n_truths - tp)
        reports.append(
            SizeReport(
                name=name,
                truths=n_truths,
                predictions=len(kept),
                true_positives=tp,
                precision=precision,
                recall=recall,
                ap50=average_precision(bucket_scores, bucket_hits, n_truths),
            )
        )
    return reports


def _ap_over_ious(images: Sequence[tuple[list[Detection], list[Detection]]]) -> float | None:
    n_truths = sum(len(truths) for _predictions, truths in images)
    if n_truths == 0:
        return None
    values = []
    for threshold in COCO_IOU_THRESHOLDS:
        scores: list[float] = []
        hits: list[bool] = []
        for predictions, truths in images:
            for prediction, truth in zip(predictions, match(predictions, truths, threshold), strict=True):
                scores.append(prediction.score)
                hits.append(truth is not None)
        values.append(average_precision(scores, hits, n_truths) or 0.0)
    return float(np.mean(values))


@dataclass(frozen=True)
class AttributePair:
    """The curated and predicted attributes of one matched face."""

    truth_gender: str
    predicted_gender: str
    truth_age: float | None = None
    predicted_age: float | None = None
    truth_child: bool | None = None
    predicted_child: bool | None = None


GENDER_CLASSES: tuple[str, ...] = ("female", "male", "unknown")
CHILD_CLASSES: tuple[str, ...] = ("adult", "child")
OTHER_SEX = {"female": "male", "male": "female"}


@dataclass(frozen=True)
class ClassFigures:
    """One class of a confusion matrix: its curated faces (row), predictions (column) and both (diagonal).

    `row` counts the class's curated faces by predicted class, in the matrix's class order.
    """

    label: str
    row: list[int]
    truths: int
    predictions: int
    correct: int
    recall: float | None
    precision: float | None


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of matched faces by curated class (rows) and predicted class (columns), in `classes` order."""

    classes: tuple[str, ...]
    per_class: list[ClassFigures]

    @property
    def counts(self) -> list[list[int]]:
        return [figures.row for figures in self.per_class]

    def count(self, truth: str, predicted: str) -> int:
        return self.counts[self.classes.index(truth)][self.classes.index(predicted)]


def confusion_matrix(pairs: Sequence[tuple[str, str]], classes: Sequence[str]) -> ConfusionMatrix:
    """The confusion matrix of (truth, predicted) labels, with each class's recall and precision.

    Recall is the diagonal over the class's row (its curated faces), precision the diagonal over
    its column (the faces predicted as it); each is None when its total is 0.
    """
    classes = tuple(classes)
    counts = [[0] * len(classes) for _ in classes]
    for truth, predicted in pairs:
        if truth not in classes or predicted not in classes:
            raise ValueError(f"label outside {classes}: {(truth, predicted)}")
        counts[classes.index(truth)][classes.index(predicted)] += 1
    per_class = []
    for index, label in enumerate(classes):
        row = sum(counts[index])
        column = sum(counts[other][index] for other in range(len(classes)))
        correct = counts[index][index]
        per_class.append(
            ClassFigures(
                label=label,
                row=counts[index],
                truths=row,
                predictions=column,
                correct=correct,
                recall=correct / row if row else None,
                precision=correct / column if column else None,
            )
        )
    return ConfusionMatrix(classes=classes, per_class=per_class)


@dataclass(frozen=True)
class AttributeConfusion:
    """Where the attribute model goes wrong, class by class, on matched faces."""

    gender: ConfusionMatrix
    # Of the faces curated female or male, the share labelled as the other sex ("unknown" is not
    # counted: it withholds a label rather than giving a wrong one); per curated sex and overall.
    other_sex_rate: dict[str, float | None]
    # Faces with both a curated and a predicted child flag.
    child: ConfusionMatrix


def cohen_kappa(matrix: ConfusionMatrix) -> float | None:
    """Cohen's kappa of two labellings (the matrix's rows and columns): their agreement beyond what each one's
    own class shares would give by chance, 1 for full agreement, 0 for chance; None when undefined (no pairs,
    or chance alone agrees fully: both labellings put everything in one class)."""
    counts = matrix.counts
    total = sum(map(sum, counts))
    if not total:
        return None
    observed = sum(counts[index][index] for index in range(len(counts))) / total
    chance = sum(
        (sum(counts[index]) / total) * (sum(row[index] for row in counts) / total) for index in range(len(counts))
    )
    return None if chance >= 1 else (observed - chance) / (1 - chance)


def attribute_confusion(pairs: Sequence[AttributePair]) -> AttributeConfusion:
    """Gender (female, male, unknown) and child (adult, child) confusion matrices of matched faces."""
    gender = confusion_matrix([(pair.truth_gender, pair.predicted_gender) for pair in pairs], GENDER_CLASSES)
    other_sex_rate: dict[str, float | None] = {}
    for sex, other in OTHER_SEX.items():
        curated = sum(gender.counts[gender.classes.index(sex)])
        other_sex_rate[sex] = gender.count(sex, other) / curated if curated else None
    sexed = sum(sum(gender.counts[gender.classes.index(sex)]) for sex in OTHER_SEX)
    swapped = sum(gender.count(sex, other) for sex, other in OTHER_SEX.items())
    other_sex_rate["overall"] = swapped / sexed if sexed else None
    child = confusion_matrix(
        [
            (CHILD_CLASSES[pair.truth_child], CHILD_CLASSES[pair.predicted_child])
            for pair in pairs
            if pair.truth_child is not None and pair.predicted_child is not None
        ],
        CHILD_CLASSES,
    )
    return AttributeConfusion(gender=gender, other_sex_rate=other_sex_rate, child=child)


@dataclass(frozen=True)
class AttributeReport:
    """Gender accuracy, age error and child accuracy on matched faces, and their confusion matrices."""

    # Faces whose curated gender is female or male; an "unknown" prediction counts as wrong.
    gender_faces: int
    gender_accuracy: float | None
    # Faces with both a curated and a predicted age.
    age_faces: int
    age_mae: float | None
    child_faces: int
    child_accuracy: float | None
    confusion: AttributeConfusion | None = None


KNOWN_GENDERS = frozenset({"female", "male"})


def attribute_metrics(pairs: Sequence[AttributePair]) -> AttributeReport:
    """Score predicted attributes against the curated ones."""
    genders = [pair for pair in pairs if pair.truth_gender in KNOWN_GENDERS]
    ages = [pair for pair in pairs if pair.truth_age is not None and pair.predicted_age is not None]
    children = [pair for pair in pairs if pair.truth_child is not None and pair.predicted_child is not None]
    return AttributeReport(
        gender_faces=len(genders),
        gender_accuracy=_mean([pair.truth_gender == pair.predicted_gender for pair in genders]),
        age_faces=len(ages),
        age_mae=_mean([abs(pair.truth_age - pair.predicted_age) for pair in ages]),  # type: ignore[operator]
        child_faces=len(children),
        child_accuracy=_mean([pair.truth_child == pair.predicted_child for pair in children]),
        confusion=attribute_confusion(pairs),
    )


def _mean(values: Sequence[float | bool]) -> float | None:
    return float(np.mean(values)) if len(values) else None
