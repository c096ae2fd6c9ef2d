"""The OpenAPI schema behind /api/docs/ documents every API route, and builds without an error or a warning."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from webapp.api_root import api_endpoints

pytestmark = pytest.mark.django_db


def schema_paths() -> set[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    # The schema names a route's `pk` as `id` (drf-spectacular's SCHEMA_COERCE_PATH_PK).
    return {re.sub(r"\{id\}", "{pk}", path) for path in schema["paths"]}


def test_every_api_route_is_in_the_schema():
    documented = schema_paths()

    missing = [endpoint["path"] for endpoint in api_endpoints() if endpoint["path"] not in documented]

    # The docs page is the schema drawn as HTML, not an endpoint of its own.
    assert missing == ["/api/docs/"]


def test_the_schema_builds_without_an_error_or_a_warning():
    """Warnings included: an enum named by a hash (`Status76fEnum`) is what a generated client would show."""
    GENERATOR_STATS.reset()
    schema_paths()

    assert GENERATOR_STATS._error_cache == {}, list(GENERATOR_STATS._error_cache)
    assert GENERATOR_STATS._warn_cache == {}, list(GENERATOR_STATS._warn_cache)
