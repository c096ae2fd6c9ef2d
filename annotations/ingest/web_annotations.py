"""W3C Web Annotations and IIIF annotation pages (Presentation 3, and 2 with `on`/`resource`)."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from annotations.ingest.matching import PageMatcher
from annotations.ingest.reports import ImportRejected
from annotations.ingest.values import (
    ImportedFace,
    image_box,
    imported_face,
    located,
    read_attributes,
    read_label,
    shown,
)
from webapp.parsers import json_loads_untrusted

_XYWH = re.compile(r"xywh=(?:(pixel|percent):)?\s*([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+)")
_TAG_SCORE = re.compile(r"^(.*?)\s*\((?:[^():]*:\s*)?([0-9.]+)\)\s*$")
_HTML_TAG = re.compile(r"<[^>]+>")


def web_annotation_errors(annotation: object) -> list[str]:
    """What a Web Annotation lacks of the model's required fields (id, type Annotation, target)."""
    if not isinstance(annotation, dict):
        return [_("an annotation is a JSON object")]
    errors = []
    if not (annotation.get("id") or annotation.get("@id")):
        errors.append(_("id is required"))
    kind = annotation.get("type", annotation.get("@type"))
    kinds = kind if isinstance(kind, list) else [kind]
    if not any(k in ("Annotation", "oa:Annotation") for k in kinds):
        errors.append(_("type must be Annotation, got %(value)s") % {"value": shown(kind)})
    if not (annotation.get("target") or annotation.get("on")):
        errors.append(_("target is required"))
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
        return _annotations(first) + _annotations(_members(data, "AnnotationCollection", "items"))
    if kind in ("AnnotationPage", "sc:AnnotationList"):
        return _members(data, kind, "items", "resources")
    if kind == "Manifest":
        return [
            item
            for canvas in _members(data, "Manifest", "items")
            if isinstance(canvas, dict)
            for page in _members(canvas, "Canvas", "annotations")
            for item in _annotations(page)
        ]
    if kind is None and data and all(isinstance(v, (dict, list)) for v in data.values()):
        return [item for value in data.values() for item in _annotations(value)]
    return []


def _members(container: dict, kind: str, *keys: str) -> list:
    """The list under the first of `keys` the container has (none: empty); ImportRejected if it is no list."""
    key = next((key for key in keys if key in container), None)
    members = container[key] if key is not None else None
    if members is None:
        return []
    if not isinstance(members, list):
        raise ImportRejected(
            [_("%(kind)s %(key)s must be a list, got %(value)s") % {"kind": kind, "key": key, "value": shown(members)}]
        )
    return members


def _is_container(value: object) -> bool:
    return isinstance(value, list) or (
        isinstance(value, dict) and value.get("type", value.get("@type")) not in ("Annotation", "oa:Annotation")
    )


def _target(target: object) -> tuple[str | None, str | None]:
    """(canvas id, xywh fragment) of a target: `canvas#xywh=`, a SpecificResource, a P2 `on`."""
    if isinstance(target, list):
        return _target(target[0]) if target else (None, None)
    if isinstance(target, str):
        canvas, _hash, fragment = target.partition("#")
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
        return [], [_("a manifest without embedded annotations: nothing to import from it")]
    if not annotations:
        raise ImportRejected(
            [_("no annotations found: expected an Annotation, AnnotationPage, AnnotationCollection or IIIF manifest")]
        )
    errors: list[str] = []
    faces: list[ImportedFace] = []
    ignored = 0
    for index, annotation in enumerate(annotations, start=1):
        where = _("annotation %(number)s") % {"number": index}
        problems = web_annotation_errors(annotation)
        if problems:
            errors.extend(located(where, problem) for problem in problems)
            continue
        face = _web_annotation_face(annotation, where, matcher, errors)
        if face is None:
            ignored += 1
        elif face is not False:
            faces.append(face)
    if errors:
        raise ImportRejected(errors)
    warnings = []
    if ignored:
        warnings.append(
            ngettext(
                "%(count)s annotation without a face tag was ignored",
                "%(count)s annotations without a face tag were ignored",
                ignored,
            )
            % {"count": ignored}
        )
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
        read = read_label(score.group(1) if score else tag)
        if read is None:
            continue
        if score:
            try:
                values.setdefault("confidence", float(score.group(2)))
            except ValueError:
                errors.append(
                    _("%(where)s: the score in the tag %(tag)s is not a number") % {"where": where, "tag": shown(tag)}
                )
                return False
        face_tagged = True
        negative = negative or read[0]
        gender = read[1] or gender
        child = child or read[2]
    if not face_tagged:
        return None
    canvas, fragment = _target(annotation.get("target", annotation.get("on")))
    if canvas is not None and not isinstance(canvas, str):
        errors.append(
            _("%(where)s: the target's source must be a canvas id, got %(value)s")
            % {"where": where, "value": shown(canvas)}
        )
        return False
    if fragment is not None and not isinstance(fragment, str):
        errors.append(
            _("%(where)s: the target's selector value must be a string such as xywh=x,y,w,h, got %(value)s")
            % {"where": where, "value": shown(fragment)}
        )
        return False
    page = matcher.match(canvas=canvas)
    if page is None:
        errors.append(located(where, matcher.describe(canvas=canvas)))
        return False
    match = _XYWH.search(fragment or "")
    if match is None:
        errors.append(
            _("%(where)s: the target has no xywh= fragment selecting the face on %(canvas)s")
            % {"where": where, "canvas": canvas}
        )
        return False
    unit = match.group(1)
    try:
        x, y, w, h = (float(v) for v in match.groups()[1:])
    except ValueError:
        errors.append(_("%(where)s: unreadable xywh %(value)s") % {"where": where, "value": shown(match.group(0))})
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
