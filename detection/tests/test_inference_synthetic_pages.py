"""The fake newspaper pages the tiling tests rely on."""

import numpy as np

from tests.support.synthetic_pages import newspaper_page


def test_the_default_page_has_twelve_faces_from_40_to_300_px_inside_it():
    page, boxes = newspaper_page()

    assert page.shape == (3200, 2400, 3) and page.dtype == np.uint8
    assert len(boxes) == 12
    assert {w for _x, _y, w, _h in boxes} >= {40, 300}
    assert all(0 <= x and 0 <= y and x + w <= 2400 and y + h <= 3200 for x, y, w, h in boxes)


def test_faces_are_pasted_where_asked():
    page, boxes = newspaper_page(800, 600, faces=[(100, 120, 80)])

    assert boxes[0][:3] == (100, 120, 80)
    # A face is darker than bare paper on average (paper is about 220 here).
    x, y, w, h = boxes[0]
    assert page[y : y + h, x : x + w].mean() < page[:40, :40].mean() - 20


def test_the_same_seed_gives_the_same_page():
    first, _ = newspaper_page(600, 400, faces=[(50, 50, 60)], seed=3)
    again, _ = newspaper_page(600, 400, faces=[(50, 50, 60)], seed=3)
    other, _ = newspaper_page(600, 400, faces=[(50, 50, 60)], seed=4)

    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_halftoned_faces_are_made_of_dots():
    plain, boxes = newspaper_page(800, 600, faces=[(100, 120, 120)])
    dotted, _ = newspaper_page(800, 600, faces=[(100, 120, 120)], halftone=True)
    x, y, w, h = boxes[0]

    def roughness(page):
        """Mean jump between neighbouring pixels: a dot screen swings from ink to paper."""
        return np.abs(np.diff(page[y : y + h, x : x + w, 0].astype(int))).mean()

    assert roughness(dotted) > 2 * roughness(plain)
