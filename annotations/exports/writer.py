"""Writing a whole export: one format's writer over the pages of a scope, with progress."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from annotations.exports.coco import write_coco
from annotations.exports.face_csv import write_csv
from annotations.exports.gallicapix import write_index
from annotations.exports.labelme import write_labelme
from annotations.exports.options import ExportOptions, ExportResult, Progress
from annotations.exports.scope import PageBatch
from annotations.exports.web_annotations import write_iiif, write_w3c
from annotations.models import ExportKind

# The formats that say when each face was made and last changed; the others never read those columns.
KINDS_WITH_TIMESTAMPS = frozenset({ExportKind.W3C, ExportKind.IIIF})


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


def export_write(
    kind: str, batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, progress: Progress | None = None
) -> ExportResult:
    """Write an export of these page batches to `out` (a zip, a folder for LabelMe, or a single file)."""
    writer = {
        ExportKind.LABELME: write_labelme,
        ExportKind.COCO: write_coco,
        ExportKind.CSV: write_csv,
        ExportKind.W3C: write_w3c,
        ExportKind.IIIF: write_iiif,
        ExportKind.INDEX: write_index,
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
        result.corpora.update(page.document.corpus_id for page, _ in batch)
        if progress is not None:
            progress(result.pages)
