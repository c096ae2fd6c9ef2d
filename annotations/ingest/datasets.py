"""A LabelMe dataset imported as documents to review: a Visages LabelMe export, or any folder of LabelMe files
beside their images.

Files named as Visages exports them, `d<document>_p<order>.json`, make one document per `d<document>`; the
others make one document together. Each page is labelled with its file's stem, so that `export_labelme --names
labels` writes the dataset back under the names it came with (what keys on them, a frozen split or a sources
table, still holds). A document's label, date, licence, attribution and manifest come from the export's
`documentLabel`, `documentDateText`, `license`, `attribution` and `manifest` keys where its files have them.
"""

from __future__ import annotations

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

from annotations.exports.fields import FACE_LABEL, NEGATIVE_LABEL
from annotations.ingest.annotation_files import annotations_import
from annotations.ingest.manifests import (
    FOLDER_METADATA_FILE,
    IMAGE_SUFFIXES,
    document_import_run,
    document_request_import,
)
from annotations.ingest.reports import FileReport
from annotations.ingest.values import FACE_LABELS, NEGATIVE_LABELS
from annotations.models import CURATOR_SOURCE, SOURCE_MANIFEST, Corpus
from webapp.jobs import JobStatus
from webapp.parsers import json_loads_untrusted

# The metadata entries that say where an imported dataset document comes from.
DATASET_DOCUMENT = "Dataset document"
_GROUPED_STEM = re.compile(r"d(\d{1,12})_p\d{1,6}")
_COUNTS = ("created", "updated", "unchanged", "skipped")


@dataclass(frozen=True)
class DatasetPage:
    """One LabelMe file of the dataset, checked, with its image."""

    path: Path
    content: bytes
    record: dict
    image: Path

    @property
    def group(self) -> str:
        grouped = _GROUPED_STEM.fullmatch(self.path.stem)
        return f"d{grouped.group(1)}" if grouped else ""


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
            "files_imported": sum(1 for file in self.files if file.ok),
            "files_rejected": sum(1 for file in self.files if not file.ok),
            "files": [{**asdict(file), "ok": file.ok} for file in self.files],
        }


def dataset_files(folder: Path) -> list[Path]:
    """The LabelMe files of a dataset folder (its top level), in natural name order."""
    return sorted(
        (path for path in folder.glob("*.json") if path.name != FOLDER_METADATA_FILE and path.is_file()),
        key=lambda path: [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)],
    )


def labelme_dataset_import(
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
    for path in dataset_files(folder):
        page, error = _dataset_page(path, folder)
        if page is None:
            report.files.append(FileReport(name=path.name, format="labelme", errors=[error]))
            continue
        groups.setdefault(page.group, []).append(page)
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


def labelme_dataset_import_upload(
    *, name: str, content: bytes, corpus: Corpus, user, source: str = CURATOR_SOURCE, boxes_only: bool = False
) -> DatasetImportReport:
    """A dataset uploaded as a zip (its files at its root or in its one top folder), imported as a folder is.

    Its documents' sources are `upload:<name>#<d{document}>`: uploading the zip again under its name updates
    them in place. A file that is not a zip, or an entry pointing outside it, is refused and nothing imported.
    """
    origin = f"upload:{name}"
    with tempfile.TemporaryDirectory() as extracted:
        try:
            folder = _dataset_zip_extract(content, Path(extracted))
        except DatasetRefused as exc:
            report = DatasetImportReport(folder=origin, source=source)
            report.files.append(FileReport(name=name, errors=[str(exc)]))
            return report
        return labelme_dataset_import(
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


def _zip_entry_parts(name: str) -> tuple[str, ...]:
    return PurePosixPath(name.replace("\\", "/")).parts


def _dataset_zip_extract(content: bytes, target: Path) -> Path:
    """Extract a dataset zip's LabelMe files and images under `target`; the folder holding them."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise DatasetRefused(_("not a valid zip file (%(error)s)") % {"error": exc}) from exc
    with archive:
        members = [member for member in archive.infolist() if not member.is_dir()]
        for member in members:
            if member.filename.startswith(("/", "\\")) or ".." in _zip_entry_parts(member.filename):
                raise DatasetRefused(
                    _("Refused zip entry %(name)r: it points outside the archive") % {"name": member.filename}
                )
        wanted = [
            member
            for member in members
            if PurePosixPath(member.filename).suffix.lower() in {".json", *IMAGE_SUFFIXES}
            and not any(part.startswith(".") or part == "__MACOSX" for part in _zip_entry_parts(member.filename))
        ]
        if sum(member.file_size for member in wanted) > settings.UPLOAD_MAX_BYTES:
            raise DatasetRefused(_("the zip expands beyond the upload size limit"))
        for member in wanted:
            path = target.joinpath(*_zip_entry_parts(member.filename))
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


def _dataset_page(path: Path, folder: Path) -> tuple[DatasetPage | None, str]:
    try:
        content = path.read_bytes()
    except OSError as exc:
        return None, _("cannot be read (%(error)s)") % {"error": exc.strerror or exc}
    try:
        record = json_loads_untrusted(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return None, _("not UTF-8 text")
    except ValueError as exc:
        return None, _("not valid JSON: %(error)s") % {"error": exc}
    image_path = record.get("imagePath") if isinstance(record, dict) else None
    if not isinstance(image_path, str) or not image_path:
        return None, _("not a LabelMe file: it names no imagePath")
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
    return DatasetPage(path=path, content=content, record=record, image=image), ""


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
            shutil.copyfile(page.image, staged / f"{page.path.stem}{page.image.suffix.lower()}")
        (staged / FOLDER_METADATA_FILE).write_text(json.dumps(description), encoding="utf-8")
        requested = document_request_import(corpus=corpus, source=source, user=user)
        document = document_import_run(document_id=requested.pk, staged_folder=staged)
    report = DatasetDocumentReport(key=key, label=description["label"], document=requested.pk, pages=len(pages))
    if document is None or document.import_status != JobStatus.DONE:
        report.error = document.import_error if document else _("another import of this document is running")
        return report
    report.pages = document.pages.count()
    # The document's files go in as one zip: their pages are matched once, their faces stored together.
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        for page in pages:
            archive.writestr(page.path.name, json.dumps(_boxes_only(page.record)) if boxes_only else page.content)
    imported = annotations_import(
        document=document,
        user=user,
        name=f"{key or 'pages'}.zip",
        content=bundle.getvalue(),
        fmt="labelme",
        source=face_source,
        keep_rejected=True,
    )
    files.extend(imported.files)
    for file in imported.files:
        for count in _COUNTS:
            setattr(report, count, getattr(report, count) + getattr(file, count))
    return report


def _boxes_only(record: dict) -> dict:
    """A LabelMe record whose shapes say only where the faces (and rejected boxes) are."""
    shapes = record.get("shapes")
    if not isinstance(shapes, list):
        return record
    kept = []
    for shape in shapes:
        if isinstance(shape, dict):
            label = shape.get("label").strip().lower() if isinstance(shape.get("label"), str) else None
            shape = {key: value for key, value in shape.items() if key in ("label", "points", "shape_type", "group_id")}
            # A label we do not know stays, for the import to refuse as it would have.
            if label in NEGATIVE_LABELS:
                shape["label"] = NEGATIVE_LABEL
            elif label in FACE_LABELS:
                shape["label"] = FACE_LABEL
        kept.append(shape)
    return {**record, "shapes": kept}


def _document_description(title: str, key: str, pages: list[DatasetPage]) -> dict:
    """The scan folder's metadata.json for a dataset document: what its files say of it, and its dataset key."""

    def stated(name: str) -> str:
        return next((value for page in pages if isinstance(value := page.record.get(name), str) and value), "")

    metadata = [{"label": DATASET_DOCUMENT, "value": key}] if key else []
    if stated("manifest"):
        metadata.append({"label": SOURCE_MANIFEST, "value": stated("manifest")})
    return {
        "label": stated("documentLabel") or (f"{title} {key}" if key else title),
        "date": stated("documentDateText"),
        "license": stated("license"),
        "attribution": stated("attribution"),
        "metadata": metadata,
    }
