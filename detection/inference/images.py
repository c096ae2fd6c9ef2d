"""Input checks shared by the model wrappers."""

from __future__ import annotations

import math

import numpy as np

from .types import Detection


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Return `image` as a C-contiguous RGB uint8 HxWx3 array; greyscale HxW is expanded."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        # Scanned pages are often greyscale; every model here wants three channels.
        image = np.stack([image] * 3, axis=-1)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB image of shape HxWx3, got {image.shape}")
    return np.ascontiguousarray(image)


def sigmoid(value: float) -> float:
    """Logistic function, used to map unbounded detector margins into (0, 1)."""
    return float(1.0 / (1.0 + np.exp(-value)))


def mirrored_around(rgb: np.ndarray, face: Detection, margin: float) -> tuple[np.ndarray, Detection]:
    """The crop of `margin` box sides around `face`, mirrored left to right, and the face's box in it.

    For reading a face mirrored (test-time augmentation) without flipping the whole page.
    """
    height, width = rgb.shape[:2]
    x1 = max(0, int(face.x1 - margin * face.width))
    y1 = max(0, int(face.y1 - margin * face.height))
    x2 = min(width, math.ceil(face.x2 + margin * face.width))
    y2 = min(height, math.ceil(face.y2 + margin * face.height))
    mirrored = np.ascontiguousarray(rgb[y1:y2, x1:x2][:, ::-1])
    crop_width = x2 - x1
    # The face's left side in the mirrored crop is the crop's width minus its right side.
    box = Detection(crop_width - (face.x2 - x1), face.y1 - y1, crop_width - (face.x1 - x1), face.y2 - y1, face.score)
    return mirrored, box
