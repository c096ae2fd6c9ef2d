"""Scoring models on a job's held-out pages, the same way for the new model and the active one.

Detectors (and re-scorers) are scored by AP@0.5 over every box they return on the held-out
pages; attribute models by macro per-class recall on the curated faces of those pages. Both
read the models through their registry interfaces (`detect`, `predict_many`), so a shipped
model, a trained one and a fake in a test are scored alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from detection.inference.metrics import evaluate_detections
from detection.inference.types import AgeGender, Detection
from detection.training.data import KNOWN_GENDERS, LabelledImage

# The classes whose recalls are averaged for an attribute model.
ATTRIBUTE_CLASSES = ("female", "male", "child", "adult")


def detector_ap50(detect: Callable[[np.ndarray], list[Detection]], images: Sequence[LabelledImage]) -> float | None:
    """AP@0.5 of a detector's boxes against the curated faces of the pages (None without any face)."""
    pairs = [(list(detect(image.load())), image.faces) for image in images]
    return evaluate_detections(pairs).ap50


def attribute_macro_recall(
    predict_many: Callable[[np.ndarray, Sequence[Detection]], list[AgeGender]], images: Sequence[LabelledImage]
) -> tuple[float | None, dict[str, float | None]]:
    """The mean recall over the classes present (female, male among faces of known gender; child, adult).

    Returns the macro recall (None when no class is present) and the per-class recalls.
    """
    hits = dict.fromkeys(ATTRIBUTE_CLASSES, 0)
    totals = dict.fromkeys(ATTRIBUTE_CLASSES, 0)
    for image in images:
        faces = [labelled for labelled in image.boxes if labelled.is_face]
        if not faces:
            continue
        estimates = predict_many(image.load(), [labelled.box for labelled in faces])
        for labelled, estimate in zip(faces, estimates, strict=True):
            if labelled.gender in KNOWN_GENDERS:
                totals[labelled.gender] += 1
                hits[labelled.gender] += estimate.gender == labelled.gender
            age_class = "child" if labelled.child else "adult"
            totals[age_class] += 1
            hits[age_class] += bool(estimate.child) == labelled.child
    recalls = {name: (hits[name] / totals[name] if totals[name] else None) for name in ATTRIBUTE_CLASSES}
    present = [value for value in recalls.values() if value is not None]
    return (float(np.mean(present)) if present else None), recalls
