"""Detection runs: create and queue them, detect one page (claim, detect, store), cancel, retry.

A run owns one `PageDetection` per page. Page tasks claim their row with a conditional
UPDATE, so a duplicate delivery or a second worker finds nothing to do, and they finish
it with another UPDATE guarded by the same claim, so a page is counted once.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import requests
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Now
from django.utils import timezone
from django.utils.translation import gettext_noop

from annotations.iiif.fetch import RETRY_STATUSES, FetchError
from annotations.iiif.host_budget import HostBudgetUnavailable
from annotations.iiif.messages import Message, unexpected_error
from annotations.iiif_server.imaging import Derivative, ImageUnavailable, page_derivative
from annotations.models import Corpus, Document, Page
from annotations.services import FacePrediction, faces_store_predictions
from detection.errors import DetectionRefused, PageFetchRetry
from detection.inference.age_gender import AgeGenderModel
from detection.inference.detectors import FaceDetector
from detection.inference.metrics import EVALUATION_FLOOR
from detection.inference.registry import (
    ATTRIBUTE_MODELS,
    DETECTORS,
    ModelSpec,
    get_attribute_model,
    get_detector,
)
from detection.inference.tiling import plausible_faces
from detection.inference.turned import detect_turned, turned_page, upright
from detection.inference.types import AgeGender, Detection
from detection.model_loop.selectors import trained_model_names_hidden_from
from detection.models import DetectionRun, PageDetection
from webapp.jobs import (
    ACTIVE_STATUSES,
    DETECTION_RUN,
    PAGE_DETECTION,
    JobStatus,
    job_claim,
    job_fail,
    job_finish,
    job_release,
)
from webapp.messages import Translatable

logger = logging.getLogger(__name__)

# Page tasks queued per dispatch step; a bigger run re-queues the dispatcher for the rest.
DISPATCH_BATCH = 500
# A run's only error: stored as this msgid, translated when read (RunSerializer).
EVERY_PAGE_FAILED = gettext_noop("Every page failed; see the page errors")


@dataclass(frozen=True)
class PipelineParams:
    """How a run treats each page: threshold, tiling and the plausibility filter.

    `floor` is the lowest score kept as a raw prediction for evaluation (None: the threshold).
    """

    threshold: float
    tiling: bool
    tile_size: int
    overlap: float
    max_face_share: float
    min_face_size: int
    floor: float | None = None
    # Also read the page turned a quarter turn each way, for faces lying on their side (album pages).
    turned_faces: bool = False

    @classmethod
    def from_run(cls, run: DetectionRun) -> PipelineParams:
        params = run.params
        return cls(
            threshold=float(params["threshold"]),
            tiling=bool(params["tiling"]),
            tile_size=int(params.get("tile_size", settings.DETECTION_TILE_SIZE)),
            overlap=float(params.get("overlap", settings.DETECTION_TILE_OVERLAP)),
            max_face_share=float(params.get("max_face_share", settings.DETECTION_MAX_FACE_SHARE)),
            min_face_size=int(params.get("min_face_size", settings.DETECTION_MIN_FACE_SIZE)),
            floor=run_evaluation_floor(run),
            turned_faces=bool(params.get("turned_faces", False)),
        )

    @property
    def lowest_score(self) -> float:
        """The lowest score the detector must return: the floor, or the threshold when it is lower."""
        return self.threshold if self.floor is None else min(self.floor, self.threshold)


@dataclass(frozen=True)
class PagePredictions:
    """What the models found on one derivative, already in canvas pixels."""

    predictions: list[FacePrediction]
    detect_seconds: float
    attribute_seconds: float
    # Every plausible box down to the floor, for evaluation: {"x", "y", "w", "h", "score", "gender", "age", "child"}.
    raw: list[dict] = field(default_factory=list)

    @property
    def model_seconds(self) -> float:
        return self.detect_seconds + self.attribute_seconds


def model_source(spec: ModelSpec) -> str:
    """How faces record the model that made them: name@version."""
    return f"{spec.name}@{spec.version}"


def run_evaluation_floor(run: DetectionRun) -> float:
    """The lowest score a run keeps as a raw prediction (its threshold for runs made before floors)."""
    threshold = float(run.params["threshold"])
    return min(float(run.params.get("evaluation_floor", threshold)), threshold)


def _model_spec(registry: dict[str, ModelSpec], name: str, *, what: Message, hidden: set[str]) -> ModelSpec:
    """A registry model by name; models trained on corpora the requester may not see do not exist for them."""
    if name not in registry:
        # A model trained since this process started is in the database, not yet in the registry.
        from detection.model_loop.training import trained_models_register

        trained_models_register()
    if name not in registry or name in hidden:
        known = ", ".join(sorted(set(registry) - hidden))
        unknown = gettext_noop("Unknown %(what)s %(name)r; known: %(known)s")
        raise DetectionRefused(unknown, what=what, name=name, known=known)
    return registry[name]


def requested_model_specs(*, user, detector: str, attribute_model: str) -> tuple[ModelSpec, ModelSpec | None]:
    """The registry specs of the detector and age/gender model (None when blank) a requester names.

    DetectionRefused for a name the registry does not know, and for a model trained on a corpus
    `user` may not see, in the same words. `user` None (the command line) may name any model.
    """
    hidden = trained_model_names_hidden_from(user) if user is not None else set()
    detector_spec = _model_spec(DETECTORS, detector, what=Message(gettext_noop("detector")), hidden=hidden)
    attribute_spec = (
        _model_spec(ATTRIBUTE_MODELS, attribute_model, what=Message(gettext_noop("age/gender model")), hidden=hidden)
        if attribute_model
        else None
    )
    return detector_spec, attribute_spec


def _scope_pages(
    *, corpus: Corpus | None, document: Document | None, page_ids: list[int] | None
) -> tuple[Corpus, Document | None, QuerySet[Page]]:
    """The corpus, document (if one) and pages a run covers; exactly one scope must be given."""
    if sum(scope is not None for scope in (corpus, document, page_ids)) != 1:
        raise DetectionRefused(gettext_noop("Choose exactly one of a corpus, a document or a list of pages"))
    if document is not None:
        if document.import_status != JobStatus.DONE:
            raise DetectionRefused(gettext_noop("Document %(document)s is not imported yet"), document=document.pk)
        return document.corpus, document, Page.objects.filter(document=document)
    if corpus is not None:
        return corpus, None, Page.objects.filter(document__corpus=corpus)
    pages = Page.objects.filter(pk__in=set(page_ids or []))
    found = list(pages.values_list("document_id", "document__corpus_id").distinct())
    if not found or pages.count() != len(set(page_ids or [])):
        raise DetectionRefused(gettext_noop("Some of the pages do not exist"))
    corpora = {corpus_id for _doc, corpus_id in found}
    if len(corpora) != 1:
        raise DetectionRefused(gettext_noop("The pages of one run must belong to one corpus"))
    documents = {doc for doc, _corpus in found}
    document = Document.objects.get(pk=documents.pop()) if len(documents) == 1 else None
    return Corpus.objects.get(pk=corpora.pop()), document, pages


def run_create(
    *,
    user,
    corpus: Corpus | None = None,
    document: Document | None = None,
    page_ids: list[int] | None = None,
    detector: str | None = None,
    threshold: float | None = None,
    tiling: bool | None = None,
    attribute_model: str | None = None,
    max_face_share: float | None = None,
    turned_faces: bool = False,
    enqueue: bool = True,
) -> DetectionRun:
    """Create a run over a corpus, a document or chosen pages, and queue its pages after commit.

    Access is the caller's business (the API checks the curator role); this checks the scope
    and the parameters. `max_face_share` is the largest share of a page a face box may cover
    (the setting's default); `turned_faces` also reads each page turned a quarter turn each way, for faces
    lying on their side (three detector passes a page). `enqueue=False` leaves the pages for a foreground runner.
    """
    if not settings.DETECTION_ENABLED:
        raise DetectionRefused(gettext_noop("Face detection is disabled on this server (DETECTION_ENABLED is off)"))
    detector = detector or settings.DETECTION_DEFAULT_DETECTOR
    attribute_model = settings.DETECTION_DEFAULT_ATTRIBUTES if attribute_model is None else attribute_model
    detector_spec, attribute_spec = requested_model_specs(user=user, detector=detector, attribute_model=attribute_model)
    if threshold is None:
        threshold = float(detector_spec.default_params.get("score_threshold", 0.5))
    if not 0.0 <= threshold <= 1.0:
        raise DetectionRefused(
            gettext_noop("The threshold must be between 0 and 1, got %(threshold)s"), threshold=threshold
        )
    if max_face_share is None:
        max_face_share = settings.DETECTION_MAX_FACE_SHARE
    if not 0.0 < max_face_share <= 1.0:
        raise DetectionRefused(
            gettext_noop("The largest face share must be above 0 and at most 1, got %(share)s"), share=max_face_share
        )
    corpus, document, pages = _scope_pages(corpus=corpus, document=document, page_ids=page_ids)
    params = {
        "threshold": threshold,
        "tiling": detector_spec.tiling_default if tiling is None else tiling,
        "tile_size": settings.DETECTION_TILE_SIZE,
        "overlap": settings.DETECTION_TILE_OVERLAP,
        "max_face_share": max_face_share,
        "turned_faces": turned_faces,
        "min_face_size": settings.DETECTION_MIN_FACE_SIZE,
        "max_derivative": settings.DETECTION_MAX_DERIVATIVE,
        # Raw boxes down to this score are kept per page, so the run can be evaluated at any time.
        "evaluation_floor": min(EVALUATION_FLOOR, threshold),
    }
    versions = {"detector": model_source(detector_spec)}
    if attribute_spec is not None:
        versions["attributes"] = model_source(attribute_spec)
    with transaction.atomic():
        run = DetectionRun.objects.create(
            corpus=corpus,
            document=document,
            detector=detector,
            attribute_model=attribute_model,
            params=params,
            model_versions=versions,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        created = PageDetection.objects.bulk_create(
            (PageDetection(run=run, page_id=page_id) for page_id in pages.order_by("pk").values_list("pk", flat=True)),
            batch_size=1000,
        )
        if not created:
            raise DetectionRefused(gettext_noop("There are no pages to detect faces on"))
        DetectionRun.objects.filter(pk=run.pk).update(pages_total=len(created))
        if enqueue:
            transaction.on_commit(lambda: run_dispatch(run_id=run.pk))
    run.refresh_from_db()
    return run


def run_dispatch(*, run_id: int, after_id: int = 0) -> int:
    """Queue the run's pending page tasks after `after_id`, one batch; re-queue itself for the rest."""
    from detection.tasks import detect_page_task, run_dispatch_task

    if not DetectionRun.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES).exists():
        return 0
    ids = list(
        PageDetection.objects.filter(run_id=run_id, status=JobStatus.PENDING, pk__gt=after_id)
        .order_by("pk")
        .values_list("pk", flat=True)[:DISPATCH_BATCH]
    )
    for page_detection_id in ids:
        detect_page_task.delay_on_commit(page_detection_id)
    if len(ids) == DISPATCH_BATCH:
        run_dispatch_task.delay_on_commit(run_id, ids[-1])
    return len(ids)


def page_predictions(
    *,
    derivative: Derivative,
    detector: FaceDetector,
    attribute_model: AgeGenderModel | None,
    params: PipelineParams,
) -> PagePredictions:
    """Detect faces on a page derivative, drop implausible boxes, read age/gender, map to canvas."""
    image = derivative.image
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    started = time.perf_counter()
    if params.turned_faces:
        found = detect_turned(lambda page: _plausible_faces(detector, page, params), rgb)
    else:
        found = upright(_plausible_faces(detector, rgb, params))
    detect_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predictions, raw = [], []
    # A face found on the page turned is read where it stands upright.
    readings = {0: rgb}
    for face in found:
        # Age and gender are read only for the boxes the run stores as faces.
        kept = face.box.score >= params.threshold
        reading = None
        if kept and attribute_model is not None:
            if face.turns not in readings:
                readings[face.turns] = turned_page(rgb, face.turns)
            reading = attribute_model.predict(readings[face.turns], face.upright)
        prediction = _prediction(face.box, derivative, reading)
        if kept:
            predictions.append(prediction)
        raw.append(
            {
                "x": prediction.x,
                "y": prediction.y,
                "w": prediction.w,
                "h": prediction.h,
                "score": round(float(face.box.score), 6),
                "gender": prediction.gender,
                "age": prediction.age,
                "child": prediction.child,
            }
        )
    return PagePredictions(predictions, detect_seconds, time.perf_counter() - started, raw=raw)


def _plausible_faces(detector: FaceDetector, rgb: np.ndarray, params: PipelineParams) -> list[Detection]:
    """The run's detector pass over an image: its plausible boxes, from the lowest score the run keeps."""
    return plausible_faces(
        detector,
        rgb,
        tiling=params.tiling,
        tile_size=params.tile_size,
        overlap=params.overlap,
        max_area_share=params.max_face_share,
        min_size=params.min_face_size,
        lowest_score=params.lowest_score,
    )


def _prediction(det: Detection, derivative: Derivative, attributes: AgeGender | None) -> FacePrediction:
    x, y, w, h = det.scaled(derivative.scale_x, derivative.scale_y).to_xywh()
    if attributes is None:
        return FacePrediction(x=x, y=y, w=w, h=h, confidence=det.score)
    return FacePrediction(
        x=x,
        y=y,
        w=w,
        h=h,
        confidence=det.score,
        age=attributes.age,
        age_confidence=attributes.age_confidence,
        gender=attributes.gender,
        gender_confidence=attributes.gender_confidence,
        child=attributes.child,
    )


def run_detector(run: DetectionRun) -> FaceDetector:
    """The run's detector, built once per worker process for the run's threshold."""
    _model_spec(DETECTORS, run.detector, what="detector", hidden=set())
    # Down to the evaluation floor: the boxes between it and the threshold are kept as raw predictions only.
    return detector_down_to(run.detector, run_evaluation_floor(run))


def detector_down_to(name: str, floor: float) -> FaceDetector:
    """A registry detector keeping boxes down to `floor` (when it has a threshold), with the cores this
    worker gives one detection (DETECTION_THREADS)."""
    params = {"score_threshold": floor} if "score_threshold" in DETECTORS[name].default_params else {}
    return get_detector(name, threads=settings.DETECTION_THREADS, **params)


def run_attribute_model(run: DetectionRun) -> AgeGenderModel | None:
    """The run's age/gender model (None when the run skips attributes), built once per process."""
    if not run.attribute_model:
        return None
    spec = _model_spec(ATTRIBUTE_MODELS, run.attribute_model, what="age/gender model", hidden=set())
    params = {"child_age": float(settings.DETECTION_CHILD_AGE)} if "child_age" in spec.default_params else {}
    return get_attribute_model(run.attribute_model, **params)


def _is_transient(exc: ImageUnavailable) -> bool:
    """Rate limits, server errors, network trouble and an unreachable host budget pass; 403, 404 and bad images
    do not."""
    cause = exc.__cause__
    if not isinstance(cause, FetchError):
        return False
    if cause.status is not None:
        return cause.status in RETRY_STATUSES
    return isinstance(cause.__cause__, requests.RequestException | socket.gaierror | HostBudgetUnavailable)


class _ClaimLost(Exception):
    """Another worker reclaimed the page while this one was working: drop this result."""


def page_detect(
    *,
    page_detection_id: int,
    detector: FaceDetector | None = None,
    attribute_model: AgeGenderModel | None = None,
    final_attempt: bool = True,
) -> PageDetection | None:
    """Claim one page of a run, detect its faces and store them; None when there was nothing to claim.

    A transient fetch error releases the claim and raises PageFetchRetry, unless this is the
    final attempt; any other failure marks the page failed with its error.
    """
    started = time.perf_counter()
    now = job_claim(
        PAGE_DETECTION, page_detection_id, attempts=F("attempts") + 1, started_at=Coalesce("started_at", Now())
    )
    if now is None:
        logger.info("page detection %s: nothing to claim (done, cancelled, missing or running)", page_detection_id)
        return None
    task = PageDetection.objects.select_related("run", "page").get(pk=page_detection_id)
    run = task.run
    job_claim(DETECTION_RUN, run.pk)
    try:
        max_size = int(run.params.get("max_derivative") or settings.DETECTION_MAX_DERIVATIVE)
        derivative = page_derivative(task.page, max_size=max_size)
    except ImageUnavailable as exc:
        if _is_transient(exc) and not final_attempt:
            retrying = Message(gettext_noop("Retrying: %(reason)s"), {"reason": exc})
            job_release(PAGE_DETECTION, task.pk, claimed_at=now, **PAGE_DETECTION.error_values(retrying))
            raise PageFetchRetry(str(exc)) from exc
        return _page_fail(task, claimed_at=now, error=exc)
    try:
        found = page_predictions(
            derivative=derivative,
            detector=detector or run_detector(run),
            attribute_model=attribute_model if attribute_model is not None else run_attribute_model(run),
            params=PipelineParams.from_run(run),
        )
    except SoftTimeLimitExceeded:
        # The task turns this into a failed page with a clear message.
        raise
    except Exception as exc:
        logger.exception("page detection %s: the model failed", page_detection_id)
        return _page_fail(task, claimed_at=now, error=unexpected_error(exc))
    try:
        with transaction.atomic():
            faces = faces_store_predictions(
                page=task.page,
                predictions=found.predictions,
                source=run.model_versions["detector"],
                detection_run_id=run.pk,
            )
            finished = job_finish(
                PAGE_DETECTION,
                task.pk,
                claimed_at=now,
                faces_found=len(faces),
                model_seconds=found.model_seconds,
                total_seconds=time.perf_counter() - started,
                derivative_scale=derivative.scale_x,
                predictions=found.raw,
            )
            if not finished:
                raise _ClaimLost
            DetectionRun.objects.filter(pk=run.pk).update(
                pages_done=F("pages_done") + 1, faces_found=F("faces_found") + len(faces)
            )
    except _ClaimLost:
        logger.warning("page detection %s: claim lost to another worker, result dropped", page_detection_id)
        return None
    _run_finish_if_complete(run.pk)
    task.refresh_from_db()
    return task


def _page_fail(task: PageDetection, *, claimed_at, error: Translatable) -> PageDetection | None:
    if not job_fail(PAGE_DETECTION, task.pk, claimed_at=claimed_at, error=error):
        return None
    DetectionRun.objects.filter(pk=task.run_id).update(pages_failed=F("pages_failed") + 1)
    _run_finish_if_complete(task.run_id)
    task.refresh_from_db()
    return task


def page_detection_fail(*, page_detection_id: int, error: Translatable) -> None:
    """Mark a running page failed (time limit hit, retries exhausted); its run may then finish."""
    task = PageDetection.objects.filter(pk=page_detection_id, status=JobStatus.RUNNING).first()
    if task is not None:
        _page_fail(task, claimed_at=task.claimed_at, error=error)


def _run_finish_if_complete(run_id: int) -> None:
    """Close a running run once every page is done or failed; all pages failed means the run failed."""
    job_finish(
        DETECTION_RUN,
        run_id,
        condition=Q(pages_total__lte=F("pages_done") + F("pages_failed")),
        status=Case(When(pages_done=0, then=Value(JobStatus.FAILED)), default=Value(JobStatus.DONE)),
        error=Case(When(pages_done=0, then=Value(EVERY_PAGE_FAILED)), default=Value("")),
    )


def run_cancel(*, run: DetectionRun) -> DetectionRun:
    """Stop a run: pages not yet started are cancelled; pages being detected finish and are kept."""
    with transaction.atomic():
        cancelled = job_finish(DETECTION_RUN, run.pk, status=JobStatus.CANCELLED, from_statuses=ACTIVE_STATUSES)
        if cancelled:
            PageDetection.objects.filter(run=run, status=JobStatus.PENDING).update(
                status=JobStatus.CANCELLED, finished_at=timezone.now()
            )
    run.refresh_from_db()
    return run


def run_retry_failed(*, run: DetectionRun) -> int:
    """Queue again the failed pages of a run and pages whose worker vanished; returns how many were reset."""
    if run.status == JobStatus.CANCELLED:
        raise DetectionRefused(gettext_noop("A cancelled run cannot be resumed; start a new run"))
    with transaction.atomic():
        failed = PageDetection.objects.filter(run=run, status=JobStatus.FAILED).update(
            status=JobStatus.PENDING, finished_at=None
        )
        stale = PageDetection.objects.filter(PAGE_DETECTION.stale(timezone.now()), run=run).update(
            status=JobStatus.PENDING
        )
        if failed + stale:
            DetectionRun.objects.filter(pk=run.pk).update(
                status=JobStatus.RUNNING,
                pages_failed=F("pages_failed") - failed,
                error="",
                finished_at=None,
            )
        # Pending pages whose message was lost (a retry never delivered) are queued again too.
        if PageDetection.objects.filter(run=run, status=JobStatus.PENDING).exists():
            transaction.on_commit(lambda: run_dispatch(run_id=run.pk))
    run.refresh_from_db()
    return failed + stale


def run_execute(*, run: DetectionRun, progress: Callable[[PageDetection], None] | None = None) -> DetectionRun:
    """Detect every pending page of a run in this process (no worker needed), in page order."""
    pending = (
        PageDetection.objects.filter(run=run, status=JobStatus.PENDING)
        .order_by("page__document_id", "page__order", "pk")
        .values_list("pk", flat=True)
    )
    for page_detection_id in list(pending):
        task = page_detect(page_detection_id=page_detection_id)
        if task is not None and progress is not None:
            progress(task)
    run.refresh_from_db()
    return run
