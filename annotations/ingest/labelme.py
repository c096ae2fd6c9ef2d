"""LabelMe (SPECS.md §3.1): rectangles with two points in any order, bool-only flags."""

from __future__ import annotations

from annotations.ingest.matching import PageMatcher, file_stem
from annotations.ingest.reports import ImportRejected
from annotations.ingest.values import (
    KNOWN_LABELS,
    ImportedFace,
    check_size,
    image_box,
    imported_face,
    point_tolerance,
    read_attributes,
    read_label,
)
from annotations.models import Gender, Page
from webapp.parsers import json_loads_untrusted


def parse_labelme(
    data: object, *, name: str, matcher: PageMatcher, image_sizes: dict[str, tuple[int, int]]
) -> list[ImportedFace]:
    """The faces of one LabelMe JSON file; ImportRejected lists every problem found."""
    if not isinstance(data, dict):
        raise ImportRejected(["a LabelMe file is a JSON object with shapes, imagePath, imageWidth and imageHeight"])
    missing = [key for key in ("shapes", "imagePath", "imageHeight", "imageWidth") if key not in data]
    if missing:
        raise ImportRejected([f"not a LabelMe file: missing {', '.join(missing)}"])
    errors: list[str] = []
    image_path = data["imagePath"]
    if not isinstance(image_path, str):
        raise ImportRejected([f"imagePath must be a string, got {image_path!r}"])
    if not isinstance(data["shapes"], list):
        raise ImportRejected(["shapes must be a list"])
    canvas = data.get("canvas") if isinstance(data.get("canvas"), str) else None
    page = matcher.match(canvas=canvas, names=[image_path, name])
    if page is None:
        raise ImportRejected([matcher.describe(canvas=canvas, names=[image_path, name])])
    width, height = data["imageWidth"], data["imageHeight"]
    actual = image_sizes.get(file_stem(image_path).lower())
    if actual is not None and actual != (width, height):
        raise ImportRejected(
            [f"imageWidth x imageHeight say {width}x{height} but {image_path} is {actual[0]}x{actual[1]}"]
        )
    scale = check_size(page, width, height, "image", errors)
    if scale is None:
        raise ImportRejected(errors)
    faces = [
        face
        for index, shape in enumerate(data["shapes"], start=1)
        if (face := _labelme_shape(shape, f"shape {index}", page, (width, height), scale, errors)) is not None
    ]
    if errors:
        raise ImportRejected(errors)
    return faces


def _labelme_shape(shape, where: str, page: Page, size, scale, errors: list[str]) -> ImportedFace | None:
    if not isinstance(shape, dict):
        errors.append(f"{where}: a shape is a JSON object")
        return None
    label = shape.get("label")
    if not isinstance(label, str):
        errors.append(f"{where}: label is required and must be a string")
        return None
    read = read_label(label)
    if read is None:
        errors.append(f"{where}: unknown label {label!r} (expected one of {KNOWN_LABELS})")
        return None
    negative, gender, child = read
    if shape.get("shape_type") != "rectangle":
        errors.append(f"{where}: shape_type {shape.get('shape_type')!r} is not supported: faces are rectangles")
        return None
    points = shape.get("points")
    if not (
        isinstance(points, list)
        and len(points) == 2
        and all(
            isinstance(p, list)
            and len(p) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
            for p in points
        )
    ):
        errors.append(f"{where}: a rectangle needs exactly two [x, y] points, got {points!r}")
        return None
    flags = shape.get("flags") or {}
    if not isinstance(flags, dict) or not all(isinstance(k, str) and isinstance(v, bool) for k, v in flags.items()):
        errors.append(f"{where}: flags must map names to true or false, got {flags!r}")
        return None
    if flags.get("female") and flags.get("male"):
        errors.append(f"{where}: flags say both female and male")
        return None
    if flags.get("female"):
        gender = Gender.FEMALE
    elif flags.get("male"):
        gender = Gender.MALE
    elif gender is None and ("female" in flags or "male" in flags):
        gender = Gender.UNKNOWN
    if not child and "child" in flags:
        child = flags["child"]
    elif not child:
        child = None
    values = _description(shape)
    extras = ("age", "age_confidence", "gender", "gender_confidence", "confidence")
    values.update({k: shape[k] for k in extras if k in shape})
    attributes = read_attributes(values, where, errors)
    (ax, ay), (bx, by) = points
    box = image_box(
        min(ax, bx), min(ay, by), max(ax, bx), max(ay, by), size=size, scale=scale, where=where, errors=errors
    )
    if box is None:
        return None
    return imported_face(
        page,
        box,
        negative=negative,
        gender=gender,
        child=child,
        attributes=attributes,
        tolerance=point_tolerance(scale),
    )


def _description(shape: dict) -> dict:
    """Attributes from a shape's JSON description (our fallback for converters that drop extra keys)."""
    description = shape.get("description")
    if not isinstance(description, str) or not description.strip().startswith("{"):
        return {}
    try:
        values = json_loads_untrusted(description)
    except ValueError:
        return {}
    if not isinstance(values, dict):
        return {}
    renamed = {"det_conf": "confidence", "gender_conf": "gender_confidence", "age_conf": "age_confidence"}
    return {renamed.get(k, k): v for k, v in values.items() if renamed.get(k, k) in ("age", *renamed.values())}
