"""Messages stored untranslated and translated when read: what a worker writes (a job's error) is
shown to each reader in their own language, not in the worker's.

A message is anything with a `template` (its English text with %(name)s placeholders, marked for the
catalogue) and `params` (values, or messages themselves: a nested cause, or a list of them), such as
annotations.iiif.messages' `Message` and `MessageError` (which also stores and renders them, Django-free:
this adds the request's language). A worker stores `message_as_json(message)` beside the English text
(`message_text`), which logs, the CLI and the rows stored before keep (`message_fields` gives both); the
serializers and templates show `message_render(stored, fallback=text)` in the request's language.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.utils.formats import number_format
from django.utils.translation import gettext

from annotations.iiif.messages import Translatable, english, rendered
from annotations.iiif.messages import as_json as message_as_json

logger = logging.getLogger(__name__)


def message_text(message: Translatable | str) -> str:
    """The message in English, as stored beside it; a plain string as it is."""
    if isinstance(message, str):
        return message
    return english(message)


def message_fields(message: Translatable | str, *, text: str, stored: str) -> dict[str, object]:
    """The two fields that keep a message: `text` its English text (logs, the CLI, and what rows stored
    before messages were kept show), `stored` the message itself, rendered when read (None for plain text)."""
    return {text: message_text(message), stored: None if isinstance(message, str) else message_as_json(message)}


def message_translated(message: Translatable) -> str:
    """The message in the active language, decimal numbers as it writes them (0,1 in French)."""
    return rendered(message_as_json(message), gettext, number_format)


def message_render(stored: Mapping | None, *, fallback: str = "") -> str:
    """A stored message in the active language (the request's), decimal numbers as it writes them;
    `fallback`, the stored text, when there is no message (rows written before) or it no longer fits its template."""
    if not stored:
        return fallback
    try:
        return rendered(stored, gettext, number_format)
    except (KeyError, TypeError, ValueError) as exc:
        logger.warning("stored message %r does not render (%s): showing its text", stored, exc)
        return fallback
