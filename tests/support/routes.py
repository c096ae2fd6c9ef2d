"""Every route of the URL resolver, for the tests that must cover them all (permissions, hostile input)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, resolve

HTTP_METHODS = ["get", "post", "put", "patch", "delete"]


@dataclass(frozen=True)
class Route:
    """One URL pattern: its name ('ns:name' when namespaced), view, and its full regex (includes joined)."""

    name: str
    callback: object
    regex: str

    @property
    def parameters(self) -> list[str]:
        """The names of the path's parameters, in order."""
        return [name for name, _ in _pieces(self.regex) if name is not None]

    def path(self, values: dict[str, str]) -> str | None:
        """The path with these parameter values, or None when they do not make a path this route answers."""
        path = "/" + "".join(values[name] if name is not None else text for name, text in _pieces(self.regex))
        try:
            match = resolve(path)
        except Exception:  # Resolver404, or a converter that refuses the value
            return None
        return path if match.func is self.callback else None


def walk_routes() -> list[Route]:
    """Every URL pattern, nested includes walked; unnamed patterns (admin's catch-all) too."""

    def walk(patterns, namespace="", prefix=""):
        for pattern in patterns:
            regex = prefix + pattern.pattern.regex.pattern.removeprefix("^")
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, inner, regex)
            elif isinstance(pattern, URLPattern):
                yield Route(f"{namespace}{pattern.name}", pattern.callback, regex)

    return list(walk(get_resolver().url_patterns))


def routes() -> list[tuple[str, object]]:
    """(url name, view) of every route, nested includes walked; namespaced names as 'ns:name'."""
    return [(route.name, route.callback) for route in walk_routes()]


def view_methods(callback) -> set[str]:
    """The HTTP methods a class-based view implements; function views say nothing ({'any'})."""
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:
        return {"any"}
    return {method for method in HTTP_METHODS if hasattr(view_class, method)}


def _pieces(regex: str) -> list[tuple[str | None, str]]:
    """A route's regex as literal text and named groups: [(None, "api/faces/"), ("pk", ""), ...].

    Enough for URL patterns (anchors, escaped characters, named groups); not a general regex reader.
    """
    pieces: list[tuple[str | None, str]] = []
    text, i = "", 0
    while i < len(regex):
        char = regex[i]
        if regex.startswith("(?P<", i):
            if text:
                pieces.append((None, text))
                text = ""
            name_end = regex.index(">", i)
            pieces.append((regex[i + 4 : name_end], ""))
            depth, i = 1, name_end + 1
            while depth:
                depth += {"(": 1, ")": -1}.get(regex[i], 0) if regex[i - 1] != "\\" else 0
                i += 1
            continue
        if char == "\\":
            text += "" if regex[i + 1] in "AZ" else regex[i + 1]
            i += 2
            continue
        if char not in "^$":
            text += char
        i += 1
    if text:
        pieces.append((None, text))
    return pieces
