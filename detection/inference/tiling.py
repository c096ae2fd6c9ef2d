"""Find small faces on large pages: overlapping tiles, several scales, then NMS.

A res10 pass squeezes a whole 2000 px newspaper page into 300x300, so a 60 px face
shrinks to 9 px and is lost. Running the detector on overlapping tiles keeps faces
large enough to be seen; boxes are mapped back to page pixels and merged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .detectors import FaceDetector
from .images import as_rgb
from .types import Detection

# A tile box this close (px) to a tile side that is not a page side was probably cut by it.
EDGE_MARGIN = 2.0
# A cut box lying this much inside a whole box is the same face seen by a neighbour tile.
CUT_CONTAINED_SHARE = 0.5
# A box whose area lies this much inside another box of the same output is the same face:
# tiles leave confident half-face boxes (0.96-0.99) beside or inside the whole face, and IoU
# NMS keeps them because a half box has a low IoU with the whole one.
CONTAINED_SHARE = 0.7
# Two nested boxes whose scores differ by at most this much keep the larger one (the whole
# face rather than its half); a clearly better-scored inner box wins over a weak outer one.
CONTAINED_SCORE_GAP = 0.05


def tile_origins(length: int, tile_size: int, step: int) -> list[int]:
    """Start offsets of tiles of `tile_size` every `step` px covering [0, length)."""
    if length <= tile_size:
        return [0]
    # The last tile is pulled back to end on the page border, so every tile is full-size
    # (res10 stretches whatever it gets to 300x300, and a thin strip would distort faces).
    return [*range(0, length - tile_size, step), length - tile_size]


def detect_tiled(
    detector: FaceDetector,
    image: np.ndarray,
    *,
    tile_size: int = 600,
    overlap: float = 0.25,
    scales: tuple[float, ...] = (1.0,),
    nms_iou: float = 0.3,
    whole_image: bool = True,
) -> list[Detection]:
    """Run `detector` on the whole image and on overlapping tiles at each scale; merge.

    Boxes come back in pixels of `image`. Faces wider than `tile_size * overlap` may be
    cut by every tile; the whole-image pass (or a smaller scale) is what finds those.
    Detectors with their own image pyramid (Haar, MTCNN, dlib MMOD) already see small
    faces in one full-resolution pass; tiling mainly serves fixed-input models like res10.
    """
    if tile_size < 1 or not 0.0 <= overlap < 1.0:
        raise ValueError(f"bad tiling: tile_size={tile_size}, overlap={overlap}")
    if not scales or min(scales) <= 0:
        raise ValueError(f"scales must be positive, got {scales}")
    rgb = as_rgb(image)
    height, width = rgb.shape[:2]
    step = max(1, round(tile_size * (1.0 - overlap)))
    whole: list[Detection] = []
    cut: list[Detection] = []
    for scale in scales:
        scaled = _resized(rgb, scale)
        scaled_height, scaled_width = scaled.shape[:2]
        back_x, back_y = width / scaled_width, height / scaled_height
        if whole_image:
            whole.extend(d.scaled(back_x, back_y) for d in detector.detect(scaled))
        if scaled_width <= tile_size and scaled_height <= tile_size:
            continue
        for y0 in tile_origins(scaled_height, tile_size, step):
            for x0 in tile_origins(scaled_width, tile_size, step):
                tile = np.ascontiguousarray(scaled[y0 : y0 + tile_size, x0 : x0 + tile_size])
                tile_height, tile_width = tile.shape[:2]
                for found in detector.detect(tile):
                    on_page = found.shifted(x0, y0).scaled(back_x, back_y)
                    touches_inner_side = (
                        (x0 > 0 and found.x1 <= EDGE_MARGIN)
                        or (y0 > 0 and found.y1 <= EDGE_MARGIN)
                        or (x0 + tile_width < scaled_width and found.x2 >= tile_width - EDGE_MARGIN)
                        or (y0 + tile_height < scaled_height and found.y2 >= tile_height - EDGE_MARGIN)
                    )
                    (cut if touches_inner_side else whole).append(on_page)
    # A cut box is kept only when no neighbour saw the face whole: a big face cut by
    # every tile still yields its best partial box rather than nothing.
    orphans = [c for c in cut if not any(c.intersection(w) >= CUT_CONTAINED_SHARE * c.area for w in whole)]
    return suppress_contained(non_max_suppression(whole + orphans, nms_iou))


def _resized(rgb: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return rgb
    import cv2

    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    return cv2.resize(rgb, size, interpolation=interpolation)


def non_max_suppression(dets: Sequence[Detection], iou_threshold: float) -> list[Detection]:
    """Greedy NMS: keep the best-scoring box, drop boxes overlapping it above the threshold."""
    if not dets:
        return []
    ordered = sorted(dets, key=lambda d: d.score, reverse=True)
    boxes = np.array([(d.x1, d.y1, d.x2, d.y2) for d in ordered], dtype=np.float64)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    alive = np.ones(len(ordered), dtype=bool)
    kept: list[Detection] = []
    for index, det in enumerate(ordered):
        if not alive[index]:
            continue
        kept.append(det)
        rest = slice(index + 1, None)
        widths = np.minimum(boxes[rest, 2], det.x2) - np.maximum(boxes[rest, 0], det.x1)
        heights = np.minimum(boxes[rest, 3], det.y2) - np.maximum(boxes[rest, 1], det.y1)
        shared = np.clip(widths, 0, None) * np.clip(heights, 0, None)
        union = areas[rest] + det.area - shared
        overlap = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
        alive[rest] &= overlap <= iou_threshold
    return kept


def suppress_contained(
    dets: Sequence[Detection],
    *,
    contained_share: float = CONTAINED_SHARE,
    score_gap: float = CONTAINED_SCORE_GAP,
) -> list[Detection]:
    """Drop boxes mostly inside another box of the same output; the survivors in score order.

    Two boxes are nested when their intersection covers at least `contained_share` of the
    smaller one. Of two nested boxes the larger one stays unless the smaller one scores more
    than `score_gap` above it: the half-face duplicate of a 0.99 face at 0.97 goes, and so does
    a 0.97 whole face beside a 0.99 half face (the larger box wins when the scores are close).
    A small real face inside a large box of the same output is lost the same way; face
    detectors do not output one face box around another, so this is a box the filter would
    count as a duplicate anyway.
    """
    kept: list[Detection] = []
    for det in sorted(dets, key=lambda d: d.score, reverse=True):
        nested = [k for k in kept if k.intersection(det) >= contained_share * min(k.area, det.area)]
        # Every nested box in `kept` scores at least as high as `det`.
        if any(k.area >= det.area or k.score - det.score > score_gap for k in nested):
            continue
        kept = [k for k in kept if k not in nested]
        kept.append(det)
    return sorted(kept, key=lambda d: d.score, reverse=True)


def filter_implausible(
    dets: Sequence[Detection],
    *,
    image_width: int,
    image_height: int,
    max_area_share: float = 0.25,
    min_size: int = 12,
    min_aspect: float = 0.5,
    max_aspect: float = 2.0,
) -> list[Detection]:
    """Clip boxes to the image and drop ones too large, too small or too elongated for a face.

    The area cap is the BnF seed's "very large detection" filter: on newspaper pages a box
    covering a quarter of the page is a photo, a headline or a halftone field, not a face.
    Aspect is width / height.
    """
    page_area = image_width * image_height
    kept = []
    for det in dets:
        box = det.clipped(image_width, image_height)
        if box.width < min_size or box.height < min_size:
            continue
        if box.area > max_area_share * page_area:
            continue
        if not min_aspect <= box.width / box.height <= max_aspect:
            continue
        kept.append(box)
    return kept


def plausible_faces(
    detector: FaceDetector,
    image: np.ndarray,
    *,
    tiling: bool,
    tile_size: int,
    overlap: float,
    max_area_share: float,
    min_size: int,
    lowest_score: float,
) -> list[Detection]:
    """What a detection run keeps of one detector pass over an image: its boxes (on overlapping tiles when
    `tiling`, else on the whole image) that the plausibility filter keeps, from `lowest_score` up."""
    found = detect_tiled(detector, image, tile_size=tile_size, overlap=overlap) if tiling else detector.detect(image)
    kept = filter_implausible(
        found,
        image_width=image.shape[1],
        image_height=image.shape[0],
        max_area_share=max_area_share,
        min_size=min_size,
    )
    return [box for box in kept if box.score >= lowest_score]
