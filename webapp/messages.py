"""Messages stored untranslated and translated when read: what a worker writes (a job's error) is
shown to each reader in their own language, not in the worker's.

A message is anything with a `template` (its English text with %(name)s placeholders, marked for the
catalogue) and `params` (values, or messages themselves: a nested cause, or a list of them), such as
annotations.iiif.messages' `Message` and `MessageError`. A worker stores `message_as_json(message)`
beside the English text (`message_text`), which logs, the CLI and the rows stored before keep; the
serializers and templates show `message_render(stored, fallback=text)` in the request's language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable

from django.utils.translation import gettext

logger = logging.getLogger(__name__)


@runtime_checkable
class Translatable(Protocol):
    template: str
    params: Mapping[str, object]


def message_as_json(message: Translatable) -> dict:
    """{"message": template, "params": {...}}, nested messages as such dicts, other values as JSON ones."""
    return {
        "message": message.template,
        "params": {name: _param_as_json(value) for name, value in message.params.items()},
    }


def message_text(message: Translatable | str) -> str:
    """The message in English, as stored beside it; a plain string as it is."""
    if isinstance(message, str):
        return message
    return _render(message_as_json(message), _untranslated)


def message_translated(message: Translatable) -> str:
    """The message in the active language."""
    return _render(message_as_json(message), gettext)


def message_render(stored: Mapping | None, *, fallback: str = "") -> str:
    """A stored message in the active language (the request's); `fallback`, the stored text, when there
    is no message (rows written before) or it no longer fits its template."""
    if not stored:
        return fallback
    try:
        return _render(stored, gettext)
    except (KeyError, TypeError, ValueError) as exc:
        logger.warning("stored message %r does not render (%s): showing its text", stored, exc)
        return fallback


def _param_as_json(value: object) -> object:
    if isinstance(value, Translatable):
        return message_as_json(value)
    if isinstance(value, list | tuple):
        return [_param_as_json(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _untranslated(template: str) -> str:
    return template


def _render(stored: Mapping, translate: Callable[[str], str]) -> str:
    template = stored["message"]
    if not isinstance(template, str):
        raise TypeError(f"a message template is a string, not {type(template).__name__}")
    # gettext("") is the catalogue's header, not an empty text.
    text = translate(template) if template else ""
    params = stored.get("params") or {}
    if not params:
        return text
    return text % {name: _render_param(value, translate) for name, value in params.items()}


def _render_param(value: object, translate: Callable[[str], str]) -> object:
    if isinstance(value, Mapping):
        return _render(value, translate)
    if isinstance(value, list):
        return ", ".join(str(_render_param(item, translate)) for item in value)
    return value
