"""Builders of the detection tests' data: pages of local scans, and fake models for pipeline tests
(fixed boxes and fixed attributes, recording what they were shown). Corpora, documents and faces
come from annotations/tests/factories.py, images and shared helpers from tests/support/."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings as django_settings
from PIL import Image

from annotations.ingest.local_scans import document_local_key_ensure
from annotations.models import Document, Page
from annotations.tests.factories import make_page
from detection.inference.registry import ModelSpec
from detection.inference.types import AgeGender, Detection
from tests.support.manifests import jpeg_bytes


def add_scan_page(document: Document, *, width: int, height: int, order: int | None = None, pixels=None) -> Page:
    """A page of a local scan, its file written under LOCAL_IMAGES_DIR (pixels: an RGB array, optional)."""
    order = order or document.pages.count() + 1
    # In the document's own scan folder, as a folder import puts it (derivatives read nothing else).
    document = document_local_key_ensure(document=document)
    name = f"{document.local_folder}/p{order}.jpg"
    path = Path(django_settings.LOCAL_IMAGES_DIR) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if pixels is None:
        path.write_bytes(jpeg_bytes(width, height))
    else:
        Image.fromarray(pixels).save(path, "JPEG", quality=90)
    service = f"/iiif/local/{document.local_key}/p{order}.jpg"
    return make_page(
        document=document,
        order=order,
        width=width,
        height=height,
        is_front_page=False,
        service_id=service,
        canvas_id=f"{service}/canvas",
        label=f"p{order}",
        image_url=f"{service}/full/max/0/default.jpg",
        image_width=width,
        image_height=height,
        image_service_version="3",
        local_path=name,
    )


class FakeDetector:
    """Finds the same boxes (derivative pixels) in every image it is shown, above its threshold."""

    name = "fake"
    version = "fake-1"

    def __init__(self, boxes: list[Detection] | None = None, *, score_threshold: float = 0.5) -> None:
        self.boxes = list(boxes or [])
        self.score_threshold = score_threshold
        self.shapes: list[tuple[int, int]] = []
        self.error: Exception | None = None

    def detect(self, image):
        self.shapes.append(image.shape[:2])
        if self.error is not None:
            raise self.error
        return [box for box in self.boxes if box.score >= self.score_threshold]


class FakeAgeGender:
    """Calls every face a 30-year-old woman, and remembers the boxes it was asked about."""

    name = "fake-age-gender"
    version = "fake-ag-1"

    def __init__(self) -> None:
        self.boxes: list[Detection] = []

    def predict(self, image, box: Detection) -> AgeGender:
        self.boxes.append(box)
        return AgeGender(age=30.0, age_confidence=0.4, gender="female", gender_confidence=0.9, child=False)


def fake_spec(model, kind: str, description: str, factory, **default_params) -> ModelSpec:
    """The registry entry of a fake model (its name and version from the fake's class)."""
    return ModelSpec(
        name=model.name,
        kind=kind,
        version=model.version,
        license="test only",
        description=description,
        default_params=default_params,
        factory=factory,
    )
