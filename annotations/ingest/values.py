"""Reading values shared by the annotation formats: numbers, labels, attributes, sizes and boxes."""

from __future__ import annotations

import math
from dataclasses import dataclass

from annotations.models import Gender, Page

# Image sizes may differ from what the file says by this much before we call them different images.
ASPECT_TOLERANCE = 0.02
# Points may fall this far (image pixels) outside the image: editors snap to the last pixel edge.
EDGE_TOLERANCE = 1.0

# Labels (and W3C tags) we read as faces: (gender, child); None gender means "not said".
FACE_LABELS: dict[str, tuple[str | None, bool]] = {
    "face": (None, False),
    "visage": (None, False),
    "female": (Gender.FEMALE, False),
    "woman": (Gender.FEMALE, False),
    "facew": (Gender.FEMALE, False),
    "male": (Gender.MALE, False),
    "man": (Gender.MALE, False),
    "facem": (Gender.MALE, False),
    "child": (None, True),
    "facec": (None, True),
}
NEGATIVE_LABELS = frozenset({"not_face", "non_face", "negative"})
KNOWN_LABELS = ", ".join([*FACE_LABELS, *sorted(NEGATIVE_LABELS)])


@dataclass(frozen=True)
class ImportedFace:
    """A face read from a file, already in canvas pixels of its page."""

    page: Page
    x: float
    y: float
    w: float
    h: float
    negative: bool = False
    # None means the file does not say: a new face gets the default, a stored face keeps its value.
    gender: str | None = None
    child: bool | None = None
    age: float | None = None
    age_confidence: float | None = None
    gender_confidence: float | None = None
    confidence: float | None = None
    # Canvas pixels a stored box may differ by and still be this face (rounding after scaling).
    tolerance: float = 2.0


def read_number(
    value, where: str, errors: list[str], *, low: float | None = None, high: float | None = None
) -> float | None:
    """A number within [low, high], or None when absent; type and range errors are collected."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors.append(f"{where} must be a number, got {value!r}")
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        errors.append(f"{where} must be between {low} and {high}, got {value}")
        return None
    return float(value)


def read_label(value: str) -> tuple[bool, str | None, bool] | None:
    """(negative, gender, child) for a face label or tag, None when it is not one of ours."""
    key = value.strip().lower()
    if key in NEGATIVE_LABELS:
        return True, None, False
    if key in FACE_LABELS:
        gender, child = FACE_LABELS[key]
        return False, gender, child
    return None


def read_attributes(values: dict, where: str, errors: list[str]) -> dict:
    """age, confidences, gender and child from a dict of attributes (ours or a close relative)."""
    gender = values.get("gender")
    if gender is not None and gender not in Gender.values:
        errors.append(f"{where}: gender must be one of {', '.join(Gender.values)}, got {gender!r}")
        gender = None
    child = values.get("child")
    if child is not None and not isinstance(child, bool):
        errors.append(f"{where}: child must be true or false, got {child!r}")
        child = None
    return {
        "gender": gender,
        "child": child,
        "age": read_number(values.get("age"), f"{where}: age", errors, low=0, high=130),
        "age_confidence": read_number(values.get("age_confidence"), f"{where}: age_confidence", errors, low=0, high=1),
        "gender_confidence": read_number(
            values.get("gender_confidence"), f"{where}: gender_confidence", errors, low=0, high=1
        ),
        "confidence": read_number(
            values.get("confidence", values.get("score")), f"{where}: confidence", errors, low=0, high=1
        ),
    }


def check_size(page: Page, width, height, where: str, errors: list[str]) -> tuple[float, float] | None:
    """Canvas pixels per image pixel for an image said to be width x height; errors when it is not this page."""
    if any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in (width, height)):
        errors.append(f"{where}: image width and height must be positive integers, got {width!r} x {height!r}")
        return None
    canvas_ratio, image_ratio = page.width / page.height, width / height
    if abs(image_ratio - canvas_ratio) > ASPECT_TOLERANCE * canvas_ratio:
        errors.append(
            f"{where}: wrong image size {width}x{height} for page {page.order} of document {page.document_id} "
            f"({page.width}x{page.height} canvas): the aspect ratios differ"
        )
        return None
    return page.width / width, page.height / height


def point_tolerance(scale: tuple[float, float]) -> float:
    return max(2.0, math.ceil(max(scale)))


def image_box(
    x1: float, y1: float, x2: float, y2: float, *, size: tuple[int, int], scale, where: str, errors: list[str]
) -> tuple[float, float, float, float] | None:
    """A box given in image pixels, checked against the image, as canvas x, y, w, h."""
    width, height = size
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        errors.append(f"{where}: the box has no area ({x1},{y1} to {x2},{y2})")
        return None
    if x1 < -EDGE_TOLERANCE or y1 < -EDGE_TOLERANCE or x2 > width + EDGE_TOLERANCE or y2 > height + EDGE_TOLERANCE:
        errors.append(f"{where}: the box {x1},{y1} to {x2},{y2} lies outside the {width}x{height} image")
        return None
    sx, sy = scale
    return x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy


def imported_face(
    page: Page, box, *, negative: bool, gender: str | None, child: bool | None, attributes: dict, tolerance: float
) -> ImportedFace:
    """An imported face; what the label or flags say wins over the attribute values."""
    x, y, w, h = box
    return ImportedFace(
        page=page,
        x=x,
        y=y,
        w=w,
        h=h,
        negative=negative,
        gender=gender if gender is not None else attributes.get("gender"),
        child=child if child is not None else attributes.get("child"),
        age=attributes.get("age"),
        age_confidence=attributes.get("age_confidence"),
        gender_confidence=attributes.get("gender_confidence"),
        confidence=attributes.get("confidence"),
        tolerance=tolerance,
    )
