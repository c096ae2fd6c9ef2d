"""Fake reviewed pages for evaluation and retraining: real faces plus face-like ornaments.

res10 fires confidently on printed ornaments drawn like faces (a ring, two dots, a curve): the
kind of false positive curators reject on real pages. A page here carries both, with the
curator's answers: the faces (with gender and age) and the ornaments (to reject).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.support.synthetic_pages import INK_RGB, newspaper_page

# The portraits newspaper_page cycles through (astronaut, obama, rose_leslie, alex_lacamoire):
# their gender and approximate age when photographed.
PHOTO_ATTRIBUTES = (("female", 40.0), ("male", 47.0), ("female", 27.0), ("male", 37.0))
# A head-and-shoulders photo spans about twice the face width and 2.3 times its height.
PHOTO_SPAN_X, PHOTO_SPAN_Y = 2.1, 2.4


@dataclass(frozen=True)
class CuratedFace:
    x: int
    y: int
    w: int
    h: int
    gender: str
    age: float


@dataclass(frozen=True)
class CuratedPage:
    """A page image and what a curator would say about it."""

    pixels: np.ndarray
    faces: list[CuratedFace]
    ornaments: list[tuple[int, int, int, int]]


def ornament(size: int, rng: np.random.Generator) -> np.ndarray:
    """A printed face-like ornament (ring, eyes, mouth) on paper, as an RGB uint8 square."""
    import cv2

    tile = np.full((size, size, 3), 225, np.uint8)
    ink = tuple(int(v) for v in INK_RGB)
    centre = size // 2
    thickness = max(1, round(size * rng.uniform(0.02, 0.05)))
    cv2.circle(tile, (centre, centre), round(size * 0.4), ink, thickness, cv2.LINE_AA)
    eye_dx, eye_y = round(size * rng.uniform(0.13, 0.18)), round(size * rng.uniform(0.36, 0.44))
    eye_r = max(1, round(size * rng.uniform(0.04, 0.07)))
    for side in (-1, 1):
        cv2.circle(tile, (centre + side * eye_dx, eye_y), eye_r, ink, -1, cv2.LINE_AA)
    mouth = (round(size * rng.uniform(0.14, 0.22)), round(size * rng.uniform(0.06, 0.12)))
    cv2.ellipse(tile, (centre, round(size * 0.6)), mouth, 0, 0, 180, ink, thickness, cv2.LINE_AA)
    return tile


def curated_page(
    seed: int,
    *,
    width: int = 1200,
    height: int = 1600,
    n_faces: int = 5,
    n_ornaments: int = 4,
    face_sizes: tuple[int, int] = (44, 110),
    ornament_sizes: tuple[int, int] = (70, 150),
    halftone: bool = False,
) -> CuratedPage:
    """A page with faces and ornaments in distinct cells of a grid, so nothing overlaps."""
    rng = np.random.default_rng(seed)
    columns, rows = 4, 5
    cell_w, cell_h = width // columns, height // rows
    cells = rng.permutation(columns * rows)[: n_faces + n_ornaments]
    face_cells, ornament_cells = cells[:n_faces], cells[n_faces:]
    layout = []
    for cell in face_cells:
        size = int(rng.integers(face_sizes[0], face_sizes[1] + 1))
        size = min(size, int(cell_w / PHOTO_SPAN_X), int(cell_h / PHOTO_SPAN_Y))
        left, top = (cell % columns) * cell_w, (cell // columns) * cell_h
        # The face box sits inside its photo about half a face from the photo's left and top.
        x = left + round(0.5 * size) + int(rng.integers(0, max(1, cell_w - round(PHOTO_SPAN_X * size))))
        y = top + round(0.45 * size) + int(rng.integers(0, max(1, cell_h - round(PHOTO_SPAN_Y * size))))
        layout.append((x, y, size))
    pixels, boxes = newspaper_page(width, height, faces=layout, seed=seed, halftone=halftone)
    faces = [
        CuratedFace(x, y, w, h, *PHOTO_ATTRIBUTES[index % len(PHOTO_ATTRIBUTES)])
        for index, (x, y, w, h) in enumerate(boxes)
    ]
    ornaments = []
    for cell in ornament_cells:
        size = min(int(rng.integers(ornament_sizes[0], ornament_sizes[1] + 1)), cell_w - 10, cell_h - 10)
        x = (cell % columns) * cell_w + int(rng.integers(0, cell_w - size))
        y = (cell // columns) * cell_h + int(rng.integers(0, cell_h - size))
        pixels[y : y + size, x : x + size] = ornament(size, rng)
        # The box a detector draws on an ornament covers the ring's inner face, not the paper square.
        inset = round(size * 0.12)
        ornaments.append((x + inset, y + inset, size - 2 * inset, size - 2 * inset))
    return CuratedPage(pixels=pixels, faces=faces, ornaments=ornaments)
