"""Faces turned sideways: the page read a quarter turn each way as well as it is.

Album pages hold photographs pasted a quarter turn round, and books print plates sideways; face
detectors trained on upright faces rarely see a face lying on its side. Reading the page turned a
quarter turn each way finds them: each turned pass's boxes are brought back to the page, their
scores scaled down (a turned pass fires on more false faces than the upright one), and every pass's
boxes merged as tiles are. On the heritage dev set's tuning half this lifted `centerface`'s AP@0.5
from 0.569 to 0.656, but not its recall at precision 0.9 (docs/benchmarks.md, "Detection, eighth
round"), for three detector passes a page: a run option for album pages, not the default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .tiling import non_max_suppression, suppress_contained
from .types import Detection

# numpy.rot90's k for a quarter turn anticlockwise, and one clockwise.
QUARTER_TURNS = (1, 3)
# A turned pass's scores are multiplied by this, so that its boxes rank below the upright pass's
# (chosen on the dev set's tuning half: 1.0 let confident false boxes push the operating threshold up).
TURNED_SCORE_FACTOR = 0.7
# Boxes of different passes overlapping more than this are one face (as tiles are merged).
MERGE_IOU = 0.3


@dataclass(frozen=True)
class TurnedDetection:
    """A face box on the page as it is (`box`), and where the face stands upright: the page turned `turns`
    quarter turns anticlockwise (0 for the page as it is), at `upright` in it. Age and gender read it there."""

    box: Detection
    turns: int
    upright: Detection


def turned_page(image: np.ndarray, turns: int) -> np.ndarray:
    """The image turned `turns` quarter turns anticlockwise, as a contiguous array (what models expect)."""
    return np.ascontiguousarray(np.rot90(image, turns))


def box_into_turned(box: Detection, turns: int, *, width: float, height: float) -> Detection:
    """Where a box of a page `width` x `height` lies once the page is turned `turns` quarter turns (1 or 3)."""
    if turns == 1:
        return Detection(box.y1, width - box.x2, box.y2, width - box.x1, box.score)
    if turns == 3:
        return Detection(height - box.y2, box.x1, height - box.y1, box.x2, box.score)
    raise ValueError(f"turns must be 1 or 3, got {turns}")


def box_from_turned(box: Detection, turns: int, *, width: float, height: float) -> Detection:
    """Where a box found on the page turned `turns` quarter turns (1 or 3) lies on the page `width` x `height`."""
    if turns == 1:
        return Detection(width - box.y2, box.x1, width - box.y1, box.x2, box.score)
    if turns == 3:
        return Detection(box.y1, height - box.x2, box.y2, height - box.x1, box.score)
    raise ValueError(f"turns must be 1 or 3, got {turns}")


def upright(found: list[Detection]) -> list[TurnedDetection]:
    """Boxes found on the page as it is, where the faces are taken to stand upright."""
    return [TurnedDetection(box, 0, box) for box in found]


def detect_turned(
    find: Callable[[np.ndarray], list[Detection]],
    image: np.ndarray,
    *,
    score_factor: float = TURNED_SCORE_FACTOR,
    merge_iou: float = MERGE_IOU,
) -> list[TurnedDetection]:
    """Run `find` (a detector with whatever tiling and filter the run uses) on the image as it is and turned a
    quarter turn each way; each face once, best score first, with the turn it stands upright in."""
    height, width = image.shape[:2]
    candidates = upright(find(image))
    for turns in QUARTER_TURNS:
        for found in find(turned_page(image, turns)):
            scaled = replace(found, score=found.score * score_factor)
            on_page = box_from_turned(scaled, turns, width=width, height=height)
            candidates.append(TurnedDetection(on_page, turns, scaled))
    by_box = {id(candidate.box): candidate for candidate in candidates}
    kept = suppress_contained(non_max_suppression([candidate.box for candidate in candidates], merge_iou))
    return [by_box[id(box)] for box in kept]
