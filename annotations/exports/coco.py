"""COCO detection JSON: images, one face category (plus hard negatives), attributes per annotation."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import IO

from annotations.exports.fields import (
    FACE_LABEL,
    NEGATIVE_LABEL,
    DocumentFacts,
    PageStems,
    absolute_url,
    document_facts,
    face_attributes,
)
from annotations.exports.images import ImageSize, export_page_image, image_box, page_image_url
from annotations.exports.options import ExportOptions, ExportResult
from annotations.exports.scope import AnyFace, PageBatch
from annotations.exports.sinks import ZipSink, json_dump, json_dump_items
from annotations.models import FaceStatus

COCO_CATEGORIES = [
    {"id": 1, "name": FACE_LABEL, "supercategory": "person"},
    {"id": 2, "name": NEGATIVE_LABEL, "supercategory": "background"},
]


def coco_annotation(face: AnyFace, *, image_id: int, size: ImageSize) -> dict:
    """One COCO annotation: bbox [x, y, w, h] and area in image pixels, the rectangle as a polygon, attributes."""
    x1, y1, x2, y2 = image_box(face, size)
    w, h = round(x2 - x1, 2), round(y2 - y1, 2)
    return {
        "id": face.pk,
        "image_id": image_id,
        "category_id": 2 if face.status == FaceStatus.REJECTED else 1,
        "bbox": [x1, y1, w, h],
        "area": round(w * h, 2),
        "iscrowd": 0,
        "segmentation": [[x1, y1, x2, y1, x2, y2, x1, y2]],
        "attributes": face_attributes(face),
    }


def write_coco(batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, result: ExportResult) -> None:
    # Images and annotations are two arrays of one object: annotations wait in a temporary file.
    # With images, the JSON is written beside the zip and added last (a zip takes one member at a time).
    sink = ZipSink(out) if options.with_images else None
    json_path = out.with_name(f"{out.name}.annotations.json") if sink else out
    try:
        with (
            tempfile.TemporaryFile("w+", encoding="utf-8") as pending,
            open(json_path, "w", encoding="utf-8") as stream,
        ):
            _coco_stream(batches, stream=stream, pending=pending, sink=sink, options=options, result=result)
        if sink is not None:
            sink.zip.write(json_path, "annotations.json")
    finally:
        if sink is not None:
            sink.close()
            json_path.unlink(missing_ok=True)


def _coco_stream(batches, *, stream: IO[str], pending: IO[str], sink: ZipSink | None, options, result) -> None:
    categories = COCO_CATEGORIES if options.include_rejected else COCO_CATEGORIES[:1]
    info = {"description": "Visages faces export", "version": "1.0", "date_created": date.today().isoformat()}
    stream.write('{"info":')
    json_dump(stream, info)
    stream.write(',"categories":')
    json_dump(stream, categories)
    stream.write(',"images":[')
    first_image = first_annotation = True
    # Each licence a document states, numbered as met; written after the images that name them.
    licenses: dict[str, int] = {}
    stems = PageStems(options.page_names)
    for batch in batches:
        for page, faces in batch:
            stem = stems(page)
            if sink is not None:
                data, size = export_page_image(page, options, result)
                if data is None:
                    continue
                file_name = f"images/{stem}.jpg"
                sink.write_bytes(file_name, data, compress=False)
            else:
                # Without images, boxes stay in canvas pixels: the image is the canvas.
                size, file_name = ImageSize(page.width, page.height, 1.0, 1.0), f"{stem}.jpg"
            image = {
                "id": page.pk,
                "file_name": file_name,
                "width": size.width,
                "height": size.height,
                "coco_url": page_image_url(page, options.image_size if sink else None, options.base_url),
                "canvas_id": absolute_url(page.canvas_id, options.base_url),
                "document_id": page.document_id,
                "page_order": page.order,
                **_image_provenance(document_facts(page.document, options.base_url), licenses),
            }
            stream.write("" if first_image else ",")
            json_dump(stream, image)
            first_image = False
            if faces:
                pending.write("" if first_annotation else ",")
                json_dump_items(pending, [coco_annotation(face, image_id=page.pk, size=size) for face in faces])
                first_annotation = False
    stream.write('],"licenses":')
    json_dump(stream, [{"id": number, "name": text, "url": _url_or_empty(text)} for text, number in licenses.items()])
    stream.write(',"annotations":[')
    pending.seek(0)
    shutil.copyfileobj(pending, stream)
    stream.write("]}")


def _image_provenance(document: DocumentFacts, licenses: dict[str, int]) -> dict:
    """COCO's `license` (an id of the `licenses` list, only when the document states one) and `date_captured`
    (the document's date), with its label, attribution and manifest."""
    fields = {
        "document_label": document.label,
        "attribution": document.attribution,
        "manifest": document.manifest,
        "date_captured": document.date,
        "date_text": document.date_text,
    }
    if document.license:
        fields["license"] = licenses.setdefault(document.license, len(licenses) + 1)
    return fields


def _url_or_empty(text: str) -> str:
    return text if text.startswith(("http://", "https://")) else ""
