"""Annotated page images (the BnF seed's output): face boxes with gender, age and confidence drawn."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import BinaryIO

from PIL import Image, ImageDraw, ImageFont

from annotations.iiif_server.imaging import ImageUnavailable, page_derivative
from annotations.models import Face, FaceStatus, Gender, Page

JPEG_QUALITY = 85
# One colour per review status, so a curator sees at a glance what is still a raw prediction.
STATUS_COLOURS = {
    FaceStatus.PREDICTED: (255, 140, 0),
    FaceStatus.ACCEPTED: (30, 160, 60),
    FaceStatus.EDITED: (30, 110, 220),
    FaceStatus.ADDED: (150, 60, 200),
}
GENDER_LETTERS = {Gender.FEMALE: "F", Gender.MALE: "M", Gender.UNKNOWN: "?"}


def face_label(face: Face) -> str:
    """Short label of a face: gender (C for a child), age in years and detection confidence."""
    parts = ["C" if face.child else GENDER_LETTERS.get(face.gender, "?")]
    if face.age is not None:
        parts.append(f"{face.age:.0f}y")
    parts.append(f"{face.confidence:.2f}")
    return " ".join(parts)


def faces_draw(image: Image.Image, faces: Iterable[Face], *, scale_x: float, scale_y: float) -> Image.Image:
    """A copy of `image` with each face (in canvas pixels, mapped by 1/scale) boxed and labelled."""
    drawn = image.convert("RGB")
    draw = ImageDraw.Draw(drawn)
    # Lines and text grow with the image, so labels stay readable on a full newspaper page.
    width = max(2, round(max(drawn.size) / 700))
    font = ImageFont.load_default(size=max(12, round(max(drawn.size) / 90)))
    for face in faces:
        colour = STATUS_COLOURS.get(face.status)
        if colour is None:
            continue
        x1, y1 = face.x / scale_x, face.y / scale_y
        x2, y2 = (face.x + face.w) / scale_x, (face.y + face.h) / scale_y
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=width)
        label = face_label(face)
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        text_y = y1 - (bottom - top) - 2 * width if y1 >= (bottom - top) + 2 * width else y2
        draw.rectangle((x1, text_y, x1 + right - left + 2 * width, text_y + bottom - top + 2 * width), fill=colour)
        draw.text((x1 + width - left, text_y + width - top), label, fill=(255, 255, 255), font=font)
    return drawn


def page_annotated_jpeg(*, page: Page, faces: Iterable[Face], max_size: int) -> bytes:
    """A JPEG of the page no larger than max_size with its faces drawn; raises ImageUnavailable."""
    derivative = page_derivative(page, max_size=max_size)
    drawn = faces_draw(derivative.image, faces, scale_x=derivative.scale_x, scale_y=derivative.scale_y)
    buffer = io.BytesIO()
    drawn.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def pages_annotated_zip(*, pages: Iterable[Page], faces_of, out: BinaryIO, max_size: int) -> int:
    """Write one annotated JPEG per page into a zip on `out`; returns how many pages were drawn.

    Members are named `<document id>/p<order>.jpg`. Pages whose image cannot be read are listed,
    with why, in `unavailable.txt` rather than failing the whole download.
    """
    drawn = 0
    unavailable = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for page in pages:
            try:
                jpeg = page_annotated_jpeg(page=page, faces=faces_of(page), max_size=max_size)
            except ImageUnavailable as exc:
                unavailable.append(f"page {page.pk} ({page.document_id}/p{page.order:04d}): {exc}")
                continue
            archive.writestr(f"{page.document_id}/p{page.order:04d}.jpg", jpeg)
            drawn += 1
        if unavailable:
            archive.writestr("unavailable.txt", "\n".join(unavailable) + "\n")
    return drawn
