"""`manage.py detect`: queue a run, or run it in the foreground and print the faces found last."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from annotations.models import Face
from detection.inference.types import Detection
from detection.models import DetectionRun
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


def detect(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("detect", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().splitlines()


def test_wait_runs_the_pages_here_and_prints_the_faces_found_last(scanned_document, fake_models, queued):
    fake_models.detector.boxes = [Detection(10, 10, 60, 70, 0.9), Detection(100, 100, 160, 170, 0.95)]

    lines = detect("--document", str(scanned_document.pk), "--wait", "--threshold", "0.92", "--no-tiling")

    assert lines[-1] == "2"
    assert queued.pages == [], "no worker is needed"
    run = DetectionRun.objects.get()
    assert (run.status, run.faces_found, run.params["threshold"], run.params["tiling"]) == (
        JobStatus.DONE,
        2,
        0.92,
        False,
    )
    assert Face.objects.count() == 2


def test_without_wait_the_run_is_queued_and_its_id_printed(
    scanned_document, fake_models, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lines = detect("--document", str(scanned_document.pk), "--detector", "fake", "--tiling")

    run = DetectionRun.objects.get()
    assert lines[-1] == str(run.pk)
    assert run.params["tiling"] is True
    assert sorted(queued.pages) == sorted(run.page_tasks.values_list("pk", flat=True))


def test_turned_faces_are_a_run_option(scanned_document, fake_models):
    fake_models.detector.boxes = [Detection(10, 10, 60, 80, 0.9)]

    lines = detect("--document", str(scanned_document.pk), "--wait", "--no-tiling", "--turned-faces")

    assert DetectionRun.objects.get().params["turned_faces"] is True
    assert lines[-1] == "6", "the face upright and on each side, on each of the two pages"


def test_the_largest_face_share_is_a_run_option(scanned_document, fake_models):
    fake_models.detector.boxes = [Detection(0, 0, 300, 300, 0.99), Detection(10, 10, 60, 70, 0.9)]

    lines = detect("--document", str(scanned_document.pk), "--wait", "--no-tiling", "--max-face-share", "0.01")

    assert DetectionRun.objects.get().params["max_face_share"] == 0.01
    assert lines[-1] == "2", "one small face on each of the two pages"
    with pytest.raises(CommandError, match="largest face share"):
        detect("--document", str(scanned_document.pk), "--max-face-share", "0")


def test_a_missing_document_or_detector_is_a_clear_error(scanned_document, fake_models):
    with pytest.raises(CommandError, match="No document with id 999"):
        detect("--document", "999", "--wait")
    with pytest.raises(CommandError, match="Unknown detector 'nope'"):
        detect("--document", str(scanned_document.pk), "--detector", "nope", "--wait")
    assert not DetectionRun.objects.exists()


def test_a_run_where_every_page_failed_exits_with_an_error(scanned_document, fake_models):
    fake_models.detector.error = RuntimeError("no luck")

    with pytest.raises(CommandError, match="failed on every page"):
        detect("--document", str(scanned_document.pk), "--wait")
