"""Tiling, non-maximum suppression and the plausibility filter."""

import numpy as np
import pytest

from detection.inference.registry import get_detector
from detection.inference.tiling import (
    detect_tiled,
    filter_implausible,
    non_max_suppression,
    suppress_contained,
    tile_origins,
)
from detection.inference.types import Detection
from tests.support.synthetic_pages import newspaper_page


class FixedBoxes:
    """Finds the same boxes in whatever it is shown, and remembers what it was shown."""

    name = "fixed"
    version = "1"

    def __init__(self, boxes):
        self.boxes = boxes
        self.shapes = []

    def detect(self, image):
        self.shapes.append(image.shape[:2])
        return list(self.boxes)


class WhiteSquares:
    """Finds white squares on a black image: a detector whose true answer is known."""

    name = "white-squares"
    version = "1"

    def detect(self, image):
        import cv2

        count, _labels, stats, _centroids = cv2.connectedComponentsWithStats((image[..., 0] > 128).astype(np.uint8))
        return [Detection.from_xywh(x, y, w, h, 0.9) for x, y, w, h, _area in stats[1:count]]


class AnswersInTurn:
    """Gives its answers one call after the other (the whole image first, then the tiles), then nothing."""

    name = "in-turn"
    version = "1"

    def __init__(self, answers):
        self.answers = list(answers)

    def detect(self, image):
        return list(self.answers.pop(0)) if self.answers else []


def squares_image(width, height, squares):
    image = np.zeros((height, width, 3), dtype=np.uint8)
    for x, y, size in squares:
        image[y : y + size, x : x + size] = 255
    return image


def test_tile_origins_cover_the_length_with_full_size_tiles():
    assert tile_origins(1000, 600, 450) == [0, 400]
    assert tile_origins(600, 600, 450) == [0]
    assert tile_origins(300, 600, 450) == [0]
    assert tile_origins(1400, 600, 450) == [0, 450, 800]


def test_nms_keeps_the_best_of_overlapping_boxes():
    best = Detection(0, 0, 100, 100, 0.9)
    duplicate = Detection(5, 5, 105, 105, 0.8)
    elsewhere = Detection(200, 200, 260, 260, 0.7)

    assert non_max_suppression([duplicate, elsewhere, best], iou_threshold=0.3) == [best, elsewhere]


def test_nms_keeps_boxes_overlapping_at_or_below_the_threshold():
    left = Detection(0, 0, 10, 10, 0.9)
    right = Detection(5, 0, 15, 10, 0.8)

    assert non_max_suppression([left, right], iou_threshold=0.34) == [left, right]
    assert non_max_suppression([left, right], iou_threshold=0.33) == [left]


def test_a_half_face_inside_a_whole_face_is_suppressed():
    face = Detection(100, 100, 300, 300, 0.99)
    half_face = Detection(150, 200, 250, 300, 0.97)  # IoU 0.25: plain NMS keeps it

    assert non_max_suppression([face, half_face], iou_threshold=0.3) == [face, half_face]
    assert suppress_contained([half_face, face]) == [face]


def test_a_whole_face_scored_just_below_its_half_keeps_the_whole_face():
    half_face = Detection(150, 200, 250, 300, 0.99)
    face = Detection(100, 100, 300, 300, 0.96)

    assert suppress_contained([half_face, face]) == [face]


def test_a_clearly_better_inner_box_wins_over_a_weak_outer_one():
    face = Detection(150, 200, 250, 300, 0.99)
    loose = Detection(100, 100, 300, 300, 0.6)

    assert suppress_contained([loose, face]) == [face]


def test_faces_side_by_side_and_slightly_overlapping_are_all_kept():
    left = Detection(100, 100, 200, 220, 0.99)
    touching = Detection(190, 100, 290, 220, 0.97)  # shares 10 % of its area with the left face
    apart = Detection(400, 100, 480, 200, 0.9)

    assert suppress_contained([apart, touching, left]) == [left, touching, apart]


def test_a_box_mostly_inside_another_is_dropped_from_the_contained_share_on():
    face = Detection(0, 0, 100, 100, 0.99)
    inner = Detection(70, 0, 110, 40, 0.97)  # 75 % of it inside the face

    assert suppress_contained([face, inner], contained_share=0.75) == [face]
    assert suppress_contained([face, inner], contained_share=0.76) == [face, inner]


def test_containment_of_nothing_is_nothing():
    assert suppress_contained([]) == []


def test_tiling_drops_the_half_face_a_tile_sees_inside_a_face_the_page_pass_found():
    # The whole-image pass sees the face; the first tile sees only its lower half, away from any tile side.
    detector = AnswersInTurn([[Detection(100, 100, 300, 300, 0.99)], [Detection(150, 200, 250, 300, 0.97)]])

    found = detect_tiled(detector, np.zeros((1000, 1000, 3), np.uint8), tile_size=600)

    assert [d.to_xywh() for d in found] == [(100, 100, 200, 200)]


def test_nms_of_nothing_is_nothing():
    assert non_max_suppression([], iou_threshold=0.3) == []


def test_filter_drops_boxes_covering_too_much_of_the_page():
    page_sized = Detection(0, 0, 600, 600, 0.99)
    face = Detection(100, 100, 160, 170, 0.9)

    kept = filter_implausible([page_sized, face], image_width=1000, image_height=1000)

    assert kept == [face]


def test_filter_drops_tiny_and_elongated_boxes():
    tiny = Detection(0, 0, 8, 8, 0.9)
    banner = Detection(0, 100, 300, 130, 0.9)
    pillar = Detection(400, 0, 420, 200, 0.9)
    face = Detection(500, 500, 560, 570, 0.9)

    kept = filter_implausible([tiny, banner, pillar, face], image_width=1000, image_height=1000)

    assert kept == [face]


def test_filter_clips_boxes_to_the_image_before_judging_them():
    overhanging = Detection(-20, 950, 60, 1040, 0.9)

    kept = filter_implausible([overhanging], image_width=1000, image_height=1000)

    assert kept == [Detection(0, 950, 60, 1000, 0.9)]


def test_tiling_maps_tile_boxes_back_to_page_pixels():
    detector = FixedBoxes([Detection(10, 10, 50, 50, 0.9)])

    found = detect_tiled(detector, np.zeros((1000, 1000, 3), np.uint8), tile_size=600, whole_image=False)

    assert detector.shapes == [(600, 600)] * 4
    assert sorted(d.to_xywh() for d in found) == [
        (10, 10, 40, 40),
        (10, 410, 40, 40),
        (410, 10, 40, 40),
        (410, 410, 40, 40),
    ]


def test_tiling_runs_the_whole_image_once_per_scale_and_maps_scaled_boxes_back():
    detector = FixedBoxes([Detection(10, 10, 50, 50, 0.9)])

    found = detect_tiled(detector, np.zeros((400, 400, 3), np.uint8), scales=(0.5,))

    assert detector.shapes == [(200, 200)]
    assert found == [Detection(20, 20, 100, 100, 0.9)]


def test_a_face_cut_by_a_tile_border_comes_back_once_and_whole():
    # Tiles start at x = 0 and 400: the square straddles the first tile's right side.
    image = squares_image(1000, 500, [(560, 100, 80)])

    found = detect_tiled(WhiteSquares(), image, tile_size=600, whole_image=False)

    assert [d.to_xywh() for d in found] == [(560, 100, 80, 80)]


def test_a_face_larger_than_the_overlap_is_found_by_the_whole_image_pass():
    image = squares_image(1000, 500, [(350, 100, 300)])

    found = detect_tiled(WhiteSquares(), image, tile_size=600)

    assert [d.to_xywh() for d in found] == [(350, 100, 300, 300)]


def test_tiling_rejects_nonsense_parameters():
    image = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(ValueError):
        detect_tiled(FixedBoxes([]), image, overlap=1.0)
    with pytest.raises(ValueError):
        detect_tiled(FixedBoxes([]), image, scales=())


@pytest.mark.realmodel
def test_tiled_res10_finds_the_small_faces_a_whole_page_pass_misses():
    page, truth = newspaper_page()
    faces = [Detection.from_xywh(*box, 1.0) for box in truth]
    res10 = get_detector("res10")

    def found(dets):
        return [face for face in faces if any(face.iou(d) > 0.5 for d in dets)]

    whole_page = found(res10.detect(page))
    tiled = filter_implausible(detect_tiled(res10, page), image_width=page.shape[1], image_height=page.shape[0])

    small = [face for face in faces if face.width <= 64]
    assert not set(small) & set(whole_page)
    assert len(whole_page) <= 3
    assert set(small) <= set(found(tiled))
    assert len(found(tiled)) >= 11
