"""Faces turned sideways: the page read a quarter turn each way as well, boxes brought back to the page."""

import numpy as np
import pytest

from detection.inference.turned import (
    TURNED_SCORE_FACTOR,
    box_from_turned,
    box_into_turned,
    detect_turned,
    turned_page,
)
from detection.inference.types import Detection


class UprightBars:
    """Finds white squares and bars standing upright (no wider than tall) on a black image, at the score their
    grey says. A bar lying on its side is, to it, what a face turned sideways is to a face detector: nothing."""

    def detect(self, image):
        import cv2

        count, _labels, stats, _centroids = cv2.connectedComponentsWithStats((image[..., 0] > 100).astype(np.uint8))
        found = []
        for x, y, w, h, _area in stats[1:count]:
            if h >= w:
                found.append(Detection.from_xywh(x, y, w, h, float(image[y, x, 0]) / 255))
        return found


def bars_image(width, height, bars):
    image = np.zeros((height, width, 3), dtype=np.uint8)
    for x, y, w, h, grey in bars:
        image[y : y + h, x : x + w] = grey
    return image


@pytest.mark.parametrize("turns", [1, 3])
def test_a_box_goes_into_the_turned_page_and_back(turns):
    box = Detection(10, 20, 50, 80, 0.9)

    inside = box_into_turned(box, turns, width=300, height=200)

    assert box_from_turned(inside, turns, width=300, height=200) == box
    assert (inside.width, inside.height) == (60, 40)


@pytest.mark.parametrize("turns", [1, 3])
def test_a_box_in_the_turned_page_covers_the_same_pixels(turns):
    page = bars_image(300, 200, [(10, 20, 40, 60, 255)])

    inside = box_into_turned(Detection(10, 20, 50, 80, 1.0), turns, width=300, height=200)
    turned = turned_page(page, turns)

    x, y, w, h = inside.to_xywh()
    assert turned.shape[:2] == (300, 200)
    assert turned[y : y + h, x : x + w].min() == 255
    assert turned.sum() == page.sum()


def test_a_bar_on_its_side_is_found_in_the_turned_page_and_placed_on_the_page():
    page = bars_image(400, 300, [(50, 40, 30, 80, 255), (200, 150, 90, 30, 255)])

    found = detect_turned(UprightBars().detect, page)

    assert [(face.box.to_xywh(), face.turns) for face in found] == [((50, 40, 30, 80), 0), ((200, 150, 90, 30), 1)]
    sideways = found[1]
    assert sideways.box.score == pytest.approx(TURNED_SCORE_FACTOR)
    assert sideways.upright == box_into_turned(sideways.box, 1, width=400, height=300)
    assert sideways.upright.height > sideways.upright.width


def test_a_face_both_passes_find_comes_back_once_with_the_upright_score():
    # A square stands upright in every turn of the page.
    page = bars_image(400, 300, [(100, 100, 60, 60, 204)])

    found = detect_turned(UprightBars().detect, page)

    assert [(face.box, face.turns) for face in found] == [(Detection(100, 100, 160, 160, 0.8), 0)]


def test_a_turned_box_outranks_an_upright_one_where_it_scores_better_once_scaled():
    sideways = Detection(200, 150, 290, 182, 0.95)
    answers = [[Detection(200, 150, 290, 182, 0.3)], [box_into_turned(sideways, 1, width=400, height=300)], []]

    found = detect_turned(lambda image: answers.pop(0), np.zeros((300, 400, 3), np.uint8))

    assert [(face.box.to_xywh(), face.turns) for face in found] == [((200, 150, 90, 32), 1)]
    assert found[0].box.score == pytest.approx(0.95 * TURNED_SCORE_FACTOR)
    assert answers == []


def test_turned_passes_find_nothing_on_an_empty_page():
    assert detect_turned(UprightBars().detect, np.zeros((50, 80, 3), np.uint8)) == []


@pytest.mark.realmodel
def test_centerface_finds_the_cameraman_on_his_side_in_the_turned_page_and_reads_him_upright():
    from skimage import data

    from detection.inference.registry import get_attribute_model, get_detector

    centerface = get_detector("centerface", score_threshold=0.1)
    photograph = np.stack([data.camera()] * 3, axis=-1)
    (face,) = centerface.detect(photograph)
    # The photograph pasted a quarter turn clockwise, as on an album page.
    page = turned_page(photograph, 3)
    truth = box_into_turned(face, 3, width=512, height=512)

    as_it_is = centerface.detect(page)
    found = detect_turned(centerface.detect, page)

    assert not [box for box in as_it_is if box.score >= 0.5 and box.iou(truth) >= 0.5]
    (turned,) = [face for face in found if face.box.iou(truth) >= 0.9]
    assert turned.turns == 1 and turned.box.score >= 0.5
    ages_and_genders = get_attribute_model("onnx-age-gender")
    assert ages_and_genders.predict(turned_page(page, turned.turns), turned.upright).gender == "male"
