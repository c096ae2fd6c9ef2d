"""Fixtures of the detection tests: fake models in the registry, pages of local scans, queued tasks."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from PIL import Image

from annotations.models import Corpus, Document, Page
from detection.inference import registry
from detection.inference.registry import ModelSpec, register_attribute_model, register_detector
from detection.tests.fakes import FakeAgeGender, FakeDetector
from webapp.jobs import JobStatus


@pytest.fixture
def fake_models(settings):
    """A fake detector and age/gender model registered by name and made the defaults."""
    detector, attributes = FakeDetector(), FakeAgeGender()

    def build_detector(*, score_threshold: float) -> FakeDetector:
        detector.score_threshold = score_threshold
        return detector

    register_detector(
        ModelSpec(
            name="fake",
            kind="detector",
            version=FakeDetector.version,
            license="test only",
            description="fixed boxes",
            default_params={"score_threshold": 0.5},
            factory=build_detector,
        ),
        replace=True,
    )
    register_attribute_model(
        ModelSpec(
            name="fake-age-gender",
            kind="attributes",
            version=FakeAgeGender.version,
            license="test only",
            description="always a woman of 30",
            default_params={},
            factory=lambda: attributes,
        ),
        replace=True,
    )
    settings.DETECTION_DEFAULT_DETECTOR = "fake"
    settings.DETECTION_DEFAULT_ATTRIBUTES = "fake-age-gender"
    yield SimpleNamespace(detector=detector, attributes=attributes)
    registry.DETECTORS.pop("fake", None)
    registry.ATTRIBUTE_MODELS.pop("fake-age-gender", None)
    registry.clear_model_cache()


def jpeg(width: int, height: int, colour=(225, 215, 190)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def add_scan_page(document: Document, *, width: int, height: int, order: int | None = None, pixels=None) -> Page:
    """A page of a local scan, its file written under LOCAL_IMAGES_DIR (pixels: an RGB array, optional)."""
    order = order or document.pages.count() + 1
    name = f"doc{document.pk}/p{order}.jpg"
    path = Path(django_settings.LOCAL_IMAGES_DIR) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if pixels is None:
        path.write_bytes(jpeg(width, height))
    else:
        Image.fromarray(pixels).save(path, "JPEG", quality=90)
    service = f"/iiif/local/doc{document.pk}/p{order}.jpg"
    return Page.objects.create(
        document=document,
        order=order,
        canvas_id=f"{service}/canvas",
        label=f"p{order}",
        width=width,
        height=height,
        image_url=f"{service}/full/max/0/default.jpg",
        image_width=width,
        image_height=height,
        image_service_id=service,
        image_service_version="3",
        local_path=name,
    )


@pytest.fixture
def document(corpus):
    """An imported document of the private `corpus`, with no pages yet."""
    return Document.objects.create(
        corpus=corpus, source="scans/excelsior-1915", label="Excelsior 1915", import_status=JobStatus.DONE
    )


@pytest.fixture
def scanned_document(document):
    """The document with two pages of local scans: a landscape one and a portrait one."""
    add_scan_page(document, width=3000, height=2000)
    add_scan_page(document, width=1200, height=1600)
    return document


@pytest.fixture
def queued(monkeypatch):
    """Record page and dispatch tasks queued (instead of sending them to a broker)."""
    from detection.tasks import detect_page_task, run_dispatch_task

    sent = SimpleNamespace(pages=[], dispatches=[])
    monkeypatch.setattr(detect_page_task, "delay", lambda page_detection_id: sent.pages.append(page_detection_id))
    monkeypatch.setattr(run_dispatch_task, "delay", lambda *args: sent.dispatches.append(args))
    return sent


@pytest.fixture
def other_corpus(db):
    return Corpus.objects.create(name="Le Miroir", is_public=False)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Personas are created in most tests here; PBKDF2 would make each one cost a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
