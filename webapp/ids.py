"""Ids from outside (query strings, bodies): whole numbers a database key can hold, or a 400.

Primary and foreign keys are signed 64-bit integers (PostgreSQL bigint, SQLite INTEGER), and our
ids start at 1. A larger number makes SQLite's driver raise OverflowError and PostgreSQL refuse
the query, so it never reaches one: every id filter, id query parameter and id body field
validates through these.
"""

from __future__ import annotations

from collections.abc import Mapping

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

ID_MAX = 2**63 - 1
ID_MESSAGE = _("Give an id: a whole number from 1 to 9223372036854775807.")


class IdFormField(forms.IntegerField):
    """A form (and query-string filter) field for an id."""

    default_error_messages = {"invalid": ID_MESSAGE, "min_value": ID_MESSAGE, "max_value": ID_MESSAGE}

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=ID_MAX, **kwargs)


class IdFilter(django_filters.NumberFilter):
    """A django-filter filter on an id."""

    field_class = IdFormField


class IdField(serializers.IntegerField):
    """A DRF field for an id in a body or a query string."""

    default_error_messages = {
        "invalid": ID_MESSAGE,
        "max_string_length": ID_MESSAGE,
        "min_value": ID_MESSAGE,
        "max_value": ID_MESSAGE,
    }

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=ID_MAX, **kwargs)


def id_param(params: Mapping, name: str) -> int | None:
    """The id in query parameter `name`, None when absent or empty; a 400 naming it when not an id."""
    value = params.get(name, "")
    if value == "":
        return None
    field = IdFormField()
    try:
        return field.clean(value)
    except forms.ValidationError as exc:
        raise ValidationError({name: exc.messages}) from exc
