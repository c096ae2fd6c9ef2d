"""W3C Web Annotations and IIIF annotation pages (Presentation 3, and 2 with `on`/`resource`)."""

from __future__ import annotations

import re

from annotations.ingest.matching import PageMatcher
from annotations.ingest.reports import ImportRejected
from annotations.ingest.values import ImportedFace, image_box, imported_face, read_attributes, read_label
from webapp.parsers import json_loads_untrusted

_XYWH = re.compile(r"xywh=(?:(pixel|percent):)?\s*([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+)")
_TAG_SCORE = re.compile(r"^(.*?)\s*\((?:[^():]*:\s*)?([0-9.]+)\)\s*$")
_HTML_TAG = re.compile(r"<[^>]+>")


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
        read = read_label(tag)
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
    box = image_box(x, y, x + w, y + h, size=(page.width, page.height), scale=(1.0, 1.0), where=where, errors=errors)
    attributes = read_attributes({k: v for k, v in values.items() if k != "id"}, where, errors)
    if box is None:
        return False
    return imported_face(
        page, box, negative=negative, gender=gender, child=True if child else None, attributes=attributes, tolerance=2.0
    )
