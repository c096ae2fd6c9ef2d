"""IIIF Image API 1.1 / 2 / 3 request URLs, and the parser for our own image endpoint (SPECS.md §3.2).

URI template (all versions): {service_id}/{region}/{size}/{rotation}/{quality}.{format}.
Service ids are used verbatim: Gallica's unencoded "ark:/12148/..." ids must not be re-encoded.
"""

from __future__ import annotations

import math
import re

VERSIONS = ("1", "2", "3")
# Guards our endpoint against requests that would allocate huge images.
MAX_OUTPUT_SIDE = 10_000
# Digits of a number in a region or size: a 400-digit number is no float (pct: gives infinity)
# and no size; nine digits are past any image.
MAX_DIGITS = 9

_INTEGER = rf"(\d{{1,{MAX_DIGITS}}})"
_PIXEL_REGION = re.compile(rf"^{_INTEGER},{_INTEGER},{_INTEGER},{_INTEGER}$")
_NUMBER = rf"(\d{{1,{MAX_DIGITS}}}(?:\.\d{{1,{MAX_DIGITS}}})?)"
_PCT_REGION = re.compile(rf"^pct:{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$")
_SIZE_WIDTH = re.compile(rf"^{_INTEGER},$")
_SIZE_HEIGHT = re.compile(rf"^,{_INTEGER}$")
_SIZE_EXACT = re.compile(rf"^(!?){_INTEGER},{_INTEGER}$")
_SIZE_PCT = re.compile(rf"^pct:{_NUMBER}$")


def _check_version(version: str) -> str:
    """Return version if it is an Image API major version we speak, else raise ValueError."""
    if version not in VERSIONS:
        raise ValueError(f"unknown IIIF Image API version {version!r}: expected one of {', '.join(VERSIONS)}")
    return version


def region_param(x: int, y: int, w: int, h: int) -> str:
    """Pixel region parameter "x,y,w,h" (integers, as Image API 3 requires)."""
    return f"{int(x)},{int(y)},{int(w)},{int(h)}"


def clamp_region(
    x: float, y: float, w: float, h: float, *, margin: float, width: int, height: int
) -> tuple[int, int, int, int]:
    """Pad a box by margin (a fraction of its size) on each side, then clamp it to the image."""
    pad_x, pad_y = w * margin, h * margin
    # floor/ceil so that the integer box still covers the whole padded box.
    left = max(0, math.floor(x - pad_x))
    top = max(0, math.floor(y - pad_y))
    right = min(width, math.ceil(x + w + pad_x))
    bottom = min(height, math.ceil(y + h + pad_y))
    if right <= left or bottom <= top:
        raise ValueError(f"box {x},{y},{w},{h} does not overlap the {width}x{height} image")
    return left, top, right - left, bottom - top


def size_within(version: str, max_w: int, max_h: int) -> str:
    """Best-fit size "!w,h": the largest size that fits the box, aspect ratio kept."""
    _check_version(version)
    return f"!{int(max_w)},{int(max_h)}"


def size_width(version: str, w: int) -> str:
    """Size parameter for a given width, height following the aspect ratio: "w,"."""
    _check_version(version)
    return f"{int(w)},"


def full_size(version: str) -> str:
    """Size parameter for the full region size: "full" before 3.0, "max" from 3.0."""
    return "max" if _check_version(version) == "3" else "full"


def default_quality(version: str) -> str:
    """Quality every server supports: "native" in 1.1, "default" from 2.0."""
    return "native" if _check_version(version) == "1" else "default"


def image_request_url(
    service_id: str,
    version: str,
    *,
    region: str = "full",
    size: str | None = None,
    rotation: int = 0,
    quality: str | None = None,
    fmt: str = "jpg",
) -> str:
    """Image request URL on an image service, with version-appropriate size and quality defaults."""
    size = size if size is not None else full_size(version)
    quality = quality if quality is not None else default_quality(version)
    return f"{service_id.rstrip('/')}/{region}/{size}/{rotation}/{quality}.{fmt}"


def derivative_scale(full_w: int, full_h: int, max_w: int, max_h: int) -> tuple[int, int]:
    """Pixel size of a "!max_w,max_h" request on a full_w x full_h region, never upscaled."""
    if min(full_w, full_h, max_w, max_h) <= 0:
        raise ValueError(f"sizes must be positive, got {full_w}x{full_h} within {max_w}x{max_h}")
    scale = min(max_w / full_w, max_h / full_h, 1.0)
    # The limiting side is exact; servers round the other one (Cantaloupe, IIPImage).
    return max(1, min(max_w, round(full_w * scale))), max(1, min(max_h, round(full_h * scale)))


def thumbnail_url(service_id: str, version: str, width: int) -> str:
    """URL of the whole image scaled to width pixels wide."""
    return image_request_url(service_id, version, size=size_width(version, width))


def face_crop_url(
    service_id: str,
    version: str,
    *,
    x: float,
    y: float,
    w: float,
    h: float,
    canvas_w: int,
    canvas_h: int,
    margin: float = 0.15,
    size: int = 224,
    image_w: int | None = None,
    image_h: int | None = None,
) -> str:
    """URL of a padded face crop fitting size x size; the box is in canvas space.

    Pass image_w/image_h when the image service's pixel size differs from the canvas
    size, so the region is scaled into image space (SPECS.md §3.4).
    """
    left, top, width, height = clamp_region(x, y, w, h, margin=margin, width=canvas_w, height=canvas_h)
    if image_w and image_h and (image_w, image_h) != (canvas_w, canvas_h):
        scale_x, scale_y = image_w / canvas_w, image_h / canvas_h
        right, bottom = left + width, top + height
        left, top = math.floor(left * scale_x), math.floor(top * scale_y)
        width = max(1, min(image_w, math.ceil(right * scale_x)) - left)
        height = max(1, min(image_h, math.ceil(bottom * scale_y)) - top)
    return image_request_url(
        service_id,
        version,
        region=region_param(left, top, width, height),
        size=size_within(version, size, size),
    )


def parse_image_request(
    region: str, size: str, *, width: int, height: int, version: str = "3", max_area: int | None = None
) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """Resolve region and size parameters against a width x height image: (crop box, output size).

    With max_area (info.json's maxArea), `max` gives the largest size within it and any other size
    beyond it is refused (Image API 3.0 §4.2 lets a server answer 400 there).
    Raises ValueError with a message fit for a 400 response.
    """
    _check_version(version)
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    box = _parse_region(region, width=width, height=height)
    out_w, out_h = _parse_size(size, region_w=box[2], region_h=box[3], version=version)
    if max_area is not None and out_w * out_h > max_area:
        if size.lstrip("^") not in ("full", "max"):
            raise ValueError(
                f"size {size!r} gives {out_w}x{out_h} = {out_w * out_h} pixels: more than maxArea ({max_area})"
            )
        scale = math.sqrt(max_area / (out_w * out_h))
        out_w, out_h = max(1, math.floor(out_w * scale)), max(1, math.floor(out_h * scale))
    return box, (out_w, out_h)


def _parse_region(region: str, *, width: int, height: int) -> tuple[int, int, int, int]:
    """Crop box x, y, w, h for a region parameter, cut at the image's edges."""
    if region == "full":
        return 0, 0, width, height
    if region == "square":
        side = min(width, height)
        return (width - side) // 2, (height - side) // 2, side, side
    pixel = _PIXEL_REGION.match(region)
    pct = _PCT_REGION.match(region)
    if pixel:
        x, y, w, h = (int(value) for value in pixel.groups())
    elif pct:
        px, py, pw, ph = (float(value) for value in pct.groups())
        x, y = round(px * width / 100), round(py * height / 100)
        w, h = round(pw * width / 100), round(ph * height / 100)
    else:
        raise ValueError(
            f"invalid region {region[:40]!r}: expected full, square, x,y,w,h or pct:x,y,w,h "
            f"with non-negative numbers of at most {MAX_DIGITS} digits"
        )
    if w == 0 or h == 0:
        raise ValueError(f"region {region!r} has zero width or height")
    if x >= width or y >= height:
        raise ValueError(f"region {region!r} lies outside the {width}x{height} image")
    # A region running past the edge is cut there (Image API 3.0 §4.1).
    return x, y, min(w, width - x), min(h, height - y)


def _parse_size(size: str, *, region_w: int, region_h: int, version: str) -> tuple[int, int]:
    """Output width and height for a size parameter applied to a region_w x region_h crop."""
    upscale = size.startswith("^")
    if upscale and version != "3":
        raise ValueError(f"size {size!r}: the ^ (upscaling) prefix exists only in Image API 3")
    spec = size[1:] if upscale else size
    out_w, out_h = _size_dimensions(spec, size, region_w=region_w, region_h=region_h, upscale=upscale)
    if out_w <= 0 or out_h <= 0:
        raise ValueError(f"size {size!r} asks for an empty image")
    if out_w > MAX_OUTPUT_SIDE or out_h > MAX_OUTPUT_SIDE:
        raise ValueError(f"size {size!r} gives {out_w}x{out_h}: each side must be at most {MAX_OUTPUT_SIDE} pixels")
    if version == "3" and not upscale and (out_w > region_w or out_h > region_h):
        raise ValueError(
            f"size {size!r} ({out_w}x{out_h}) is larger than the {region_w}x{region_h} region: "
            "prefix it with ^ to upscale"
        )
    return out_w, out_h


def _size_dimensions(spec: str, size: str, *, region_w: int, region_h: int, upscale: bool) -> tuple[int, int]:
    """Output dimensions for a size spec without its ^ prefix."""
    if spec in ("full", "max"):
        return region_w, region_h
    if match := _SIZE_WIDTH.match(spec):
        out_w = int(match[1])
        return out_w, max(1, round(region_h * out_w / region_w))
    if match := _SIZE_HEIGHT.match(spec):
        out_h = int(match[1])
        return max(1, round(region_w * out_h / region_h)), out_h
    if match := _SIZE_PCT.match(spec):
        factor = float(match[1]) / 100
        return round(region_w * factor), round(region_h * factor)
    if match := _SIZE_EXACT.match(spec):
        out_w, out_h = int(match[2]), int(match[3])
        if not match[1]:
            return out_w, out_h
        if out_w == 0 or out_h == 0:
            raise ValueError(f"size {size!r} asks for an empty image")
        # "!w,h" fits inside the box; without ^ it never grows past the region (Image API 3.0 §4.2).
        scale = min(out_w / region_w, out_h / region_h)
        if not upscale:
            scale = min(scale, 1.0)
        return (
            max(1, min(out_w, round(region_w * scale))),
            max(1, min(out_h, round(region_h * scale))),
        )
    raise ValueError(
        f"invalid size {size[:40]!r}: expected max, w,, ,h, pct:n, w,h or !w,h (optionally prefixed with ^), "
        f"with numbers of at most {MAX_DIGITS} digits"
    )
