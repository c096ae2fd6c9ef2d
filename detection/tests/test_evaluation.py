"""Evaluation on generated corpora: stored runs, a detector run afresh, and the `evaluate` command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from annotations.models import Face, FaceStatus, ReviewStatus
from annotations.services import (
    FacePrediction,
    face_accept,
    face_create,
    face_reject,
    face_update,
    faces_store_predictions,
)
from detection.inference.types import Detection
from detection.model_loop.evaluation import (
    evaluation_for_detector,
    evaluation_for_run,
    latest_run_for_document,
    reviewed_pages,
)
from detection.models import DetectionRun, PageDetection
from detection.tests.factories import add_scan_page
from tests.support.model_loop_pages import curated_page
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


def finished_run(document, pages, *, at):
    """A done run over these pages, each page finished `at`."""
    run = DetectionRun.objects.create(
        corpus=document.corpus,
        document=document,
        detector="res10",
        attribute_model="fake-age-gender",
        params={"threshold": 0.5},
        status=JobStatus.DONE,
        pages_total=len(pages),
        pages_done=len(pages),
    )
    for page in pages:
        PageDetection.objects.create(run=run, page=page, status=JobStatus.DONE, finished_at=at)
    return run


def store(page, run, boxes):
    """Store a run's predictions on a page at once (each store replaces the page's untouched predictions)."""
    faces_store_predictions(page=page, predictions=boxes, source="res10@test", detection_run_id=run.pk)
    return {face.confidence: face for face in Face.objects.filter(page=page, detection_run=run)}


@pytest.fixture
def curated_run(document, alice):
    """A run on three pages, curated by hand; see the test for the expected numbers."""
    p1 = add_scan_page(document, width=2000, height=1500)
    p2 = add_scan_page(document, width=2000, height=1500)
    p3 = add_scan_page(document, width=2000, height=1500)
    stored_at = timezone.now() - timedelta(days=1)
    # On p2 a curator had accepted a face (from an older run) before this run stored its boxes.
    earlier = Face.objects.create(page=p2, x=1500, y=1000, w=100, h=100, status=FaceStatus.ACCEPTED, confidence=0.9)
    Face.objects.filter(pk=earlier.pk).update(created_at=stored_at - timedelta(days=1))
    run = finished_run(document, [p1, p2, p3], at=stored_at)
    p1_faces = store(
        p1,
        run,
        [
            FacePrediction(x=100, y=100, w=100, h=100, confidence=0.9, gender="female", age=30.0),
            FacePrediction(x=400, y=100, w=100, h=100, confidence=0.8, gender="male"),
            FacePrediction(x=700, y=100, w=100, h=100, confidence=0.7, gender="female"),
            FacePrediction(x=1000, y=100, w=100, h=100, confidence=0.6, gender="female"),
        ],
    )
    face_accept(face=p1_faces[0.8], user=alice)
    face_reject(face=p1_faces[0.7], user=alice)
    # The curator moved this box far away: the run's box missed, and the real face was missed too.
    face_update(face=p1_faces[0.6], user=alice, expected_version=1, data={"x": 1000, "y": 800})
    face_create(page=p1, user=alice, x=1500, y=100, w=100, h=100, gender="male")
    p2_faces = store(p2, run, [FacePrediction(x=100, y=100, w=100, h=100, confidence=0.95, gender="female", age=30.0)])
    face_update(face=p2_faces[0.95], user=alice, expected_version=1, data={"gender": "male", "age": 50.0})
    store(p3, run, [FacePrediction(x=100, y=100, w=100, h=100, confidence=0.99)])
    for page in (p1, p2):
        page.__class__.objects.filter(pk=page.pk).update(review_status=ReviewStatus.REVIEWED)
    return run


def test_a_stored_run_is_scored_against_curated_faces_as_computed_by_hand(curated_run, document):
    # Truth: p1 A, B, D (moved), E (added); p2 F. p2's earlier accepted face is left out; p3 is unreviewed.
    # Boxes by score: F .95 hit, A .9 hit, B .8 hit, C .7 rejected, D .6 (original place) miss.
    faces_before = Face.objects.count()

    result = evaluation_for_run(run=curated_run)
    report = result.report

    assert result.pages == 2 and result.ignored_truths == 1
    assert (report.truths, report.predictions) == (5, 5)
    assert (report.true_positives, report.false_positives, report.false_negatives) == (3, 2, 2)
    assert report.precision == pytest.approx(0.6) and report.recall == pytest.approx(0.6)
    # Recall climbs to 0.6 at precision 1, never higher: 61 of the 101 recall levels.
    assert report.ap50 == pytest.approx(61 / 101)
    # Gender: A right, B right, F wrong (predicted female, curated male). Age: A 0, F 20 years off.
    assert result.attributes.gender_faces == 3
    assert result.attributes.gender_accuracy == pytest.approx(2 / 3)
    assert result.attributes.age_mae == pytest.approx(10.0)
    assert Face.objects.count() == faces_before


def test_a_page_detected_again_by_a_later_run_no_longer_counts_for_the_earlier_run(curated_run, document):
    later = finished_run(document, list(document.pages.order_by("order")[:1]), at=timezone.now())

    result = evaluation_for_run(run=curated_run)

    assert result.pages == 1
    assert latest_run_for_document(document=document) == later


def test_the_evaluation_serialises_with_a_sweep_and_threshold_suggestions(curated_run):
    data = evaluation_for_run(run=curated_run).as_dict()

    assert data["detection"]["ap50"] == pytest.approx(61 / 101)
    assert [point["threshold"] for point in data["sweep"]] == [0.95, 0.9, 0.8, 0.7, 0.6]
    assert data["suggested_thresholds"][-1] == {"target_precision": 0.95, "threshold": 0.8, "recall": 0.6}
    assert {bucket["name"] for bucket in data["by_size"]} == {"small", "medium", "large"}


def test_a_detector_run_afresh_is_scored_without_writing_faces(fake_models, document, alice):
    page = add_scan_page(document, width=1000, height=800)
    face_create(page=page, user=alice, x=100, y=100, w=80, h=80)
    face_create(page=page, user=alice, x=500, y=300, w=60, h=60)
    page.__class__.objects.filter(pk=page.pk).update(review_status=ReviewStatus.REVIEWED)
    fake_models.detector.boxes = [
        Detection.from_xywh(100, 100, 80, 80, 0.9),
        Detection.from_xywh(700, 500, 60, 60, 0.4),
        Detection.from_xywh(105, 100, 80, 80, 0.3),
    ]
    faces_before = Face.objects.count()

    result = evaluation_for_detector(pages=reviewed_pages(document=document), detector="fake")

    report = result.report
    assert result.threshold == 0.5 and result.source == "fresh"
    assert (report.true_positives, report.false_positives, report.false_negatives) == (1, 0, 1)
    assert report.precision == 1.0 and report.recall == 0.5
    # The sweep goes below the operating threshold: hit at .9, then two misses.
    assert [round(p.threshold, 2) for p in report.sweep] == [0.9, 0.4, 0.3]
    assert report.ap50 == pytest.approx(51 / 101)
    assert Face.objects.count() == faces_before
    assert fake_models.detector.score_threshold == 0.1


def test_the_command_prints_precision_recall_and_ap_for_the_latest_run(curated_run, document):
    out = StringIO()

    call_command("evaluate", document=document.pk, stdout=out)

    text = out.getvalue()
    assert f"run {curated_run.pk}" in text
    assert "precision 0.600 recall 0.600 AP@0.5 0.604" in text.splitlines()[-1]
    assert "threshold for precision >= 0.95: 0.800" in text


def test_the_command_runs_a_detector_afresh(fake_models, document, alice):
    page = add_scan_page(document, width=1000, height=800)
    face_create(page=page, user=alice, x=100, y=100, w=80, h=80)
    page.__class__.objects.filter(pk=page.pk).update(review_status=ReviewStatus.REVIEWED)
    fake_models.detector.boxes = [Detection.from_xywh(100, 100, 80, 80, 0.9)]
    out = StringIO()

    call_command("evaluate", document=document.pk, detector="fake", stdout=out, stderr=StringIO())

    assert "precision 1.000 recall 1.000 AP@0.5 1.000" in out.getvalue()


def test_the_command_refuses_a_document_without_reviewed_pages(document):
    add_scan_page(document, width=1000, height=800)

    with pytest.raises(CommandError, match="no reviewed page"):
        call_command("evaluate", document=document.pk)


def test_the_command_refuses_an_unknown_detector(document, alice):
    page = add_scan_page(document, width=1000, height=800)
    page.__class__.objects.filter(pk=page.pk).update(review_status=ReviewStatus.REVIEWED)

    with pytest.raises(CommandError, match="Unknown detector"):
        call_command("evaluate", document=document.pk, detector="yolo")


@pytest.mark.realmodel
def test_res10_on_generated_pages_finds_every_face_and_the_ornaments_cost_precision(document, alice):
    # Two 900x1200 pages, 5 photos of faces and 4 face-like ornaments each (all ornaments rejected).
    for seed in (0, 1):
        generated = curated_page(seed, width=900, height=1200, face_sizes=(50, 90))
        page = add_scan_page(document, width=900, height=1200, pixels=generated.pixels)
        for face in generated.faces:
            face_create(page=page, user=alice, x=face.x, y=face.y, w=face.w, h=face.h, gender=face.gender)
        page.__class__.objects.filter(pk=page.pk).update(review_status=ReviewStatus.REVIEWED)

    result = evaluation_for_detector(pages=reviewed_pages(document=document), detector="res10")

    report = result.report
    assert report.truths == 10
    assert report.recall == 1.0
    # The ornaments score 0.6 to 0.97, below the faces: they cost precision, not AP.
    assert 0.4 < report.precision < 0.8
    assert report.ap50 > 0.95
    assert result.report.suggest_threshold(0.95).threshold > 0.9


def test_an_earlier_runs_evaluation_is_unchanged_after_a_later_run_on_the_same_pages(fake_models, document, alice):
    from detection.services import run_create, run_execute

    page = add_scan_page(document, width=1000, height=800)
    # Two faces; the fake detector finds one (0.9), a false alarm (0.6) and, below the run's
    # threshold of 0.5, the other face (0.3): kept only as a raw prediction.
    fake_models.detector.boxes = [
        Detection.from_xywh(100, 100, 80, 80, 0.9),
        Detection.from_xywh(500, 100, 80, 80, 0.6),
        Detection.from_xywh(300, 400, 80, 80, 0.3),
    ]
    first = run_execute(run=run_create(user=alice, document=document, detector="fake", threshold=0.5, enqueue=False))
    stored = {face.confidence: face for face in Face.objects.filter(detection_run=first)}
    assert set(stored) == {0.9, 0.6}
    face_accept(face=stored[0.9], user=alice)
    face_reject(face=stored[0.6], user=alice)
    face_create(page=page, user=alice, x=300, y=400, w=80, h=80)
    page.__class__.objects.filter(pk=page.pk).update(review_status=ReviewStatus.REVIEWED)
    before = evaluation_for_run(run=first).as_dict()

    fake_models.detector.boxes = [Detection.from_xywh(700, 500, 80, 80, 0.95)]
    later = run_execute(run=run_create(user=alice, document=document, detector="fake", threshold=0.5, enqueue=False))
    after = evaluation_for_run(run=first).as_dict()

    assert latest_run_for_document(document=document) == later
    assert before["pages"] == 1 and before["detection"]["truths"] == 2
    assert (before["detection"]["true_positives"], before["detection"]["false_positives"]) == (1, 1)
    # The sweep reaches below the run's threshold: at 0.3 both faces are found.
    assert [point["threshold"] for point in before["sweep"]] == [0.9, 0.6, 0.3]
    assert before["sweep"][-1]["recall"] == 1.0
    assert after == before
    assert evaluation_for_run(run=later).as_dict()["detection"]["false_positives"] == 1


def test_the_evaluation_reports_the_gender_confusion_matrix_of_matched_faces(curated_run):
    # A female -> female, B male -> male, F curated male but predicted female.
    attributes = evaluation_for_run(run=curated_run).as_dict()["attributes"]

    gender = attributes["confusion"]["gender"]
    assert list(gender["classes"]) == ["female", "male", "unknown"]
    assert [figures["row"] for figures in gender["per_class"]] == [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    assert [figures["precision"] for figures in gender["per_class"]] == [0.5, 1.0, None]
    assert attributes["confusion"]["other_sex_rate"] == {"female": 0.0, "male": 0.5, "overall": pytest.approx(1 / 3)}


def test_the_command_prints_the_confusion_matrices(curated_run, document):
    out = StringIO()

    call_command("evaluate", document=document.pk, stdout=out)

    lines = out.getvalue().splitlines()
    assert "female                        1        0        0    1.000" in lines
    assert "male                          1        1        0    0.500" in lines
    assert "labelled as the other sex: female 0.000, male 0.500, overall 0.333" in lines


def test_the_run_page_shows_the_confusion_matrices(curated_run, client, alice):
    client.force_login(alice)

    response = client.get(f"/runs/{curated_run.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="confusion-gender"' in html and 'id="confusion-child"' in html
    assert (
        '<th scope="row">male</th><td class="num">1</td><td class="num">1</td><td class="num">0</td>'
        '<td class="num">0.500</td>'
    ) in html
    assert "overall 0.333" in html
