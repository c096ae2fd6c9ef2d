"""Read IIIF Presentation 2 and 3 manifests and collections into plain dataclasses (SPECS.md §3.3).

Input is already-decoded JSON. Anything that keeps the JSON from being a usable manifest
raises IIIFError with a message a curator can act on; canvases without an image are
skipped with a reason rather than failing the whole manifest.
"""

from __future__ import annotations

import datetime
import math
from collections import Counter
from dataclasses import dataclass

from annotations.iiif.dates import parse_date
from annotations.iiif.image_api import image_request_url
from annotations.iiif.messages import Message, MessageError, gettext_noop

# Language-map keys we prefer when flattening labels: untagged text, then English.
_LANGUAGE_PREFERENCE = ("none", "en")
_DATE_LABELS = frozenset({"date", "dates"})
# (substring of a service @context or profile, Image API major version)
_IMAGE_API_MARKERS = (
    ("iiif.io/api/image/3", "3"),
    ("iiif.io/api/image/2", "2"),
    ("iiif.io/api/image/1", "1"),
    ("library.stanford.edu/iiif/image-api/1", "1"),
)
_IMAGE_SERVICE_TYPES = {"ImageService1": "1", "ImageService2": "2", "ImageService3": "3"}
# Where a malformed piece was found, as error messages name it.
_IN_MANIFEST = Message(gettext_noop("manifest"))
_IN_COLLECTION = Message(gettext_noop("collection"))
_IN_FIRST_SEQUENCE = Message(gettext_noop("the first sequence"))


class IIIFError(MessageError, ValueError):
    """Clear, user-facing message of why a JSON is not a usable manifest."""


@dataclass(frozen=True)
class ImageService:
    """An IIIF Image API service: its id as published, major version and compliance profile."""

    id: str
    version: str
    profile: str


@dataclass(frozen=True)
class ParsedCanvas:
    """One canvas painted with an image, sized in canvas pixel space."""

    order: int
    canvas_id: str
    label: str
    width: int
    height: int
    image_url: str
    image_width: int | None
    image_height: int | None
    service: ImageService | None


@dataclass(frozen=True)
class SkippedCanvas:
    """A canvas left out of the import, and why."""

    canvas_id: str
    label: str
    reason: Message


@dataclass
class ParsedManifest:
    """A manifest's descriptive fields, flattened for display, and its image canvases."""

    id: str
    version: str
    label: str
    summary: str
    metadata: list[dict[str, str]]
    attribution: str
    license: str
    related: str
    see_also: str
    nav_date: str
    date_text: str
    date_start: datetime.date | None
    date_end: datetime.date | None
    thumbnail: str
    canvases: list[ParsedCanvas]
    skipped: list[SkippedCanvas]


@dataclass
class ParsedCollection:
    """A collection and the manifests (or nested collections) it lists."""

    id: str
    label: str
    manifests: list[dict[str, str]]


def parse_iiif(data: object) -> ParsedManifest | ParsedCollection:
    """Parse decoded JSON as a IIIF Presentation 2 or 3 manifest or collection."""
    if not isinstance(data, dict):
        raise IIIFError(
            gettext_noop("not a IIIF manifest: expected a JSON object, got %(kind)s"), kind=_json_kind(data)
        )
    version = _presentation_version(data)
    kind = _type(data).split(":")[-1]
    if kind == "Manifest":
        return _parse_manifest(data, version)
    if kind == "Collection":
        return _parse_collection(data)
    if not kind:
        raise IIIFError(
            gettext_noop("not a IIIF manifest: this IIIF resource without a type is not a Manifest or Collection")
        )
    raise IIIFError(gettext_noop("not a IIIF manifest: this IIIF %(kind)s is not a Manifest or Collection"), kind=kind)


def _presentation_version(data: dict) -> str:
    """Presentation API major version from @context, else from the type's spelling."""
    contexts = " ".join(_contexts(data))
    kind = _type(data)
    if "presentation/3" in contexts:
        return "3"
    if "presentation/2" in contexts:
        return "2"
    if "iiif.io/api/image" in contexts or "image-api" in contexts or kind in _IMAGE_SERVICE_TYPES:
        raise IIIFError(
            gettext_noop("not a IIIF manifest: this is an Image API info.json (one image), not a Presentation manifest")
        )
    if kind in ("Manifest", "Collection"):
        return "3"
    if kind in ("sc:Manifest", "sc:Collection"):
        return "2"
    raise IIIFError(
        gettext_noop("not a IIIF manifest: no IIIF Presentation @context and no Manifest or Collection type")
    )


def _parse_manifest(data: dict, version: str) -> ParsedManifest:
    """Build a ParsedManifest; raise IIIFError when no canvas has an image."""
    raw_canvases = _p2_canvases(data) if version == "2" else _list_field(data, "items", _IN_MANIFEST)
    canvases: list[ParsedCanvas] = []
    skipped: list[SkippedCanvas] = []
    for position, raw in enumerate(raw_canvases, start=1):
        canvas = _parse_canvas(raw, position=position, order=len(canvases) + 1, version=version)
        if isinstance(canvas, SkippedCanvas):
            skipped.append(canvas)
        else:
            canvases.append(canvas)
    if not canvases:
        raise _no_image_error(len(raw_canvases), skipped)

    metadata = _metadata(data.get("metadata"))
    nav_date = data.get("navDate") if isinstance(data.get("navDate"), str) else ""
    date_text = next(
        (entry["value"] for entry in metadata if entry["label"].strip().lower() in _DATE_LABELS and entry["value"]),
        nav_date,
    )
    date_start, date_end = parse_date(nav_date) if nav_date else (None, None)
    if date_start is None:
        date_start, date_end = parse_date(date_text)
    required = data.get("requiredStatement")
    return ParsedManifest(
        id=_id(data),
        version=version,
        label=_text(data.get("label")),
        summary=_text(data.get("summary")) or _text(data.get("description")),
        metadata=metadata,
        attribution=(_text(required.get("value")) if isinstance(required, dict) else "")
        or _text(data.get("attribution")),
        license=_first_url(data.get("rights")) or _first_url(data.get("license")),
        related=_first_url(data.get("homepage")) or _first_url(data.get("related")),
        see_also=_first_url(data.get("seeAlso")),
        nav_date=nav_date,
        date_text=date_text,
        date_start=date_start,
        date_end=date_end,
        thumbnail=_first_url(data.get("thumbnail")),
        canvases=canvases,
        skipped=skipped,
    )


def _no_image_error(total: int, skipped: list[SkippedCanvas]) -> IIIFError:
    """Explain why a manifest has no image canvas, with the skip reasons counted."""
    if not total:
        return IIIFError(gettext_noop("no image canvas: the manifest has no canvases"))
    # Counted by their text: reasons with the same template and parameters are the same reason.
    reasons = {str(canvas.reason): canvas.reason for canvas in skipped}
    counts = Counter(str(canvas.reason) for canvas in skipped)
    summary = [
        Message(gettext_noop("%(count)s × %(reason)s"), {"count": count, "reason": reasons[text]})
        for text, count in counts.most_common()
    ]
    return IIIFError(
        gettext_noop("no image canvas: none of the %(total)s canvases has an image (%(reasons)s)"),
        total=total,
        reasons=summary,
    )


def _p2_canvases(data: dict) -> list:
    """Canvases of a Presentation 2 manifest's first sequence."""
    sequences = _list_field(data, "sequences", _IN_MANIFEST)
    if not sequences:
        return []
    if not isinstance(sequences[0], dict):
        raise IIIFError(gettext_noop("invalid manifest: the first sequence is not a JSON object"))
    return _list_field(sequences[0], "canvases", _IN_FIRST_SEQUENCE)


def _parse_canvas(raw: object, *, position: int, order: int, version: str) -> ParsedCanvas | SkippedCanvas:
    """Parse one canvas, or say why it has no usable image."""
    if not isinstance(raw, dict):
        raise IIIFError(
            gettext_noop("invalid canvas %(position)s: expected a JSON object, got %(kind)s"),
            position=position,
            kind=_json_kind(raw),
        )
    canvas_id = _id(raw)
    label = _text(raw.get("label"))
    where = (
        Message(gettext_noop("canvas %(position)s (%(id)s)"), {"position": position, "id": canvas_id})
        if canvas_id
        else Message(gettext_noop("canvas %(position)s"), {"position": position})
    )
    kind = _type(raw).split(":")[-1]
    if kind and kind != "Canvas":
        return SkippedCanvas(canvas_id, label, Message(gettext_noop("not a Canvas (%(kind)s)"), {"kind": kind}))

    body = _p2_painting_resource(raw, where) if version == "2" else _p3_painting_body(raw, where)
    if body is None:
        return SkippedCanvas(canvas_id, label, Message(gettext_noop("no painting annotation")))
    body = _choice_default(body, where)
    body_kind = _resource_kind(body)
    if body_kind.lower() != "image":
        return SkippedCanvas(canvas_id, label, Message(gettext_noop("no image (%(kind)s)"), {"kind": body_kind}))

    service, service_data = _image_service(body.get("service"))
    image_width, image_height = _size(body)
    if image_width is None and service_data is not None:
        # BL manifests give the pixel size on the image service only.
        image_width, image_height = _size(service_data)
    width, height = _size(raw)
    if width is None:
        width, height = image_width, image_height
    if width is None or height is None:
        return SkippedCanvas(canvas_id, label, Message(gettext_noop("missing width/height")))
    image_url = _id(body) or (image_request_url(service.id, service.version) if service else "")
    if not image_url:
        return SkippedCanvas(canvas_id, label, Message(gettext_noop("image has no URL")))
    return ParsedCanvas(
        order=order,
        canvas_id=canvas_id,
        label=label,
        width=width,
        height=height,
        image_url=image_url,
        image_width=image_width,
        image_height=image_height,
        service=service,
    )


def _p2_painting_resource(canvas: dict, where: Message) -> dict | None:
    """The resource of a Presentation 2 canvas's first sc:painting annotation."""
    for annotation in _list_field(canvas, "images", where):
        if not isinstance(annotation, dict):
            raise IIIFError(gettext_noop("invalid %(where)s: an entry of 'images' is not a JSON object"), where=where)
        if not _is_painting(annotation):
            continue
        resource = annotation.get("resource")
        if isinstance(resource, str):
            return {"@id": resource}
        if not isinstance(resource, dict):
            raise IIIFError(
                gettext_noop("invalid %(where)s: its painting annotation has no 'resource' object"), where=where
            )
        return resource
    return None


def _p3_painting_body(canvas: dict, where: Message) -> dict | None:
    """The body of a Presentation 3 canvas's first painting annotation."""
    for page in _list_field(canvas, "items", where):
        if not isinstance(page, dict):
            raise IIIFError(
                gettext_noop("invalid %(where)s: an annotation page in 'items' is not a JSON object"), where=where
            )
        page_where = Message(gettext_noop("%(where)s annotation page"), {"where": where})
        for annotation in _list_field(page, "items", page_where):
            if not isinstance(annotation, dict):
                raise IIIFError(gettext_noop("invalid %(where)s: an annotation is not a JSON object"), where=where)
            if not _is_painting(annotation):
                continue
            body = annotation.get("body")
            if isinstance(body, list):
                body = body[0] if body else None
            if not isinstance(body, dict):
                raise IIIFError(
                    gettext_noop("invalid %(where)s: its painting annotation has no 'body' object"), where=where
                )
            return body
    return None


def _is_painting(annotation: dict) -> bool:
    """Whether an annotation paints its canvas (a missing motivation counts as painting)."""
    motivation = annotation.get("motivation", "painting")
    motivations = motivation if isinstance(motivation, list) else [motivation]
    return any(isinstance(item, str) and item.split(":")[-1] == "painting" for item in motivations)


def _choice_default(body: dict, where: Message) -> dict:
    """The first option of a Choice body (P3 items, P2 default/item), else the body itself."""
    if _type(body).split(":")[-1] != "Choice":
        return body
    options = body.get("items") or body.get("item") or []
    default = body.get("default") or (options[0] if isinstance(options, list) and options else None)
    if not isinstance(default, dict):
        raise IIIFError(gettext_noop("invalid %(where)s: its Choice of images offers no option"), where=where)
    return default


def _resource_kind(resource: dict) -> str:
    """Image, Sound, Video, Text… from the resource type, else from its media type."""
    kind = _type(resource).split(":")[-1]
    if kind:
        return kind
    media_type = resource.get("format")
    if isinstance(media_type, str) and media_type and not media_type.startswith("image/"):
        return media_type
    # Untyped resources in the wild are images (older P2 exporters omit @type).
    return "Image"


def _image_service(value: object) -> tuple[ImageService | None, dict | None]:
    """First IIIF Image API service among a resource's services, with its raw JSON."""
    for candidate in value if isinstance(value, list) else [value]:
        if not isinstance(candidate, dict):
            continue
        service_id = _id(candidate).strip()
        version = _service_version(candidate)
        if service_id and version:
            service_id = service_id.removesuffix("/info.json").rstrip("/")
            return ImageService(id=service_id, version=version, profile=_profile(candidate)), candidate
    return None, None


def _service_version(service: dict) -> str:
    """Image API major version from the service type, @context or profile, "" if not an image service."""
    kind = _type(service)
    if kind in _IMAGE_SERVICE_TYPES:
        return _IMAGE_SERVICE_TYPES[kind]
    profile = service.get("profile")
    profiles = [item for item in (profile if isinstance(profile, list) else [profile]) if isinstance(item, str)]
    for text in (" ".join(_contexts(service)), " ".join(profiles)):
        for marker, version in _IMAGE_API_MARKERS:
            if marker in text:
                return version
    return ""


def _profile(service: dict) -> str:
    """The service's compliance profile (the first string when it is a list)."""
    profile = service.get("profile")
    for item in profile if isinstance(profile, list) else [profile]:
        if isinstance(item, str):
            return item
    return ""


def _parse_collection(data: dict) -> ParsedCollection:
    """List the manifests and nested collections of a P2 or P3 collection, each once."""
    entries: list[dict[str, str]] = []
    seen: set[str] = set()
    # P2 splits members into manifests/collections (or mixes them in members); P3 uses items.
    for key, default_kind in (("manifests", "Manifest"), ("collections", "Collection"), ("members", ""), ("items", "")):
        for item in _list_field(data, key, _IN_COLLECTION):
            if not isinstance(item, dict):
                raise IIIFError(gettext_noop("invalid collection: an entry of '%(key)s' is not a JSON object"), key=key)
            kind = _type(item).split(":")[-1] or default_kind
            item_id = _id(item)
            if kind not in ("Manifest", "Collection") or not item_id or item_id in seen:
                continue
            seen.add(item_id)
            entries.append({"id": item_id, "label": _text(item.get("label")), "type": kind})
    return ParsedCollection(id=_id(data), label=_text(data.get("label")), manifests=entries)


def _metadata(value: object) -> list[dict[str, str]]:
    """Metadata pairs flattened to strings, in order, repeated labels kept."""
    if not isinstance(value, list):
        return []
    return [
        {"label": _text(item.get("label")), "value": _text(item.get("value"))}
        for item in value
        if isinstance(item, dict) and ("label" in item or "value" in item)
    ]


def _text(value: object) -> str:
    """Flatten a IIIF label or value (string, list, {"@value"}, language map) to one string."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        if "@value" in value:
            return _text(value["@value"])
        return _text(_pick_language(value))
    if isinstance(value, list):
        by_language: dict[str, list[object]] = {}
        for item in value:
            language = item.get("@language") if isinstance(item, dict) else None
            by_language.setdefault(language if isinstance(language, str) else "none", []).append(item)
        # P2 repeats one value in several languages as a list of {"@value", "@language"}.
        chosen = by_language[_preferred_language(list(by_language))] if by_language else []
        return "; ".join(text for text in (_text(item) for item in chosen) if text)
    return ""


def _pick_language(language_map: dict) -> object:
    """The preferred language's values from a P3 language map."""
    return language_map[_preferred_language(list(language_map))] if language_map else None


def _preferred_language(languages: list[str]) -> str:
    """Untagged text first, then English (any variant), then the first language given."""
    for wanted in _LANGUAGE_PREFERENCE:
        if wanted in languages:
            return wanted
    # Gallica tags P2 values with ISO 639-2 codes ("fre", "eng"); BCP 47 has "en-GB".
    english = [language for language in languages if language == "eng" or language.startswith("en-")]
    return english[0] if english else languages[0]


def _first_url(value: object) -> str:
    """First URL of a link field: a string, an object with id/@id, or a list of either."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return _id(value)
    if isinstance(value, list):
        return next((url for url in (_first_url(item) for item in value) if url), "")
    return ""


def _list_field(data: dict, key: str, where: Message) -> list:
    """data[key] as a list ([] when absent); IIIFError when present but not a list."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise IIIFError(
            gettext_noop("invalid %(where)s: '%(key)s' should be a list, got %(kind)s"),
            where=where,
            key=key,
            kind=_json_kind(value),
        )
    return value


def _size(data: dict) -> tuple[int | None, int | None]:
    """(width, height) as positive ints, or (None, None) unless both are usable."""
    width, height = _dimension(data.get("width")), _dimension(data.get("height"))
    if width is None or height is None:
        return None, None
    return width, height


def _dimension(value: object) -> int | None:
    """A positive pixel size from an int, a float or a digit string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int | float) and math.isfinite(value) and value >= 1:
        return round(value)
    return None


def _id(data: object) -> str:
    """The id (P3) or @id (P2) of a JSON object, "" if none."""
    if not isinstance(data, dict):
        return ""
    value = data.get("id") or data.get("@id")
    return value.strip() if isinstance(value, str) else ""


def _type(data: dict) -> str:
    """The type (P3) or @type (P2) of a JSON object, "" if none."""
    value = data.get("type") or data.get("@type")
    if isinstance(value, list):
        value = next((item for item in value if isinstance(item, str)), "")
    return value if isinstance(value, str) else ""


def _contexts(data: dict) -> list[str]:
    """The @context strings of a JSON object (it may be a string or a list)."""
    value = data.get("@context")
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str)]


_JSON_KINDS = {
    dict: Message(gettext_noop("an object")),
    list: Message(gettext_noop("a list")),
    str: Message(gettext_noop("a string")),
    int: Message(gettext_noop("a number")),
    float: Message(gettext_noop("a number")),
}


def _json_kind(value: object) -> Message | str:
    """A JSON type name for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return Message(gettext_noop("a boolean"))
    return _JSON_KINDS.get(type(value), type(value).__name__)
