"""Export writers: LabelMe, COCO, CSV, W3C / IIIF annotations and a GallicaPix-style index (SPECS.md §3.1–3.5).

Faces are read page batch by page batch (`EXPORT_PAGE_BATCH` pages, one face query per batch)
and written straight to a file, a zip or a folder, so an export never holds a whole corpus
in memory. The builders of single records (`labelme_page`, `face_annotation`,
`gallicapix_record`, `face_csv_rows`) are plain functions of pages and faces.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import IO

from django.db.models import Q, QuerySet

from annotations.access import pages_visible_to
from annotations.iiif.image_api import derivative_scale, image_request_url, size_within
from annotations.models import CURATOR_SOURCE, ExportKind, Face, FaceStatus, Gender, Page, ReviewStatus
from annotations.search import SearchParams, faces_select, pages_filter
from annotations.spreadsheet import spreadsheet_row

# Pages per database round trip; each batch costs one page query chunk and one face query.
EXPORT_PAGE_BATCH = 500
FACE_LABEL = "face"
NEGATIVE_LABEL = "not_face"
# LabelMe format version we write (the reader accepts any 5.x/6.x file with these keys).
LABELME_VERSION = "5.5.0"
JPEG_QUALITY = 90
VERIFIED_STATUSES = frozenset({FaceStatus.ACCEPTED, FaceStatus.EDITED, FaceStatus.ADDED})

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
W3C_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
IIIF_CONTEXT = "http://iiif.io/api/presentation/3/context.json"
ARK_ID = re.compile(r"ark:/12148/([A-Za-z0-9]+)")

PageBatch = list[tuple[Page, list[Face]]]


# ---------------------------------------------------------------------------------------------
# Which pages and faces an export covers: the search's own filters (annotations.search).


def export_querysets(
    params: SearchParams, *, user=None, include_rejected: bool = False
) -> tuple[QuerySet[Page], QuerySet[Face]]:
    """Pages and faces a search selects, in document order; with `user`, only corpora that user may view.

    Rejected faces come along (as negatives) only when asked for.
    """
    pages = Page.objects.all() if user is None else pages_visible_to(user)
    pages = pages_filter(pages, replace(params, ordering="document")).select_related("document")
    faces = faces_select(Face.objects.all(), params)
    if include_rejected:
        faces = Face.objects.filter(Q(pk__in=faces.values("pk")) | Q(status=FaceStatus.REJECTED))
    return pages, faces


def page_batches(
    pages: QuerySet[Page], faces: QuerySet[Face], *, batch_size: int = EXPORT_PAGE_BATCH
) -> Iterator[PageBatch]:
    """Pages in order with their faces, `batch_size` pages (and one face query) at a time."""
    batch: list[Page] = []
    for page in pages.iterator(chunk_size=batch_size):
        batch.append(page)
        if len(batch) >= batch_size:
            yield _with_faces(batch, faces)
            batch = []
    if batch:
        yield _with_faces(batch, faces)


def _with_faces(pages: list[Page], faces: QuerySet[Face]) -> PageBatch:
    by_page: dict[int, list[Face]] = {page.pk: [] for page in pages}
    page_by_id = {page.pk: page for page in pages}
    for face in faces.filter(page_id__in=list(by_page)).order_by("page_id", "y", "x", "id").iterator(chunk_size=2000):
        face.page = page_by_id[face.page_id]
        by_page[face.page_id].append(face)
    return [(page, by_page[page.pk]) for page in pages]


# ---------------------------------------------------------------------------------------------
# Shared helpers.


def absolute_url(url: str, base_url: str) -> str:
    """Our relative URLs (local scans, canvases) made absolute; remote URLs stay as they are."""
    return f"{base_url.rstrip('/')}{url}" if url.startswith("/") and base_url else url


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def page_stem(page: Page) -> str:
    """File stem of a page in exports: `d{document}_p{order}` (the importer reads the order back)."""
    return f"d{page.document_id}_p{page.order:04d}"


def face_attributes(face: Face) -> dict:
    """The attributes of a face that every format carries besides its box."""
    return {
        "id": face.pk,
        "gender": face.gender,
        "gender_confidence": _round(face.gender_confidence),
        "age": _round(face.age, 1),
        "age_confidence": _round(face.age_confidence),
        "child": face.child,
        "confidence": _round(face.confidence),
        "status": face.status,
        "source": face.source,
        "verified": face.status in VERIFIED_STATUSES,
    }


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
    """The page image as a JPEG within max_size (full size when None), read locally or fetched through IIIF."""
    from annotations.imaging import page_derivative

    bound = max_size or max(page.width, page.height, page.image_width or 0, page.image_height or 0)
    derivative = page_derivative(page, max_size=bound)
    buffer = io.BytesIO()
    derivative.image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    width, height = derivative.image.size
    return buffer.getvalue(), ImageSize(width, height, derivative.scale_x, derivative.scale_y)


def _image_box(face: Face, size: ImageSize) -> tuple[float, float, float, float]:
    """The face box in exported-image pixels (x1, y1, x2, y2), clipped to the image, 2 decimals."""
    x1 = min(max(face.x / size.scale_x, 0.0), size.width)
    y1 = min(max(face.y / size.scale_y, 0.0), size.height)
    x2 = min(max((face.x + face.w) / size.scale_x, 0.0), size.width)
    y2 = min(max((face.y + face.h) / size.scale_y, 0.0), size.height)
    return round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2)


# ---------------------------------------------------------------------------------------------
# CSV: one row per face.


def face_csv_rows(faces: Iterable[Face], *, base_url: str = "") -> Iterator[list]:
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
            _round(face.confidence),
            "" if face.age is None else _round(face.age, 1),
            face.gender,
            "true" if face.child else "false",
            face.source,
            face.status,
            absolute_url(page.face_crop_url(face), base_url),
        ]
        yield spreadsheet_row(row)


def face_csv_write(stream: IO[str], faces: Iterable[Face], *, base_url: str = "") -> int:
    """Write the header and one row per face; returns the number of rows."""
    writer = csv.writer(stream)
    writer.writerow(FACE_CSV_COLUMNS)
    count = 0
    for row in face_csv_rows(faces, base_url=base_url):
        writer.writerow(row)
        count += 1
    return count


# ---------------------------------------------------------------------------------------------
# LabelMe (SPECS.md §3.1).


def labelme_shape(face: Face, size: ImageSize) -> dict:
    """One rectangle: two sorted points in image pixels, bool-only flags, numbers in extra keys and description."""
    x1, y1, x2, y2 = _image_box(face, size)
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
        "description": json.dumps(description, sort_keys=True),
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
    page: Page, faces: list[Face], *, image_path: str, size: ImageSize, image_url: str = "", base_url: str = ""
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
    }


# ---------------------------------------------------------------------------------------------
# W3C Web Annotation and IIIF Presentation 3 annotation pages.


def face_annotation(face: Face, *, base_url: str = "", iiif: bool = False) -> dict:
    """One face as a Web Annotation: tags face / gender / child, a JSON description, a canvas xywh target.

    The W3C form targets a SpecificResource with a FragmentSelector; the IIIF form targets
    `canvas#xywh=`, which IIIF viewers such as Mirador draw directly.
    """
    page = face.page
    canvas = absolute_url(page.canvas_id, base_url)
    xywh = f"{face.x},{face.y},{face.w},{face.h}"
    bodies = [{"type": "TextualBody", "purpose": "tagging", "value": FACE_LABEL, "format": "text/plain"}]
    if face.gender != Gender.UNKNOWN:
        bodies.append({"type": "TextualBody", "purpose": "tagging", "value": face.gender, "format": "text/plain"})
    if face.child:
        bodies.append({"type": "TextualBody", "purpose": "tagging", "value": "child", "format": "text/plain"})
    bodies.append(
        {
            "type": "TextualBody",
            "purpose": "describing",
            "format": "application/json",
            "value": json.dumps(face_attributes(face), sort_keys=True),
        }
    )
    if iiif:
        target: object = f"{canvas}#xywh={xywh}"
    else:
        target = {
            "type": "SpecificResource",
            "source": canvas,
            "selector": {
                "type": "FragmentSelector",
                "conformsTo": "http://www.w3.org/TR/media-frags/",
                "value": f"xywh=pixel:{xywh}",
            },
        }
    return {
        "id": f"{base_url.rstrip('/')}/api/faces/{face.pk}/" if base_url else f"urn:visages:face:{face.pk}",
        "type": "Annotation",
        "motivation": "tagging",
        "created": face.created_at.isoformat() if face.created_at else None,
        "modified": face.updated_at.isoformat() if face.updated_at else None,
        "body": bodies,
        "target": target,
    }


def iiif_annotation_page(page: Page, faces: list[Face], *, page_url: str, base_url: str = "") -> dict:
    """A IIIF Presentation 3 AnnotationPage of one canvas's faces."""
    return {
        "@context": IIIF_CONTEXT,
        "id": page_url,
        "type": "AnnotationPage",
        "items": [face_annotation(face, base_url=base_url, iiif=True) for face in faces],
    }


def iiif_manifest_copy(document, *, annotation_pages: dict[int, str], manifest_url: str, base_url: str) -> dict:
    """Our Presentation 3 manifest of a document, each exported canvas referencing its AnnotationPage."""
    from annotations.iiif_manifest import document_manifest

    manifest = document_manifest(document, base_url=base_url.rstrip("/"))
    manifest["id"] = manifest_url
    canvas_pages = {
        absolute_url(canvas_id, base_url): url
        for canvas_id, url in (
            (page.canvas_id, annotation_pages[page.pk])
            for page in document.pages.filter(pk__in=list(annotation_pages)).only("id", "canvas_id")
        )
    }
    for canvas in manifest["items"]:
        if canvas["id"] in canvas_pages:
            canvas["annotations"] = [{"id": canvas_pages[canvas["id"]], "type": "AnnotationPage"}]
    return manifest


# ---------------------------------------------------------------------------------------------
# GallicaPix-style index (SPECS.md §3.5; field mapping in docs/formats.md).

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


def gallicapix_sexe(face: Face) -> str:
    """GallicaPix's `sexe`: C for children, F / M by gender, P (person) when unknown."""
    return "C" if face.child else GALLICAPIX_SEXE.get(face.gender, "P")


def gallicapix_face(face: Face, *, n: str) -> dict:
    """One `contenuImg` face: persType, sexe, CS, box relative to the illustration (the whole page), source."""
    sexe = gallicapix_sexe(face)
    return {
        "n": n,
        "persType": GALLICAPIX_PERS_TYPE[sexe],
        "sexe": sexe,
        "CS": 1.0 if face.source == CURATOR_SOURCE else _round(face.confidence),
        "x": face.x,
        "y": face.y,
        "w": face.w,
        "h": face.h,
        "source": "hm" if face.source == CURATOR_SOURCE else "dnn",
        "edit": face.status == FaceStatus.EDITED,
        "verified": face.status in VERIFIED_STATUSES,
        "age": _round(face.age, 1),
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


def gallicapix_record(page: Page, faces: list[Face]) -> dict:
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


# ---------------------------------------------------------------------------------------------
# Where files go: a zip, a folder or a single file.


class ZipSink:
    """Members written one by one into a zip on disk (JPEGs stored, text deflated)."""

    def __init__(self, path: Path):
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)

    def write_bytes(self, name: str, data: bytes, *, compress: bool = True) -> None:
        self.zip.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)

    @contextlib.contextmanager
    def open_text(self, name: str) -> Iterator[IO[str]]:
        with (
            self.zip.open(name, "w", force_zip64=True) as raw,
            io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
        ):
            yield text

    def close(self) -> None:
        self.zip.close()


class FolderSink:
    """Members written as files under a folder."""

    def __init__(self, path: Path):
        self.root = path
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_bytes(self, name: str, data: bytes, *, compress: bool = True) -> None:
        self._path(name).write_bytes(data)

    @contextlib.contextmanager
    def open_text(self, name: str) -> Iterator[IO[str]]:
        with open(self._path(name), "w", encoding="utf-8", newline="") as text:
            yield text

    def close(self) -> None:
        """Nothing to flush: files are closed as they are written."""


def _json_dump(stream: IO[str], value) -> None:
    stream.write(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


# ---------------------------------------------------------------------------------------------
# Writing a whole export.


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

    @classmethod
    def from_dict(cls, options: dict) -> ExportOptions:
        return cls(
            include_rejected=bool(options.get("include_rejected", False)),
            with_images=bool(options.get("with_images", True)),
            image_size=int(options["image_size"]) if options.get("image_size") else None,
            index_format=options.get("format") or "json",
            base_url=options.get("base_url", ""),
            files_url=options.get("files_url", ""),
        )


@dataclass
class ExportResult:
    """What an export wrote: pages, faces, and the pages skipped with the reason."""

    pages: int = 0
    faces: int = 0
    skipped: list[str] = field(default_factory=list)


def export_extension(kind: str, options: ExportOptions) -> str:
    """The file extension of an export's single output file."""
    if kind in (ExportKind.LABELME, ExportKind.IIIF) or (kind == ExportKind.COCO and options.with_images):
        return "zip"
    return {
        ExportKind.COCO: "json",
        ExportKind.CSV: "csv",
        ExportKind.W3C: "jsonld",
        ExportKind.INDEX: "csv" if options.index_format == "csv" else "json",
    }[kind]


Progress = Callable[[int], None]


def export_write(
    kind: str, batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, progress: Progress | None = None
) -> ExportResult:
    """Write an export of these page batches to `out` (a zip, a folder for LabelMe, or a single file)."""
    writer = {
        ExportKind.LABELME: _write_labelme,
        ExportKind.COCO: _write_coco,
        ExportKind.CSV: _write_csv,
        ExportKind.W3C: _write_w3c,
        ExportKind.IIIF: _write_iiif,
        ExportKind.INDEX: _write_index,
    }[kind]
    result = ExportResult()
    writer(_counted(batches, result, progress), out=out, options=options, result=result)
    return result


def _counted(batches: Iterable[PageBatch], result: ExportResult, progress: Progress | None) -> Iterator[PageBatch]:
    """Pass batches through, counting pages and faces and reporting progress after each batch."""
    for batch in batches:
        yield batch
        result.pages += len(batch)
        result.faces += sum(len(faces) for _, faces in batch)
        if progress is not None:
            progress(result.pages)


def _sink(out: Path) -> ZipSink | FolderSink:
    return ZipSink(out) if out.suffix.lower() == ".zip" else FolderSink(out)


def _page_image(page: Page, options: ExportOptions, result: ExportResult) -> tuple[bytes | None, ImageSize | None]:
    """The exported JPEG of a page, or (None, None) with the page listed as skipped when it cannot be read."""
    from annotations.imaging import ImageUnavailable

    try:
        return page_image_jpeg(page, options.image_size)
    except ImageUnavailable as exc:
        result.skipped.append(f"page {page.pk} (document {page.document_id}, p{page.order}): {exc}")
        return None, None


def _write_labelme(batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, result: ExportResult) -> None:
    sink = _sink(out)
    try:
        for batch in batches:
            for page, faces in batch:
                stem = page_stem(page)
                if options.with_images:
                    data, size = _page_image(page, options, result)
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
                    image_url=page_image_url(page, options.image_size, options.base_url),
                    base_url=options.base_url,
                )
                sink.write_bytes(f"{stem}.json", json.dumps(record, ensure_ascii=False, indent=1).encode())
    finally:
        sink.close()


COCO_CATEGORIES = [
    {"id": 1, "name": FACE_LABEL, "supercategory": "person"},
    {"id": 2, "name": NEGATIVE_LABEL, "supercategory": "background"},
]


def coco_annotation(face: Face, *, image_id: int, size: ImageSize) -> dict:
    """One COCO annotation: bbox [x, y, w, h] and area in image pixels, the rectangle as a polygon, attributes."""
    x1, y1, x2, y2 = _image_box(face, size)
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


def _write_coco(batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, result: ExportResult) -> None:
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
    _json_dump(stream, info)
    stream.write(',"licenses":[],"categories":')
    _json_dump(stream, categories)
    stream.write(',"images":[')
    first_image = first_annotation = True
    for batch in batches:
        for page, faces in batch:
            stem = page_stem(page)
            if sink is not None:
                data, size = _page_image(page, options, result)
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
            }
            stream.write("" if first_image else ",")
            _json_dump(stream, image)
            first_image = False
            for face in faces:
                pending.write("" if first_annotation else ",")
                _json_dump(pending, coco_annotation(face, image_id=page.pk, size=size))
                first_annotation = False
    stream.write('],"annotations":[')
    pending.seek(0)
    shutil.copyfileobj(pending, stream)
    stream.write("]}")


def _write_csv(batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, result: ExportResult) -> None:
    with open(out, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(FACE_CSV_COLUMNS)
        for batch in batches:
            writer.writerows(face_csv_rows((face for _, faces in batch for face in faces), base_url=options.base_url))


def _write_w3c(batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, result: ExportResult) -> None:
    with open(out, "w", encoding="utf-8") as stream:
        stream.write(f'{{"@context":"{W3C_CONTEXT}","type":"AnnotationCollection","label":"Visages faces",')
        stream.write('"first":{"type":"AnnotationPage","startIndex":0,"items":[')
        total = 0
        for batch in batches:
            for _, faces in batch:
                for face in faces:
                    if face.status == FaceStatus.REJECTED:
                        continue
                    stream.write("," if total else "")
                    _json_dump(stream, face_annotation(face, base_url=options.base_url))
                    total += 1
        stream.write(f']}},"total":{total}}}')


def _write_iiif(batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, result: ExportResult) -> None:
    sink = _sink(out)
    files_url = options.files_url.rstrip("/")
    current = None
    annotation_pages: dict[int, str] = {}

    def flush_manifest() -> None:
        if current is None:
            return
        name = f"documents/{current.pk}/manifest.json"
        manifest = iiif_manifest_copy(
            current, annotation_pages=annotation_pages, manifest_url=f"{files_url}/{name}", base_url=options.base_url
        )
        sink.write_bytes(name, json.dumps(manifest, ensure_ascii=False).encode())

    try:
        for batch in batches:
            for page, faces in batch:
                if current is None or page.document_id != current.pk:
                    flush_manifest()
                    current, annotation_pages = page.document, {}
                name = f"documents/{page.document_id}/annotations/p{page.order:04d}.json"
                url = f"{files_url}/{name}"
                visible = [face for face in faces if face.status != FaceStatus.REJECTED]
                record = iiif_annotation_page(page, visible, page_url=url, base_url=options.base_url)
                sink.write_bytes(name, json.dumps(record, ensure_ascii=False).encode())
                annotation_pages[page.pk] = url
        flush_manifest()
    finally:
        sink.close()


def _write_index(batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, result: ExportResult) -> None:
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
                _json_dump(stream, gallicapix_record(page, faces))
                first = False
        stream.write("\n]\n")
