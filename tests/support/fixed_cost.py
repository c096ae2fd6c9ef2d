"""A fake detector of fixed cost, for worker tests and benchmarks.

The detector "fixed-cost" sleeps FIXED_COST_DETECTOR_SECONDS (default 0.2) per page, then finds one
face in the middle of the image: a worker's time per page is the fetch plus a known constant, so
benchmarks of many workers measure the pipeline and the host budget, not a model. Workers load it
through tests/support/fixed_cost_worker.py; the process that creates runs uses `registered()`
(run_create checks the detector is known).
"""

from __future__ import annotations

import contextlib
import os
import time

from detection.inference.registry import DETECTORS, ModelSpec, clear_model_cache, register_detector
from detection.inference.types import Detection

NAME = "fixed-cost"


class FixedCostDetector:
    """Sleeps a fixed time, then finds one face a fifth of the image wide in its middle."""

    name = NAME
    version = "fixed-cost-1"

    def __init__(self, seconds: float, score_threshold: float = 0.5) -> None:
        self.seconds = seconds
        self.score_threshold = score_threshold

    def detect(self, image) -> list[Detection]:
        time.sleep(self.seconds)
        height, width = image.shape[:2]
        side = min(width, height) / 5
        x, y = (width - side) / 2, (height - side) / 2
        return [Detection(x1=x, y1=y, x2=x + side, y2=y + side, score=0.9)]


def register() -> None:
    """Add the fixed-cost detector to this process's registry (again: replaces it)."""
    seconds = float(os.environ.get("FIXED_COST_DETECTOR_SECONDS", "0.2"))
    register_detector(
        ModelSpec(
            name=NAME,
            kind="detector",
            version=FixedCostDetector.version,
            license="test only",
            description=f"Fake: {seconds:g} s per page, one face in the middle.",
            default_params={"score_threshold": 0.5, "seconds": seconds},
            factory=FixedCostDetector,
        ),
        replace=True,
    )


@contextlib.contextmanager
def registered():
    """The fixed-cost detector is known in this process while the block runs."""
    register()
    try:
        yield NAME
    finally:
        DETECTORS.pop(NAME, None)
        clear_model_cache()
