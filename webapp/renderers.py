"""JSON responses encoded with orjson: the same JSON as DRF's renderer, several times faster.

A page of search results can hold thousands of face boxes; DRF's renderer (the standard library's
encoder) spends tens of milliseconds on it. Types orjson does not know (lazy translations,
decimals, querysets, numpy scalars) go through DRF's own encoder, so the output matches. Indented
JSON (the browsable API, `Accept: application/json; indent=4`) is left to DRF's renderer, and so is
data orjson refuses to encode, such as an integer past 64 bits held in a stored JSON field: a value
stored once must not make every later answer that shows it a 500.
"""

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

# Z for UTC as DRF writes it; integer dict keys become strings as with the standard encoder.
ORJSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
_drf_default = JSONEncoder().default
# Unicode line and paragraph separators are escaped so the JSON is also valid JavaScript (as DRF does).
_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=_drf_default, option=ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        for raw, escaped in _SEPARATORS:
            if raw in rendered:
                rendered = rendered.replace(raw, escaped)
        return rendered
