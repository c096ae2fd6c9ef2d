"""Exported page images: a stored JPEG scan at full size goes out as stored, without a second compression."""

from __future__ import annotations

import io

from PIL import Image

from annotations.exports.images import page_image_jpeg
from annotations.ingest.local_scans import page_local_file
from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import


def imported(folder, name, data):
    folder.mkdir()
    (folder / name).write_bytes(data)
    document = document_request_import(corpus=corpus_get_or_create(name="Scans"), source=str(folder))
    return document_import_run(document_id=document.pk).pages.get()


def encoded(image: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def greyscale_scan() -> Image.Image:
    # A halftone-like pattern: recompressing it changes its pixels, as it changed the dev set's (AP 0.786 -> 0.778).
    return Image.effect_noise((300, 200), 80).convert("L")


def test_a_jpeg_scan_at_full_size_goes_out_byte_for_byte(tmp_path, db):
    page = imported(tmp_path / "scans", "p1.jpg", encoded(greyscale_scan(), quality=75))

    data, size = page_image_jpeg(page, None)

    assert data == page_local_file(page).read_bytes()
    assert (size.width, size.height, size.scale_x) == (300, 200, 1.0)


def test_a_jpeg_scan_made_smaller_is_encoded_again(tmp_path, db):
    page = imported(tmp_path / "scans", "p1.jpg", encoded(greyscale_scan(), quality=75))

    data, size = page_image_jpeg(page, 150)

    assert (size.width, size.height) == (150, 100)
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == ("JPEG", (150, 100))


def test_a_scan_that_is_not_a_plain_jpeg_is_encoded_as_one(tmp_path, db):
    rotated = Image.new("RGB", (300, 200), (200, 180, 150))
    exif = rotated.getexif()
    exif[0x0112] = 6  # shown turned a quarter: the export writes the image as shown
    pages = [
        imported(tmp_path / "png", "p1.png", encoded(greyscale_scan(), "PNG")),
        imported(tmp_path / "exif", "p1.jpg", encoded(rotated, exif=exif.tobytes())),
    ]

    for page, shown in zip(pages, [(300, 200), (200, 300)], strict=True):
        data, size = page_image_jpeg(page, None)
        assert data != page_local_file(page).read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            assert (image.format, image.size, (size.width, size.height)) == ("JPEG", shown, shown)


def test_a_jpeg_scan_carrying_metadata_is_encoded_again_without_it(tmp_path, db):
    # Going out as stored would hand every reader the scan's EXIF (a camera's serial, a place, a name),
    # which the exports never gave: such a scan is encoded again, as before, and its metadata left out.
    scan = greyscale_scan()
    exif = scan.getexif()
    exif[0x013B] = "Jeanne Martin"  # Artist
    page = imported(tmp_path / "scans", "p1.jpg", encoded(scan, quality=75, exif=exif.tobytes()))

    data, _ = page_image_jpeg(page, None)

    assert data != page_local_file(page).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        assert "exif" not in image.info and image.size == (300, 200)
