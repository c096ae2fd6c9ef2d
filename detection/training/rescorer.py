"""Training the detector re-scorer: a small Keras model that re-scores a detector's candidates
from curated pages (truths and hard negatives).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from detection.inference.detectors import FaceDetector
from detection.inference.metrics import evaluate_detections, match
from detection.inference.trained import CandidateSearch, crop, rescore
from detection.inference.types import Detection
from detection.training.data import LabelledImage, augmenter
from detection.training.fitting import FitResult, Progress, fit, training_batches


@dataclass(frozen=True)
class RescoreSample:
    """A candidate box's crop (RGB uint8), the base detector's score, and whether it is a face."""

    crop: np.ndarray
    base_score: float
    is_face: bool


@dataclass(frozen=True)
class CandidatePage:
    """The base detector's candidates on one labelled page, with the curated truth beside them."""

    image: LabelledImage
    candidates: tuple[Detection, ...]


def candidate_pages(
    images: Sequence[LabelledImage],
    detector: FaceDetector,
    search: CandidateSearch,
    *,
    on_page: Callable[[int], None] | None = None,
) -> list[CandidatePage]:
    """Run the base detector (at its low candidate threshold) on each page once."""
    pages = []
    for index, image in enumerate(images):
        pages.append(CandidatePage(image=image, candidates=tuple(search.candidates(detector, image.load()))))
        if on_page is not None:
            on_page(index + 1)
    return pages


def rescore_samples(
    pages: Sequence[CandidatePage], *, size: int, margin: float, add_truths: bool = True
) -> list[RescoreSample]:
    """Labelled crops for the re-scorer.

    A candidate overlapping a curated face (IoU >= 0.5) is a positive; any other candidate,
    and every box the curator rejected, is a negative. With `add_truths`, curated faces the
    detector missed are added as positives (scored at the candidates' lowest score), so the
    model sees faces it must keep.
    """
    samples = []
    for page in pages:
        pixels = page.image.load()
        faces = page.image.faces
        hits = match(page.candidates, faces)
        floor = min((c.score for c in page.candidates), default=0.0)
        for candidate, truth in zip(page.candidates, hits, strict=True):
            samples.append(
                RescoreSample(crop(pixels, candidate, size=size, margin=margin), candidate.score, truth is not None)
            )
        found = {truth for truth in hits if truth is not None}
        if add_truths:
            for index, face in enumerate(faces):
                if index not in found:
                    samples.append(RescoreSample(crop(pixels, face, size=size, margin=margin), floor, True))
        for rejected in page.image.rejected:
            if not any(rejected.iou(c) >= 0.5 for c in page.candidates):
                samples.append(RescoreSample(crop(pixels, rejected, size=size, margin=margin), floor, False))
    return samples


def build_rescorer_model(input_size: int, *, seed: int = 0):
    """A small CNN on the candidate crop, joined with the base score: P(the candidate is a face)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    face = keras.Input((input_size, input_size, 1), name="crop")
    base = keras.Input((1,), name="base_score")
    x = face
    for filters in (16, 32, 32):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Concatenate()([x, base])
    x = layers.Dense(16, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="is_face")(x)
    model = keras.Model({"crop": face, "base_score": base}, outputs, name="visages_rescorer")
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy", jit_compile=False)
    return model


def _rescore_batches(samples: Sequence[RescoreSample], **options):
    scores = np.array([[s.base_score] for s in samples], dtype=np.float32)
    labels = np.array([[1.0 if s.is_face else 0.0] for s in samples], dtype=np.float32)
    positives = max(1.0, float(labels.sum()))
    negatives = max(1.0, float(len(labels) - labels.sum()))
    # Each class weighs half of the loss, so a page of junk candidates does not drown the faces.
    weights = np.where(labels.ravel() > 0, len(labels) / (2 * positives), len(labels) / (2 * negatives))
    weights = weights.astype(np.float32)

    def pack(grey: np.ndarray, rows: np.ndarray):
        return {"crop": grey, "base_score": scores[rows]}, labels[rows], weights[rows]

    return training_batches(np.stack([s.crop for s in samples]), pack, **options)


def rescorer_metrics(
    model, pages: Sequence[CandidatePage], *, size: int, margin: float, base_threshold: float, score_threshold: float
) -> dict[str, float | int | None]:
    """Held-out metrics of the base detector and of the re-scored candidates (same candidates).

    AP reads each whole ranking (every candidate); precision, recall and F1 are taken at each
    model's own operating threshold.
    """
    base_pairs = []
    rescored_pairs = []
    for page in pages:
        faces = page.image.faces
        base_pairs.append((list(page.candidates), faces))
        rescored_pairs.append((rescore(model, page.image.load(), page.candidates, size=size, margin=margin), faces))
    metrics: dict[str, float | int | None] = {"val_pages": len(pages), "val_truths": sum(len(p[1]) for p in base_pairs)}
    for prefix, pairs, threshold in (
        ("base", base_pairs, base_threshold),
        ("rescored", rescored_pairs, score_threshold),
    ):
        ranking = evaluate_detections(pairs)
        operating = evaluate_detections(pairs, score_threshold=threshold)
        metrics[f"val_{prefix}_ap50"] = ranking.ap50
        metrics[f"val_{prefix}_ap50_95"] = ranking.ap50_95
        metrics[f"val_{prefix}_precision"] = operating.precision
        metrics[f"val_{prefix}_recall"] = operating.recall
        metrics[f"val_{prefix}_f1"] = operating.f1
    return metrics


def train_rescorer(
    train: Sequence[CandidatePage],
    validation: Sequence[CandidatePage],
    *,
    input_size: int = 32,
    margin: float = 0.25,
    epochs: int = 40,
    batch_size: int = 64,
    patience: int = 6,
    seed: int = 0,
    base_threshold: float = 0.5,
    score_threshold: float = 0.5,
    on_epoch: Progress | None = None,
) -> FitResult:
    """Train the re-scorer on candidate crops; metrics compare held-out AP before and after."""
    train_samples = rescore_samples(train, size=input_size, margin=margin)
    val_samples = rescore_samples(validation, size=input_size, margin=margin, add_truths=False)
    if not any(s.is_face for s in train_samples) or not any(not s.is_face for s in train_samples):
        raise ValueError("the re-scorer needs both faces and rejected or unmatched boxes to learn from")
    if not val_samples:
        raise ValueError("the held-out pages gave no candidates to validate on")
    model = build_rescorer_model(input_size, seed=seed)
    result = fit(
        model,
        _rescore_batches(train_samples, batch_size=batch_size, augment=augmenter(seed), seed=seed),
        _rescore_batches(val_samples, batch_size=batch_size, augment=None, seed=seed),
        epochs=epochs,
        patience=patience,
        on_epoch=on_epoch,
    )
    result.metrics = {
        "train_samples": len(train_samples),
        "train_faces": sum(s.is_face for s in train_samples),
        "val_samples": len(val_samples),
        **rescorer_metrics(
            model,
            validation,
            size=input_size,
            margin=margin,
            base_threshold=base_threshold,
            score_threshold=score_threshold,
        ),
    }
    return result
