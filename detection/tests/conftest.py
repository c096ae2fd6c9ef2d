"""Fixtures of the detection tests: fake models in the registry, pages of local scans, queued tasks.

Their builders are in detection/tests/factories.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from annotations.models import Corpus, Document
from detection.inference import registry
from detection.inference.registry import register_attribute_model, register_detector
from detection.tests.factories import FakeAgeGender, FakeDetector, add_scan_page, fake_spec
from webapp.jobs import JobStatus


@pytest.fixture
def fake_models(settings):
    """A fake detector and age/gender model registered by name and made the defaults."""
    detector, attributes = FakeDetector(), FakeAgeGender()

    def build_detector(*, score_threshold: float) -> FakeDetector:
        detector.score_threshold = score_threshold
        return detector

    register_detector(fake_spec(detector, "detector", "fixed boxes", build_detector, score_threshold=0.5), replace=True)
    always_a_woman = fake_spec(attributes, "attributes", "always a woman of 30", lambda: attributes)
    register_attribute_model(always_a_woman, replace=True)
    settings.DETECTION_DEFAULT_DETECTOR = "fake"
    settings.DETECTION_DEFAULT_ATTRIBUTES = "fake-age-gender"
    yield SimpleNamespace(detector=detector, attributes=attributes)
    registry.DETECTORS.pop("fake", None)
    registry.ATTRIBUTE_MODELS.pop("fake-age-gender", None)
    registry.clear_model_cache()


@pytest.fixture
def isolated_registry():
    """Models registered by a test leave the registry as they found it; the model cache starts empty."""
    detectors, attribute_models = dict(registry.DETECTORS), dict(registry.ATTRIBUTE_MODELS)
    registry.clear_model_cache()
    yield
    for table, saved in ((registry.DETECTORS, detectors), (registry.ATTRIBUTE_MODELS, attribute_models)):
        table.clear()
        table.update(saved)
    registry.clear_model_cache()


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
