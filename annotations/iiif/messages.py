"""Text a curator reads, kept as its English template and parameters so that it is translated where it is read.

Django-free, like the rest of this package: templates are marked by a local `gettext_noop` (makemessages
finds the name) and str() gives the English text, for logs and Django-free callers. A worker stores a
message as JSON and a page or the API renders it in its reader's language (webapp.messages).
A parameter may itself be a message (a nested cause), or a list of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


def gettext_noop(message: str) -> str:
    """Marks a template for the French catalogue; translated where it is shown."""
    return message


@dataclass(frozen=True)
class Message:
    """A translatable template (the catalogue's msgid, with %(name)s placeholders) and its parameters."""

    template: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return english(self)


class MessageError(Exception):
    """An error whose message is a `Message`: MessageError(template, name=value, ...)."""

    def __init__(self, template: str, /, **params: object) -> None:
        self.message = Message(template, params)
        super().__init__(english(self.message))

    @property
    def template(self) -> str:
        return self.message.template

    @property
    def params(self) -> Mapping[str, object]:
        return self.message.params

    def __reduce__(self):
        # Pickled as its message and attributes: a subclass's constructor may take other arguments than `args`.
        return _restored, (type(self), self.message), self.__dict__


def _restored(cls: type[MessageError], message: Message) -> MessageError:
    error = cls.__new__(cls)
    Exception.__init__(error, english(message))
    error.message = message
    return error


@runtime_checkable
class Translatable(Protocol):
    """A message: a template (the English text with %(name)s placeholders, marked for the catalogue) and
    its parameters (values, or messages themselves: a nested cause, or a list of them)."""

    template: str
    params: Mapping[str, object]


def as_json(message: Translatable) -> dict:
    """{"message": template, "params": {...}}, nested messages as such dicts, other values as JSON ones."""
    return {
        "message": message.template,
        "params": {name: _param_as_json(value) for name, value in message.params.items()},
    }


def unexpected_error(exc: BaseException) -> Message:
    """What a job that crashed says: the exception's class and its own text (the program's words, not translated)."""
    return Message(
        gettext_noop("Unexpected error: %(kind)s: %(error)s"), {"kind": exc.__class__.__name__, "error": str(exc)}
    )


def from_json(stored: Mapping) -> Message:
    """The message `as_json` stored, nested messages as messages again (to raise it or store it anew)."""
    params = stored.get("params") or {}
    return Message(stored["message"], {name: _param_from_json(value) for name, value in params.items()})


def _param_from_json(value: object) -> object:
    if isinstance(value, Mapping):
        return from_json(value)
    if isinstance(value, list):
        return [_param_from_json(item) for item in value]
    return value


def _param_as_json(value: object) -> object:
    if isinstance(value, Translatable):
        return as_json(value)
    if isinstance(value, list | tuple):
        return [_param_as_json(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _same(template: str) -> str:
    return template


# A placeholder and its conversion: %(name)s, %(name).3f, %(name)d ...
_PLACEHOLDER = re.compile(r"%\((\w+)\)([#0 +-]*\d*(?:\.\d+)?[a-zA-Z])")


def rendered(
    stored: Mapping, translate: Callable[[str], str] = _same, number: Callable[[float], str] | None = None
) -> str:
    """A message stored as JSON (`as_json`), its template and each nested one passed through `translate`
    (none: English), and its decimal numbers shown by a plain %(name)s through `number` (none: as Python
    writes them; a placeholder with its own format, %(name).3f, formats the number itself); KeyError,
    TypeError or ValueError when it does not fit its template."""
    template = stored["message"]
    if not isinstance(template, str):
        raise TypeError(f"a message template is a string, not {type(template).__name__}")
    # gettext("") is the catalogue's header, not an empty text.
    text = translate(template) if template else ""
    params = stored.get("params") or {}
    if not params:
        return text
    formatted = {name for name, conversion in _PLACEHOLDER.findall(text) if conversion != "s"}
    return text % {
        name: _rendered_param(value, translate, None if name in formatted else number) for name, value in params.items()
    }


def _rendered_param(value: object, translate: Callable[[str], str], number: Callable[[float], str] | None) -> object:
    if isinstance(value, Mapping):
        return rendered(value, translate, number)
    if isinstance(value, list):
        return ", ".join(str(_rendered_param(item, translate, number)) for item in value)
    if isinstance(value, float) and number is not None:
        return number(value)
    return value


def english(message: Translatable) -> str:
    """The message in English: its template filled with its parameters, nested messages in English too."""
    return rendered(as_json(message))
