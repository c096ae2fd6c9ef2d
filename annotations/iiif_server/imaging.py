"""Page images: our own IIIF Image API renderer for local scans, and bounded derivatives of any page."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from annotations.iiif.fetch import Fetcher, FetchError
from annotations.iiif.image_api import (
    MAX_OUTPUT_SIDE,
    derivative_scale,
    image_request_url,
    parse_image_request,
    size_within,
)
from annotations.iiif.messages import MessageError, gettext_noop
from annotations.ingest.local_scans import page_local_file
from annotations.models import Page

TILE_SIZE = 512
SCALE_FACTORS = (1, 2, 4, 8, 16, 32)
JPEG_QUALITY = 85


class ImageUnavailable(MessageError):
    """The page's image cannot be read or fetched; the message says why (translated where it is read)."""


def _open_checked(data: bytes | Path) -> Image.Image:
    # Pillow only raises past twice MAX_IMAGE_PIXELS; the size is checked here at the limit itself.
    Image.MAX_IMAGE_PIXELS = settings.IMAGE_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow warns between MAX_IMAGE_PIXELS and twice it: those images are refused just below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
        if img.width * img.height > settings.IMAGE_MAX_PIXELS:
            img.close()
            raise ImageUnavailable(
                gettext_noop("Image refused: too many pixels (%(width)sx%(height)s is more than %(limit)s)"),
                width=img.width,
                height=img.height,
                limit=settings.IMAGE_MAX_PIXELS,
            )
        img.load()
    except Image.DecompressionBombError as exc:
        raise ImageUnavailable(gettext_noop("Image refused: too many pixels (%(error)s)"), error=str(exc)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ImageUnavailable(gettext_noop("Image unreadable or truncated: %(error)s"), error=str(exc)) from exc
    return ImageOps.exif_transpose(img).convert("RGB")


@lru_cache(maxsize=8)
def _decoded_local(path: str, mtime: float) -> Image.Image:
    # Tiles of one page arrive in bursts; decoding the scan once per burst keeps deep zoom fast.
    return _open_checked(Path(path))


def local_image(path: Path) -> Image.Image:
    """A decoded local scan (cached per process, keyed by path and modification time)."""
    return _decoded_local(str(path), path.stat().st_mtime)


def local_info(path: Path, service_id: str) -> dict:
    """IIIF Image API 3 info.json for a local scan."""
    with Image.open(path) as img:
        width, height = img.size
    sizes = []
    for factor in SCALE_FACTORS:
        if width // factor < 64:
            break
        sizes.append({"width": width // factor, "height": height // factor})
    return {
        "@context": "http://iiif.io/api/image/3/context.json",
        "id": service_id,
        "type": "ImageService3",
        "protocol": "http://iiif.io/api/image",
        "profile": "level1",
        "width": width,
        "height": height,
        "sizes": list(reversed(sizes)),
        "tiles": [{"width": TILE_SIZE, "scaleFactors": list(SCALE_FACTORS)}],
        # The largest image local_render gives: `max` fits within these, other sizes beyond get a 400.
        "maxWidth": MAX_OUTPUT_SIDE,
        "maxHeight": MAX_OUTPUT_SIDE,
        "maxArea": settings.IIIF_MAX_AREA,
        "extraFeatures": ["regionByPx", "regionSquare", "sizeByW", "sizeByH", "sizeByWh", "sizeByConfinedWh"],
    }


def local_render(path: Path, *, region: str, size: str, rotation: str, quality: str, fmt: str) -> bytes:
    """Render one Image API request on a local scan; ValueError for requests we do not support."""
    if rotation not in {"0", "0.0"}:
        raise ValueError("Only rotation 0 is supported")
    if quality not in {"default", "color", "native"}:
        raise ValueError(f"Unsupported quality {quality!r}")
    if fmt not in {"jpg", "jpeg"}:
        raise ValueError(f"Unsupported format {fmt!r}")
    image = local_image(path)
    (x, y, w, h), (out_w, out_h) = parse_image_request(
        region, size, width=image.width, height=image.height, max_area=settings.IIIF_MAX_AREA
    )
    crop = image.crop((x, y, x + w, y + h))
    if (out_w, out_h) != crop.size:
        crop = crop.resize((out_w, out_h), Image.Resampling.LANCZOS if out_w < w else Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    crop.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


@dataclass(frozen=True)
class Derivative:
    """A bounded-size image of a page and the factors that map its pixels to canvas pixels."""

    image: Image.Image
    scale_x: float  # canvas pixels per derivative pixel
    scale_y: float


def page_derivative(page: Page, *, max_size: int, fetcher: Fetcher | None = None) -> Derivative:
    """Fetch or read a page image no larger than max_size on its longer side."""
    if page.local_path:
        try:
            path = page_local_file(page)
        except ValueError as exc:
            raise ImageUnavailable(gettext_noop("Local image missing: %(path)s"), path=page.local_path) from exc
        image = local_image(path).copy()
        image.thumbnail((max_size, max_size), Image.Resampling.LANCZOS)
    else:
        if fetcher is None:
            from annotations.ingest.manifests import fetch_policy

            fetcher = Fetcher(fetch_policy())
        if page.image_service_id:
            version = page.image_service_version or "2"
            full_w, full_h = page.image_width or page.width, page.image_height or page.height
            target_w, target_h = derivative_scale(full_w, full_h, max_size, max_size)
            url = image_request_url(page.image_service_id, version, size=size_within(version, target_w, target_h))
        else:
            url = page.image_url
        try:
            data = fetcher.get_bytes(url, max_bytes=settings.IIIF_MAX_IMAGE_BYTES, accept="image/*")
        except FetchError as exc:
            raise ImageUnavailable(exc.template, **exc.params) from exc
        image = _open_checked(data)
        if max(image.size) > max_size:
            image.thumbnail((max_size, max_size), Image.Resampling.LANCZOS)
    return Derivative(image=image, scale_x=page.width / image.width, scale_y=page.height / image.height)
