"""Detection services with a fake model: runs, canvas mapping, idempotency, curators' faces, failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import Document, Face, FaceRevision, FaceStatus, Page
from annotations.services import face_accept, face_revert
from detection.errors import DetectionRefused, PageFetchRetry
from detection.inference.turned import TURNED_SCORE_FACTOR
from detection.inference.types import Detection
from detection.models import DetectionRun, PageDetection
from detection.selectors import run_progress
from detection.services import (
    page_detect,
    run_cancel,
    run_create,
    run_detector,
    run_dispatch,
    run_execute,
    run_retry_failed,
)
from detection.tests.factories import add_scan_page
from tests.support.http_server import Scripted
from tests.support.manifests import jpeg_bytes
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


def detect(*, document=None, page_ids=None, **options) -> DetectionRun:
    """Create a run without queueing it and detect its pages here."""
    options.setdefault("tiling", False)
    scope = {"document": document} if document is not None else {"page_ids": page_ids}
    return run_execute(run=run_create(user=None, enqueue=False, **scope, **options))


def boxes(page: Page, **filters) -> list[tuple[int, int, int, int]]:
    return sorted(face.as_box() for face in Face.objects.filter(page=page, **filters))


def remote_page(document: Document, http_server, *, version: str, canvas=(4000, 3000), image=(2000, 1500)) -> Page:
    service = http_server.url("/iiif/f1")
    return Page.objects.create(
        document=document,
        order=1,
        canvas_id=f"{service}/canvas",
        width=canvas[0],
        height=canvas[1],
        image_width=image[0],
        image_height=image[1],
        image_service_id=service,
        image_service_version=version,
    )


# Creating runs.


def test_a_run_covers_every_page_and_queues_them_once_committed(
    scanned_document, fake_models, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = run_create(user=None, document=scanned_document)
        assert queued.pages == [], "nothing is sent before the transaction commits"

    tasks = list(PageDetection.objects.filter(run=run).order_by("pk"))
    assert [t.page_id for t in tasks] == list(scanned_document.pages.order_by("pk").values_list("pk", flat=True))
    assert all(t.status == JobStatus.PENDING for t in tasks)
    assert (run.pages_total, run.status, run.corpus_id) == (2, JobStatus.PENDING, scanned_document.corpus_id)
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    assert queued.pages == [t.pk for t in tasks]


def test_a_large_run_is_queued_a_batch_at_a_time(
    document, fake_models, queued, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("detection.services.DISPATCH_BATCH", 2)
    for _ in range(3):
        add_scan_page(document, width=400, height=500)

    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(user=None, document=document)
    ids = list(PageDetection.objects.filter(run=run).order_by("pk").values_list("pk", flat=True))
    assert queued.pages == ids[:2]
    assert queued.dispatches == [(run.pk, ids[1])]

    with django_capture_on_commit_callbacks(execute=True):
        run_dispatch(run_id=run.pk, after_id=ids[1])
    assert queued.pages == ids


def test_a_run_records_its_models_and_parameters(scanned_document, fake_models):
    run = run_create(user=None, document=scanned_document, threshold=0.7, enqueue=False)

    assert run.detector == "fake" and run.attribute_model == "fake-age-gender"
    assert run.model_versions == {"detector": "fake@fake-1", "attributes": "fake-age-gender@fake-ag-1"}
    assert run.params["threshold"] == 0.7
    assert run.params["tiling"] is False, "only fixed-input detectors tile by default"


def test_res10_tiles_by_default_and_takes_its_registry_threshold(scanned_document):
    run = run_create(user=None, document=scanned_document, detector="res10", attribute_model="", enqueue=False)

    assert run.params["tiling"] is True
    assert run.params["threshold"] == 0.5
    assert run.model_versions == {"detector": "res10@res10_300x300_ssd_iter_140000"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"detector": "nope"}, "Unknown detector"),
        ({"attribute_model": "nope"}, "Unknown age/gender model"),
        ({"threshold": 1.5}, "between 0 and 1"),
    ],
)
def test_a_run_with_bad_parameters_is_refused(scanned_document, fake_models, options, message):
    with pytest.raises(DetectionRefused, match=message):
        run_create(user=None, document=scanned_document, enqueue=False, **options)
    assert not DetectionRun.objects.exists()


def test_a_document_without_pages_or_not_imported_is_refused(document, fake_models):
    with pytest.raises(DetectionRefused, match="no pages"):
        run_create(user=None, document=document, enqueue=False)
    Document.objects.filter(pk=document.pk).update(import_status=JobStatus.RUNNING)
    document.refresh_from_db()
    with pytest.raises(DetectionRefused, match="not imported"):
        run_create(user=None, document=document, enqueue=False)
    assert not DetectionRun.objects.exists()


def test_pages_of_two_corpora_cannot_share_a_run(scanned_document, other_corpus, fake_models):
    elsewhere = Document.objects.create(corpus=other_corpus, source="x", import_status=JobStatus.DONE)
    page_ids = [scanned_document.pages.first().pk, add_scan_page(elsewhere, width=100, height=100).pk]

    with pytest.raises(DetectionRefused, match="one corpus"):
        run_create(user=None, page_ids=page_ids, enqueue=False)


def test_a_run_on_chosen_pages_covers_only_those(scanned_document, fake_models):
    page = scanned_document.pages.order_by("order").last()

    run = run_create(user=None, page_ids=[page.pk], enqueue=False)

    assert list(run.page_tasks.values_list("page_id", flat=True)) == [page.pk]
    assert run.document_id == scanned_document.pk


def test_detection_can_be_switched_off(scanned_document, fake_models, settings):
    settings.DETECTION_ENABLED = False
    with pytest.raises(DetectionRefused, match="disabled"):
        run_create(user=None, document=scanned_document, enqueue=False)


# Detecting a page.


def test_boxes_found_on_a_scaled_derivative_are_stored_in_canvas_pixels(document, fake_models, settings):
    settings.DETECTION_MAX_DERIVATIVE = 1000
    page = add_scan_page(document, width=3000, height=2000)
    fake_models.detector.boxes = [Detection(100, 100, 200, 250, 0.9)]

    run = detect(document=document)

    assert fake_models.detector.shapes == [(667, 1000)], "the detector saw a 1000 px derivative"
    assert boxes(page) == [(300, 300, 300, 450)]
    face = Face.objects.get(page=page)
    assert (face.status, face.source, face.detection_run_id) == (FaceStatus.PREDICTED, "fake@fake-1", run.pk)
    assert (face.gender, face.age, face.gender_confidence, face.confidence) == ("female", 30.0, 0.9, 0.9)
    assert fake_models.attributes.boxes == [Detection(100, 100, 200, 250, 0.9)], "age/gender read the derivative"
    task = run.page_tasks.get()
    assert task.derivative_scale == pytest.approx(3.0)
    assert task.model_seconds is not None and task.total_seconds >= task.model_seconds


def test_an_image_api_1_1_page_is_fetched_at_a_bounded_size_and_mapped_to_its_canvas(
    document, fake_models, settings, http_server
):
    # Canvas 4000x3000 but the image service is 2000x1500: a non-square page at two scales.
    settings.DETECTION_MAX_DERIVATIVE = 1000
    page = remote_page(document, http_server, version="1")
    derivative_path = "/iiif/f1/full/!1000,750/0/native.jpg"
    http_server.add(derivative_path, jpeg_bytes(1000, 750), "image/jpeg")
    fake_models.detector.boxes = [Detection(100, 200, 150, 260, 0.9)]

    run = detect(document=document)

    assert [path for path, _headers in http_server.requests] == [derivative_path]
    assert run.status == JobStatus.DONE, run.page_tasks.get().error
    assert boxes(page) == [(400, 800, 200, 240)]


def test_a_server_that_ignores_the_size_still_maps_boxes_to_the_canvas(document, fake_models, settings, http_server):
    settings.DETECTION_MAX_DERIVATIVE = 1000
    page = remote_page(document, http_server, version="2", canvas=(2000, 1500), image=(2000, 1500))
    http_server.add("/iiif/f1/full/!1000,750/0/default.jpg", jpeg_bytes(2000, 1500), "image/jpeg")
    fake_models.detector.boxes = [Detection(100, 200, 150, 260, 0.9)]

    detect(document=document)

    assert fake_models.detector.shapes == [(750, 1000)]
    assert boxes(page) == [(200, 400, 100, 120)]


def test_implausible_boxes_are_dropped(document, fake_models):
    page = add_scan_page(document, width=1200, height=1600)
    face = Detection(500, 500, 600, 620, 0.9)
    fake_models.detector.boxes = [
        Detection(0, 0, 1100, 1500, 0.99),  # most of the page: a photo or a headline, not a face
        Detection(10, 10, 15, 15, 0.9),  # a speck
        Detection(100, 1000, 600, 1050, 0.9),  # a banner
        face,
    ]

    detect(document=document)

    assert boxes(page) == [(500, 500, 100, 120)]


def test_the_share_of_the_page_a_face_may_cover_is_a_setting(document, fake_models, settings):
    settings.DETECTION_MAX_FACE_SHARE = 0.9
    page = add_scan_page(document, width=1200, height=1600)
    fake_models.detector.boxes = [Detection(0, 0, 1100, 1500, 0.99)]

    detect(document=document)

    assert boxes(page) == [(0, 0, 1100, 1500)]


def test_a_portrait_whose_face_fills_the_picture_is_kept_by_default(document, fake_models):
    page = add_scan_page(document, width=600, height=800)
    fake_models.detector.boxes = [Detection(60, 80, 540, 740, 0.99)]  # 66 % of the picture

    detect(document=document)

    assert boxes(page) == [(60, 80, 480, 660)]


def test_a_run_with_a_lower_largest_face_share_drops_the_portrait(document, fake_models):
    page = add_scan_page(document, width=600, height=800)
    fake_models.detector.boxes = [Detection(60, 80, 540, 740, 0.99), Detection(10, 10, 60, 70, 0.9)]

    run = detect(document=document, max_face_share=0.5)

    assert run.params["max_face_share"] == 0.5
    assert boxes(page) == [(10, 10, 50, 60)]


@pytest.mark.parametrize("share", [0.0, -0.1, 1.01])
def test_a_largest_face_share_outside_zero_to_one_is_refused(document, fake_models, share):
    add_scan_page(document, width=600, height=800)

    with pytest.raises(DetectionRefused, match="largest face share"):
        detect(document=document, max_face_share=share)
    assert not DetectionRun.objects.exists()


def test_a_run_reading_turned_faces_finds_them_on_the_page_turned_and_reads_them_upright(document, fake_models):
    page = add_scan_page(document, width=1200, height=1600)
    # The fake detector finds this box, standing upright, in whatever it is shown: the page as it is and the
    # page turned a quarter turn each way.
    fake_models.detector.boxes = [Detection(100, 100, 200, 300, 0.95)]

    run = detect(document=document, threshold=0.6, turned_faces=True)

    assert run.params["turned_faces"] is True
    assert fake_models.detector.shapes == [(1600, 1200), (1200, 1600), (1200, 1600)]
    stored = Face.objects.filter(page=page).order_by("x", "y")
    assert [(face.as_box(), round(face.confidence, 3)) for face in stored] == [
        ((100, 100, 100, 200), 0.95),
        ((100, 1400, 200, 100), round(0.95 * TURNED_SCORE_FACTOR, 3)),
        ((900, 100, 200, 100), round(0.95 * TURNED_SCORE_FACTOR, 3)),
    ]
    assert [(box.width, box.height) for box in fake_models.attributes.boxes] == [(100, 200)] * 3


def test_a_run_reads_the_page_only_as_it_is_unless_asked_for_turned_faces(document, fake_models):
    page = add_scan_page(document, width=1200, height=1600)
    fake_models.detector.boxes = [Detection(100, 100, 200, 300, 0.95)]

    run = detect(document=document, threshold=0.6)

    assert run.params["turned_faces"] is False
    assert fake_models.detector.shapes == [(1600, 1200)]
    assert boxes(page) == [(100, 100, 100, 200)]


def test_boxes_under_the_run_threshold_are_dropped(document, fake_models):
    page = add_scan_page(document, width=1200, height=1600)
    fake_models.detector.boxes = [Detection(100, 100, 200, 200, 0.55), Detection(500, 500, 600, 600, 0.95)]

    detect(document=document, threshold=0.6)

    assert boxes(page) == [(500, 500, 100, 100)]


def test_tiling_runs_the_detector_on_tiles_of_the_derivative(document, fake_models, settings):
    settings.DETECTION_MAX_DERIVATIVE = 1000
    add_scan_page(document, width=3000, height=2000)

    detect(document=document, tiling=True)

    assert fake_models.detector.shapes[0] == (667, 1000)
    assert set(fake_models.detector.shapes[1:]) == {(300, 300)}
    assert len(fake_models.detector.shapes) == 1 + 3 * 5


def test_a_run_without_an_attribute_model_leaves_gender_unknown(document, fake_models):
    page = add_scan_page(document, width=1200, height=1600)
    fake_models.detector.boxes = [Detection(100, 100, 200, 200, 0.9)]

    detect(document=document, attribute_model="")

    face = Face.objects.get(page=page)
    assert (face.gender, face.age, face.child) == ("unknown", None, False)
    assert fake_models.attributes.boxes == []


def test_a_finished_run_counts_pages_and_faces(scanned_document, fake_models):
    fake_models.detector.boxes = [Detection(10, 10, 60, 70, 0.9), Detection(100, 100, 160, 170, 0.8)]

    run = detect(document=scanned_document)

    assert (run.status, run.pages_done, run.pages_failed, run.faces_found) == (JobStatus.DONE, 2, 0, 4)
    assert run.started_at and run.finished_at
    assert set(run.page_tasks.values_list("status", "faces_found", "attempts")) == {(JobStatus.DONE, 2, 1)}
    assert [p.face_count for p in scanned_document.pages.all()] == [2, 2]


# Idempotency and curators' work.


def test_detecting_the_same_page_task_twice_changes_nothing(scanned_document, fake_models):
    fake_models.detector.boxes = [Detection(10, 10, 60, 70, 0.9)]
    run = run_create(user=None, document=scanned_document, enqueue=False, tiling=False)
    task = run.page_tasks.first()

    assert page_detect(page_detection_id=task.pk) is not None
    faces = list(Face.objects.values_list("pk", flat=True))
    assert page_detect(page_detection_id=task.pk) is None

    assert list(Face.objects.values_list("pk", flat=True)) == faces
    run.refresh_from_db()
    assert (run.pages_done, run.faces_found) == (1, 1)
    assert PageDetection.objects.get(pk=task.pk).attempts == 1


def test_a_second_run_replaces_model_faces_instead_of_adding_to_them(scanned_document, fake_models):
    fake_models.detector.boxes = [Detection(10, 10, 60, 70, 0.9)]
    detect(document=scanned_document)
    first = set(Face.objects.values_list("pk", flat=True))

    second = detect(document=scanned_document)

    assert Face.objects.count() == 2
    assert set(Face.objects.values_list("pk", flat=True)).isdisjoint(first)
    assert set(Face.objects.values_list("detection_run", flat=True)) == {second.pk}


def test_curators_faces_survive_a_rerun_and_rejected_boxes_do_not_come_back(document, fake_models):
    page = add_scan_page(document, width=1200, height=1600)
    fake_models.detector.boxes = [
        Detection(100, 100, 200, 200, 0.9),
        Detection(400, 400, 500, 500, 0.9),
        Detection(700, 700, 800, 800, 0.9),
    ]
    detect(document=document)
    accepted, rejected, edited = Face.objects.filter(page=page).order_by("y")
    Face.objects.filter(pk=accepted.pk).update(status=FaceStatus.ACCEPTED)
    Face.objects.filter(pk=rejected.pk).update(status=FaceStatus.REJECTED)
    Face.objects.filter(pk=edited.pk).update(status=FaceStatus.EDITED, x=710, y=710, gender="male")
    added = Face.objects.create(page=page, x=1000, y=1200, w=90, h=100, status=FaceStatus.ADDED, source="curator")
    fake_models.detector.boxes.append(Detection(300, 1300, 380, 1390, 0.9))

    detect(document=document)

    faces = {face.pk: face for face in Face.objects.filter(page=page)}
    assert faces[accepted.pk].status == FaceStatus.ACCEPTED
    assert faces[rejected.pk].status == FaceStatus.REJECTED
    assert (faces[edited.pk].x, faces[edited.pk].gender) == (710, "male")
    assert faces[added.pk].status == FaceStatus.ADDED
    assert boxes(page, status=FaceStatus.PREDICTED) == [(300, 1300, 80, 90)], "only the new face is predicted"
    page.refresh_from_db()
    assert page.face_count == 4, "rejected faces do not count"


def test_a_face_a_curator_accepted_then_reverted_keeps_its_history_through_a_rerun(document, fake_models, alice):
    """Hole 6 of #13: a curated face reverted to `predicted` was deleted with its revisions by a re-run."""
    page = add_scan_page(document, width=1200, height=1600)
    fake_models.detector.boxes = [Detection(100, 100, 200, 200, 0.9), Detection(400, 400, 500, 500, 0.8)]
    detect(document=document)
    face, untouched = Face.objects.filter(page=page).order_by("y")
    accepted = face_accept(face=face, user=alice, expected_version=1)
    reverted = face_revert(revision=FaceRevision.objects.get(face=face), user=alice, expected_version=2)
    assert reverted.status == FaceStatus.PREDICTED
    history = list(FaceRevision.objects.filter(face=face).values_list("pk", "action", "before", "after"))
    kept = Face.objects.filter(pk=face.pk).values().get()
    # The model now finds the same face, a little shifted (IoU ~0.8 with the curated box), and the other one again.
    fake_models.detector.boxes = [Detection(105, 105, 205, 205, 0.95), Detection(400, 400, 500, 500, 0.8)]

    detect(document=document)

    assert accepted.pk == face.pk
    assert Face.objects.filter(pk=face.pk).values().get() == kept, "the curated face is left exactly as it was"
    assert list(FaceRevision.objects.filter(face=face).values_list("pk", "action", "before", "after")) == history
    assert boxes(page) == [(100, 100, 100, 100), (400, 400, 100, 100)], "the overlapping prediction is dropped"
    assert not Face.objects.filter(pk=untouched.pk).exists(), "a prediction no curator touched is replaced"


# Failures, cancellation, retries.


def test_a_missing_remote_image_fails_the_page_with_its_error(document, fake_models, http_server):
    remote_page(document, http_server, version="2")

    run = detect(document=document)

    task = run.page_tasks.get()
    assert task.status == JobStatus.FAILED
    assert "404" in task.error
    assert (run.status, run.pages_failed, run.pages_done) == (JobStatus.FAILED, 1, 0)
    assert "Every page failed" in run.error


def test_a_corrupt_image_fails_the_page(document, fake_models, http_server, settings):
    settings.DETECTION_MAX_DERIVATIVE = 1000
    remote_page(document, http_server, version="2")
    http_server.add("/iiif/f1/full/!1000,750/0/default.jpg", b"not a jpeg", "image/jpeg")

    run = detect(document=document)

    assert "unreadable" in run.page_tasks.get().error


def test_a_rate_limited_fetch_releases_the_page_for_a_retry_until_the_last_attempt(
    document, fake_models, http_server, settings
):
    settings.IIIF_MAX_RETRIES = 1
    settings.DETECTION_MAX_DERIVATIVE = 1000
    remote_page(document, http_server, version="2")
    http_server.script("/iiif/f1/full/!1000,750/0/default.jpg", Scripted(429, headers={"Retry-After": "0"}))
    run = run_create(user=None, document=document, enqueue=False)
    task = run.page_tasks.get()

    with pytest.raises(PageFetchRetry, match="429"):
        page_detect(page_detection_id=task.pk, final_attempt=False)
    task.refresh_from_db()
    assert task.status == JobStatus.PENDING and task.error.startswith("Retrying")

    page_detect(page_detection_id=task.pk, final_attempt=True)
    task.refresh_from_db()
    assert (task.status, task.attempts) == (JobStatus.FAILED, 2)


def test_an_unreachable_shared_host_budget_releases_the_page_for_a_retry(document, fake_models, http_server, settings):
    # The budget shared by all workers lives in Redis; while it does not answer, nothing is fetched and the
    # page waits for a later attempt rather than failing for good.
    settings.IIIF_HOST_BUDGET = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    settings.IIIF_HOST_BUDGET_REDIS_TIMEOUT = 0.3
    remote_page(document, http_server, version="2")
    run = run_create(user=None, document=document, enqueue=False)
    task = run.page_tasks.get()

    with pytest.raises(PageFetchRetry, match="shared request budget"):
        page_detect(page_detection_id=task.pk, final_attempt=False)
    task.refresh_from_db()
    assert task.status == JobStatus.PENDING and task.error.startswith("Retrying")
    assert http_server.requests == []


def test_a_model_crash_fails_the_page_and_the_run_goes_on(scanned_document, fake_models):
    fake_models.detector.error = RuntimeError("out of memory")
    run = run_create(user=None, document=scanned_document, enqueue=False, tiling=False)
    first, second = run.page_tasks.order_by("pk")

    page_detect(page_detection_id=first.pk)
    fake_models.detector.error = None
    page_detect(page_detection_id=second.pk)

    first.refresh_from_db()
    run.refresh_from_db()
    assert first.error == "Unexpected error: RuntimeError: out of memory"
    assert (run.status, run.pages_done, run.pages_failed) == (JobStatus.DONE, 1, 1)


def test_a_cancelled_run_detects_no_more_pages(scanned_document, fake_models):
    fake_models.detector.boxes = [Detection(10, 10, 60, 70, 0.9)]
    run = run_create(user=None, document=scanned_document, enqueue=False)

    run = run_cancel(run=run)

    assert run.status == JobStatus.CANCELLED and run.finished_at
    assert set(run.page_tasks.values_list("status", flat=True)) == {JobStatus.CANCELLED}
    assert page_detect(page_detection_id=run.page_tasks.first().pk) is None
    assert not Face.objects.exists()


def test_a_claim_abandoned_past_the_time_limit_is_taken_over(scanned_document, fake_models, settings):
    run = run_create(user=None, document=scanned_document, enqueue=False)
    stale, fresh = run.page_tasks.order_by("pk")
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    PageDetection.objects.filter(pk=stale.pk).update(status=JobStatus.RUNNING, claimed_at=long_ago, attempts=1)
    PageDetection.objects.filter(pk=fresh.pk).update(status=JobStatus.RUNNING, claimed_at=timezone.now())

    assert page_detect(page_detection_id=fresh.pk) is None, "a live claim is left alone"
    task = page_detect(page_detection_id=stale.pk)

    assert (task.status, task.attempts) == (JobStatus.DONE, 2)


def test_failed_pages_can_be_retried(scanned_document, fake_models, queued, django_capture_on_commit_callbacks):
    fake_models.detector.error = RuntimeError("flaky")
    run = detect(document=scanned_document)
    assert (run.status, run.pages_failed) == (JobStatus.FAILED, 2)
    fake_models.detector.error = None

    with django_capture_on_commit_callbacks(execute=True):
        assert run_retry_failed(run=run) == 2

    run.refresh_from_db()
    assert (run.status, run.pages_failed, run.error) == (JobStatus.RUNNING, 0, "")
    assert sorted(queued.pages) == sorted(run.page_tasks.values_list("pk", flat=True))
    run = run_execute(run=run)
    assert (run.status, run.pages_done, run.pages_failed) == (JobStatus.DONE, 2, 0)


def test_a_cancelled_run_cannot_be_retried(scanned_document, fake_models):
    run = run_cancel(run=run_create(user=None, document=scanned_document, enqueue=False))
    with pytest.raises(DetectionRefused):
        run_retry_failed(run=run)


def test_progress_extrapolates_the_time_left_from_pages_finished(scanned_document, fake_models):
    run = run_create(user=None, document=scanned_document, enqueue=False)
    DetectionRun.objects.filter(pk=run.pk).update(
        status=JobStatus.RUNNING,
        pages_total=10,
        pages_done=3,
        pages_failed=1,
        started_at=timezone.now() - timedelta(seconds=40),
    )
    run.refresh_from_db()

    progress = run_progress(run=run)

    assert (progress.pages_remaining, progress.percent) == (6, 40.0)
    assert progress.pages_per_second == pytest.approx(0.1, rel=0.05)
    assert progress.eta_seconds == pytest.approx(60, rel=0.05)


# A real model, end to end in one process.


@pytest.mark.realmodel
def test_res10_with_tiling_finds_the_faces_of_a_newspaper_page_in_canvas_pixels(document):
    from tests.support.synthetic_pages import newspaper_page

    pixels, truth = newspaper_page()
    page = add_scan_page(document, width=pixels.shape[1], height=pixels.shape[0], pixels=pixels)

    run = detect(document=document, detector="res10", tiling=True)

    assert run.status == JobStatus.DONE, run.page_tasks.get().error
    found = [Detection.from_xywh(*face.as_box(), face.confidence) for face in Face.objects.filter(page=page)]
    matched = [box for box in truth if any(Detection.from_xywh(*box, 1.0).iou(f) >= 0.4 for f in found)]
    assert len(matched) >= 10, f"{len(matched)} of {len(truth)} faces found: {found}"
    assert len(found) <= len(truth) + 2
    assert Face.objects.filter(page=page, source="res10@res10_300x300_ssd_iter_140000").count() == len(found)


@pytest.mark.realmodel
def test_a_run_detects_with_the_workers_threads_which_are_not_a_run_parameter(scanned_document, settings):
    settings.DETECTION_THREADS = 2
    run = run_create(user=None, document=scanned_document, detector="centerface", enqueue=False)

    assert run_detector(run)._session.get_session_options().intra_op_num_threads == 2
    assert "threads" not in run.params
