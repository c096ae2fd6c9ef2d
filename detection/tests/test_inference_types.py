"""The box and attribute dataclasses every model wrapper returns."""

import pytest

from detection.inference.types import AgeGender, Detection


def test_it_measures_a_box():
    box = Detection(10, 20, 40, 80, 0.9)

    assert (box.width, box.height, box.area) == (30, 60, 1800)


def test_it_builds_a_box_from_xywh_and_back():
    box = Detection.from_xywh(10, 20, 30, 60, 0.9)

    assert box == Detection(10, 20, 40, 80, 0.9)
    assert box.to_xywh() == (10, 20, 30, 60)


def test_xywh_rounds_each_corner_to_the_nearest_pixel():
    assert Detection(10.6, 20.2, 40.4, 80.7, 0.9).to_xywh() == (11, 20, 29, 61)


def test_xywh_of_an_empty_box_is_one_pixel():
    assert Detection(10, 20, 10, 20, 0.9).to_xywh() == (10, 20, 1, 1)


def test_iou_of_identical_boxes_is_one():
    box = Detection(0, 0, 10, 10, 0.5)

    assert box.iou(box) == 1.0


def test_iou_of_half_overlapping_boxes():
    left = Detection(0, 0, 10, 10, 0.5)
    right = Detection(5, 0, 15, 10, 0.5)

    assert left.iou(right) == pytest.approx(50 / 150)


def test_iou_of_disjoint_or_empty_boxes_is_zero():
    assert Detection(0, 0, 10, 10, 0.5).iou(Detection(20, 20, 30, 30, 0.5)) == 0.0
    assert Detection(5, 5, 5, 5, 0.5).iou(Detection(5, 5, 5, 5, 0.5)) == 0.0


def test_scaled_and_shifted_map_a_tile_box_to_the_page():
    in_tile = Detection(10, 20, 30, 40, 0.7)

    on_page = in_tile.shifted(100, 200).scaled(2.0, 0.5)

    assert on_page == Detection(220, 110, 260, 120, 0.7)


def test_clipped_keeps_the_part_inside_the_image():
    assert Detection(-5, -5, 50, 120, 0.7).clipped(40, 100) == Detection(0, 0, 40, 100, 0.7)


def test_clipped_box_entirely_outside_is_empty():
    assert Detection(50, 50, 60, 60, 0.7).clipped(40, 40).area == 0


@pytest.mark.parametrize(
    "corners_and_score",
    [(10, 0, 5, 10, 0.5), (0, 10, 10, 5, 0.5), (0, 0, 10, 10, 1.5), (0, 0, 10, 10, -0.1)],
)
def test_it_rejects_inverted_boxes_and_scores_outside_0_1(corners_and_score):
    with pytest.raises(ValueError):
        Detection(*corners_and_score)


def test_unknown_age_gender_has_no_age_and_is_not_a_child():
    unknown = AgeGender.unknown()

    assert (unknown.age, unknown.gender, unknown.child) == (None, "unknown", False)
