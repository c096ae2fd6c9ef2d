"""Fake newspaper pages with real face photos pasted at known places and sizes.

Real Gallica pages cannot ship with the tests, so detection is exercised on a page
that looks enough like one: yellowed paper, light noise, columns of text-like strokes,
and sepia (optionally halftoned) portraits from 40 px to 300 px wide.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FACE_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "faces"

PAPER_RGB = np.array([233.0, 222.0, 200.0])
INK_RGB = np.array([58.0, 50.0, 42.0])
PAPER_NOISE_SIGMA = 5.0
# Printed photos never reach pure black or paper white.
PHOTO_BLACK, PHOTO_WHITE = 35.0, 225.0
HALFTONE_PITCH = 4
COLUMN_WIDTH, GUTTER, MARGIN = 520, 40, 80
LINE_PITCH, X_HEIGHT = 26, 9

# (x, y, face width) of the default page's faces, laid out so their photos do not overlap.
DEFAULT_FACES: tuple[tuple[int, int, int], ...] = (
    (250, 300, 300),
    (1100, 250, 220),
    (1800, 300, 160),
    (300, 1300, 120),
    (900, 1250, 100),
    (1500, 1300, 80),
    (2000, 1300, 64),
    (300, 2100, 56),
    (800, 2150, 48),
    (1300, 2100, 40),
    (1800, 2150, 90),
    (1000, 2800, 140),
)


@dataclass(frozen=True)
class FacePhoto:
    """A head-and-shoulders photo (RGB) and the face box inside it, (x1, y1, x2, y2)."""

    pixels: np.ndarray
    face: tuple[int, int, int, int]


# Face boxes measured by hand, hairline to chin and cheek to cheek (see the README there).
ASTRONAUT_FACE = (178, 75, 270, 180)
ASTRONAUT_CROP = (120, 15, 330, 250)
FIXTURE_FACES = {
    "obama.jpg": (72, 55, 228, 265),
    "rose_leslie.jpg": (80, 85, 230, 303),
    "alex_lacamoire.jpg": (76, 72, 228, 283),
}


@functools.cache
def face_photos() -> tuple[FacePhoto, ...]:
    """The portraits pasted onto pages: scikit-image's astronaut plus the fixture crops."""
    import skimage.data
    import skimage.io

    x1, y1, x2, y2 = ASTRONAUT_CROP
    fx1, fy1, fx2, fy2 = ASTRONAUT_FACE
    photos = [FacePhoto(skimage.data.astronaut()[y1:y2, x1:x2], (fx1 - x1, fy1 - y1, fx2 - x1, fy2 - y1))]
    for name, face in FIXTURE_FACES.items():
        photos.append(FacePhoto(skimage.io.imread(FACE_DIR / name), face))
    return tuple(photos)


def newspaper_page(
    width: int = 2400,
    height: int = 3200,
    faces: list[tuple[int, int, int]] | None = None,
    seed: int = 0,
    *,
    halftone: bool = False,
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """An RGB uint8 page and the (x, y, w, h) face boxes on it, for faces given as (x, y, width)."""
    import cv2

    rng = np.random.default_rng(seed)
    page = np.empty((height, width, 3), dtype=np.float32)
    page[:] = PAPER_RGB
    _draw_text(page, rng)
    photos = face_photos()
    boxes = []
    for index, (x, y, size) in enumerate(DEFAULT_FACES if faces is None else faces):
        photo = photos[index % len(photos)]
        fx1, fy1, fx2, fy2 = photo.face
        scale = size / (fx2 - fx1)
        pixels = cv2.resize(
            photo.pixels,
            None,
            fx=scale,
            fy=scale,
            interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        )
        left, top = round(x - fx1 * scale), round(y - fy1 * scale)
        _paste(page, _printed(pixels, halftone=halftone), left, top)
        boxes.append((x, y, size, round((fy2 - fy1) * scale)))
    # Grey noise (one value for all three channels), like paper grain under a scanner.
    page += PAPER_NOISE_SIGMA * rng.standard_normal((height, width, 1), dtype=np.float32)
    return np.clip(page, 0, 255).astype(np.uint8), boxes


def _draw_text(page: np.ndarray, rng: np.random.Generator) -> None:
    """Columns of dark word-like strokes, which detectors must learn to ignore."""
    height, width = page.shape[:2]
    for left in range(MARGIN, width - MARGIN - COLUMN_WIDTH + 1, COLUMN_WIDTH + GUTTER):
        for top in range(MARGIN, height - MARGIN - X_HEIGHT, LINE_PITCH):
            x = left
            while x < left + COLUMN_WIDTH:
                word = int(rng.integers(18, 90))
                page[top : top + X_HEIGHT, x : min(x + word, left + COLUMN_WIDTH)] = INK_RGB
                x += word + int(rng.integers(9, 15))


def _printed(rgb: np.ndarray, *, halftone: bool) -> np.ndarray:
    """How a photo looks in an old paper: grey, low contrast, sepia, maybe a dot screen."""
    grey = rgb[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    grey = PHOTO_BLACK + grey * (PHOTO_WHITE - PHOTO_BLACK) / 255.0
    if halftone:
        grey = _halftone(grey)
    return grey[..., None] * PAPER_RGB / 255.0


def _halftone(grey: np.ndarray) -> np.ndarray:
    """Round dots on a square screen, each dot's area proportional to the cell's darkness."""
    import cv2

    height, width = grey.shape
    pitch = HALFTONE_PITCH
    cells = cv2.resize(grey, (max(1, width // pitch), max(1, height // pitch)), interpolation=cv2.INTER_AREA)
    darkness = 1.0 - cells / 255.0
    rows, cols = np.mgrid[0:height, 0:width]
    cell_darkness = darkness[
        np.minimum(rows // pitch, cells.shape[0] - 1), np.minimum(cols // pitch, cells.shape[1] - 1)
    ]
    offset_y = (rows % pitch + 0.5) / pitch - 0.5
    offset_x = (cols % pitch + 0.5) / pitch - 0.5
    # A dot of radius r covers pi r^2 of a unit cell: ink where pi * d^2 < darkness.
    ink = np.pi * (offset_x**2 + offset_y**2) < cell_darkness
    dotted = np.where(ink, PHOTO_BLACK, PHOTO_WHITE).astype(np.float64)
    return cv2.GaussianBlur(dotted, (3, 3), 0.8)


def _paste(page: np.ndarray, photo: np.ndarray, left: int, top: int) -> None:
    """Copy `photo` onto `page` at (left, top), cropping whatever falls off the page."""
    height, width = page.shape[:2]
    x1, y1 = max(left, 0), max(top, 0)
    x2, y2 = min(left + photo.shape[1], width), min(top + photo.shape[0], height)
    if x2 > x1 and y2 > y1:
        page[y1:y2, x1:x2] = photo[y1 - top : y2 - top, x1 - left : x2 - left]
