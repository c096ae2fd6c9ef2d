"""Reading values shared by the annotation formats: numbers, labels, attributes, sizes and boxes."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.translation import gettext as _

from annotations.models import Gender, Page

# Image sizes may differ from what the file says by this much before we call them different images.
ASPECT_TOLERANCE = 0.02
# Points may fall this far (image pixels) outside the image: editors snap to the last pixel edge.
EDGE_TOLERANCE = 1.0
# The largest image side a file may state (a 300-megapixel scan stays well below).
MAX_IMAGE_SIDE = 1_000_000
# Values quoted back in a report are cut here, so a huge one cannot swell the answer.
SHOWN_CHARS = 60

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
    # The file writes the age as null: a stored face's age is cleared (left out, it is kept).
    age_cleared: bool = False
    age_confidence: float | None = None
    gender_confidence: float | None = None
    confidence: float | None = None
    # Canvas pixels a stored box may differ by and still be this face (rounding after scaling).
    tolerance: float = 2.0


def shown(value) -> str:
    """A value as a report quotes it: its repr, cut to SHOWN_CHARS."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 1]}…"


def finite_number(value) -> float | None:
    """A JSON number as a float; None for anything else, a bool, or an integer past the float range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def read_number(
    value, where: str, errors: list[str], *, low: float | None = None, high: float | None = None
) -> float | None:
    """A number within [low, high], or None when absent; type and range errors are collected."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(_("%(where)s must be a number, got %(value)s") % {"where": where, "value": shown(value)})
        return None
    # Compared before any conversion: an integer past the float range is simply out of range.
    if (low is not None and value < low) or (high is not None and value > high):
        errors.append(
            _("%(where)s must be between %(low)s and %(high)s, got %(value)s")
            % {"where": where, "low": low, "high": high, "value": shown(value)}
        )
        return None
    number = finite_number(value)
    if number is None:
        errors.append(_("%(where)s must be a number, got %(value)s") % {"where": where, "value": shown(value)})
    return number


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
        errors.append(
            _("%(where)s: gender must be one of %(values)s, got %(value)s")
            % {"where": where, "values": ", ".join(Gender.values), "value": shown(gender)}
        )
        gender = None
    child = values.get("child")
    if child is not None and not isinstance(child, bool):
        errors.append(
            _("%(where)s: child must be true or false, got %(value)s") % {"where": where, "value": shown(child)}
        )
        child = None
    said_confidence = "confidence" if "confidence" in values else "score"
    return {
        "gender": gender,
        "child": child,
        "age": read_number(values.get("age"), located(where, "age"), errors, low=0, high=130),
        "age_cleared": "age" in values and values["age"] is None,
        "age_confidence": read_number(
            values.get("age_confidence"), located(where, "age_confidence"), errors, low=0, high=1
        ),
        "gender_confidence": read_number(
            values.get("gender_confidence"), located(where, "gender_confidence"), errors, low=0, high=1
        ),
        "confidence": read_number(values.get(said_confidence), located(where, said_confidence), errors, low=0, high=1),
    }


def located(where: str, what: str) -> str:
    """A message, or a key of the file, prefixed by where it is in the file ("shape 2: age")."""
    return _("%(where)s: %(what)s") % {"where": where, "what": what}


def check_size(page: Page, width, height, where: str, errors: list[str]) -> tuple[float, float] | None:
    """Canvas pixels per image pixel for an image said to be width x height; errors when it is not this page."""
    if any(isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= MAX_IMAGE_SIDE for v in (width, height)):
        errors.append(
            _("%(where)s: image width and height must be whole numbers from 1 to %(max)s, got %(width)s x %(height)s")
            % {"where": where, "max": MAX_IMAGE_SIDE, "width": shown(width), "height": shown(height)}
        )
        return None
    canvas_ratio, image_ratio = page.width / page.height, width / height
    if abs(image_ratio - canvas_ratio) > ASPECT_TOLERANCE * canvas_ratio:
        errors.append(
            _(
                "%(where)s: wrong image size %(width)sx%(height)s for page %(page)s of document %(document)s "
                "(%(canvas_width)sx%(canvas_height)s canvas): the aspect ratios differ"
            )
            % {
                "where": where,
                "width": width,
                "height": height,
                "page": page.order,
                "document": page.document_id,
                "canvas_width": page.width,
                "canvas_height": page.height,
            }
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
        errors.append(
            _("%(where)s: the box has no area (%(x1)s,%(y1)s to %(x2)s,%(y2)s)")
            % {"where": where, "x1": x1, "y1": y1, "x2": x2, "y2": y2}
        )
        return None
    if x1 < -EDGE_TOLERANCE or y1 < -EDGE_TOLERANCE or x2 > width + EDGE_TOLERANCE or y2 > height + EDGE_TOLERANCE:
        errors.append(
            _("%(where)s: the box %(x1)s,%(y1)s to %(x2)s,%(y2)s lies outside the %(width)sx%(height)s image")
            % {"where": where, "x1": x1, "y1": y1, "x2": x2, "y2": y2, "width": width, "height": height}
        )
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
        age_cleared=attributes.get("age_cleared", False),
        age_confidence=attributes.get("age_confidence"),
        gender_confidence=attributes.get("gender_confidence"),
        confidence=attributes.get("confidence"),
        tolerance=tolerance,
    )
