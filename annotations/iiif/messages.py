"""Text a curator reads, kept as its English template and parameters so that it is translated where it is read.

Django-free, like the rest of this package: templates are marked by a local `gettext_noop` (makemessages
finds the name) and str() gives the English text, for logs and Django-free callers. A worker stores a
message as JSON and a page or the API renders it in its reader's language (webapp.messages).
A parameter may itself be a message (a nested cause), or a list of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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


def english(message: Message) -> str:
    """The message in English: its template filled with its parameters, nested messages in English too."""
    if not message.params:
        return message.template
    return message.template % {name: _english_value(value) for name, value in message.params.items()}


def _english_value(value: object) -> object:
    if isinstance(value, MessageError):
        return english(value.message)
    if isinstance(value, Message):
        return english(value)
    if isinstance(value, list | tuple):
        return ", ".join(str(_english_value(item)) for item in value)
    return value
