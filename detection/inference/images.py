"""Input checks shared by the model wrappers."""

from __future__ import annotations

import numpy as np


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
