"""What an export is asked to write (options) and what it wrote (result)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from annotations.iiif.messages import Message


@dataclass(frozen=True)
class ExportOptions:
    """How to export: negatives, images and their size, the index format, URLs for references."""

    include_rejected: bool = False
    with_images: bool = True
    image_size: int | None = None
    index_format: str = "json"
    base_url: str = ""
    # Where the IIIF manifest copy and annotation pages are served from once exported.
    files_url: str = ""
    # How exported files are named: `ids` (d{document}_p{order}) or `labels` (fields.PageStems).
    page_names: str = "ids"

    @classmethod
    def from_dict(cls, options: dict) -> ExportOptions:
        return cls(
            include_rejected=bool(options.get("include_rejected", False)),
            with_images=bool(options.get("with_images", True)),
            image_size=int(options["image_size"]) if options.get("image_size") else None,
            index_format=options.get("format") or "json",
            base_url=options.get("base_url", ""),
            files_url=options.get("files_url", ""),
            page_names=options.get("page_names") or "ids",
        )


@dataclass
class ExportResult:
    """What an export wrote: pages, faces, the corpora of those pages, and the pages skipped with the reason."""

    pages: int = 0
    faces: int = 0
    # Each skipped page and why, as a message (str() gives its English text).
    skipped: list[Message] = field(default_factory=list)
    corpora: set[int] = field(default_factory=set)


Progress = Callable[[int], None]
