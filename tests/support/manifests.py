"""Builders of IIIF manifests and page images for tests and benchmarks."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw


def jpeg_bytes(width: int, height: int, color: tuple[int, int, int] = (225, 215, 190), label: str = "") -> bytes:
    """A paper-coloured JPEG with an optional label drawn on it."""
    image = Image.new("RGB", (width, height), color)
    if label:
        ImageDraw.Draw(image).text((10, 10), label, fill=(40, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def write_scans(folder: Path, sizes: list[tuple[int, int]]) -> Path:
    """A folder of labelled scans page1.jpg, page2.jpg, ... of these sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, (w, h) in enumerate(sizes, start=1):
        (folder / f"page{index}.jpg").write_bytes(jpeg_bytes(w, h, label=f"page {index}"))
    return folder


def p2_manifest(base_url: str, canvases: int, *, date: str = "1915-03-12", label: str = "Excelsior") -> dict:
    """A Gallica-like Presentation 2 manifest with Image API 2 services under `base_url`."""
    items = []
    for n in range(1, canvases + 1):
        canvas_id = f"{base_url}/iiif/doc/canvas/f{n}"
        service = f"{base_url}/iiif/doc/f{n}"
        items.append(
            {
                "@id": canvas_id,
                "@type": "sc:Canvas",
                "label": f"p. {n}",
                "width": 2000,
                "height": 3000,
                "images": [
                    {
                        "@type": "oa:Annotation",
                        "motivation": "sc:painting",
                        "on": canvas_id,
                        "resource": {
                            "@id": f"{service}/full/full/0/default.jpg",
                            "@type": "dctypes:Image",
                            "format": "image/jpeg",
                            "width": 2000,
                            "height": 3000,
                            "service": {
                                "@context": "http://iiif.io/api/image/2/context.json",
                                "@id": service,
                                "profile": "http://iiif.io/api/image/2/level1.json",
                            },
                        },
                    }
                ],
            }
        )
    return {
        "@context": "http://iiif.io/api/presentation/2/context.json",
        "@id": f"{base_url}/iiif/doc/manifest.json",
        "@type": "sc:Manifest",
        "label": label,
        "metadata": [{"label": "Date", "value": date}, {"label": "Title", "value": label}],
        "attribution": "Test library",
        "license": "https://example.org/licence",
        "sequences": [{"@type": "sc:Sequence", "canvases": items}],
    }
