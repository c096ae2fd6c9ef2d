"""JSON from outside (API bodies, uploaded annotation files) that cannot crash the code that reads it.

Python's json module accepts NaN, Infinity and numbers past the float range (1e309 becomes inf),
and raises RecursionError, not ValueError, on a deeply nested document: a 100,000-deep body would
answer 500. Here all of these are a ValueError with a message, which the API answers with 400.
"""

from __future__ import annotations

import json
import math

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Deeper than any document we read (a LabelMe shape's points are 4 levels down), shallow enough
# that code walking the parsed value recursively (serializers, JSONField saves) never hits
# Python's recursion limit.
JSON_MAX_DEPTH = 64


def _refuse_constant(name: str):
    raise ValueError(_("%(name)s is not a JSON number") % {"name": name})


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(_("the number %(text)s is too large") % {"text": text[:40]})
    return value


def _too_deep(value: object, limit: int) -> bool:
    """Whether containers nest more than `limit` levels (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def json_loads_untrusted(text: str | bytes, *, max_depth: int = JSON_MAX_DEPTH) -> object:
    """json.loads without NaN, Infinity, numbers past the float range or nesting past max_depth.

    Raises ValueError (json.JSONDecodeError for malformed text) with a message fit for the sender.
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        too_deep = isinstance(value, dict | list) and _too_deep(value, max_depth)
    except RecursionError:
        too_deep = True
    if too_deep:
        raise ValueError(_("JSON nested more than %(depth)d levels deep") % {"depth": max_depth})
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, answering 400 to bodies too large, too deep, or with non-finite numbers.

    The size limit is Django's DATA_UPLOAD_MAX_MEMORY_SIZE, which Django applies to form bodies
    but DRF, reading the stream itself, does not apply to JSON.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise ParseError(_("JSON body larger than %(limit)d bytes") % {"limit": limit})
        try:
            return json_loads_untrusted(body.decode(encoding))
        except ValueError as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from exc
