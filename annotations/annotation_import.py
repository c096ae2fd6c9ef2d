"""Import of externally corrected faces: LabelMe JSON, COCO, W3C Web Annotations and IIIF annotation pages.

Each JSON file is parsed and validated in full before anything is written; a file with any
error is rejected whole and reported with its reasons. Imported boxes are matched against the
page's stored faces, so a re-import creates nothing twice and never deletes a stored face.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from annotations.models import CURATOR_SOURCE, Document, Face, FaceStatus, Gender, Page
from annotations.services import CURATED_MATCH_IOU, clamp_box_to_page, face_revision_record, page_counts_refresh
from webapp.parsers import json_loads_untrusted

IMPORT_FORMATS = ("auto", "labelme", "coco", "w3c", "iiif")
# Largest JSON file we parse (a COCO file of a whole corpus stays well below).
MAX_JSON_BYTES = 100 * 1024 * 1024
# Image sizes may differ from what the file says by this much before we call them different images.
ASPECT_TOLERANCE = 0.02
# Points may fall this far (image pixels) outside the image: editors snap to the last pixel edge.
EDGE_TOLERANCE = 1.0
# Each message list in a report stops here, so a broken file cannot produce a huge response.
MAX_MESSAGES = 50

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
_STEM_ORDER = re.compile(r"(?:^|[_-])p(\d{1,6})$")
# Gallica image names such as "bpt6k46000341_f3": the canvas id ends in /f3.
_STEM_GALLICA = re.compile(r"(?:^|[_-])(f\d{1,6})$")
_XYWH = re.compile(r"xywh=(?:(pixel|percent):)?\s*([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+)")
_TAG_SCORE = re.compile(r"^(.*?)\s*\((?:[^():]*:\s*)?([0-9.]+)\)\s*$")
_HTML_TAG = re.compile(r"<[^>]+>")


class ImportRejected(Exception):
    """A file that cannot be imported; `messages` say every reason found."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


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


@dataclass
class FileReport:
    """What happened to one file of an import."""

    name: str
    format: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportReport:
    """Per-file results of an import and their totals."""

    document: int
    source: str
    files: list[FileReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.files) and all(f.ok for f in self.files)

    def as_dict(self) -> dict:
        files = [{**asdict(f), "ok": f.ok} for f in self.files]
        totals = {key: sum(f[key] for f in files) for key in ("created", "updated", "unchanged", "skipped")}
        return {
            "ok": self.ok,
            "document": self.document,
            "source": self.source,
            **totals,
            "files_imported": sum(1 for f in self.files if f.ok),
            "files_rejected": sum(1 for f in self.files if not f.ok),
            "files": files,
        }


# ---------------------------------------------------------------------------------------------
# Matching files, images and canvases to pages.


def _stem(name: str) -> str:
    return PurePosixPath(PureWindowsPath(name).as_posix()).stem


class PageMatcher:
    """Finds the page of a document a file speaks of: by canvas id first, then by file name."""

    def __init__(self, document: Document):
        self.document = document
        self.by_canvas: dict[str, Page] = {}
        self.by_name: dict[str, Page | None] = {}
        self.by_order: dict[int, Page] = {}
        for page in document.pages.all():
            self.by_canvas[page.canvas_id] = page
            self.by_order[page.order] = page
            names = {page.label, page.canvas_id.rstrip("/").rsplit("/", 1)[-1]}
            if page.local_path:
                names.add(_stem(page.local_path))
            for name in filter(None, names):
                key = name.lower()
                # A name two pages share identifies neither.
                self.by_name[key] = page if self.by_name.get(key, page) is page else None

    def match(self, *, canvas: str | None = None, names: list[str] = ()) -> Page | None:
        """The page for a canvas id (exact, or by path for our own relative ids) or a file name."""
        if canvas:
            page = self.by_canvas.get(canvas) or self.by_canvas.get(urlsplit(canvas).path)
            if page is not None:
                return page
        for name in filter(None, names):
            stem = _stem(name).lower()
            if self.by_name.get(stem) is not None:
                return self.by_name[stem]
            gallica = _STEM_GALLICA.search(stem)
            if gallica and self.by_name.get(gallica.group(1)) is not None:
                return self.by_name[gallica.group(1)]
            order = _STEM_ORDER.search(stem)
            if order and int(order.group(1)) in self.by_order:
                return self.by_order[int(order.group(1))]
        return None

    def describe(self, *, canvas: str | None = None, names: list[str] = ()) -> str:
        said = [f"canvas {canvas!r}"] if canvas else []
        said += [f"file name {name!r}" for name in names if name]
        return f"no page of document {self.document.pk} matches {' or '.join(said) or 'this file'}"


# ---------------------------------------------------------------------------------------------
# Reading values.


def _number(
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


def _label(value: str) -> tuple[bool, str | None, bool] | None:
    """(negative, gender, child) for a face label or tag, None when it is not one of ours."""
    key = value.strip().lower()
    if key in NEGATIVE_LABELS:
        return True, None, False
    if key in FACE_LABELS:
        gender, child = FACE_LABELS[key]
        return False, gender, child
    return None


def _attributes(values: dict, where: str, errors: list[str]) -> dict:
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
        "age": _number(values.get("age"), f"{where}: age", errors, low=0, high=130),
        "age_confidence": _number(values.get("age_confidence"), f"{where}: age_confidence", errors, low=0, high=1),
        "gender_confidence": _number(
            values.get("gender_confidence"), f"{where}: gender_confidence", errors, low=0, high=1
        ),
        "confidence": _number(
            values.get("confidence", values.get("score")), f"{where}: confidence", errors, low=0, high=1
        ),
    }


def _check_size(page: Page, width, height, where: str, errors: list[str]) -> tuple[float, float] | None:
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


def _tolerance(scale: tuple[float, float]) -> float:
    return max(2.0, math.ceil(max(scale)))


def _image_box(
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


def _face(
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


# ---------------------------------------------------------------------------------------------
# LabelMe (SPECS.md §3.1): rectangles with two points in any order, bool-only flags.


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
    actual = image_sizes.get(_stem(image_path).lower())
    if actual is not None and actual != (width, height):
        raise ImportRejected(
            [f"imageWidth x imageHeight say {width}x{height} but {image_path} is {actual[0]}x{actual[1]}"]
        )
    scale = _check_size(page, width, height, "image", errors)
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
    read = _label(label)
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
    attributes = _attributes(values, where, errors)
    (ax, ay), (bx, by) = points
    box = _image_box(
        min(ax, bx), min(ay, by), max(ax, bx), max(ay, by), size=size, scale=scale, where=where, errors=errors
    )
    if box is None:
        return None
    return _face(
        page, box, negative=negative, gender=gender, child=child, attributes=attributes, tolerance=_tolerance(scale)
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


# ---------------------------------------------------------------------------------------------
# COCO: images matched to pages, bbox [x, y, w, h] in image pixels, attributes in `attributes`.


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
        scale = _check_size(page, image.get("width"), image.get("height"), f"{where} ({file_name})", errors)
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
        read = _label(category) if category is not None else None
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
        box = _image_box(x, y, x + w, y + h, size=size, scale=scale, where=where, errors=errors)
        attributes = annotation.get("attributes") or {}
        if not isinstance(attributes, dict):
            errors.append(f"{where}: attributes must be an object")
            continue
        values = _attributes({**attributes, "score": annotation.get("score")}, where, errors)
        if box is not None:
            negative, gender, child = read
            faces.append(
                _face(
                    page,
                    box,
                    negative=negative,
                    gender=gender,
                    child=True if child else None,
                    attributes=values,
                    tolerance=_tolerance(scale),
                )
            )
    if errors:
        raise ImportRejected(errors)
    return faces


# ---------------------------------------------------------------------------------------------
# W3C Web Annotations and IIIF annotation pages (Presentation 3, and 2 with `on`/`resource`).


def web_annotation_errors(annotation: object) -> list[str]:
    """What a Web Annotation lacks of the model's required fields (id, type Annotation, target)."""
    if not isinstance(annotation, dict):
        return ["an annotation is a JSON object"]
    errors = []
    if not (annotation.get("id") or annotation.get("@id")):
        errors.append("id is required")
    kind = annotation.get("type", annotation.get("@type"))
    kinds = kind if isinstance(kind, list) else [kind]
    if not {"Annotation", "oa:Annotation"} & set(kinds):
        errors.append(f"type must be Annotation, got {kind!r}")
    if not (annotation.get("target") or annotation.get("on")):
        errors.append("target is required")
    return errors


def _annotations(data: object) -> list:
    """Annotations from a collection, a page, a list, a IIIF manifest or GallicaPix's {manifest: {canvas: [..]}}."""
    if isinstance(data, list):
        return [item for entry in data for item in (_annotations(entry) if _is_container(entry) else [entry])]
    if not isinstance(data, dict):
        return []
    kind = data.get("type", data.get("@type"))
    if kind in ("Annotation", "oa:Annotation"):
        return [data]
    if kind == "AnnotationCollection":
        first = data.get("first")
        return _annotations(first) + _annotations(data.get("items", []))
    if kind in ("AnnotationPage", "sc:AnnotationList"):
        return list(data.get("items", data.get("resources", [])) or [])
    if kind == "Manifest":
        return [
            item
            for canvas in data.get("items", [])
            if isinstance(canvas, dict)
            for page in canvas.get("annotations", [])
            for item in _annotations(page)
        ]
    if kind is None and data and all(isinstance(v, (dict, list)) for v in data.values()):
        return [item for value in data.values() for item in _annotations(value)]
    return []


def _is_container(value: object) -> bool:
    return isinstance(value, list) or (
        isinstance(value, dict) and value.get("type", value.get("@type")) not in ("Annotation", "oa:Annotation")
    )


def _target(target: object) -> tuple[str | None, str | None]:
    """(canvas id, xywh fragment) of a target: `canvas#xywh=`, a SpecificResource, a P2 `on`."""
    if isinstance(target, list):
        return _target(target[0]) if target else (None, None)
    if isinstance(target, str):
        canvas, _, fragment = target.partition("#")
        return canvas, fragment or None
    if not isinstance(target, dict):
        return None, None
    source = target.get("source", target.get("full"))
    if isinstance(source, dict):
        source = source.get("id", source.get("@id"))
    selector = target.get("selector")
    if isinstance(selector, list):
        selector = next((s for s in selector if isinstance(s, dict) and "xywh=" in str(s.get("value", ""))), None)
    if isinstance(selector, dict) and "default" in selector:
        selector = selector["default"]
    value = selector.get("value") if isinstance(selector, dict) else None
    if source is None:
        return _target(target.get("id", target.get("@id")))
    return source, value


def _bodies(annotation: dict) -> list:
    body = annotation.get("body", annotation.get("resource", []))
    return body if isinstance(body, list) else [body]


def _body_text(body: object) -> tuple[str, str, str]:
    """(text, purpose, format) of a body: TextualBody value, oa:Tag / dctypes:Text chars, or a plain string."""
    if isinstance(body, str):
        return body, "", ""
    if not isinstance(body, dict):
        return "", "", ""
    text = body.get("value", body.get("chars", ""))
    purpose = body.get("purpose", "tagging" if body.get("@type") == "oa:Tag" else "")
    return (text if isinstance(text, str) else ""), str(purpose), str(body.get("format", ""))


def parse_web_annotations(data: object, *, name: str, matcher: PageMatcher) -> tuple[list[ImportedFace], list[str]]:
    """Faces (and warnings) of a W3C / IIIF annotation file; annotations without a face tag are ignored."""
    annotations = _annotations(data)
    if not annotations and isinstance(data, dict) and data.get("type") == "Manifest":
        # Our manifest copies reference their annotation pages, which come as files of their own.
        return [], ["a manifest without embedded annotations: nothing to import from it"]
    if not annotations:
        raise ImportRejected(
            ["no annotations found: expected an Annotation, AnnotationPage, AnnotationCollection or IIIF manifest"]
        )
    errors: list[str] = []
    faces: list[ImportedFace] = []
    ignored = 0
    for index, annotation in enumerate(annotations, start=1):
        where = f"annotation {index}"
        problems = web_annotation_errors(annotation)
        if problems:
            errors.extend(f"{where}: {problem}" for problem in problems)
            continue
        face = _web_annotation_face(annotation, where, matcher, errors)
        if face is None:
            ignored += 1
        elif face is not False:
            faces.append(face)
    if errors:
        raise ImportRejected(errors)
    warnings = [f"{ignored} annotations without a face tag were ignored"] if ignored else []
    return faces, warnings


def _web_annotation_face(annotation: dict, where: str, matcher: PageMatcher, errors: list[str]):
    """The face of one annotation; None when it is not about a face, False when it has errors."""
    negative, gender, child, face_tagged = False, None, False, False
    values: dict = {}
    for body in _bodies(annotation):
        text, purpose, fmt = _body_text(body)
        if fmt == "application/json" or (purpose == "describing" and text.strip().startswith("{")):
            try:
                parsed = json_loads_untrusted(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                values.update(parsed)
            continue
        tag = _HTML_TAG.sub("", text).strip()
        score = _TAG_SCORE.match(tag)
        if score:
            tag = score.group(1)
            values.setdefault("confidence", float(score.group(2)))
        read = _label(tag)
        if read is None:
            continue
        face_tagged = True
        negative = negative or read[0]
        gender = read[1] or gender
        child = child or read[2]
    if not face_tagged:
        return None
    canvas, fragment = _target(annotation.get("target", annotation.get("on")))
    page = matcher.match(canvas=canvas)
    if page is None:
        errors.append(f"{where}: {matcher.describe(canvas=canvas)}")
        return False
    match = _XYWH.search(fragment or "")
    if match is None:
        errors.append(f"{where}: the target has no xywh= fragment selecting the face on {canvas}")
        return False
    unit = match.group(1)
    try:
        x, y, w, h = (float(v) for v in match.groups()[1:])
    except ValueError:
        errors.append(f"{where}: unreadable xywh {match.group(0)!r}")
        return False
    if unit == "percent":
        x, w = x * page.width / 100, w * page.width / 100
        y, h = y * page.height / 100, h * page.height / 100
    box = _image_box(x, y, x + w, y + h, size=(page.width, page.height), scale=(1.0, 1.0), where=where, errors=errors)
    attributes = _attributes({k: v for k, v in values.items() if k != "id"}, where, errors)
    if box is None:
        return False
    return _face(
        page, box, negative=negative, gender=gender, child=True if child else None, attributes=attributes, tolerance=2.0
    )


# ---------------------------------------------------------------------------------------------
# Storing: match, then create or update; never delete.


_ATTRIBUTE_FIELDS = ("gender", "child", "age", "age_confidence", "gender_confidence")


def _same_box(face: Face, imported: ImportedFace) -> bool:
    tol = imported.tolerance
    return (
        abs(face.x - imported.x) <= tol
        and abs(face.y - imported.y) <= tol
        and abs(face.x + face.w - imported.x - imported.w) <= tol
        and abs(face.y + face.h - imported.y - imported.h) <= tol
    )


def _changes(face: Face, imported: ImportedFace, box: tuple[int, int, int, int] | None) -> dict:
    """What a curator import changes on a stored face (attributes it states, status, and the box if moved)."""
    changes = {}
    for name in _ATTRIBUTE_FIELDS:
        value = getattr(imported, name)
        if name in ("age_confidence", "gender_confidence") and value is None:
            continue
        current = getattr(face, name)
        if isinstance(value, float) and current is not None and abs(current - value) <= 0.05:
            continue
        if current != value:
            changes[name] = value
    if box is not None and box != face.as_box():
        changes.update(zip(("x", "y", "w", "h"), box, strict=True))
    if imported.negative and face.status != FaceStatus.REJECTED:
        changes["status"] = FaceStatus.REJECTED
    elif not imported.negative and face.status == FaceStatus.REJECTED:
        changes["status"] = FaceStatus.ACCEPTED
    elif changes and face.status in (FaceStatus.PREDICTED, FaceStatus.ACCEPTED):
        changes["status"] = FaceStatus.EDITED
    return changes


def _store(faces: list[ImportedFace], *, source: str, user, report: FileReport) -> None:
    """Create or update faces from one validated file (in its own transaction)."""
    curator = source == CURATOR_SOURCE
    by_page: dict[int, list[ImportedFace]] = defaultdict(list)
    for face in faces:
        by_page[face.page.pk].append(face)
    stored: dict[int, list[Face]] = defaultdict(list)
    for face in Face.objects.filter(page_id__in=list(by_page)).order_by("id"):
        stored[face.page_id].append(face)
    now = timezone.now()
    for page_id, imported_faces in by_page.items():
        matched: set[int] = set()
        for imported in imported_faces:
            page = imported.page
            box = clamp_box_to_page(page, imported.x, imported.y, imported.w, imported.h)
            if box is None:
                report.skipped += 1
                continue
            candidates = [face for face in stored[page_id] if face.pk not in matched]
            same = next((face for face in candidates if _same_box(face, imported)), None)
            overlapping = max(candidates, key=lambda face: face.iou(box), default=None)
            if overlapping is not None and overlapping.iou(box) < CURATED_MATCH_IOU:
                overlapping = None
            if same is not None:
                matched.add(same.pk)
                if curator:
                    _update(same, _changes(same, imported, None), user=user, now=now, report=report)
                else:
                    report.unchanged += 1
            elif curator and overlapping is not None:
                matched.add(overlapping.pk)
                _update(overlapping, _changes(overlapping, imported, box), user=user, now=now, report=report)
            elif not curator and (imported.negative or overlapping is not None):
                report.skipped += 1
            else:
                created = _create(page, box, imported, source=source, user=user)
                matched.add(created.pk)
                stored[page_id].append(created)
                report.created += 1
    page_counts_refresh(page_ids=list(by_page))


def _create(page: Page, box, imported: ImportedFace, *, source: str, user) -> Face:
    curator = source == CURATOR_SOURCE
    x, y, w, h = box
    if imported.negative:
        status = FaceStatus.REJECTED
    else:
        status = FaceStatus.ADDED if curator else FaceStatus.PREDICTED
    face = Face(
        page=page,
        x=x,
        y=y,
        w=w,
        h=h,
        # Curator-added faces have confidence 1 (DESIGN.md §4).
        confidence=1.0 if curator or imported.confidence is None else imported.confidence,
        age=imported.age,
        age_confidence=imported.age_confidence,
        gender=imported.gender or Gender.UNKNOWN,
        gender_confidence=imported.gender_confidence,
        child=bool(imported.child),
        source=source,
        status=status,
    )
    face.full_clean()
    face.save()
    if curator:
        face_revision_record(face=face, user=user, action="import", before=None, after=face.snapshot())
    return face


def _update(face: Face, changes: dict, *, user, now, report: FileReport) -> None:
    if not changes:
        report.unchanged += 1
        return
    before = face.snapshot()
    Face.objects.filter(pk=face.pk).update(**changes, version=F("version") + 1, updated_at=now)
    face.refresh_from_db()
    face_revision_record(face=face, user=user, action="import", before=before, after=face.snapshot())
    report.updated += 1


# ---------------------------------------------------------------------------------------------
# Files in, report out.


def _detect_format(data: object) -> str:
    if isinstance(data, dict) and "shapes" in data:
        return "labelme"
    if isinstance(data, dict) and "images" in data and "annotations" in data:
        return "coco"
    return "w3c"


def _read_upload(name: str, content: bytes) -> tuple[list[tuple[str, bytes]], dict[str, tuple[int, int]], list[str]]:
    """JSON files (name, bytes), image sizes by stem, and problems, from one JSON or zip upload."""
    if not zipfile.is_zipfile(io.BytesIO(content)):
        return [(name, content)], {}, []
    files, sizes, problems = [], {}, []
    total = 0
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for member in archive.infolist():
            path = PurePosixPath(member.filename)
            if member.is_dir() or path.name.startswith(".") or "__MACOSX" in path.parts:
                continue
            total += member.file_size
            if total > settings.UPLOAD_MAX_BYTES:
                problems.append("the zip expands beyond the upload size limit")
                break
            suffix = path.suffix.lower()
            if suffix == ".json":
                if member.file_size > MAX_JSON_BYTES:
                    problems.append(f"{member.filename}: larger than {MAX_JSON_BYTES} bytes")
                    continue
                files.append((member.filename, archive.read(member)))
            elif suffix in (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"):
                try:
                    with Image.open(archive.open(member)) as img:
                        sizes[path.stem.lower()] = img.size
                except (UnidentifiedImageError, OSError):
                    problems.append(f"{member.filename}: unreadable image")
    return sorted(files), sizes, problems


def annotations_import(
    *, document: Document, user, name: str, content: bytes, fmt: str = "auto", source: str = CURATOR_SOURCE
) -> ImportReport:
    """Import faces from a JSON file or a zip of them into a document; one report per file.

    Callers check that `user` curates the document (the API through get_document_for_user).
    """
    if fmt not in IMPORT_FORMATS:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(IMPORT_FORMATS)}")
    source = (source or CURATOR_SOURCE).strip()
    report = ImportReport(document=document.pk, source=source)
    try:
        files, image_sizes, problems = _read_upload(name, content)
    except zipfile.BadZipFile as exc:
        report.files.append(FileReport(name=name, errors=[f"not a valid zip file ({exc})"]))
        return report
    if problems:
        report.files.append(FileReport(name=name, errors=problems[:MAX_MESSAGES]))
    if not files:
        report.files.append(FileReport(name=name, errors=["no JSON annotation file found"]))
        return report
    matcher = PageMatcher(document)
    for file_name, data in files:
        report.files.append(
            _import_file(file_name, data, fmt=fmt, matcher=matcher, images=image_sizes, source=source, user=user)
        )
    return report


def _import_file(name: str, data: bytes, *, fmt: str, matcher: PageMatcher, images, source: str, user) -> FileReport:
    report = FileReport(name=name)
    try:
        # NaN, Infinity, 1e309 or a too deep nesting: a ValueError, reported as for any broken file.
        parsed = json_loads_untrusted(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        report.errors.append("not UTF-8 text")
        return report
    except ValueError as exc:
        report.errors.append(f"not valid JSON: {exc}")
        return report
    report.format = _detect_format(parsed) if fmt == "auto" else fmt
    try:
        if report.format == "labelme":
            faces = parse_labelme(parsed, name=name, matcher=matcher, image_sizes=images)
        elif report.format == "coco":
            faces = parse_coco(parsed, name=name, matcher=matcher)
        else:
            faces, report.warnings = parse_web_annotations(parsed, name=name, matcher=matcher)
    except ImportRejected as exc:
        report.errors = exc.messages[:MAX_MESSAGES]
        if len(exc.messages) > MAX_MESSAGES:
            report.errors.append(f"and {len(exc.messages) - MAX_MESSAGES} more problems")
        return report
    with transaction.atomic():
        _store(faces, source=source, user=user, report=report)
    return report
