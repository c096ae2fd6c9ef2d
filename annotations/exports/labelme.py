"""LabelMe JSON (SPECS.md §3.1): one file per page image, rectangles as two sorted points."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from annotations.exports.fields import (
    FACE_LABEL,
    NEGATIVE_LABEL,
    VERIFIED_STATUSES,
    DocumentFacts,
    PageStems,
    absolute_url,
    document_facts,
    face_attributes,
)
from annotations.exports.images import ImageSize, export_page_image, image_box, nominal_image_size, page_image_url
from annotations.exports.options import ExportOptions, ExportResult
from annotations.exports.scope import AnyFace, PageBatch
from annotations.exports.sinks import sink_for
from annotations.models import FaceStatus, Gender, Page, ReviewStatus

# LabelMe format version we write (the reader accepts any 5.x/6.x file with these keys).
LABELME_VERSION = "5.5.0"
# Made once: json.dumps with options builds an encoder per call, and an export makes a million calls.
# Files are not indented: Python encodes indented JSON in Python, about 10× slower than in C.
_FILE_JSON = json.JSONEncoder(ensure_ascii=False)
_DESCRIPTION_JSON = json.JSONEncoder(sort_keys=True)


def labelme_shape(face: AnyFace, size: ImageSize) -> dict:
    """One rectangle: two sorted points in image pixels, bool-only flags, numbers in extra keys and description."""
    x1, y1, x2, y2 = image_box(face, size)
    attributes = face_attributes(face)
    description = {
        "age": attributes["age"],
        "age_conf": attributes["age_confidence"],
        "det_conf": attributes["confidence"],
        "gender_conf": attributes["gender_confidence"],
        "status": face.status,
        "source": face.source,
        "face_id": face.pk,
    }
    return {
        "label": NEGATIVE_LABEL if face.status == FaceStatus.REJECTED else FACE_LABEL,
        "points": [[x1, y1], [x2, y2]],
        "group_id": None,
        "shape_type": "rectangle",
        "flags": {
            "female": face.gender == Gender.FEMALE,
            "male": face.gender == Gender.MALE,
            "child": bool(face.child),
            "verified": face.status in VERIFIED_STATUSES,
        },
        "description": _DESCRIPTION_JSON.encode(description),
        "face_id": face.pk,
        "age": attributes["age"],
        "age_confidence": attributes["age_confidence"],
        "confidence": attributes["confidence"],
        "gender": face.gender,
        "gender_confidence": attributes["gender_confidence"],
        "status": face.status,
        "source": face.source,
    }


def labelme_page(
    page: Page,
    faces: Sequence[AnyFace],
    *,
    image_path: str,
    size: ImageSize,
    document: DocumentFacts,
    image_url: str = "",
    base_url: str = "",
) -> dict:
    """The LabelMe JSON of one page; imageHeight/imageWidth are the exported image's size."""
    return {
        "version": LABELME_VERSION,
        "flags": {"reviewed": page.review_status == ReviewStatus.REVIEWED, "front_page": page.is_front_page},
        "shapes": [labelme_shape(face, size) for face in faces],
        "imagePath": image_path,
        "imageData": None,
        "imageHeight": size.height,
        "imageWidth": size.width,
        "canvas": absolute_url(page.canvas_id, base_url),
        "canvasWidth": page.width,
        "canvasHeight": page.height,
        "document": page.document_id,
        "page": page.pk,
        "pageOrder": page.order,
        "imageUrl": image_url,
        "documentLabel": document.label,
        "documentDate": document.date,
        "documentDateText": document.date_text,
        "manifest": document.manifest,
        "license": document.license,
        "attribution": document.attribution,
    }


def write_labelme(batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, result: ExportResult) -> None:
    sink = sink_for(out)
    stems = PageStems(options.page_names)
    try:
        for batch in batches:
            for page, faces in batch:
                stem = stems(page)
                if options.with_images:
                    data, size = export_page_image(page, options, result)
                    if data is None:
                        continue
                    sink.write_bytes(f"{stem}.jpg", data, compress=False)
                else:
                    size = nominal_image_size(page, options.image_size)
                record = labelme_page(
                    page,
                    faces,
                    image_path=f"{stem}.jpg",
                    size=size,
                    document=document_facts(page.document, options.base_url),
                    image_url=page_image_url(page, options.image_size, options.base_url),
                    base_url=options.base_url,
                )
                sink.write_bytes(f"{stem}.json", _FILE_JSON.encode(record).encode())
    finally:
        sink.close()
