"""The review canvas's pure geometry module (geometry.js), run in Chromium."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def geometry(page, live_server):
    """Evaluates a JS expression with the module bound to `g`."""
    page.goto(f"{live_server.url}/static/frontend/js/geometry.js")

    def run(expression: str):
        return page.evaluate(
            f"async () => {{ const g = await import('/static/frontend/js/geometry.js'); return ({expression}); }}"
        )

    return run


def test_screen_and_canvas_coordinates_round_trip(geometry):
    result = geometry(
        "(() => { const t = g.makeTransform(100, 50, 0.25); const s = g.toScreen({x: 400, y: 200, w: 80, h: 40}, t);"
        " return [s, g.toCanvas({x: s.x, y: s.y}, t), g.visibleRect(t, 1000, 500)]; })()"
    )

    assert result[0] == {"x": 200, "y": 100, "w": 20, "h": 10}
    assert result[1] == {"x": 400, "y": 200}
    assert result[2] == {"x": -400, "y": -200, "w": 4000, "h": 2000}


def test_the_smallest_box_under_the_point_wins(geometry):
    hit = geometry(
        "g.hitTest([{id: 1, x: 0, y: 0, w: 100, h: 100}, {id: 2, x: 40, y: 40, w: 10, h: 10},"
        " {id: 3, x: 200, y: 0, w: 5, h: 5}], {x: 45, y: 45}).id"
    )
    miss = geometry("g.hitTest([{x: 0, y: 0, w: 10, h: 10}], {x: 50, y: 50})")

    assert hit == 2
    assert miss is None


def test_handles_and_inside_are_grabbed_within_tolerance(geometry):
    grabs = geometry(
        "(() => { const t = g.makeTransform(0, 0, 1); const box = {x: 100, y: 100, w: 50, h: 40};"
        " return [[150, 140], [125, 100], [98, 121], [120, 120], [300, 300]]"
        "   .map(([x, y]) => g.grabAt(box, {x, y}, t)); })()"
    )

    assert grabs == ["se", "n", "w", "move", None]


def test_resizing_past_the_opposite_edge_flips_the_box(geometry):
    boxes = geometry(
        "[g.resizeBox({x: 10, y: 10, w: 20, h: 20}, 'se', 5, -5),"
        " g.resizeBox({x: 10, y: 10, w: 20, h: 20}, 'w', 30, 0),"
        " g.resizeBox({x: 10, y: 10, w: 20, h: 20}, 'n', 0, 20, 1)]"
    )

    assert boxes[0] == {"x": 10, "y": 10, "w": 25, "h": 15}
    assert boxes[1] == {"x": 30, "y": 10, "w": 10, "h": 20}
    assert boxes[2] == {"x": 10, "y": 30, "w": 20, "h": 1}


def test_boxes_are_clamped_and_moved_inside_the_page(geometry):
    result = geometry(
        "[g.clampBox({x: -5.4, y: 90, w: 20, h: 30}, 100, 100), g.clampBox({x: 120, y: 0, w: 5, h: 5}, 100, 100),"
        " g.moveBox({x: 80, y: 10, w: 15, h: 10}, 50, -30, 100, 100)]"
    )

    assert result == [{"x": 0, "y": 90, "w": 15, "h": 10}, None, {"x": 85, "y": 0, "w": 15, "h": 10}]


def test_the_grid_index_returns_each_box_in_view_once(geometry):
    result = geometry(
        "(() => { const index = new g.GridIndex(1000, 1000, 10); const big = {id: 'big', x: 0, y: 0, w: 900, h: 900};"
        " const small = {id: 'small', x: 950, y: 950, w: 20, h: 20}; index.insert(big); index.insert(small);"
        " const first = index.query({x: 100, y: 100, w: 500, h: 500}).map((b) => b.id);"
        " small.x = 10; small.y = 10; index.update(small);"
        " const second = index.query({x: 0, y: 0, w: 50, h: 50}).map((b) => b.id).sort();"
        " index.remove(big);"
        " return [first, second, index.query({x: 0, y: 0, w: 1000, h: 1000}).length, index.size]; })()"
    )

    assert result == [["big"], ["big", "small"], 1, 1]


def test_face_crops_match_the_server_side_iiif_urls(geometry):
    from annotations.iiif.image_api import face_crop_url

    js = geometry(
        "[g.faceCropUrl({serviceId: 'https://img/iiif/p1/', version: '3', box: {x: 100, y: 200, w: 40, h: 50},"
        " canvasWidth: 1000, canvasHeight: 2000, size: 96}),"
        " g.faceCropUrl({serviceId: 'https://img/iiif/p1', version: '1', box: {x: 100, y: 200, w: 40, h: 50},"
        " canvasWidth: 1000, canvasHeight: 2000, imageWidth: 2000, imageHeight: 4000, size: 96})]"
    )

    assert js[0] == face_crop_url(
        "https://img/iiif/p1/", "3", x=100, y=200, w=40, h=50, canvas_w=1000, canvas_h=2000, size=96
    )
    assert js[1] == face_crop_url(
        "https://img/iiif/p1",
        "1",
        x=100,
        y=200,
        w=40,
        h=50,
        canvas_w=1000,
        canvas_h=2000,
        size=96,
        image_w=2000,
        image_h=4000,
    )


def test_a_nudge_is_one_screen_pixel_and_at_least_one_canvas_pixel(geometry):
    steps = geometry(
        "[g.nudgeStep(0.38), g.nudgeStep(0.38, true), g.nudgeStep(2), g.nudgeStep(2, true), g.nudgeStep(1)]"
    )

    assert steps == [3, 30, 1, 10, 1]


def test_arrow_keys_move_or_resize_a_box_inside_the_page(geometry):
    page = "{width: 100, height: 80}"
    boxes = geometry(
        "(() => { const box = {x: 10, y: 20, w: 30, h: 40};"
        f" const p = {page}; const r = {{...p, resize: true}};"
        " return [g.nudgeBox(box, 'ArrowRight', 3, p), g.nudgeBox(box, 'ArrowUp', 30, p),"
        " g.nudgeBox(box, 'ArrowDown', 1, r), g.nudgeBox(box, 'ArrowLeft', 50, r),"
        " g.nudgeBox(box, 'ArrowRight', 500, r), g.nudgeBox(box, 'Enter', 5, p)]; })()"
    )

    assert boxes == [
        {"x": 13, "y": 20, "w": 30, "h": 40},
        {"x": 10, "y": 0, "w": 30, "h": 40},
        {"x": 10, "y": 20, "w": 30, "h": 41},
        {"x": 10, "y": 20, "w": 1, "h": 40},
        {"x": 10, "y": 20, "w": 90, "h": 40},
        {"x": 10, "y": 20, "w": 30, "h": 40},
    ]


def test_rectangles_clip_to_their_overlap_or_nothing(geometry):
    overlap = geometry("g.clipRect({x: -50, y: 10, w: 200, h: 100}, {x: 0, y: 0, w: 100, h: 60})")
    apart = geometry("g.clipRect({x: 0, y: 0, w: 10, h: 10}, {x: 10, y: 0, w: 10, h: 10})")

    assert overlap == {"x": 0, "y": 10, "w": 100, "h": 50}
    assert apart is None


def test_box_outlines_are_written_as_pixels_cut_to_the_buffer(geometry):
    rows, orange, cleared = geometry(
        "(async () => { const { Raster, pixel } = await import('/static/frontend/js/boxraster.js');"
        " const r = new Raster(); r.reset(6, 4); const orange = pixel('#ff8000', 0.7);"
        " r.outline(1, 1, 6, 5, 1, orange); r.rect(-2, -2, 3, 3, pixel('#0000ff'));"
        " const rows = [0, 1, 2, 3].map((y) => Array.from(r.pixels.slice(y * 6, y * 6 + 6),"
        "   (p) => (p === orange ? 'o' : p ? 'b' : '.')).join(''));"
        " const bytes = Array.from(r.image.data.slice(4 * 7, 4 * 8)); r.reset(6, 4);"
        " return [rows, bytes, r.pixels.every((p) => p === 0)]; })()"
    )

    assert rows == ["b.....", ".ooooo", ".o....", ".o...."]
    assert orange == [255, 128, 0, 179], "RGBA bytes as ImageData holds them"
    assert cleared


def test_a_placed_box_takes_the_median_size_of_its_nearest_boxes(geometry):
    boxes = (
        "[{x: 0, y: 0, w: 20, h: 30}, {x: 40, y: 0, w: 24, h: 28}, {x: 80, y: 0, w: 22, h: 26},"
        " {x: 1000, y: 1000, w: 300, h: 300}]"
    )
    near = geometry(f"g.boxAmongNeighbours({{x: 50, y: 50}}, {boxes}, {{count: 3, side: 40}})")
    everyone = geometry(f"g.boxAmongNeighbours({{x: 50, y: 50}}, {boxes}, {{count: 4, side: 40}})")
    alone = geometry("g.boxAmongNeighbours({x: 50, y: 50}, [], {side: 40})")

    assert near == {"x": 39, "y": 36, "w": 22, "h": 28}, "the far large box is not a neighbour"
    assert everyone == {"x": 39, "y": 36, "w": 23, "h": 29}, "an even count takes the middle two's mean"
    assert alone == {"x": 30, "y": 30, "w": 40, "h": 40}
