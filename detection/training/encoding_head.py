"""Fitting the gender and child heads on face encodings of curated faces (plain numpy).

Each head is an L2-regularised logistic regression, fitted by Newton's method with class-balanced
weights (women are a minority of heritage faces, children more so). Every face is seen twice,
as it is and mirrored (augmentation), both rows in its document's fold. The regularisation is
chosen by cross-validation grouped by document: a document's faces (an album, a crowd of
schoolchildren) are never on both sides of a fold, so the choice is not made on near-copies of
the faces it is scored on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from detection.inference.encoding_head import ENCODING, EncodingHeads, FaceFeatures, LogisticHead, sigmoid
from detection.training.data import KNOWN_GENDERS, LabelledImage

# Inverse regularisation strengths tried (larger: less regularised), as scikit-learn's C. On the
# heritage dev set's tuning half the encodings generalise across documents only when strongly
# regularised (docs/benchmarks.md), hence the small values.
C_GRID = (1e-5, 3e-5, 1e-4, 3e-4, 0.001, 0.003, 0.01, 0.1)
# Faces narrower than this are not trained on (their encodings are read from a few pixels); they are
# still scored. From 0 to 25 px the cut moved the cross-validated AUC by under 0.01 on the heritage dev
# set's tuning half (docs/benchmarks.md); 30 px lost 0.02.
MIN_TRAIN_WIDTH = 20.0
FOLDS = 5
NEWTON_STEPS = 50
# Fewer faces of a class than this and its head is not fitted (the model answers without it).
MIN_CLASS_FACES = 3


@dataclass(frozen=True)
class FaceSample:
    """A curated face's feature rows (as it is and mirrored), its labels and its document."""

    rows: np.ndarray
    gender: str
    child: bool
    document: str
    width: float


def face_samples(
    images: Sequence[LabelledImage], reader: FaceFeatures, *, progress: Callable[[int, int], None] | None = None
) -> list[FaceSample]:
    """Features of every curated face of these pages that the encoder can read."""
    samples = []
    for done, image in enumerate(images, start=1):
        faces = [labelled for labelled in image.boxes if labelled.is_face]
        if faces:
            pixels = image.load()
            for labelled in faces:
                rows = reader.of(pixels, labelled.box)
                if rows is not None:
                    samples.append(
                        FaceSample(
                            rows=rows,
                            gender=labelled.gender,
                            child=labelled.child,
                            document=image.document or image.page,
                            width=labelled.box.width,
                        )
                    )
        if progress is not None:
            progress(done, len(images))
    return samples


def balanced_weights(labels: np.ndarray) -> np.ndarray:
    """Weights giving each class half of the total (n / (2 * count of its class))."""
    labels = np.asarray(labels, dtype=bool)
    positives = labels.sum()
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("a balanced fit needs both classes")
    return np.where(labels, len(labels) / (2.0 * positives), len(labels) / (2.0 * negatives))


def fit_logistic(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    c: float,
    weights: np.ndarray | None = None,
    feature_c: np.ndarray | None = None,
) -> LogisticHead:
    """Weighted logistic regression on standardised features, penalty Σ w_j² / (2 c_j) (the bias is not penalised).

    c_j is `c` for every feature, or `feature_c[j]` where that is given and not NaN.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    sample_weights = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = np.nanmean(x, axis=0)
    x = np.where(np.isnan(x), mean, x)
    scale = x.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    design = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    per_feature = np.full(x.shape[1], c, dtype=np.float64)
    if feature_c is not None:
        per_feature = np.where(np.isnan(feature_c), c, feature_c)
    penalty = np.append(1.0 / per_feature, 0.0)
    theta = np.zeros(design.shape[1])
    for _ in range(NEWTON_STEPS):
        p = sigmoid(design @ theta)
        gradient = design.T @ (sample_weights * (p - y)) + penalty * theta
        hessian = (design * (sample_weights * p * (1.0 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return LogisticHead(mean=mean, scale=scale, weights=theta[:-1], bias=float(theta[-1]))


def document_folds(documents: Sequence[str], labels: Sequence[bool], folds: int = FOLDS) -> np.ndarray:
    """A fold per sample, by document: documents with the most positives first, each to the fold with the
    fewest positives so far (then the fewest samples), so every fold gets some of the rarer class; then
    documents without any, each to the fold with the fewest negatives.
    Ties are broken by the SHA-256 of the document's name, so the folds do not depend on input order."""
    positives: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for document, label in zip(documents, labels, strict=True):
        positives[document] = positives.get(document, 0) + int(bool(label))
        sizes[document] = sizes.get(document, 0) + 1
    order = sorted(positives, key=lambda d: (-positives[d], -sizes[d], hashlib.sha256(d.encode()).hexdigest()))
    folds = min(folds, len(order))
    fold_positives, fold_sizes = [0] * folds, [0] * folds
    fold_of: dict[str, int] = {}
    for document in order:
        if positives[document]:
            fold = min(range(folds), key=lambda f: (fold_positives[f], fold_sizes[f], f))
        else:
            fold = min(range(folds), key=lambda f: (fold_sizes[f] - fold_positives[f], f))
        fold_of[document] = fold
        fold_positives[fold] += positives[document]
        fold_sizes[fold] += sizes[document]
    return np.array([fold_of[d] for d in documents])


def _rows(samples: Sequence[FaceSample]) -> tuple[np.ndarray, np.ndarray]:
    """Training rows (each face and its mirror) and the face each row belongs to."""
    rows = np.concatenate([sample.rows for sample in samples])
    owners = np.concatenate([np.full(len(sample.rows), index) for index, sample in enumerate(samples)])
    return rows, owners


def fit_head(
    samples: Sequence[FaceSample], labels: np.ndarray, *, c: float, min_width: float = MIN_TRAIN_WIDTH
) -> LogisticHead | None:
    """A class-balanced head on every row (mirrors included) of these faces at least `min_width` wide;
    None when those faces lack a class."""
    labels = np.asarray(labels, dtype=bool)
    wide = [i for i, sample in enumerate(samples) if sample.width >= min_width]
    if not labels[wide].any() or labels[wide].all():
        return None
    rows, owners = _rows([samples[i] for i in wide])
    row_labels = labels[wide][owners]
    return fit_logistic(rows, row_labels, c=c, weights=balanced_weights(row_labels))


def head_scores(head: LogisticHead, samples: Sequence[FaceSample]) -> np.ndarray:
    """Each face's score: the mean over its rows (as it is and mirrored), as the model reads it."""
    return np.array([float(np.mean(head.logit(sample.rows))) for sample in samples])


def out_of_fold(
    samples: Sequence[FaceSample],
    labels: np.ndarray,
    folds: np.ndarray,
    *,
    c: float,
    min_width: float = MIN_TRAIN_WIDTH,
) -> np.ndarray:
    """Each face's score from a head fitted without its fold (NaN where a fold's training side lacks a class)."""
    labels = np.asarray(labels, dtype=bool)
    result = np.full(len(samples), np.nan)
    for fold in np.unique(folds):
        train = np.flatnonzero(folds != fold)
        test = np.flatnonzero(folds == fold)
        head = fit_head([samples[i] for i in train], labels[train], c=c, min_width=min_width)
        if head is not None:
            result[test] = head_scores(head, [samples[i] for i in test])
    return result


def platt(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(a, b) so that sigmoid(a * score + b) is a class-balanced probability, fitted on cross-validated scores."""
    labels = np.asarray(labels, dtype=bool)
    head = fit_logistic(scores[:, None], labels, c=1e6, weights=balanced_weights(labels))
    a = float(head.weights[0] / head.scale[0])
    return a, float(head.bias - a * head.mean[0])


def calibrated(head: LogisticHead, a: float, b: float) -> LogisticHead:
    """The head whose score is a * score + b."""
    return LogisticHead(mean=head.mean, scale=head.scale, weights=a * head.weights, bias=a * head.bias + b)


def balanced_log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The mean of the two classes' mean log losses (lower is better)."""
    labels = np.asarray(labels, dtype=bool)
    p = np.clip(probabilities, 1e-6, 1 - 1e-6)
    return float((-np.log(p[labels]).mean() - np.log(1 - p[~labels]).mean()) / 2)


def auc(probabilities: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann–Whitney, ties counted half); None without both classes."""
    labels = np.asarray(labels, dtype=bool)
    positives, negatives = probabilities[labels], probabilities[~labels]
    if not len(positives) or not len(negatives):
        return None
    greater = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(positives) * len(negatives)))


@dataclass(frozen=True)
class HeadChoice:
    """The regularisation chosen for one head, its calibration, and its grouped cross-validated figures."""

    c: float
    calibration: tuple[float, float]
    folds: int
    faces: int
    positives: int
    documents: int
    log_loss: dict[float, float]
    # AUC of the out-of-fold scores before calibration (below 0.5: the head ranks the held-out documents backwards).
    auc: float | None
    # Each face's out-of-fold score, and its calibrated probability (NaN where its fold could not be fitted).
    scores: np.ndarray
    # Each face's calibrated out-of-fold probability (NaN where its fold could not be fitted).
    probabilities: np.ndarray
    labels: np.ndarray

    def summary(self) -> dict:
        return {
            "c": self.c,
            "calibration": list(self.calibration),
            "folds": self.folds,
            "faces": self.faces,
            "positives": self.positives,
            "documents": self.documents,
            "cv_auc": self.auc,
            "cv_balanced_log_loss": {str(c): round(loss, 4) for c, loss in self.log_loss.items()},
        }


def choose_c(
    samples: Sequence[FaceSample],
    labels: np.ndarray,
    *,
    grid: Sequence[float] = C_GRID,
    folds: int = FOLDS,
    min_width: float = MIN_TRAIN_WIDTH,
) -> HeadChoice:
    """The C whose out-of-fold scores, once calibrated, have the lowest balanced log loss; folds by document."""
    labels = np.asarray(labels, dtype=bool)
    fold_of = document_folds([s.document for s in samples], labels, folds)
    losses: dict[float, float] = {}
    fitted: dict[float, tuple[tuple[float, float], np.ndarray, np.ndarray]] = {}
    for c in grid:
        scores = out_of_fold(samples, labels, fold_of, c=c, min_width=min_width)
        read = ~np.isnan(scores)
        if not labels[read].any() or labels[read].all():
            continue
        a, b = platt(scores[read], labels[read])
        probabilities = sigmoid(a * scores + b)
        losses[c] = balanced_log_loss(probabilities[read], labels[read])
        fitted[c] = ((a, b), scores, probabilities)
    if losses:
        best = min(losses, key=lambda c: (losses[c], c))
        calibration, scores, probabilities = fitted[best]
    else:
        # Too few documents to cross-validate: the middle of the grid, uncalibrated.
        best, calibration = grid[len(grid) // 2], (1.0, 0.0)
        scores = probabilities = np.full(len(samples), np.nan)
    read = ~np.isnan(scores)
    return HeadChoice(
        c=best,
        calibration=calibration,
        folds=int(len(np.unique(fold_of))),
        faces=len(samples),
        positives=int(labels.sum()),
        documents=len({s.document for s in samples}),
        log_loss=losses,
        auc=auc(scores[read], labels[read]) if read.any() else None,
        scores=scores,
        probabilities=probabilities,
        labels=labels,
    )


def fit_encoding_heads(
    samples: Sequence[FaceSample],
    *,
    features: Sequence[str] = (ENCODING,),
    gender_threshold: float = 0.6,
    child_threshold: float = 0.5,
    grid: Sequence[float] = C_GRID,
    folds: int = FOLDS,
    min_width: float = MIN_TRAIN_WIDTH,
    version: str = "encoding-head",
) -> tuple[EncodingHeads, dict[str, HeadChoice]]:
    """Both heads on these faces, each with its C chosen by grouped cross-validation, then fitted on all of them
    and calibrated on the cross-validated scores.

    The gender head learns from faces a curator sexed (female or male); the child head from every face.
    A head whose class has fewer than MIN_CLASS_FACES faces is not fitted, nor one whose cross-validated
    scores rank the held-out documents backwards (a calibration slope not above 0: what it learned was
    the documents, not the faces); the report says so.
    """
    choices: dict[str, HeadChoice] = {}
    heads: dict[str, LogisticHead | None] = {"gender": None, "child": None}
    sexed = [s for s in samples if s.gender in KNOWN_GENDERS]
    targets = {
        "gender": (sexed, np.array([s.gender == "female" for s in sexed], dtype=bool)),
        "child": (list(samples), np.array([s.child for s in samples], dtype=bool)),
    }
    for name, (faces, labels) in targets.items():
        if labels.sum() < MIN_CLASS_FACES or (~labels).sum() < MIN_CLASS_FACES:
            continue
        choice = choose_c(faces, labels, grid=grid, folds=folds, min_width=min_width)
        choices[name] = choice
        head = fit_head(faces, labels, c=choice.c, min_width=min_width)
        if head is not None and choice.calibration[0] > 0:
            heads[name] = calibrated(head, *choice.calibration)
    return (
        EncodingHeads(
            features=tuple(features),
            gender=heads["gender"],
            child=heads["child"],
            gender_threshold=gender_threshold,
            child_threshold=child_threshold,
            version=version,
            report={
                "min_train_width": min_width,
                **{name: {**c.summary(), "fitted": heads[name] is not None} for name, c in choices.items()},
            },
        ),
        choices,
    )
