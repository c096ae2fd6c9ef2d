"""LabelMe (SPECS.md §3.1): rectangles with two points in any order, bool-only flags."""

from __future__ import annotations

from django.utils.translation import gettext as _

from annotations.ingest.matching import PageMatcher, file_stem
from annotations.ingest.reports import ImportRejected
from annotations.ingest.values import (
    KNOWN_LABELS,
    ImportedFace,
    check_size,
    finite_number,
    image_box,
    imported_face,
    point_tolerance,
    read_attributes,
    read_label,
    shown,
)
from annotations.models import Gender, Page
from webapp.parsers import json_loads_untrusted


def parse_labelme(
    data: object, *, name: str, matcher: PageMatcher, image_sizes: dict[str, tuple[int, int]]
) -> list[ImportedFace]:
    """The faces of one LabelMe JSON file; ImportRejected lists every problem found."""
    if not isinstance(data, dict):
        raise ImportRejected([_("a LabelMe file is a JSON object with shapes, imagePath, imageWidth and imageHeight")])
    missing = [key for key in ("shapes", "imagePath", "imageHeight", "imageWidth") if key not in data]
    if missing:
        raise ImportRejected([_("not a LabelMe file: missing %(keys)s") % {"keys": ", ".join(missing)}])
    errors: list[str] = []
    image_path = data["imagePath"]
    if not isinstance(image_path, str):
        raise ImportRejected([_("imagePath must be a string, got %(value)s") % {"value": shown(image_path)}])
    if not isinstance(data["shapes"], list):
        raise ImportRejected([_("shapes must be a list")])
    canvas = data.get("canvas") if isinstance(data.get("canvas"), str) else None
    page = matcher.match(canvas=canvas, names=[image_path, name])
    if page is None:
        raise ImportRejected([matcher.describe(canvas=canvas, names=[image_path, name])])
    width, height = data["imageWidth"], data["imageHeight"]
    actual = image_sizes.get(file_stem(image_path).lower())
    if actual is not None and actual != (width, height):
        raise ImportRejected(
            [
                _(
                    "imageWidth x imageHeight say %(width)sx%(height)s "
                    "but %(path)s is %(actual_width)sx%(actual_height)s"
                )
                % {
                    "width": width,
                    "height": height,
                    "path": image_path,
                    "actual_width": actual[0],
                    "actual_height": actual[1],
                }
            ]
        )
    scale = check_size(page, width, height, _("image"), errors)
    if scale is None:
        raise ImportRejected(errors)
    faces = [
        face
        for index, shape in enumerate(data["shapes"], start=1)
        if (
            face := _labelme_shape(
                shape, _("shape %(number)s") % {"number": index}, page, (width, height), scale, errors
            )
        )
        is not None
    ]
    if errors:
        raise ImportRejected(errors)
    return faces


def _labelme_shape(shape, where: str, page: Page, size, scale, errors: list[str]) -> ImportedFace | None:
    if not isinstance(shape, dict):
        errors.append(_("%(where)s: a shape is a JSON object") % {"where": where})
        return None
    label = shape.get("label")
    if not isinstance(label, str):
        errors.append(_("%(where)s: label is required and must be a string") % {"where": where})
        return None
    read = read_label(label)
    if read is None:
        errors.append(
            _("%(where)s: unknown label %(label)s (expected one of %(labels)s)")
            % {"where": where, "label": shown(label), "labels": KNOWN_LABELS}
        )
        return None
    negative, gender, child = read
    if shape.get("shape_type") != "rectangle":
        errors.append(
            _("%(where)s: shape_type %(value)s is not supported: faces are rectangles")
            % {"where": where, "value": shown(shape.get("shape_type"))}
        )
        return None
    points = shape.get("points")
    if not (
        isinstance(points, list)
        and len(points) == 2
        and all(isinstance(p, list) and len(p) == 2 and all(finite_number(v) is not None for v in p) for p in points)
    ):
        errors.append(
            _("%(where)s: a rectangle needs exactly two [x, y] points, got %(value)s")
            % {"where": where, "value": shown(points)}
        )
        return None
    flags = shape.get("flags") or {}
    if not isinstance(flags, dict) or not all(isinstance(k, str) and isinstance(v, bool) for k, v in flags.items()):
        errors.append(
            _("%(where)s: flags must map names to true or false, got %(value)s")
            % {"where": where, "value": shown(flags)}
        )
        return None
    if flags.get("female") and flags.get("male"):
        errors.append(_("%(where)s: flags say both female and male") % {"where": where})
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
