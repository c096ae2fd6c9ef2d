"""COCO: images matched to pages, bbox [x, y, w, h] in image pixels, attributes in `attributes`."""

from __future__ import annotations

from django.utils.translation import gettext as _

from annotations.ingest.matching import PageMatcher
from annotations.ingest.reports import ImportRejected
from annotations.ingest.values import (
    KNOWN_LABELS,
    ImportedFace,
    check_size,
    finite_number,
    image_box,
    imported_face,
    located,
    point_tolerance,
    read_attributes,
    read_label,
    shown,
)


def parse_coco(data: object, *, name: str, matcher: PageMatcher) -> list[ImportedFace]:
    """The faces of a COCO file; ImportRejected lists every problem found."""
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations")):
        raise ImportRejected([_("not a COCO file: images and annotations must be lists")])
    listed_categories = data.get("categories") or []
    if not isinstance(listed_categories, list):
        raise ImportRejected([_("categories must be a list, got %(value)s") % {"value": shown(listed_categories)}])
    errors: list[str] = []
    categories = {}
    for index, category in enumerate(listed_categories, start=1):
        if (
            isinstance(category, dict)
            and "id" in category
            and _id_checked(category["id"], _("category %(number)s") % {"number": index}, errors)
        ):
            categories[category["id"]] = str(category.get("name", ""))
    images: dict = {}
    for index, image in enumerate(data["images"], start=1):
        where = _("image %(number)s") % {"number": index}
        if not isinstance(image, dict) or "id" not in image:
            errors.append(_("%(where)s: an image is an object with an id") % {"where": where})
            continue
        if not _id_checked(image["id"], where, errors):
            continue
        file_name = image.get("file_name") if isinstance(image.get("file_name"), str) else ""
        canvas = image.get("canvas_id") if isinstance(image.get("canvas_id"), str) else None
        page = matcher.match(canvas=canvas, names=[file_name])
        if page is None:
            images[image["id"]] = matcher.describe(canvas=canvas, names=[file_name])
            continue
        scale = check_size(page, image.get("width"), image.get("height"), f"{where} ({file_name})", errors)
        if scale is not None:
            images[image["id"]] = (page, (image["width"], image["height"]), scale)
    faces = []
    for index, annotation in enumerate(data["annotations"], start=1):
        where = _("annotation %(number)s") % {"number": index}
        if not isinstance(annotation, dict):
            errors.append(_("%(where)s: an annotation is an object") % {"where": where})
            continue
        image_id, category_id = annotation.get("image_id"), annotation.get("category_id")
        image = images.get(image_id) if _is_id(image_id) else None
        if image is None:
            errors.append(_("%(where)s: unknown image_id %(id)s") % {"where": where, "id": shown(image_id)})
            continue
        if isinstance(image, str):
            errors.append(located(where, image))
            continue
        if not _is_id(category_id):
            errors.append(_("%(where)s: unknown category_id %(id)s") % {"where": where, "id": shown(category_id)})
            continue
        category = categories.get(category_id)
        read = read_label(category) if category is not None else None
        if read is None:
            said = category or category_id
            errors.append(
                _("%(where)s: unknown category %(category)s (expected one of %(labels)s)")
                % {"where": where, "category": shown(said), "labels": KNOWN_LABELS}
            )
            continue
        bbox = annotation.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(finite_number(v) is not None for v in bbox)):
            errors.append(
                _("%(where)s: bbox must be [x, y, width, height], got %(value)s")
                % {"where": where, "value": shown(bbox)}
            )
            continue
        page, size, scale = image
        x, y, w, h = bbox
        box = image_box(x, y, x + w, y + h, size=size, scale=scale, where=where, errors=errors)
        attributes = annotation.get("attributes") or {}
        if not isinstance(attributes, dict):
            errors.append(_("%(where)s: attributes must be an object") % {"where": where})
            continue
        values = read_attributes({**attributes, "score": annotation.get("score")}, where, errors)
        if box is not None:
            negative, gender, child = read
            faces.append(
                imported_face(
                    page,
                    box,
                    negative=negative,
                    gender=gender,
                    child=True if child else None,
                    attributes=values,
                    tolerance=point_tolerance(scale),
                )
            )
    if errors:
        raise ImportRejected(errors)
    return faces


def _is_id(value: object) -> bool:
    """COCO ids are numbers or strings (never true/false, which would pass for 1 and 0)."""
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def _id_checked(value: object, where: str, errors: list[str]) -> bool:
    if _is_id(value):
        return True
    errors.append(_("%(where)s: id must be a number or a string, got %(id)s") % {"where": where, "id": shown(value)})
    return False
