"""CSV: one row per face."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from annotations.exports.fields import absolute_url, rounded
from annotations.exports.options import ExportOptions, ExportResult
from annotations.exports.scope import AnyFace, PageBatch
from annotations.exports.spreadsheet import spreadsheet_row

FACE_CSV_COLUMNS = (
    "document",
    "page",
    "canvas",
    "x",
    "y",
    "w",
    "h",
    "confidence",
    "age",
    "gender",
    "child",
    "source",
    "status",
    "crop_url",
)


def face_csv_rows(faces: Iterable[AnyFace], *, base_url: str = "") -> Iterator[list]:
    """CSV rows (FACE_CSV_COLUMNS order) of faces whose `page` is loaded; crop URLs made absolute.

    Text cells are spreadsheet-safe (no cell starts like a formula).
    """
    for face in faces:
        page = face.page
        row = [
            page.document_id,
            page.pk,
            absolute_url(page.canvas_id, base_url),
            face.x,
            face.y,
            face.w,
            face.h,
            rounded(face.confidence),
            "" if face.age is None else rounded(face.age, 1),
            face.gender,
            "true" if face.child else "false",
            face.source,
            face.status,
            absolute_url(page.face_crop_url(face), base_url),
        ]
        yield spreadsheet_row(row)


def face_csv_write(stream: IO[str], faces: Iterable[AnyFace], *, base_url: str = "") -> int:
    """Write the header and one row per face; returns the number of rows."""
    writer = csv.writer(stream)
    writer.writerow(FACE_CSV_COLUMNS)
    count = 0
    for row in face_csv_rows(faces, base_url=base_url):
        writer.writerow(row)
        count += 1
    return count


def write_csv(batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, result: ExportResult) -> None:
    with open(out, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(FACE_CSV_COLUMNS)
        for batch in batches:
            writer.writerows(face_csv_rows((face for _, faces in batch for face in faces), base_url=options.base_url))
