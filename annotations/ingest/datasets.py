"""A dataset imported as documents to review: a Visages LabelMe or COCO export, or any folder of LabelMe files
or COCO files beside their images.

Pages named as Visages exports them, `d<document>_p<order>`, make one document per `d<document>`; the others
make one document together. Each page is labelled with its file's stem, so that `export_labelme --names
labels` writes the dataset back under the names it came with (what keys on them, a frozen split or a sources
table, still holds). A document's label, date, licence, attribution and manifest come from what the files say
of it: a LabelMe export's `documentLabel`, `documentDateText`, `license`, `attribution` and `manifest`, a COCO
export's images' `document_label`, `date_text`, `license` (an id of its `licenses`), `attribution` and
`manifest`. A LabelMe file whose image is not beside it may hold it (`imageData`, base64, as the labelme tool
saves it): the page's image is then that one.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image

from annotations.exports.fields import FACE_LABEL, NEGATIVE_LABEL
from annotations.ingest.annotation_files import annotations_import
from annotations.ingest.file_names import is_system_file, name_parts
from annotations.ingest.manifests import (
    FOLDER_METADATA_FILE,
    IMAGE_SUFFIXES,
    document_import_run,
    document_request_import,
    natural_key,
)
from annotations.ingest.reports import MAX_MESSAGES, FileReport, face_totals, files_summary
from annotations.ingest.values import FACE_LABELS, NEGATIVE_LABELS
from annotations.models import CURATOR_SOURCE, SOURCE_MANIFEST, Corpus
from webapp.jobs import JobStatus
from webapp.parsers import json_loads_untrusted

# The metadata entries that say where an imported dataset document comes from.
DATASET_DOCUMENT = "Dataset document"
_GROUPED_STEM = re.compile(r"d(\d{1,12})_p\d{1,6}")
# Where each export states a document's facts.
_LABELME_FACTS = {
    "label": "documentLabel",
    "date": "documentDateText",
    "license": "license",
    "attribution": "attribution",
    "manifest": "manifest",
}
_COCO_FACTS = {"label": "document_label", "date": "date_text", "attribution": "attribution", "manifest": "manifest"}
# The images a LabelMe file may hold (imageData), by Pillow's name for their format: the staged page's suffix.
_EMBEDDED_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp"}


@dataclass(frozen=True)
class DatasetPage:
    """One page of the dataset, checked, with its image: a LabelMe file, or an image of a COCO file."""

    # The page's name: its image's stem in the staged folder, and so the page's label.
    name: str
    # The image file; None for a LabelMe file holding its image (imageData).
    image: Path | None
    # The LabelMe record, or the COCO image entry.
    record: dict
    # The LabelMe file's bytes; for a COCO image, empty.
    content: bytes = b""
    # For a COCO image: the file it comes from, and that file's data.
    coco_file: Path | None = None
    coco: dict | None = field(default=None, compare=False)
    # The image's suffix in the staged folder.
    suffix: str = ""

    def stage(self, folder: Path) -> None:
        """Put the page's image in the scan folder a document is imported from, under the page's name."""
        target = folder / f"{self.name}{self.suffix or self.image.suffix.lower()}"
        if self.image is None:
            target.write_bytes(base64.b64decode(self.record["imageData"]))
        else:
            shutil.copyfile(self.image, target)

    @property
    def group(self) -> str:
        grouped = _GROUPED_STEM.fullmatch(self.name)
        return f"d{grouped.group(1)}" if grouped else ""

    def stated(self, fact: str) -> str:
        """What the page's file says of its document: label, date, license, attribution or manifest."""
        if self.coco is None:
            value = self.record.get(_LABELME_FACTS[fact])
        elif fact == "license":
            listed = self.coco.get("licenses") if isinstance(self.coco.get("licenses"), list) else []
            value = next(
                (
                    item.get("name")
                    for item in listed
                    if isinstance(item, dict) and _is_id(item.get("id")) and item["id"] == self.record.get("license")
                ),
                None,
            )
        else:
            value = self.record.get(_COCO_FACTS[fact])
        return value if isinstance(value, str) else ""


@dataclass
class DatasetDocumentReport:
    """One document of the dataset: the document it became (None when its import failed) and its faces."""

    key: str
    label: str
    document: int | None
    pages: int
    error: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0


@dataclass
class DatasetImportReport:
    folder: str
    source: str
    documents: list[DatasetDocumentReport] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(file.ok for file in self.files) and all(not document.error for document in self.documents)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "folder": self.folder,
            "source": self.source,
            "documents": [asdict(document) for document in self.documents],
            **files_summary(self.files),
        }


def dataset_files(folder: Path) -> list[Path]:
    """The JSON files of a dataset folder (its top level: LabelMe or COCO files, not the resource forks and
    hidden files the system adds), in natural name order."""
    return sorted(
        (
            path
            for path in folder.glob("*.json")
            if path.name != FOLDER_METADATA_FILE and not is_system_file(path.name) and path.is_file()
        ),
        key=lambda path: natural_key(path.name),
    )


def dataset_import(
    *,
    folder: Path,
    corpus: Corpus,
    user,
    source: str = CURATOR_SOURCE,
    origin: str = "",
    title: str = "",
    boxes_only: bool = False,
) -> DatasetImportReport:
    """Import a dataset folder into a corpus: its documents, their pages, and the faces of each file.

    A file that cannot be read, or whose image is missing or outside the folder, is reported and adds nothing;
    a file the annotation import refuses leaves its page without faces, and says why. A machine `source` makes
    the faces proposals for a curator to review, and its rejected boxes (`not_face`) rejected faces of that
    source, for the curator to restore where it was wrong: the set goes out again with its negatives.
    Importing the same folder into the same corpus again updates its documents in place and adds no face twice.
    `origin` names where the dataset came from (the folder's path by default; each document's source is
    `<origin>#<d{document}>`), `title` the document of the files not named `d{document}_p{order}` (the
    folder's name by default). `boxes_only` leaves out every attribute the files give (gender, child, age and
    their confidences): a blind check, where the curator labels each face afresh.
    """
    folder = folder.resolve()
    origin = origin or str(folder)
    report = DatasetImportReport(folder=origin, source=source)
    groups: dict[str, list[DatasetPage]] = {}
    named: dict[str, str] = {}
    for path in dataset_files(folder):
        pages, errors = _dataset_pages(path, folder)
        for page in pages:
            if page.name.lower() in named:
                errors.append(
                    _("the page %(name)s is in %(file)s already")
                    % {"name": page.name, "file": named[page.name.lower()]}
                )
                continue
            named[page.name.lower()] = path.name
            groups.setdefault(page.group, []).append(page)
        if errors:
            report.files.append(FileReport(name=path.name, errors=errors[:MAX_MESSAGES]))
    for key, pages in groups.items():
        report.documents.append(
            _dataset_document_import(
                key,
                pages,
                description=_document_description(title or folder.name, key, pages),
                source=f"{origin}#{key or 'pages'}",
                corpus=corpus,
                user=user,
                face_source=source,
                files=report.files,
                boxes_only=boxes_only,
            )
        )
    return report


def dataset_import_upload(
    *, name: str, archive: Path, corpus: Corpus, user, source: str = CURATOR_SOURCE, boxes_only: bool = False
) -> DatasetImportReport:
    """A dataset uploaded as a zip (stored at `archive`; its files at its root or in its one top folder), imported
    as a folder is.

    Its documents' sources are `upload:<name>#<d{document}>`: uploading the zip again under its name updates
    them in place. A file that is not a zip, or an entry pointing outside it, is refused and nothing imported.
    """
    origin = f"upload:{name}"
    with tempfile.TemporaryDirectory() as extracted:
        try:
            folder = _dataset_zip_extract(archive, Path(extracted))
        except DatasetRefused as exc:
            report = DatasetImportReport(folder=origin, source=source)
            report.files.append(FileReport(name=name, errors=[str(exc)]))
            return report
        return dataset_import(
            folder=folder,
            corpus=corpus,
            user=user,
            source=source,
            origin=origin,
            title=PurePosixPath(name).stem,
            boxes_only=boxes_only,
        )


class DatasetRefused(Exception):
    """An uploaded dataset that cannot be read at all; the message says why."""


def _dataset_zip_extract(stored: Path, target: Path) -> Path:
    """Extract a dataset zip's LabelMe files and images under `target`, read from the disk entry by entry; the
    folder holding them."""
    try:
        archive = zipfile.ZipFile(stored)
    except zipfile.BadZipFile as exc:
        raise DatasetRefused(_("not a valid zip file (%(error)s)") % {"error": exc}) from exc
    with archive:
        members = [member for member in archive.infolist() if not member.is_dir()]
        for member in members:
            if member.filename.startswith(("/", "\\")) or ".." in name_parts(member.filename):
                raise DatasetRefused(
                    _("Refused zip entry %(name)r: it points outside the archive") % {"name": member.filename}
                )
        wanted = [
            member
            for member in members
            if PurePosixPath(member.filename).suffix.lower() in {".json", *IMAGE_SUFFIXES}
            and not is_system_file(member.filename)
        ]
        if sum(member.file_size for member in wanted) > settings.UPLOAD_MAX_BYTES:
            raise DatasetRefused(_("the zip expands beyond the upload size limit"))
        for member in wanted:
            path = target.joinpath(*name_parts(member.filename))
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, open(path, "wb") as out:
                    shutil.copyfileobj(source, out)
            except OSError as exc:
                # A name too long for the disk, a file where a folder of that name is needed: nothing imported.
                raise DatasetRefused(
                    _("zip entry %(name)r cannot be written here (%(error)s)")
                    % {"name": member.filename[:80], "error": exc.strerror or exc}
                ) from exc
    entries = list(target.iterdir())
    # A zip of one folder (what zipping a folder makes): the dataset is that folder.
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return target


def _dataset_pages(path: Path, folder: Path) -> tuple[list[DatasetPage], list[str]]:
    """The pages a JSON file of the dataset gives (a LabelMe file one, a COCO file one per image), and what is
    wrong with it or with some of its images (those give no page)."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        return [], [_("cannot be read (%(error)s)") % {"error": exc.strerror or exc}]
    try:
        record = json_loads_untrusted(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return [], [_("not UTF-8 text")]
    except ValueError as exc:
        return [], [_("not valid JSON: %(error)s") % {"error": exc}]
    if isinstance(record, dict) and isinstance(record.get("images"), list) and "imagePath" not in record:
        return _coco_pages(path, record, folder)
    image_path = record.get("imagePath") if isinstance(record, dict) else None
    if not isinstance(image_path, str) or not image_path:
        return [], [_("not a LabelMe file (it names no imagePath) nor a COCO file (it has no images list)")]
    image, error = _image_in(folder, image_path)
    if image is not None:
        return [DatasetPage(name=path.stem, image=image, record=record, content=content)], []
    if not isinstance(record.get("imageData"), str) or not record["imageData"]:
        return [], [error]
    suffix, embedded_error = _embedded_image_suffix(record["imageData"])
    if embedded_error:
        return [], [_("%(error)s, and %(embedded_error)s") % {"error": error, "embedded_error": embedded_error}]
    return [DatasetPage(name=path.stem, image=None, record=record, content=content, suffix=suffix)], []


def _embedded_image_suffix(image_data: str) -> tuple[str, str]:
    """The staged suffix of the image a LabelMe file holds (base64), or what is wrong with it."""
    try:
        data = base64.b64decode(image_data, validate=True)
    except (binascii.Error, ValueError):
        return "", _("its imageData is not base64")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format or ""
    except Image.DecompressionBombError:
        return "", _("its imageData is an image too large to import")
    except (OSError, ValueError):
        return "", _("its imageData is not an image")
    if image_format not in _EMBEDDED_SUFFIXES:
        return "", _("its imageData is not a JPEG, PNG, TIFF or WebP image")
    return _EMBEDDED_SUFFIXES[image_format], ""


def _coco_pages(path: Path, data: dict, folder: Path) -> tuple[list[DatasetPage], list[str]]:
    pages, errors = [], []
    for index, entry in enumerate(data["images"], start=1):
        where = _("image %(number)s") % {"number": index}
        file_name = entry.get("file_name") if isinstance(entry, dict) else None
        if not isinstance(file_name, str) or not file_name:
            errors.append(_("%(where)s: it names no file_name") % {"where": where})
            continue
        image, error = _image_in(folder, file_name)
        if image is None:
            errors.append(f"{where}: {error}")
            continue
        pages.append(
            DatasetPage(name=PurePosixPath(file_name).stem, image=image, record=entry, coco_file=path, coco=data)
        )
    return pages, errors


def _image_in(folder: Path, image_path: str) -> tuple[Path | None, str]:
    """The image a file names, when it is an image file inside the folder; else why not."""
    shown_path = image_path if len(image_path) <= 80 else f"{image_path[:79]}…"
    try:
        image = (folder / image_path).resolve()
        if not image.is_relative_to(folder):
            return None, _("its image %(path)s is outside the folder") % {"path": shown_path}
        if image.suffix.lower() not in IMAGE_SUFFIXES:
            return None, _("its image %(path)s is not a .jpg, .png, .tif or .webp file") % {"path": shown_path}
        if not image.is_file():
            return None, _("its image %(path)s is not in the folder") % {"path": shown_path}
    except (OSError, ValueError):
        # A NUL in the name, a name too long for the disk: no such file can be in the folder.
        return None, _("its image %(path)s is not in the folder") % {"path": repr(shown_path)}
    return image, ""


def _dataset_document_import(
    key: str,
    pages: list[DatasetPage],
    *,
    description: dict,
    source: str,
    corpus: Corpus,
    user,
    face_source: str,
    files: list[FileReport],
    boxes_only: bool,
) -> DatasetDocumentReport:
    with tempfile.TemporaryDirectory() as staging:
        staged = Path(staging)
        for page in pages:
            page.stage(staged)
        (staged / FOLDER_METADATA_FILE).write_text(json.dumps(description), encoding="utf-8")
        requested = document_request_import(corpus=corpus, source=source, user=user)
        document = document_import_run(document_id=requested.pk, staged_folder=staged)
    report = DatasetDocumentReport(key=key, label=description["label"], document=requested.pk, pages=len(pages))
    if document is None or document.import_status != JobStatus.DONE:
        report.error = document.import_error if document else _("another import of this document is running")
        return report
    report.pages = document.pages.count()
    imported = annotations_import(
        document=document,
        user=user,
        name=f"{key or 'pages'}.zip",
        content=_annotation_bundle(pages, boxes_only=boxes_only),
        source=face_source,
        keep_rejected=True,
    )
    files.extend(imported.files)
    for count, total in face_totals(imported.files).items():
        setattr(report, count, total)
    return report


def _annotation_bundle(pages: list[DatasetPage], *, boxes_only: bool) -> bytes:
    """A document's annotation files as one zip, so that its pages are matched once and its faces stored
    together: each LabelMe file, and of each COCO file the images of these pages and their annotations."""
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        for page in pages:
            if page.coco is None:
                archive.writestr(f"{page.name}.json", _labelme_annotations(page, boxes_only=boxes_only))
        for coco_file in dict.fromkeys(page.coco_file for page in pages if page.coco is not None):
            images = [page.record for page in pages if page.coco_file == coco_file]
            data = next(page.coco for page in pages if page.coco_file == coco_file)
            ids = {image.get("id") for image in images if _is_id(image.get("id"))}
            listed = data.get("annotations") if isinstance(data.get("annotations"), list) else []
            annotations = [
                item
                for item in listed
                if isinstance(item, dict) and _is_id(item.get("image_id")) and item["image_id"] in ids
            ]
            part = {**data, "images": images, "annotations": annotations}
            archive.writestr(coco_file.name, json.dumps(_coco_boxes_only(part) if boxes_only else part))
    return bundle.getvalue()


def _labelme_annotations(page: DatasetPage, *, boxes_only: bool) -> bytes | str:
    """A page's LabelMe file as the annotation import reads it: without the image it may hold (the page has it)."""
    if not boxes_only and not page.record.get("imageData"):
        return page.content
    record = {**page.record, "imageData": None}
    return json.dumps(_boxes_only(record) if boxes_only else record)


def _is_id(value: object) -> bool:
    """A COCO id we may look up (the annotation import reports any other)."""
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _coco_boxes_only(data: dict) -> dict:
    """A COCO file whose annotations say only where the faces (and rejected boxes) are."""
    categories = [
        {**category, "name": _plain_label(category["name"])}
        if isinstance(category, dict) and "name" in category
        else category
        for category in (data.get("categories") if isinstance(data.get("categories"), list) else [])
    ]
    kept = ("id", "image_id", "category_id", "bbox", "iscrowd")
    annotations = [
        {key: value for key, value in item.items() if key in kept} if isinstance(item, dict) else item
        for item in (data.get("annotations") if isinstance(data.get("annotations"), list) else [])
    ]
    return {**data, "categories": categories, "annotations": annotations}


def _boxes_only(record: dict) -> dict:
    """A LabelMe record whose shapes say only where the faces (and rejected boxes) are."""
    shapes = record.get("shapes")
    if not isinstance(shapes, list):
        return record
    kept = ("label", "points", "shape_type", "group_id")
    plain = [
        {key: _plain_label(value) if key == "label" else value for key, value in shape.items() if key in kept}
        if isinstance(shape, dict)
        else shape
        for shape in shapes
    ]
    return {**record, "shapes": plain}


def _plain_label(label: object) -> object:
    """A face label without what it says of gender or age (`face`), a negative one as `not_face`; a label we do
    not know stays, for the import to refuse as it would have."""
    key = label.strip().lower() if isinstance(label, str) else None
    if key in NEGATIVE_LABELS:
        return NEGATIVE_LABEL
    return FACE_LABEL if key in FACE_LABELS else label


def _document_description(title: str, key: str, pages: list[DatasetPage]) -> dict:
    """The scan folder's metadata.json for a dataset document: what its files say of it, and its dataset key."""

    def stated(fact: str) -> str:
        return next((value for page in pages if (value := page.stated(fact))), "")

    metadata = [{"label": DATASET_DOCUMENT, "value": key}] if key else []
    if manifest := stated("manifest"):
        metadata.append({"label": SOURCE_MANIFEST, "value": manifest})
    return {
        "label": stated("label") or (f"{title} {key}" if key else title),
        "date": stated("date"),
        "license": stated("license"),
        "attribution": stated("attribution"),
        "metadata": metadata,
    }
