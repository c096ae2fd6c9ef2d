"""W3C Web Annotations and IIIF Presentation 3 annotation pages (with a manifest copy that links them)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from annotations.exports.fields import FACE_LABEL, absolute_url, face_attributes
from annotations.exports.options import ExportOptions, ExportResult
from annotations.exports.scope import AnyFace, PageBatch
from annotations.exports.sinks import json_dump, sink_for
from annotations.models import FaceStatus, Gender, Page

W3C_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
IIIF_CONTEXT = "http://iiif.io/api/presentation/3/context.json"


def face_annotation(face: AnyFace, *, base_url: str = "", iiif: bool = False) -> dict:
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


def iiif_annotation_page(page: Page, faces: Sequence[AnyFace], *, page_url: str, base_url: str = "") -> dict:
    """A IIIF Presentation 3 AnnotationPage of one canvas's faces."""
    return {
        "@context": IIIF_CONTEXT,
        "id": page_url,
        "type": "AnnotationPage",
        "items": [face_annotation(face, base_url=base_url, iiif=True) for face in faces],
    }


def iiif_manifest_copy(document, *, annotation_pages: dict[int, str], manifest_url: str, base_url: str) -> dict:
    """Our Presentation 3 manifest of a document, each exported canvas referencing its AnnotationPage."""
    from annotations.iiif_server.manifest import document_manifest

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


def write_w3c(batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, result: ExportResult) -> None:
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
                    json_dump(stream, face_annotation(face, base_url=options.base_url))
                    total += 1
        stream.write(f']}},"total":{total}}}')


def write_iiif(batches: Iterable[PageBatch], *, out: Path, options: ExportOptions, result: ExportResult) -> None:
    sink = sink_for(out)
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
