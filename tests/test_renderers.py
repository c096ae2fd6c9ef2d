"""The orjson renderer writes the same JSON as DRF's renderer for everything our APIs return."""

import datetime
import decimal
import json
import uuid
import zoneinfo

import numpy as np
import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers

from annotations.models import Gender
from webapp.renderers import JSONRenderer

UTC = datetime.UTC
PARIS = zoneinfo.ZoneInfo("Europe/Paris")

PAYLOADS = [
    {"id": 1, "x": 10, "confidence": 0.7234987234, "share": 0.1, "negative": -3},
    {"created": datetime.datetime(2026, 11, 26, 0, 25, 48, 979369, tzinfo=UTC)},
    {"created": datetime.datetime(2026, 11, 26, 0, 25, 48, tzinfo=UTC)},
    {"created": datetime.datetime(1915, 3, 1, 12, 0, tzinfo=PARIS), "naive": datetime.datetime(1915, 3, 1, 12, 0, 1)},
    {"date": datetime.date(1915, 3, 1), "time": datetime.time(12, 30, 5, 120)},
    {"decimal": decimal.Decimal("0.125"), "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"label": gettext_lazy("Faces"), "gender": Gender.FEMALE, "accents": "Excelsior, « Une » — 1915"},
    {1915: {"faces": 3}, 1916: {"faces": 0}},
    {"score": np.float32(0.5), "count": np.int64(7), "values": np.arange(3)},
    {"nested": [[1, 2], (3, 4), {"a": None, "b": True, "c": False}], "empty": [], "none": None},
    {"javascript": "line\u2028separator\u2029paragraph"},
    # Past orjson's 64-bit integers: a JSON field stored before its numbers were bounded still renders.
    {"scope": {"min_faces": 2**64, "max_faces": -(2**63) - 1}, "id": 1},
    [{"id": n, "x": n * 2, "gender": "male"} for n in range(100)],
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_orjson_output_is_drfs_json(payload):
    ours = JSONRenderer().render(payload)
    drfs = renderers.JSONRenderer().render(payload)

    assert json.loads(ours) == json.loads(drfs)
    assert ours == drfs


def test_floats_with_exponents_keep_their_values():
    # orjson writes 1e16 and 1.5e-7 where the standard encoder writes 1e+16 and 1.5e-07: same numbers.
    payload = {"ratio": 1e16, "small": 1.5e-7}

    assert json.loads(JSONRenderer().render(payload)) == payload


def test_javascript_line_separators_are_escaped():
    rendered = JSONRenderer().render({"text": "a\u2028b\u2029c"})

    assert b"\\u2028" in rendered and b"\\u2029" in rendered
    assert "\u2028".encode() not in rendered


def test_indented_json_is_left_to_drf():
    payload = {"a": [1, 2]}

    rendered = JSONRenderer().render(payload, "application/json; indent=4")

    assert rendered == renderers.JSONRenderer().render(payload, "application/json; indent=4")
    assert b'\n    "a"' in rendered


def test_nothing_renders_as_an_empty_body():
    assert JSONRenderer().render(None) == b""


@pytest.mark.django_db
def test_the_api_answers_through_the_orjson_renderer(client):
    response = client.get("/api/search/pages/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert isinstance(response.accepted_renderer, JSONRenderer)
