"""How good the models are on this corpus: detections compared with curated faces on reviewed pages.

Only pages marked reviewed are compared, and rejected boxes are never truth. Nothing here writes a face.

Two ways to evaluate:
- a stored run (`evaluation_for_run`). A run keeps its raw predictions per page (every box down to
  its evaluation floor, `PageDetection.predictions`); those are compared with the faces curated by
  status (accepted, edited, added) on every reviewed page the run finished. Neither changes when a
  later run detects on the same pages, so the evaluation can be recomputed at any time.
  Runs made before raw predictions were kept are read as before: the boxes the run stored, as
  they were before any curator changed them (the first revision's `before` snapshot), on the
  reviewed pages where this run is the latest finished detection, truth being every visible face
  (a prediction left untouched was accepted by omission) except those curated before the run.
- a detector run afresh on the pages in memory (`evaluation_for_detector`), through the same
  pipeline as a run (derivative, tiling, plausibility filter), down to a low score floor so the
  threshold sweep can suggest thresholds below the detector's default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db.models import Max, QuerySet

from annotations.iiif.messages import Message, MessageError, gettext_noop
from annotations.iiif_server.imaging import page_derivative
from annotations.models import Document, Face, FaceRevision, FaceStatus, Page, ReviewStatus
from detection.errors import DetectionRefused
from detection.inference.metrics import (
    EVALUATION_FLOOR,
    AttributePair,
    AttributeReport,
    DetectionReport,
    attribute_metrics,
    evaluate_detections,
)
from detection.inference.registry import DETECTORS, get_attribute_model
from detection.inference.types import Detection
from detection.models import DetectionRun, PageDetection
from webapp.jobs import JobStatus
from webapp.messages import message_as_json, message_render, message_translated

# Precision targets the threshold suggestions are given for.
PRECISION_TARGETS = (0.8, 0.9, 0.95)
# Fresh evaluations (and runs) keep boxes down to this score, so the sweep covers thresholds below the default.
SCORE_FLOOR = EVALUATION_FLOOR


class EvaluationRefused(MessageError):
    """Nothing to evaluate, or an unknown model; the message is meant for the user (translated where read)."""


@dataclass(frozen=True)
class PageBoxes:
    """One reviewed page: the predictions (with their attributes) and the curated truth, in canvas pixels."""

    page_id: int
    predictions: list[Detection]
    predicted_attributes: list[dict]
    truths: list[Detection]
    truth_attributes: list[dict]
    ignored_truths: int = 0


@dataclass
class Evaluation:
    """An evaluation's scope and its numbers, ready to print or serialise."""

    detector: str
    threshold: float
    source: str  # "run" or "fresh"
    pages: int
    report: DetectionReport
    attributes: AttributeReport | None
    run_id: int | None = None
    document_id: int | None = None
    ignored_truths: int = 0
    attribute_model: str = ""
    # What a reader should know about the figures: messages, rendered in the reader's language.
    notes: list[Message] = field(default_factory=list)

    def suggestions(self) -> list[dict]:
        """For each precision target, the lowest threshold reaching it and the recall there."""
        rows = []
        for target in PRECISION_TARGETS:
            point = self.report.suggest_threshold(target)
            rows.append(
                {
                    "target_precision": target,
                    "threshold": None if point is None else point.threshold,
                    "recall": None if point is None else point.recall,
                }
            )
        return rows

    def as_dict(self, *, stored: bool = False) -> dict:
        """A JSON-ready form (the API's and the run page's), notes in the active language; `stored`: the
        notes as messages (`message_as_json`), for a job's result rendered when read (`result_rendered`)."""
        report = self.report
        best = report.best_f1()
        return {
            "source": self.source,
            "run": self.run_id,
            "document": self.document_id,
            "detector": self.detector,
            "attribute_model": self.attribute_model,
            "threshold": self.threshold,
            "pages": self.pages,
            "ignored_truths": self.ignored_truths,
            "detection": {
                "truths": report.truths,
                "predictions": report.predictions,
                "true_positives": report.true_positives,
                "false_positives": report.false_positives,
                "false_negatives": report.false_negatives,
                "precision": report.precision,
                "recall": report.recall,
                "f1": report.f1,
                "ap50": report.ap50,
                "ap50_95": report.ap50_95,
            },
            "by_size": [asdict(bucket) for bucket in report.by_size],
            "sweep": [asdict(point) for point in report.sweep],
            "suggested_thresholds": self.suggestions(),
            "best_f1": None if best is None else asdict(best),
            "attributes": None if self.attributes is None else asdict(self.attributes),
            "notes": [message_as_json(note) if stored else message_translated(note) for note in self.notes],
        }


def result_rendered(result: dict) -> dict:
    """A stored evaluation (`as_dict(stored=True)`) with its notes in the active language; notes stored as
    text by earlier versions stay as they are."""
    notes = result.get("notes")
    if not isinstance(notes, list):
        return result
    return {
        **result,
        "notes": [message_render(note, fallback=str(note)) if isinstance(note, dict) else note for note in notes],
    }


def reviewed_pages(*, document: Document | None = None, corpus_id: int | None = None) -> QuerySet[Page]:
    """The reviewed pages of a document or corpus, in document order."""
    pages = Page.objects.filter(review_status=ReviewStatus.REVIEWED)
    if document is not None:
        pages = pages.filter(document=document)
    if corpus_id is not None:
        pages = pages.filter(document__corpus_id=corpus_id)
    return pages.order_by("document_id", "order", "pk")


def _box(x: float, y: float, w: float, h: float, score: float = 1.0) -> Detection:
    return Detection.from_xywh(x, y, w, h, min(max(score, 0.0), 1.0))


def _attributes(state: dict | Face) -> dict:
    get = state.get if isinstance(state, dict) else lambda name: getattr(state, name)
    return {"gender": get("gender"), "age": get("age"), "child": get("child")}


def _truths(page_ids: Iterable[int]) -> dict[int, list[Face]]:
    by_page: dict[int, list[Face]] = {}
    for face in Face.objects.filter(page_id__in=list(page_ids)).visible().order_by("page_id", "id"):
        by_page.setdefault(face.page_id, []).append(face)
    return by_page


def latest_run_for_document(*, document: Document) -> DetectionRun | None:
    """The most recent run that finished at least one page of the document."""
    run_id = (
        PageDetection.objects.filter(page__document=document, status=JobStatus.DONE)
        .order_by("-finished_at", "-run_id")
        .values_list("run_id", flat=True)
        .first()
    )
    return DetectionRun.objects.filter(pk=run_id).first() if run_id else None


def run_page_boxes(*, run: DetectionRun, document: Document | None = None) -> list[PageBoxes]:
    """The run's reviewed pages with its predictions and their curated truth.

    A run that kept its raw predictions is read from them, on every reviewed page it finished;
    an older run from the faces it stored, on the pages where it is still the latest detection.
    """
    done = PageDetection.objects.filter(run=run, status=JobStatus.DONE, page__review_status=ReviewStatus.REVIEWED)
    if document is not None:
        done = done.filter(page__document=document)
    if done.filter(predictions__isnull=False).exists():
        return _kept_page_boxes(done.filter(predictions__isnull=False))
    stored_at = dict(done.values_list("page_id", "finished_at"))
    if not stored_at:
        return []
    # A later run on the page replaced this run's untouched boxes: that page no longer tells about this run.
    latest = dict(
        PageDetection.objects.filter(page_id__in=list(stored_at), status=JobStatus.DONE)
        .values("page_id")
        .annotate(last=Max("finished_at"))
        .values_list("page_id", "last")
    )
    page_ids = [page_id for page_id, at in stored_at.items() if latest.get(page_id) == at]
    faces = list(Face.objects.filter(page_id__in=page_ids).order_by("page_id", "id"))
    run_face_ids = [face.pk for face in faces if face.detection_run_id == run.pk]
    originals: dict[int, dict] = {}
    for revision in FaceRevision.objects.filter(face_id__in=run_face_ids).order_by("created_at", "id"):
        originals.setdefault(revision.face_id, revision.before or {})
    pages = []
    for page_id in page_ids:
        predictions, predicted_attributes, truths, truth_attributes = [], [], [], []
        ignored = 0
        for face in (f for f in faces if f.page_id == page_id):
            if face.detection_run_id == run.pk:
                stored = originals.get(face.pk) or face.snapshot()
                predictions.append(
                    _box(stored["x"], stored["y"], stored["w"], stored["h"], stored.get("confidence", face.confidence))
                )
                predicted_attributes.append(_attributes(stored))
            if face.status == FaceStatus.REJECTED:
                continue
            if face.detection_run_id != run.pk and face.created_at < stored_at[page_id]:
                ignored += 1
                continue
            truths.append(_box(face.x, face.y, face.w, face.h))
            truth_attributes.append(_attributes(face))
        pages.append(PageBoxes(page_id, predictions, predicted_attributes, truths, truth_attributes, ignored))
    return pages


def _kept_page_boxes(done: QuerySet[PageDetection]) -> list[PageBoxes]:
    """Pages from a run's kept raw predictions against the faces curated by status.

    Neither a later run nor the boxes stored as faces change what is read here: the truth is the
    accepted, edited and added faces (a later run never replaces those), and the predictions are
    the run's own record, so the evaluation can be recomputed at any time.
    """
    kept = dict(done.order_by("page_id").values_list("page_id", "predictions"))
    truths: dict[int, list[Face]] = {}
    for face in Face.objects.filter(page_id__in=list(kept)).curated_by_status().order_by("page_id", "id"):
        truths.setdefault(face.page_id, []).append(face)
    pages = []
    for page_id, raw in kept.items():
        curated = truths.get(page_id, [])
        pages.append(
            PageBoxes(
                page_id=page_id,
                predictions=[_box(box["x"], box["y"], box["w"], box["h"], box["score"]) for box in raw],
                predicted_attributes=[_attributes(box) for box in raw],
                truths=[_box(face.x, face.y, face.w, face.h) for face in curated],
                truth_attributes=[_attributes(face) for face in curated],
            )
        )
    return pages


def evaluation_for_run(*, run: DetectionRun, document: Document | None = None) -> Evaluation:
    """Evaluate the boxes a run stored against the curated faces of its reviewed pages."""
    from detection.services import run_evaluation_floor

    pages = run_page_boxes(run=run, document=document)
    threshold = float(run.params.get("threshold", 0.0))
    evaluation = _evaluate(
        pages,
        detector=run.detector,
        threshold=threshold,
        source="run",
        attribute_model=run.attribute_model,
        with_attributes=bool(run.attribute_model),
    )
    evaluation.run_id = run.pk
    evaluation.document_id = document.pk if document is not None else run.document_id
    if "evaluation_floor" in run.params:
        floor = run_evaluation_floor(run)
        if not pages:
            evaluation.notes.append(Message(gettext_noop("No page of this run is reviewed yet: nothing to compare.")))
        evaluation.notes.append(
            Message(
                gettext_noop(
                    "Read from the run's kept predictions (scores down to %(floor)s) against the accepted, edited "
                    "and added faces: later runs on these pages do not change it."
                ),
                {"floor": float(floor)},
            )
        )
        return evaluation
    if not pages:
        evaluation.notes.append(
            Message(gettext_noop("No reviewed page has this run as its latest detection: nothing to compare."))
        )
    evaluation.notes.append(
        Message(
            gettext_noop("The sweep starts at the run's threshold (%(threshold)s): lower scores were not stored."),
            {"threshold": float(threshold)},
        )
    )
    return evaluation


def evaluation_check(*, detector: str, attribute_model: str = "", user=None) -> None:
    """Raise EvaluationRefused unless the registry knows these models and `user` may use them (no model is loaded).

    The check of a detection run: a model trained on a corpus `user` may not see is an unknown name.
    `user` None (the command line, a worker doing a job already checked) may use any model.
    """
    from detection.services import requested_model_specs

    try:
        requested_model_specs(user=user, detector=detector, attribute_model=attribute_model)
    except DetectionRefused as exc:
        raise EvaluationRefused(exc.template, **exc.params) from exc


def evaluation_for_detector(
    *,
    pages: Iterable[Page],
    detector: str,
    threshold: float | None = None,
    attribute_model: str = "",
    tiling: bool | None = None,
    progress: Callable[[int, Page], None] | None = None,
) -> Evaluation:
    """Run a registry detector (and optionally an age/gender model) afresh on reviewed pages, in memory."""
    from detection.services import PipelineParams, detector_down_to, page_predictions

    evaluation_check(detector=detector, attribute_model=attribute_model)
    spec = DETECTORS[detector]
    operating = float(spec.default_params.get("score_threshold", 0.5)) if threshold is None else threshold
    floor = min(SCORE_FLOOR, operating)
    model = detector_down_to(detector, floor)
    attributes = get_attribute_model(attribute_model) if attribute_model else None
    params = PipelineParams(
        threshold=floor,
        tiling=spec.tiling_default if tiling is None else tiling,
        tile_size=settings.DETECTION_TILE_SIZE,
        overlap=settings.DETECTION_TILE_OVERLAP,
        max_face_share=settings.DETECTION_MAX_FACE_SHARE,
        min_face_size=settings.DETECTION_MIN_FACE_SIZE,
    )
    pages = list(pages)
    truths = _truths(page.pk for page in pages)
    boxes = []
    for index, page in enumerate(pages):
        derivative = page_derivative(page, max_size=settings.DETECTION_MAX_DERIVATIVE)
        found = page_predictions(derivative=derivative, detector=model, attribute_model=attributes, params=params)
        curated = truths.get(page.pk, [])
        boxes.append(
            PageBoxes(
                page_id=page.pk,
                predictions=[_box(p.x, p.y, p.w, p.h, p.confidence) for p in found.predictions],
                predicted_attributes=[_attributes(asdict(p)) for p in found.predictions],
                truths=[_box(face.x, face.y, face.w, face.h) for face in curated],
                truth_attributes=[_attributes(face) for face in curated],
            )
        )
        if progress is not None:
            progress(index + 1, page)
    evaluation = _evaluate(
        boxes,
        detector=detector,
        threshold=operating,
        source="fresh",
        attribute_model=attribute_model,
        with_attributes=attributes is not None,
    )
    evaluation.notes.append(
        Message(
            gettext_noop("Boxes down to score %(floor)s were kept for the sweep; nothing was stored."),
            {"floor": float(floor)},
        )
    )
    return evaluation


def _evaluate(
    pages: list[PageBoxes],
    *,
    detector: str,
    threshold: float,
    source: str,
    attribute_model: str,
    with_attributes: bool,
) -> Evaluation:
    ranking = evaluate_detections([(page.predictions, page.truths) for page in pages])
    operating = evaluate_detections([(page.predictions, page.truths) for page in pages], score_threshold=threshold)
    # The operating point's counts, with AP and the sweep read from the whole ranking.
    report = DetectionReport(
        **{
            **_fields(operating),
            "ap50": ranking.ap50,
            "ap50_95": ranking.ap50_95,
            "sweep": ranking.sweep,
            "by_size": operating.by_size,
        }
    )
    attributes = attribute_metrics(_attribute_pairs(pages, operating, threshold)) if with_attributes else None
    return Evaluation(
        detector=detector,
        threshold=threshold,
        source=source,
        pages=len(pages),
        report=report,
        attributes=attributes,
        ignored_truths=sum(page.ignored_truths for page in pages),
        attribute_model=attribute_model,
    )


def _attribute_pairs(pages: list[PageBoxes], operating: DetectionReport, threshold: float) -> list[AttributePair]:
    """Curated and predicted attributes of the faces matched at the operating threshold."""
    pairs = []
    for page, matched in zip(pages, operating.matches, strict=True):
        # `matches` index the predictions kept at the threshold, in their original order.
        kept = [
            attributes
            for box, attributes in zip(page.predictions, page.predicted_attributes, strict=True)
            if box.score >= threshold
        ]
        for prediction_index, truth_index in matched:
            predicted, truth = kept[prediction_index], page.truth_attributes[truth_index]
            pairs.append(
                AttributePair(
                    truth_gender=truth["gender"],
                    predicted_gender=predicted["gender"],
                    truth_age=truth["age"],
                    predicted_age=predicted["age"],
                    truth_child=truth["child"],
                    predicted_child=predicted["child"],
                )
            )
    return pairs


def _fields(report: DetectionReport) -> dict:
    """The report's fields, without deep-copying its nested lists as `asdict` would."""
    return {name: getattr(report, name) for name in report.__dataclass_fields__}
