"""Page images of an export: their nominal size, URL or JPEG bytes, and boxes mapped onto them."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from annotations.exports.fields import absolute_url
from annotations.exports.options import ExportOptions, ExportResult
from annotations.exports.scope import AnyFace
from annotations.iiif.image_api import derivative_scale, image_request_url, size_within
from annotations.iiif.messages import Message, gettext_noop
from annotations.models import Page

JPEG_QUALITY = 90
# What Pillow reads of a JPEG's metadata segments (an EXIF turn among them).
METADATA_KEYS = frozenset({"exif", "xmp", "photoshop", "comment"})
PAGE_SKIPPED = gettext_noop("page %(page)s (document %(document)s, p%(order)s): %(error)s")


@dataclass(frozen=True)
class ImageSize:
    """The pixel size of an exported page image and the canvas pixels per image pixel."""

    width: int
    height: int
    scale_x: float
    scale_y: float


def nominal_image_size(page: Page, max_size: int | None) -> ImageSize:
    """The size a page image gets when exported within max_size (full size when None), without fetching it."""
    full_w, full_h = page.image_width or page.width, page.image_height or page.height
    if max_size:
        full_w, full_h = derivative_scale(full_w, full_h, max_size, max_size)
    return ImageSize(full_w, full_h, page.width / full_w, page.height / full_h)


def page_image_url(page: Page, max_size: int | None, base_url: str = "") -> str:
    """A IIIF URL of the page image within max_size (the full image URL when there is no service)."""
    if not page.image_service_id:
        return absolute_url(page.image_url, base_url)
    version = page.image_service_version or "2"
    size = None
    if max_size:
        size = size_within(version, max_size, max_size)
    return absolute_url(image_request_url(page.image_service_id, version, size=size), base_url)


def page_image_jpeg(page: Page, max_size: int | None) -> tuple[bytes, ImageSize]:
    """The page image as a JPEG within max_size (full size when None), read locally or fetched through IIIF.

    A stored scan that is a JPEG already, exported at its own size, goes out as stored: a second compression
    would change its pixels (and what a model reads from a retraining set).
    """
    from annotations.iiif_server.imaging import page_derivative

    bound = max_size or max(page.width, page.height, page.image_width or 0, page.image_height or 0)
    derivative = page_derivative(page, max_size=bound)
    width, height = derivative.image.size
    size = ImageSize(width, height, derivative.scale_x, derivative.scale_y)
    stored = _stored_jpeg(page, width, height)
    if stored is not None:
        return stored, size
    buffer = io.BytesIO()
    derivative.image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue(), size


def _stored_jpeg(page: Page, width: int, height: int) -> bytes | None:
    """The stored scan's bytes when they are the exported image already: a plain JPEG of this size, RGB or
    grey, carrying no metadata (EXIF, XMP, IPTC or a comment: a camera, a place, a name that exports, encoding
    the image again, never gave out; a colour profile is no such thing); else None."""
    from annotations.ingest.local_scans import page_local_file

    if not page.local_path:
        return None
    try:
        path = page_local_file(page)
        with Image.open(path) as image:
            plain = (
                image.format == "JPEG"
                and image.size == (width, height)
                and image.mode in ("RGB", "L")
                and not METADATA_KEYS & image.info.keys()
            )
        return path.read_bytes() if plain else None
    except (ValueError, OSError):
        return None


def image_box(face: AnyFace, size: ImageSize) -> tuple[float, float, float, float]:
    """The face box in exported-image pixels (x1, y1, x2, y2), clipped to the image, 2 decimals."""
    x1 = min(max(face.x / size.scale_x, 0.0), size.width)
    y1 = min(max(face.y / size.scale_y, 0.0), size.height)
    x2 = min(max((face.x + face.w) / size.scale_x, 0.0), size.width)
    y2 = min(max((face.y + face.h) / size.scale_y, 0.0), size.height)
    return round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2)


def export_page_image(
    page: Page, options: ExportOptions, result: ExportResult
) -> tuple[bytes | None, ImageSize | None]:
    """The exported JPEG of a page, or (None, None) with the page listed as skipped when it cannot be read."""
    from annotations.iiif_server.imaging import ImageUnavailable

    try:
        return page_image_jpeg(page, options.image_size)
    except ImageUnavailable as exc:
        reason = {"page": page.pk, "document": page.document_id, "order": page.order, "error": exc.message}
        result.skipped.append(Message(PAGE_SKIPPED, reason))
        return None, None
