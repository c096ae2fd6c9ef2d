"""Query parameters a read route does not take: refused by name, never ignored (a misspelt filter would
answer everything)."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _


def unknown_parameters(names: Iterable[str], known: Iterable[str]) -> dict[str, list[str]]:
    """A 400 entry for each of `names` not in `known`, listing those the request takes; empty when none."""
    taken = sorted(set(known))
    message = _("Unknown parameter; this request takes %(known)s.") % {"known": ", ".join(taken)}
    return {name: [message] for name in names if name not in taken}
