"""Matching annotation files, images and canvases to the pages of a document."""

from __future__ import annotations

import re
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from annotations.models import Document, Page

_STEM_ORDER = re.compile(r"(?:^|[_-])p(\d{1,6})$")
# Gallica image names such as "bpt6k46000341_f3": the canvas id ends in /f3.
_STEM_GALLICA = re.compile(r"(?:^|[_-])(f\d{1,6})$")


def file_stem(name: str) -> str:
    return PurePosixPath(PureWindowsPath(name).as_posix()).stem


def _url_path(url: str) -> str | None:
    """The path of a URL; None for a string urlsplit cannot read (an unclosed IPv6 host, say)."""
    try:
        return urlsplit(url).path
    except ValueError:
        return None


class PageMatcher:
    """Finds the page of a document a file speaks of: by canvas id first, then by file name."""

    def __init__(self, document: Document):
        self.document = document
        self.by_canvas: dict[str, Page] = {}
        self.by_name: dict[str, Page | None] = {}
        self.by_order: dict[int, Page] = {}
        for page in document.pages.all():
            self.by_canvas[page.canvas_id] = page
            self.by_order[page.order] = page
            names = {page.label, page.canvas_id.rstrip("/").rsplit("/", 1)[-1]}
            if page.local_path:
                names.add(file_stem(page.local_path))
            for name in filter(None, names):
                key = name.lower()
                # A name two pages share identifies neither.
                self.by_name[key] = page if self.by_name.get(key, page) is page else None

    def match(self, *, canvas: str | None = None, names: list[str] = ()) -> Page | None:
        """The page for a canvas id (exact, or by path for our own relative ids) or a file name."""
        if canvas:
            page = self.by_canvas.get(canvas) or self.by_canvas.get(_url_path(canvas))
            if page is not None:
                return page
        for name in filter(None, names):
            stem = file_stem(name).lower()
            if self.by_name.get(stem) is not None:
                return self.by_name[stem]
            gallica = _STEM_GALLICA.search(stem)
            if gallica and self.by_name.get(gallica.group(1)) is not None:
                return self.by_name[gallica.group(1)]
            order = _STEM_ORDER.search(stem)
            if order and int(order.group(1)) in self.by_order:
                return self.by_order[int(order.group(1))]
        return None

    def describe(self, *, canvas: str | None = None, names: list[str] = ()) -> str:
        said = [_("canvas %(canvas)s") % {"canvas": repr(canvas)}] if canvas else []
        said += [_("file name %(name)s") % {"name": repr(name)} for name in names if name]
        return _("no page of document %(document)s matches %(said)s") % {
            "document": self.document.pk,
            "said": _(" or ").join(said) or _("this file"),
        }
