"""What every export format says of a face and a page: labels, attributes, stems, URLs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from annotations.exports.scope import AnyFace
from annotations.models import SOURCE_MANIFEST, Document, FaceStatus, Page

FACE_LABEL = "face"
NEGATIVE_LABEL = "not_face"
VERIFIED_STATUSES = frozenset({FaceStatus.ACCEPTED, FaceStatus.EDITED, FaceStatus.ADDED})


def absolute_url(url: str, base_url: str) -> str:
    """Our relative URLs (local scans, canvases) made absolute; remote URLs stay as they are."""
    return f"{base_url.rstrip('/')}{url}" if url.startswith("/") and base_url else url


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


PAGE_NAMES = ("ids", "labels")
# A page label that may name an exported file as it is: no separator, no leading dot, no space.
_FILE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,149}")


def page_stem(page: Page) -> str:
    """File stem of a page in exports: `d{document}_p{order}` (the importer reads the order back)."""
    return f"d{page.document_id}_p{page.order:04d}"


class PageStems:
    """The file stem of each page of one export, none written twice.

    `ids` names every page `d{document}_p{order}`. `labels` names a page by its label when the label is
    a safe file name (an imported dataset's pages keep the names they came with: `import_dataset`),
    else, or when an earlier page of the export took that name, by `d{document}_p{order}`, and by
    `d{document}_p{order}-page{id}` when a label took that too.
    """

    def __init__(self, names: str = "ids"):
        if names not in PAGE_NAMES:
            raise ValueError(f"page names are {' or '.join(PAGE_NAMES)}, not {names!r}")
        self.by_label = names == "labels"
        self.taken: set[str] = set()

    def __call__(self, page: Page) -> str:
        candidates = [page.label] if self.by_label and _FILE_STEM.fullmatch(page.label or "") else []
        candidates += [page_stem(page), f"{page_stem(page)}-page{page.pk}"]
        stem = next(name for name in candidates if name.lower() not in self.taken)
        self.taken.add(stem.lower())
        return stem


@dataclass(frozen=True)
class DocumentFacts:
    """Where an exported page comes from and under what terms: its document's label, date (the start of its
    span, ISO, or None; and as the record words it: "1915" starts on 1915-01-01), IIIF manifest, licence and
    attribution, as the document states them (empty when it states none)."""

    label: str
    date: str | None
    date_text: str
    manifest: str
    license: str
    attribution: str


def document_facts(document: Document, base_url: str = "") -> DocumentFacts:
    """The facts of a page's document, which `scope.page_batches` has loaded on the page."""
    return DocumentFacts(
        label=document.label,
        date=document.date_start.isoformat() if document.date_start else None,
        date_text=document.date_text,
        manifest=absolute_url(document.manifest_url, base_url) or _source_manifest(document),
        license=document.license,
        attribution=document.attribution,
    )


def _source_manifest(document: Document) -> str:
    """The manifest a document made of files names as its scans' source (its metadata), or ""."""
    entries = document.metadata if isinstance(document.metadata, list) else []
    return next(
        (entry["value"] for entry in entries if isinstance(entry, dict) and entry.get("label") == SOURCE_MANIFEST),
        "",
    )


def face_attributes(face: AnyFace) -> dict:
    """The attributes of a face that every format carries besides its box."""
    return {
        "id": face.pk,
        "gender": face.gender,
        "gender_confidence": rounded(face.gender_confidence),
        "age": rounded(face.age, 1),
        "age_confidence": rounded(face.age_confidence),
        "child": face.child,
        "confidence": rounded(face.confidence),
        "status": face.status,
        "source": face.source,
        "verified": face.status in VERIFIED_STATUSES,
    }
