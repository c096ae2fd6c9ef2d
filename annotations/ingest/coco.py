"""COCO: images matched to pages, bbox [x, y, w, h] in image pixels, attributes in `attributes`."""

from __future__ import annotations

from annotations.ingest.matching import PageMatcher
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


def parse_coco(data: object, *, name: str, matcher: PageMatcher) -> list[ImportedFace]:
    """The faces of a COCO file; ImportRejected lists every problem found."""
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations")):
        raise ImportRejected(["not a COCO file: images and annotations must be lists"])
    errors: list[str] = []
    categories = {}
    for category in data.get("categories") or []:
        if isinstance(category, dict) and "id" in category:
            categories[category["id"]] = str(category.get("name", ""))
    images: dict = {}
    for index, image in enumerate(data["images"], start=1):
        where = f"image {index}"
        if not isinstance(image, dict) or "id" not in image:
            errors.append(f"{where}: an image is an object with an id")
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
        where = f"annotation {index}"
        if not isinstance(annotation, dict):
            errors.append(f"{where}: an annotation is an object")
            continue
        image = images.get(annotation.get("image_id"))
        if image is None:
            errors.append(f"{where}: unknown image_id {annotation.get('image_id')!r}")
            continue
        if isinstance(image, str):
            errors.append(f"{where}: {image}")
            continue
        category = categories.get(annotation.get("category_id"))
        read = read_label(category) if category is not None else None
        if read is None:
            said = category or annotation.get("category_id")
            errors.append(f"{where}: unknown category {said!r} (expected one of {KNOWN_LABELS})")
            continue
        bbox = annotation.get("bbox")
        if not (
            isinstance(bbox, list)
            and len(bbox) == 4
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
        ):
            errors.append(f"{where}: bbox must be [x, y, width, height], got {bbox!r}")
            continue
        page, size, scale = image
        x, y, w, h = bbox
        box = image_box(x, y, x + w, y + h, size=size, scale=scale, where=where, errors=errors)
        attributes = annotation.get("attributes") or {}
        if not isinstance(attributes, dict):
            errors.append(f"{where}: attributes must be an object")
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
