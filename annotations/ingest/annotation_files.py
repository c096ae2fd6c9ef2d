"""Annotation files in (LabelMe, COCO, W3C, IIIF; JSON or zip), an import report out."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, UnidentifiedImageError

from annotations.ingest.coco import parse_coco
from annotations.ingest.file_names import is_system_file
from annotations.ingest.labelme import parse_labelme
from annotations.ingest.matching import PageMatcher
from annotations.ingest.reports import MAX_MESSAGES, FileReport, ImportRejected, ImportReport
from annotations.ingest.store import imported_faces_store
from annotations.ingest.web_annotations import parse_web_annotations
from annotations.models import CURATOR_SOURCE, Document
from webapp.parsers import json_loads_untrusted

IMPORT_FORMATS = ("auto", "labelme", "coco", "w3c", "iiif")
# Who made imported faces (Face.source, 100 characters): `curator` or a model's or a person's name.
FACE_SOURCE_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._@:+-]{0,99}"
FACE_SOURCE_RULE = "a name of up to 100 letters, digits and . _ @ : + -, starting with a letter or digit"
# Largest JSON file we parse (a COCO file of a whole corpus stays well below).
MAX_JSON_BYTES = 100 * 1024 * 1024


def _detect_format(data: object) -> str:
    if isinstance(data, dict) and "shapes" in data:
        return "labelme"
    if isinstance(data, dict) and "images" in data and "annotations" in data:
        return "coco"
    return "w3c"


def _read_upload(name: str, content: bytes) -> tuple[list[tuple[str, bytes]], dict[str, tuple[int, int]], list[str]]:
    """JSON files (name, bytes), image sizes by stem, and problems, from one JSON or zip upload."""
    if not zipfile.is_zipfile(io.BytesIO(content)):
        return [(name, content)], {}, []
    files, sizes, problems = [], {}, []
    total = 0
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for member in archive.infolist():
            path = PurePosixPath(member.filename)
            if member.is_dir() or is_system_file(member.filename):
                continue
            total += member.file_size
            if total > settings.UPLOAD_MAX_BYTES:
                problems.append(_("the zip expands beyond the upload size limit"))
                break
            suffix = path.suffix.lower()
            if suffix == ".json":
                if member.file_size > MAX_JSON_BYTES:
                    problems.append(
                        _("%(name)s: larger than %(limit)s bytes") % {"name": member.filename, "limit": MAX_JSON_BYTES}
                    )
                    continue
                files.append((member.filename, archive.read(member)))
            elif suffix in (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"):
                try:
                    with Image.open(archive.open(member)) as img:
                        sizes[path.stem.lower()] = img.size
                except (UnidentifiedImageError, OSError):
                    problems.append(_("%(name)s: unreadable image") % {"name": member.filename})
    return sorted(files), sizes, problems


def annotations_import(
    *,
    document: Document,
    user,
    name: str,
    content: bytes,
    fmt: str = "auto",
    source: str = CURATOR_SOURCE,
    keep_rejected: bool = False,
) -> ImportReport:
    """Import faces from a JSON file or a zip of them into a document; one report per file.

    Every file is checked whole first; a file with an error is reported and none of it is stored.
    The files without errors are then stored in one transaction: a write that fails (FaceConflict
    when a face changed under the import) leaves every face as it was, those of earlier files too.
    Callers check that `user` curates the document (the API through get_document_for_user).
    """
    if fmt not in IMPORT_FORMATS:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(IMPORT_FORMATS)}")
    source = (source or CURATOR_SOURCE).strip()
    report = ImportReport(document=document.pk, source=source)
    try:
        files, image_sizes, problems = _read_upload(name, content)
    except zipfile.BadZipFile as exc:
        report.files.append(FileReport(name=name, errors=[_("not a valid zip file (%(error)s)") % {"error": exc}]))
        return report
    if problems:
        report.files.append(FileReport(name=name, errors=problems[:MAX_MESSAGES]))
    if not files:
        report.files.append(FileReport(name=name, errors=[_("no JSON annotation file found")]))
        return report
    matcher = PageMatcher(document)
    checked = [
        _checked_file(file_name, data, fmt=fmt, matcher=matcher, images=image_sizes) for file_name, data in files
    ]
    report.files.extend(file_report for file_report, _faces in checked)
    with transaction.atomic():
        for file_report, faces in checked:
            if file_report.ok:
                imported_faces_store(faces, source=source, user=user, report=file_report, keep_rejected=keep_rejected)
    return report


def _checked_file(name: str, data: bytes, *, fmt: str, matcher: PageMatcher, images) -> tuple[FileReport, list]:
    """The report of one file, its errors if any, and its faces (none when it has errors)."""
    report = FileReport(name=name)
    try:
        # NaN, Infinity, 1e309 or a too deep nesting: a ValueError, reported as for any broken file.
        parsed = json_loads_untrusted(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        report.errors.append(_("not UTF-8 text"))
        return report, []
    except ValueError as exc:
        report.errors.append(_("not valid JSON: %(error)s") % {"error": exc})
        return report, []
    report.format = _detect_format(parsed) if fmt == "auto" else fmt
    try:
        if report.format == "labelme":
            faces = parse_labelme(parsed, name=name, matcher=matcher, image_sizes=images)
        elif report.format == "coco":
            faces = parse_coco(parsed, name=name, matcher=matcher)
        else:
            faces, report.warnings = parse_web_annotations(parsed, name=name, matcher=matcher)
    except ImportRejected as exc:
        report.errors = exc.messages[:MAX_MESSAGES]
        if len(exc.messages) > MAX_MESSAGES:
            more = len(exc.messages) - MAX_MESSAGES
            report.errors.append(
                ngettext("and %(count)s more problem", "and %(count)s more problems", more) % {"count": more}
            )
        return report, []
    return report, faces
