"""GallicaPix-style index (SPECS.md §3.5; field mapping in docs/formats.md)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from annotations.exports.fields import VERIFIED_STATUSES, rounded
from annotations.exports.options import ExportOptions, ExportResult
from annotations.exports.scope import AnyFace, PageBatch
from annotations.exports.sinks import json_dump
from annotations.exports.spreadsheet import spreadsheet_row
from annotations.models import CURATOR_SOURCE, FaceStatus, Gender, Page

ARK_ID = re.compile(r"ark:/12148/([A-Za-z0-9]+)")


GALLICAPIX_SEXE = {Gender.FEMALE: "F", Gender.MALE: "M", Gender.UNKNOWN: "P"}
GALLICAPIX_PERS_TYPE = {"F": "faceW", "M": "faceM", "C": "faceC", "P": "face"}
GALLICAPIX_CSV_COLUMNS = (
    "ID",
    "document",
    "titre",
    "dateEdition",
    "dateFin",
    "page",
    "une",
    "canvas",
    "largeurPx",
    "hauteurPx",
    "nVisages",
    "nF",
    "nM",
    "nC",
    "nP",
    "sexes",
    "visages",
)


def gallicapix_document_id(document) -> str:
    """The Gallica ARK name (`bpt6k…`) when the document comes from Gallica, else our document id."""
    match = ARK_ID.search(document.manifest_url or "") or ARK_ID.search(document.source or "")
    return match.group(1) if match else str(document.pk)


def gallicapix_sexe(face: AnyFace) -> str:
    """GallicaPix's `sexe`: C for children, F / M by gender, P (person) when unknown."""
    return "C" if face.child else GALLICAPIX_SEXE.get(face.gender, "P")


def gallicapix_face(face: AnyFace, *, n: str) -> dict:
    """One `contenuImg` face: persType, sexe, CS, box relative to the illustration (the whole page), source."""
    sexe = gallicapix_sexe(face)
    return {
        "n": n,
        "persType": GALLICAPIX_PERS_TYPE[sexe],
        "sexe": sexe,
        "CS": 1.0 if face.source == CURATOR_SOURCE else rounded(face.confidence),
        "x": face.x,
        "y": face.y,
        "w": face.w,
        "h": face.h,
        "source": "hm" if face.source == CURATOR_SOURCE else "dnn",
        "edit": face.status == FaceStatus.EDITED,
        "verified": face.status in VERIFIED_STATUSES,
        "age": rounded(face.age, 1),
        "model": face.source,
        "id": face.pk,
    }


def _sexes_summary(sexes: list[str]) -> str:
    """GallicaPix's per-illustration summary: M, F or C when all agree, Mixte otherwise, P without gender."""
    gendered = {sexe for sexe in sexes if sexe != "P"}
    if not sexes:
        return ""
    if not gendered:
        return "P"
    return gendered.pop() if len(gendered) == 1 else "Mixte"


def gallicapix_record(page: Page, faces: Sequence[AnyFace]) -> dict:
    """One index record per page (GallicaPix's illustration): document metadata, faces and counts."""
    document = page.document
    visible = [face for face in faces if face.status != FaceStatus.REJECTED]
    records = [gallicapix_face(face, n=f"{page.order}-1-{k}") for k, face in enumerate(visible, start=1)]
    sexes = [record["sexe"] for record in records]
    return {
        "ID": gallicapix_document_id(document),
        "document": document.pk,
        "titre": document.label,
        "dateEdition": document.date_start.isoformat() if document.date_start else document.date_text,
        "dateFin": document.date_end.isoformat() if document.date_end else "",
        "page": page.order,
        "une": page.is_front_page,
        "canvas": page.canvas_id,
        "largeurPx": page.width,
        "hauteurPx": page.height,
        "ill": {"n": f"{page.order}-1", "x": 0, "y": 0, "w": page.width, "h": page.height},
        "visages": records,
        "nVisages": len(records),
        "nF": sexes.count("F"),
        "nM": sexes.count("M"),
        "nC": sexes.count("C"),
        "nP": sexes.count("P"),
        "sexes": _sexes_summary(sexes),
    }


def gallicapix_csv_row(record: dict) -> list:
    """A GallicaPix record as a CSV row (GALLICAPIX_CSV_COLUMNS); the faces as a JSON list; text spreadsheet-safe."""
    values = {**record, "une": "true" if record["une"] else "false", "visages": json.dumps(record["visages"])}
    return spreadsheet_row(values[column] for column in GALLICAPIX_CSV_COLUMNS)


def write_index(batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, result: ExportResult) -> None:
    with open(out, "w", encoding="utf-8", newline="") as stream:
        if options.index_format == "csv":
            writer = csv.writer(stream)
            writer.writerow(GALLICAPIX_CSV_COLUMNS)
            for batch in batches:
                writer.writerows(gallicapix_csv_row(gallicapix_record(page, faces)) for page, faces in batch)
            return
        stream.write("[")
        first = True
        for batch in batches:
            for page, faces in batch:
                stream.write("\n" if first else ",\n")
                json_dump(stream, gallicapix_record(page, faces))
                first = False
        stream.write("\n]\n")
