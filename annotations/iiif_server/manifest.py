"""Presentation 3 manifests generated from our documents (local scans, and copies for Mirador)."""

from annotations.iiif_server.annotations import page_annotation_page_url, pages_with_faces
from annotations.models import Document

SERVICE_TYPES = {"1": "ImageService1", "2": "ImageService2", "3": "ImageService3"}


def _absolute(url: str, base_url: str) -> str:
    return f"{base_url}{url}" if url.startswith("/") else url


def _lang(value: str) -> dict:
    return {"none": [value]}


def document_manifest(document: Document, *, base_url: str, annotations: bool = False) -> dict:
    """A IIIF Presentation 3 manifest of a document's pages, pointing at their image services.

    With `annotations`, each canvas with faces lists its live AnnotationPage (iiif_server/annotations.py).
    """
    manifest_id = f"{base_url}/iiif/documents/{document.pk}/manifest.json"
    annotated = set(pages_with_faces(document)) if annotations else set()
    items = []
    for page in document.pages.order_by("order"):
        canvas_id = _absolute(page.canvas_id, base_url)
        body = {
            "id": _absolute(page.image_url, base_url),
            "type": "Image",
            "format": "image/jpeg",
            "width": page.image_width or page.width,
            "height": page.image_height or page.height,
        }
        if page.image_service_id:
            service_type = SERVICE_TYPES.get(page.image_service_version, "ImageService3")
            body["service"] = [
                {
                    "id": _absolute(page.image_service_id, base_url),
                    "type": service_type,
                    "profile": "level1",
                }
            ]
        items.append(
            {
                "id": canvas_id,
                "type": "Canvas",
                "label": _lang(page.label or str(page.order)),
                "width": page.width,
                "height": page.height,
                "items": [
                    {
                        "id": f"{canvas_id}/page",
                        "type": "AnnotationPage",
                        "items": [
                            {
                                "id": f"{canvas_id}/painting",
                                "type": "Annotation",
                                "motivation": "painting",
                                "body": body,
                                "target": canvas_id,
                            }
                        ],
                    }
                ],
            }
        )
        if page.pk in annotated:
            items[-1]["annotations"] = [
                {"id": page_annotation_page_url(page, base_url=base_url), "type": "AnnotationPage"}
            ]
    manifest = {
        "@context": "http://iiif.io/api/presentation/3/context.json",
        "id": manifest_id,
        "type": "Manifest",
        "label": _lang(document.label or document.source),
        "metadata": [{"label": _lang(m["label"]), "value": _lang(m["value"])} for m in document.metadata],
        "items": items,
    }
    if document.date_start:
        manifest["navDate"] = f"{document.date_start.isoformat()}T00:00:00Z"
    return manifest
