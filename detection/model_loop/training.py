"""Training jobs: create, claim, run (snapshot → train → version → register), cancel; and the trained models' registry.

A job trains on the reviewed pages of a corpus (or one document). Its data snapshot is the
LabelMe export of those pages, rejected boxes included as negatives, written beside the job so
the model can be retrained or audited from exactly what it saw. Pages are split three ways
(`split_held_out`): training, validation (early stopping) and held-out test pages, by document
when there are enough documents, else by page, never a page on two sides. A finished job adds a
`TrainedModel` (a new version of its family) of the job's corpus, inactive; the job then scores it
and that corpus's active model of the family on the same held-out pages (`held_out_comparison`), and
the new model becomes active only when it scores better there (`trained_model_decide`). Each corpus has
its own active model per family; a model goes with the corpus it learned from. A curator may override that decision
with a written reason (`trained_model_set_active`). Active models are registered by name
(`res10+rescore@v3`, `keras-attributes@v2`) so new runs can select them.

Registration is per process: a worker registers every active trained model when it starts
(`worker_process_init`), and `trained_models_register()` brings any process up to date.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from annotations.exports.options import ExportOptions
from annotations.exports.scope import page_batches
from annotations.exports.writer import export_write
from annotations.iiif.messages import Message, MessageError, gettext_noop, unexpected_error
from annotations.models import Corpus, Document, ExportKind, Face, Page, ReviewStatus
from detection.inference import registry
from detection.inference.registry import ModelSpec
from detection.models import ModelKind, TrainedModel, TrainingJob, TrainingKind
from webapp.folders import folders_by_id
from webapp.jobs import ACTIVE_STATUSES, TRAINING, JobStatus, job_cancel, job_claim, job_finish
from webapp.messages import message_fields

logger = logging.getLogger(__name__)

FAMILIES = {
    TrainingKind.ATTRIBUTES: "keras-attributes",
    TrainingKind.RESCORER: "res10+rescore",
    TrainingKind.ENCODING_HEAD: "encoding-head",
}
MODEL_KINDS = {
    TrainingKind.ATTRIBUTES: ModelKind.ATTRIBUTES,
    TrainingKind.RESCORER: ModelKind.DETECTOR,
    TrainingKind.ENCODING_HEAD: ModelKind.ATTRIBUTES,
}
# Parameters a job may set, with their defaults; anything else is refused.
DEFAULT_PARAMS: dict[str, dict[str, float | int | str]] = {
    TrainingKind.ATTRIBUTES: {
        "epochs": 30,
        "batch_size": 32,
        "patience": 5,
        "input_size": 64,
        "margin": 0.2,
        "validation_share": 0.2,
        "test_share": 0.25,
        "seed": 0,
    },
    TrainingKind.RESCORER: {
        "base": "res10",
        "candidate_threshold": 0.2,
        "score_threshold": 0.5,
        "epochs": 40,
        "batch_size": 64,
        "patience": 6,
        "input_size": 32,
        "margin": 0.25,
        "validation_share": 0.2,
        "test_share": 0.25,
        "seed": 0,
    },
    # Logistic heads on face encodings (detection/training/encoding_head.py): no epochs, the
    # regularisation is chosen by cross-validation grouped by document on the training pages.
    TrainingKind.ENCODING_HEAD: {
        "features": "encoding",
        "gender_threshold": 0.6,
        "child_threshold": 0.5,
        "min_train_width": 20.0,
        "folds": 5,
        "validation_share": 0.2,
        "test_share": 0.25,
        "seed": 0,
    },
}
# The range of each numeric parameter, both ends allowed: what a curator may ask for without
# breaking a job (an input size past what the networks take, a share that leaves no side).
PARAM_RANGES: dict[str, tuple[float, float]] = {
    "epochs": (1, 1000),
    "batch_size": (1, 1024),
    "patience": (1, 100),
    "input_size": (16, 256),
    "margin": (0.0, 1.0),
    "candidate_threshold": (0.0, 1.0),
    "score_threshold": (0.0, 1.0),
    "seed": (0, 2**31 - 1),
    "gender_threshold": (0.5, 1.0),
    "child_threshold": (0.0, 1.0),
    "min_train_width": (0.0, 10_000.0),
    "folds": (2, 20),
    "validation_share": (0.01, 0.49),
    "test_share": (0.01, 0.49),
}
# Share of a job's progress bar spent preparing data; epochs fill the rest (an encoding head is
# nearly all data: encoding the faces).
DATA_SHARE = {TrainingKind.ATTRIBUTES: 0.2, TrainingKind.RESCORER: 0.5, TrainingKind.ENCODING_HEAD: 0.9}
# One page each for training, validation and the held-out test.
MIN_REVIEWED_PAGES = 3
REPLACED_BY = gettext_noop("Replaced by %(name)s.")
# The stages a job reports as it goes (the others are said once, where they are reported).
EXPORTING_PAGE = gettext_noop("exporting page %(done)s/%(total)s")
ENCODING_PAGE = gettext_noop("encoding faces of page %(done)s/%(total)s")
BASE_DETECTOR_PAGE = gettext_noop("base detector on page %(done)s/%(total)s")
EPOCH = gettext_noop("epoch %(epoch)s/%(epochs)s")
EPOCH_WITH_LOSS = gettext_noop("epoch %(epoch)s/%(epochs)s, validation loss %(loss).4f")
TOO_LONG = gettext_noop("Training took longer than its time limit (%(seconds)s s): train on fewer pages or epochs")
# A job exports the pages it trains on to MEDIA_ROOT/training/<prefix><job id>/.
JOB_DIR_PREFIX = "job-"
# The held-out metric each kind is compared on, and how the reasons name it.
HELD_OUT_METRICS = {
    TrainingKind.ATTRIBUTES: "macro_recall",
    TrainingKind.RESCORER: "ap50",
    TrainingKind.ENCODING_HEAD: "macro_recall",
}
METRIC_NAMES = {"macro_recall": gettext_noop("macro per-class recall"), "ap50": "AP@0.5"}


class TrainingRefused(MessageError):
    """A job that cannot be created or run; the message is meant for the curator (translated where read)."""


class TrainingCancelled(Exception):
    """The curator cancelled the job while it ran."""


def training_params(*, kind: str, params: dict | None) -> dict:
    """The job's parameters: the defaults of its kind, overridden by known keys of the default's type
    (an integer for an integer, any finite number for a decimal, text for text) within their range."""
    defaults = DEFAULT_PARAMS[kind]
    unknown = sorted(set(params or {}) - set(defaults))
    if unknown:
        raise TrainingRefused(
            gettext_noop("Unknown parameters for %(kind)s training: %(names)s"), kind=kind, names=", ".join(unknown)
        )
    merged = dict(defaults)
    for key, value in (params or {}).items():
        merged[key] = _param_checked(key, value, default=defaults[key])
    if kind == TrainingKind.RESCORER and merged["base"] not in registry.DETECTORS:
        raise TrainingRefused(gettext_noop("Unknown base detector %(name)r"), name=merged["base"])
    if kind == TrainingKind.ENCODING_HEAD:
        from detection.inference.encoding_head import FEATURE_SETS

        known = ["+".join(features) for features in FEATURE_SETS]
        if merged["features"] not in known:
            raise TrainingRefused(
                gettext_noop("Parameter %(name)s must be one of %(values)s"), name="features", values=", ".join(known)
            )
    return merged


def _param_checked(key: str, value, *, default: float | int | str) -> float | int | str:
    """One parameter as its default's type, refused by name when it is of another type or out of range."""
    if isinstance(default, str):
        if not isinstance(value, str):
            raise TrainingRefused(gettext_noop("Parameter %(name)s must be text"), name=key)
        return value
    # JSON's true and false are not numbers, and 2.9 epochs is not 2.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TrainingRefused(gettext_noop("Parameter %(name)s must be a number"), name=key)
    if isinstance(default, int) and not isinstance(value, int):
        raise TrainingRefused(gettext_noop("Parameter %(name)s must be a whole number"), name=key)
    low, high = PARAM_RANGES[key]
    if not low <= value <= high:
        # NaN fails both comparisons, so it lands here too.
        raise TrainingRefused(
            gettext_noop("Parameter %(name)s must be between %(low)s and %(high)s"), name=key, low=low, high=high
        )
    return value if isinstance(default, int) else float(value)


def training_job_create(
    *, user, kind: str, corpus: Corpus, document: Document | None = None, params: dict | None = None
) -> TrainingJob:
    """Create a training job over the reviewed pages of a corpus (or document) and queue it after commit."""
    from detection.tasks import train_model_task

    if kind not in TrainingKind.values:
        raise TrainingRefused(
            gettext_noop("Unknown training kind %(kind)r; known: %(known)s"),
            kind=kind,
            known=", ".join(TrainingKind.values),
        )
    if document is not None and document.corpus_id != corpus.pk:
        raise TrainingRefused(gettext_noop("The document belongs to another corpus"))
    reviewed = _scope_pages(corpus_id=corpus.pk, document_id=document.pk if document else None).count()
    if reviewed < MIN_REVIEWED_PAGES:
        raise TrainingRefused(
            gettext_noop("Training needs at least %(minimum)s reviewed pages; this scope has %(count)s"),
            minimum=MIN_REVIEWED_PAGES,
            count=reviewed,
        )
    with transaction.atomic():
        job = TrainingJob.objects.create(
            kind=kind,
            corpus=corpus,
            document=document,
            params=training_params(kind=kind, params=params),
            created_by=user if user is not None and user.is_authenticated else None,
        )
        train_model_task.delay_on_commit(job.pk)
    return job


def _scope_pages(*, corpus_id: int, document_id: int | None) -> QuerySet[Page]:
    """The reviewed pages a job trains on, in document order."""
    pages = Page.objects.filter(document__corpus_id=corpus_id, review_status=ReviewStatus.REVIEWED)
    if document_id is not None:
        pages = pages.filter(document_id=document_id)
    return pages.select_related("document").order_by("document_id", "order", "pk")


def training_job_cancel(*, job: TrainingJob) -> TrainingJob:
    """Cancel a job: a pending one stops now, a running one at its next epoch (or page)."""
    job_cancel(TRAINING, job.pk, cancel_requested=True)
    TrainingJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def training_job_run(*, job_id: int) -> TrainingJob | None:
    """Claim a pending (or abandoned) job and train its model; None when there was nothing to claim."""
    if job_claim(TRAINING, job_id, progress=0.0, **_stage_values(Message(gettext_noop("starting")))) is None:
        logger.info("training job %s: nothing to claim (finished, cancelled, running or missing)", job_id)
        return None
    job = TrainingJob.objects.select_related("corpus", "created_by").get(pk=job_id)
    try:
        trained = _train(job)
    except TrainingCancelled:
        _finish(job, status=JobStatus.CANCELLED, **_stage_values(Message(gettext_noop("cancelled"))))
    except TrainingRefused as exc:
        _finish(job, status=JobStatus.FAILED, **TRAINING.error_values(exc))
    except SoftTimeLimitExceeded:
        too_long = Message(TOO_LONG, {"seconds": settings.TRAINING_SOFT_TIME_LIMIT})
        _finish(job, status=JobStatus.FAILED, **TRAINING.error_values(too_long))
    except Exception as exc:
        logger.exception("training job %s failed", job_id)
        _finish(job, status=JobStatus.FAILED, **TRAINING.error_values(unexpected_error(exc)))
    else:
        _finish(
            job,
            status=JobStatus.DONE,
            **_stage_values(Message(gettext_noop("done"))),
            trained_model=trained,
            metrics={**trained.metrics, "comparison": trained.comparison},
        )
    finally:
        # The copies of the corpus's pages exported to train on (page images included): the model
        # records which pages it learned from, and a job claimed again exports them anew.
        shutil.rmtree(_job_dir(job), ignore_errors=True)
    job.refresh_from_db()
    return job


def training_exports_purge() -> list[int]:
    """Remove the page exports of jobs that are not pending or running: left by a worker killed mid-job
    (a job ending any other way removes its own), or by versions before that; the jobs' ids."""
    found = folders_by_id(_job_dir_root(), JOB_DIR_PREFIX)
    active = TrainingJob.objects.filter(pk__in=found, status__in=ACTIVE_STATUSES).values_list("pk", flat=True)
    ended = sorted(set(found) - set(active))
    for job_id in ended:
        shutil.rmtree(found[job_id], ignore_errors=True)
    if ended:
        logger.info("training exports of jobs %s removed", ended)
    return ended


def _stage_values(stage: Message) -> dict:
    """The fields that store a stage: its English text and the message, translated when read."""
    values = message_fields(stage, text="stage", stored="stage_message")
    return {**values, "stage": values["stage"][:200]}


def _counted(template: str, done: int, total: int) -> Message:
    return Message(template, {"done": done, "total": total})


def _finish(job: TrainingJob, *, status: str, **fields) -> None:
    progress = {"progress": 1.0} if status == JobStatus.DONE else {}
    job_finish(TRAINING, job.pk, status=status, **progress, **fields)


class _Reporter:
    """Writes a job's progress and stage, and raises TrainingCancelled once the curator cancels."""

    def __init__(self, job: TrainingJob) -> None:
        self.job_id = job.pk
        self.data_share = DATA_SHARE[job.kind]
        self.history: dict[str, list[float]] = {}

    def report(self, fraction: float, stage: Message) -> None:
        TrainingJob.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
            progress=min(max(fraction, 0.0), 1.0), **_stage_values(stage)
        )
        if TrainingJob.objects.filter(pk=self.job_id, cancel_requested=True).exists():
            raise TrainingCancelled

    def data(self, done: int, total: int, stage: Message) -> None:
        self.report(self.data_share * done / max(total, 1), stage)

    def epoch(self, epoch: int, epochs: int, logs: dict[str, float]) -> bool:
        """Keras progress hook: records the epoch's losses (the live loss curve); True stops training (cancelled)."""
        loss = logs.get("val_loss")
        counted = {"epoch": epoch, "epochs": epochs}
        if loss is None:
            stage = Message(EPOCH, counted)
        else:
            stage = Message(EPOCH_WITH_LOSS, {**counted, "loss": loss})
        for name in ("loss", "val_loss"):
            if name in logs:
                self.history.setdefault(name, []).append(float(logs[name]))
        TrainingJob.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(metrics={"history": self.history})
        try:
            self.report(self.data_share + (1.0 - self.data_share) * epoch / epochs, stage)
        except TrainingCancelled:
            return True
        return False

    def cancelled(self) -> bool:
        return TrainingJob.objects.filter(pk=self.job_id, cancel_requested=True).exists()


def _job_dir_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "training"


def _job_dir(job: TrainingJob) -> Path:
    return _job_dir_root() / f"{JOB_DIR_PREFIX}{job.pk}"


def training_snapshot(*, job: TrainingJob, progress: Callable[[int, int], None] | None = None) -> tuple[Path, dict]:
    """Export the job's reviewed pages as LabelMe, images and rejected boxes included: the folder and a summary."""
    pages = _scope_pages(corpus_id=job.corpus_id, document_id=job.document_id)
    # Every face of those pages: rejected ones are exported as `not_face`, the negatives.
    faces = Face.objects.all()
    page_ids = list(pages.values_list("pk", flat=True))
    folder = _job_dir(job) / "labelme"
    if folder.exists():
        shutil.rmtree(folder)
    total = len(page_ids)
    result = export_write(
        ExportKind.LABELME,
        page_batches(pages, faces, batch_size=20),
        out=folder,
        options=ExportOptions(include_rejected=True, with_images=True, image_size=settings.DETECTION_MAX_DERIVATIVE),
        progress=(lambda done: progress(done, total)) if progress else None,
    )
    scoped = Face.objects.filter(page_id__in=page_ids)
    snapshot = {
        "export": str(folder.relative_to(settings.MEDIA_ROOT)),
        "pages": result.pages,
        "page_ids": page_ids,
        "documents": sorted(set(pages.values_list("document_id", flat=True))),
        "faces": scoped.visible().count(),
        "rejected": scoped.count() - scoped.visible().count(),
        "skipped_pages": [str(skipped) for skipped in result.skipped],
        "taken_at": timezone.now().isoformat(),
    }
    return folder, snapshot


def _train(job: TrainingJob) -> TrainedModel:
    from detection.training.data import read_labelme_folder, split_held_out

    reporter = _Reporter(job)
    params = job.params
    folder, snapshot = training_snapshot(
        job=job, progress=lambda done, total: reporter.data(done, total, _counted(EXPORTING_PAGE, done, total))
    )
    images = read_labelme_folder(folder)
    split = split_held_out(
        images,
        validation_share=float(params["validation_share"]),
        test_share=float(params["test_share"]),
        seed=int(params["seed"]),
    )
    train, validation = split.train, split.validation
    if not train or not validation or not split.test:
        raise TrainingRefused(
            gettext_noop(
                "Training needs reviewed pages for training, validation and the held-out test "
                "(at least %(minimum)s pages with their images)"
            ),
            minimum=MIN_REVIEWED_PAGES,
        )
    snapshot.update(
        split_unit=split.unit,
        train_pages=[image.page for image in train],
        validation_pages=[image.page for image in validation],
        test_pages=[image.page for image in split.test],
        train_documents=sorted({image.document for image in train}),
        validation_documents=sorted({image.document for image in validation}),
        test_documents=sorted({image.document for image in split.test}),
    )
    if job.kind == TrainingKind.ENCODING_HEAD:
        heads, metrics = _train_encoding_head(train, validation, params, reporter)
        if reporter.cancelled():
            raise TrainingCancelled
        trained = _trained_model_save(job=job, file=_head_file(heads), metrics=metrics, snapshot=snapshot)
    else:
        if job.kind == TrainingKind.ATTRIBUTES:
            result, sidecar = _train_attributes(train, validation, params, reporter)
        else:
            result, sidecar = _train_rescorer(train, validation, params, reporter)
        if result.cancelled or reporter.cancelled():
            raise TrainingCancelled
        metrics = {
            "initial_val_loss": result.initial_val_loss,
            "best_val_loss": result.best_val_loss,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "history": result.history,
            **result.metrics,
        }
        trained = _trained_model_save(
            job=job, file=_keras_file(result.model, sidecar), metrics=metrics, snapshot=snapshot
        )
    reporter.report(1.0, Message(gettext_noop("comparing with the active model on the held-out pages")))
    comparison = held_out_comparison(model=trained, test=split.test)
    return trained_model_decide(model=trained, comparison=comparison)


def _train_attributes(train, validation, params: dict, reporter: _Reporter):
    from detection.training.attributes import attribute_samples, train_attribute_model
    from detection.training.data import KNOWN_GENDERS

    size, margin = int(params["input_size"]), float(params["margin"])
    reporter.report(reporter.data_share * 0.9, Message(gettext_noop("cropping faces")))
    train_samples = attribute_samples(train, size=size, margin=margin)
    validation_samples = attribute_samples(validation, size=size, margin=margin)
    if not train_samples or not validation_samples:
        raise TrainingRefused(gettext_noop("Both the training and the validation pages need curated faces"))
    result = train_attribute_model(
        train_samples,
        validation_samples,
        input_size=size,
        epochs=int(params["epochs"]),
        batch_size=int(params["batch_size"]),
        patience=int(params["patience"]),
        seed=int(params["seed"]),
        on_epoch=reporter.epoch,
    )
    result.metrics["train_faces"] = len(train_samples)
    sidecar = {
        "kind": "attributes",
        "input_size": size,
        "margin": margin,
        "age_faces": sum(sample.age is not None for sample in train_samples),
        "gender_faces": sum(sample.gender in KNOWN_GENDERS for sample in train_samples),
    }
    return result, sidecar


def _train_encoding_head(train, validation, params: dict, reporter: _Reporter):
    """Encode the curated faces of the training and validation pages, fit the heads on them (C by grouped
    cross-validation, so no early stopping needs the validation pages apart)."""
    from detection.inference.encoding_head import FaceFeatures
    from detection.training.encoding_head import face_samples, fit_encoding_heads

    features = tuple(str(params["features"]).split("+"))
    reader = FaceFeatures(features)
    pages = list(train) + list(validation)
    samples = face_samples(
        pages,
        reader,
        progress=lambda done, total: reporter.data(done, total, _counted(ENCODING_PAGE, done, total)),
    )
    if not samples:
        raise TrainingRefused(
            gettext_noop("The training pages need curated faces the encoder can read (10 px and more)")
        )
    reporter.report(reporter.data_share, Message(gettext_noop("choosing the regularisation by cross-validation")))
    heads, _choices = fit_encoding_heads(
        samples,
        features=features,
        gender_threshold=float(params["gender_threshold"]),
        child_threshold=float(params["child_threshold"]),
        folds=int(params["folds"]),
        min_width=float(params["min_train_width"]),
    )
    if heads.gender is None and heads.child is None:
        raise TrainingRefused(
            gettext_noop(
                "Neither head could be fitted: the curated faces need at least 3 women and 3 men, or 3 children "
                "and 3 adults, and a head must rank faces of documents it did not see better than chance"
            )
        )
    # The validation pages were in the fit: the cross-validated figures stand for them, and the
    # held-out comparison reads the test pages.
    metrics = {
        "train_faces": len(samples),
        "train_documents": len({sample.document for sample in samples}),
        "cross_validation": heads.report,
    }
    return heads, metrics


def _train_rescorer(train, validation, params: dict, reporter: _Reporter):
    from detection.inference.trained import CandidateSearch
    from detection.training.rescorer import candidate_pages, train_rescorer

    base = str(params["base"])
    search = CandidateSearch(
        tiling=registry.DETECTORS[base].tiling_default,
        tile_size=settings.DETECTION_TILE_SIZE,
        overlap=settings.DETECTION_TILE_OVERLAP,
        max_face_share=settings.DETECTION_MAX_FACE_SHARE,
        min_face_size=settings.DETECTION_MIN_FACE_SIZE,
    )
    detector = registry.get_detector(base, score_threshold=float(params["candidate_threshold"]))
    total = len(train) + len(validation)

    def on_page(offset: int) -> Callable[[int], None]:
        return lambda done: reporter.data(offset + done, total, _counted(BASE_DETECTOR_PAGE, offset + done, total))

    train_pages = candidate_pages(train, detector, search, on_page=on_page(0))
    validation_pages = candidate_pages(validation, detector, search, on_page=on_page(len(train)))
    size, margin = int(params["input_size"]), float(params["margin"])
    base_threshold = float(registry.DETECTORS[base].default_params.get("score_threshold", 0.5))
    result = train_rescorer(
        train_pages,
        validation_pages,
        input_size=size,
        margin=margin,
        epochs=int(params["epochs"]),
        batch_size=int(params["batch_size"]),
        patience=int(params["patience"]),
        seed=int(params["seed"]),
        base_threshold=base_threshold,
        score_threshold=float(params["score_threshold"]),
        on_epoch=reporter.epoch,
    )
    sidecar = {
        "kind": "rescorer",
        "input_size": size,
        "margin": margin,
        "base": base,
        "candidate_threshold": float(params["candidate_threshold"]),
        "search": {
            "tiling": search.tiling,
            "tile_size": search.tile_size,
            "overlap": search.overlap,
            "max_face_share": search.max_face_share,
            "min_face_size": search.min_face_size,
        },
    }
    return result, sidecar


@dataclass(frozen=True)
class _ModelFile:
    """How a trained model is written: its file's suffix, the sidecar its params record, and a writer called
    first without a version, then again with the version (which names the written file's digest)."""

    suffix: str
    sidecar: dict
    write: Callable[[Path, str | None], object]


def _keras_file(model, sidecar: dict) -> _ModelFile:
    from detection.inference.trained import save_model, write_sidecar

    def write(path: Path, version: str | None) -> None:
        if version is None:
            save_model(model, path, sidecar)
        else:
            write_sidecar(path, {**sidecar, "version": version})

    return _ModelFile(suffix=".keras", sidecar=sidecar, write=write)


def _head_file(heads) -> _ModelFile:
    """Encoding heads as one JSON file, the version inside (the digest is of the file before it was added)."""

    def write(path: Path, version: str | None) -> None:
        (heads if version is None else dataclasses.replace(heads, version=version)).save(path)

    return _ModelFile(
        suffix=".json", sidecar={"kind": "encoding-head", "features": "+".join(heads.features)}, write=write
    )


def _trained_model_save(*, job: TrainingJob, file: _ModelFile, metrics: dict, snapshot: dict) -> TrainedModel:
    """Write the model file as the family's next version, record it and register it here."""
    family = FAMILIES[job.kind]
    for _attempt in range(3):
        version = (TrainedModel.objects.filter(name=family).aggregate(v=Max("version"))["v"] or 0) + 1
        relative = Path("models") / family.replace("+", "-") / f"v{version}{file.suffix}"
        path = Path(settings.MEDIA_ROOT) / relative
        file.write(path, None)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        file.write(path, f"v{version}-{digest}")
        params = {**job.params, "sha256_12": digest, "sidecar": file.sidecar}
        try:
            with transaction.atomic():
                trained = TrainedModel.objects.create(
                    name=family,
                    corpus_id=job.corpus_id,
                    kind=MODEL_KINDS[job.kind],
                    version=version,
                    params=params,
                    metrics=metrics,
                    data_snapshot={**snapshot, "corpus": job.corpus_id, "job": job.pk},
                    file=str(relative),
                    created_by=job.created_by,
                    is_active=False,
                )
        except IntegrityError:
            # Another job took this version number meanwhile: take the next one.
            continue
        return trained
    raise TrainingRefused(gettext_noop("Could not allocate a model version; try again"))


def trained_model_files_delete(*, file: str) -> None:
    """A deleted model's file under MEDIA_ROOT and its JSON sidecar (one file for an encoding head)."""
    path = Path(settings.MEDIA_ROOT) / file
    for each in {path, path.with_suffix(".json")}:
        each.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# The activation rule: a new model is active only when it beats the active one on held-out pages.


class ActivationConflict(Exception):
    """An activation change named a state of the model that is no longer current."""

    def __init__(self, model: TrainedModel):
        super().__init__(f"model {model.pk} was changed at {model.updated_at}")
        self.model = model


def _active_beside(model: TrainedModel) -> QuerySet[TrainedModel]:
    """The active model of `model`'s family in its corpus, other than `model` (at most one, a constraint
    says so): the one a new model is compared with, and the one that steps down when it is activated."""
    return TrainedModel.objects.filter(name=model.name, corpus_id=model.corpus_id, is_active=True).exclude(pk=model.pk)


def held_out_comparison(*, model: TrainedModel, test) -> dict:
    """Score the new model and its corpus's active one of the family (or the shipped baseline) on the same
    held-out pages. Another corpus's model is never the baseline: its curators' pages are not the caller's."""
    from detection.training.heldout import attribute_macro_recall, detector_ap50

    kind = TrainingKind.RESCORER if model.kind == ModelKind.DETECTOR else TrainingKind.ATTRIBUTES
    held_out_faces = sum(len(image.faces) for image in test)
    comparison: dict = {
        "metric": HELD_OUT_METRICS[kind],
        "held_out_pages": len(test),
        "held_out_faces": held_out_faces,
        "min_faces": settings.TRAINING_MIN_HELD_OUT_FACES,
        "enough_data": held_out_faces >= settings.TRAINING_MIN_HELD_OUT_FACES,
        "active_model": "",
        "new": None,
        "active": None,
    }
    active = _active_beside(model).first()
    if kind == TrainingKind.RESCORER:
        comparison["new"] = detector_ap50(_trained_detector(model).detect, test)
        comparison["active_model"] = active.registry_name if active is not None else str(model.params.get("base"))
    else:
        comparison["new"], comparison["new_recalls"] = attribute_macro_recall(
            _predict_many(_trained_attributes(model)), test
        )
        comparison["active_model"] = (
            active.registry_name if active is not None else settings.DETECTION_DEFAULT_ATTRIBUTES
        )
    try:
        if kind == TrainingKind.RESCORER:
            baseline = _trained_detector(active) if active is not None else _base_candidates(model)
            comparison["active"] = detector_ap50(baseline.detect, test)
        elif active is not None or comparison["active_model"] in registry.ATTRIBUTE_MODELS:
            baseline = (
                _trained_attributes(active)
                if active is not None
                else registry.get_attribute_model(comparison["active_model"])
            )
            comparison["active"], comparison["active_recalls"] = attribute_macro_recall(_predict_many(baseline), test)
    except Exception as exc:
        # A baseline that cannot be loaded or run (a missing file, weights) leaves nothing to beat
        # safely: the rule keeps the new model inactive and says why.
        logger.exception("held-out comparison: %s could not be scored", comparison["active_model"])
        comparison["active_error"] = f"{exc.__class__.__name__}: {exc}"[:500]
    return comparison


def _trained_detector(model: TrainedModel):
    """A trained re-scorer built from its file, keeping every box down to the evaluation floor."""
    from detection.model_loop.evaluation import SCORE_FLOOR

    spec = trained_model_spec(model=model)
    return spec.factory(**{**spec.default_params, "score_threshold": SCORE_FLOOR})


def _base_candidates(model: TrainedModel):
    """The re-scorer's base detector, finding candidates exactly as the re-scorer does, not re-scored."""
    from detection.inference.trained import CandidateSearch

    spec = trained_model_spec(model=model)
    params = spec.default_params
    search = CandidateSearch(
        tiling=bool(params["tiling"]),
        tile_size=int(params["tile_size"]),
        overlap=float(params["overlap"]),
        max_face_share=float(params["max_face_share"]),
        min_face_size=int(params["min_face_size"]),
    )
    base = registry.get_detector(str(params["base"]), score_threshold=float(params["candidate_threshold"]))
    return _Candidates(search=search, base=base)


class _Candidates:
    def __init__(self, *, search, base) -> None:
        self.search, self.base = search, base

    def detect(self, image):
        return self.search.candidates(self.base, image)


def _trained_attributes(model: TrainedModel):
    spec = trained_model_spec(model=model)
    return spec.factory(**spec.default_params)


def _predict_many(model):
    """`predict_many` where the model has one, else one `predict` per face."""
    if hasattr(model, "predict_many"):
        return model.predict_many
    return lambda image, boxes: [model.predict(image, box) for box in boxes]


def trained_model_decide(*, model: TrainedModel, comparison: dict) -> TrainedModel:
    """Apply the activation rule: active only when strictly better on enough held-out faces; record why."""
    new, active = comparison.get("new"), comparison.get("active")
    metric = Message(METRIC_NAMES.get(comparison.get("metric", ""), comparison.get("metric", "")))
    baseline = comparison.get("active_model") or Message(gettext_noop("no model"))
    if not comparison.get("enough_data"):
        activate = False
        reason = Message(
            gettext_noop(
                "Kept inactive: the held-out pages have %(faces)s faces, fewer than the %(min)s needed to compare "
                "models."
            ),
            {"faces": comparison.get("held_out_faces", 0), "min": comparison.get("min_faces")},
        )
    elif new is None:
        activate = False
        reason = Message(gettext_noop("Kept inactive: the new model could not be scored on the held-out pages."))
    elif comparison.get("active_error"):
        activate = False
        reason = Message(
            gettext_noop("Kept inactive: %(baseline)s could not be scored on the held-out pages (%(error)s)."),
            {"baseline": baseline, "error": comparison["active_error"]},
        )
    elif active is not None and new <= active:
        activate = False
        reason = Message(
            gettext_noop("Kept inactive: held-out %(metric)s %(new).3f is not better than %(old).3f for %(baseline)s."),
            {"metric": metric, "new": new, "old": active, "baseline": baseline},
        )
    else:
        activate = True
        reason = Message(
            gettext_noop("Activated: held-out %(metric)s %(new).3f against %(old)s for %(baseline)s."),
            {
                "metric": metric,
                "new": new,
                "old": Message(gettext_noop("n/a")) if active is None else f"{active:.3f}",
                "baseline": baseline,
            },
        )
    comparison = {**comparison, "decision": "activated" if activate else "kept_inactive"}
    with transaction.atomic():
        if activate:
            _deactivate_family(model=model, reason=Message(REPLACED_BY, {"name": model.registry_name}))
        TrainedModel.objects.filter(pk=model.pk).update(
            is_active=activate, comparison=comparison, **_reason_values(reason), updated_at=timezone.now()
        )
    model.refresh_from_db()
    trained_models_register()
    return model


def _deactivate_family(*, model: TrainedModel, reason: Message) -> None:
    """The other active model of the family in the model's corpus steps down; other corpora keep theirs."""
    _active_beside(model).update(is_active=False, **_reason_values(reason), updated_at=timezone.now())


def _reason_values(reason: Message) -> dict:
    """The fields that store why a model is (in)active: the English text and the message, translated when read."""
    return message_fields(reason, text="activation_reason", stored="activation_reason_message")


def trained_model_set_active(*, model: TrainedModel, user, is_active: bool, reason: str, updated_at) -> TrainedModel:
    """A curator's override of the activation rule, with a written reason; refused when `updated_at` is stale.

    Activating a model deactivates the other active version of its family in the same corpus.
    """
    reason = reason.strip()
    if not reason:
        raise TrainingRefused(gettext_noop("Give a reason for overriding the activation rule"))
    note = Message(gettext_noop("Overridden by %(user)s: %(reason)s"), {"user": user.get_username(), "reason": reason})
    with transaction.atomic():
        current = TrainedModel.objects.select_for_update().get(pk=model.pk)
        if current.updated_at != updated_at:
            raise ActivationConflict(current)
        if is_active:
            _deactivate_family(model=current, reason=Message(REPLACED_BY, {"name": current.registry_name}))
        TrainedModel.objects.filter(pk=current.pk).update(
            is_active=is_active, **_reason_values(note), activation_overridden_by=user, updated_at=timezone.now()
        )
    model.refresh_from_db()
    trained_models_register()
    return model


# ---------------------------------------------------------------------------------------------
# The registry side: trained models as registry models.

_registered: dict[str, str] = {}


def trained_model_spec(*, model: TrainedModel) -> ModelSpec:
    """The registry entry of a trained model: its factory loads the file on first use."""
    from detection.inference.encoding_head import EncodingHeadAttributes
    from detection.inference.trained import KerasAttributeModel, RescoredDetector

    path = str(Path(settings.MEDIA_ROOT) / model.file)
    corpus = model.data_snapshot.get("corpus")
    license_note = (
        f"Trained in this Visages instance from curated faces of corpus {corpus} (job {model.data_snapshot.get('job')})"
    )
    version = f"v{model.version}-{model.params.get('sha256_12', '')}".rstrip("-")
    if model.kind == ModelKind.DETECTOR:
        sidecar = model.params.get("sidecar", {})
        search = sidecar.get("search", {})
        return ModelSpec(
            name=model.registry_name,
            kind="detector",
            version=version,
            license=license_note,
            description=(
                f"{sidecar.get('base', 'res10')} candidates re-scored by a CNN trained on reviewed pages "
                f"(held-out AP@0.5 {_fmt(model.metrics.get('val_base_ap50'))} "
                f"→ {_fmt(model.metrics.get('val_rescored_ap50'))})."
            ),
            default_params={
                "score_threshold": float(model.params.get("score_threshold", 0.5)),
                "candidate_threshold": float(sidecar.get("candidate_threshold", 0.2)),
                "base": str(sidecar.get("base", "res10")),
                "tiling": bool(search.get("tiling", True)),
                "tile_size": int(search.get("tile_size", settings.DETECTION_TILE_SIZE)),
                "overlap": float(search.get("overlap", settings.DETECTION_TILE_OVERLAP)),
                "max_face_share": float(search.get("max_face_share", settings.DETECTION_MAX_FACE_SHARE)),
                "min_face_size": int(search.get("min_face_size", settings.DETECTION_MIN_FACE_SIZE)),
            },
            factory=functools.partial(RescoredDetector, model_path=path),
            threaded=True,
        )
    if model.name == FAMILIES[TrainingKind.ENCODING_HEAD]:
        gender = model.metrics.get("cross_validation", {}).get("gender", {})
        return ModelSpec(
            name=model.registry_name,
            kind="attributes",
            version=version,
            license=f"{license_note}; reads the dlib-resnet face encodings (docs/models.md)",
            description=(
                "Logistic heads for gender and child on dlib face encodings of curated faces "
                f"(cross-validated gender AUC {_fmt(gender.get('cv_auc'))}, folds by document)."
            ),
            default_params={
                "gender_threshold": float(model.params.get("gender_threshold", 0.6)),
                "child_threshold": float(model.params.get("child_threshold", 0.5)),
            },
            factory=functools.partial(EncodingHeadAttributes, model_path=path),
        )
    return ModelSpec(
        name=model.registry_name,
        kind="attributes",
        version=version,
        license=license_note,
        description=(
            "Keras CNN (64 px grey crops) for gender, age and child, trained on curated faces "
            f"(validation gender accuracy {_fmt(model.metrics.get('val_gender_accuracy'))})."
        ),
        default_params={"gender_threshold": 0.6, "child_threshold": 0.5},
        factory=functools.partial(KerasAttributeModel, model_path=path),
    )


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def trained_model_register(*, model: TrainedModel) -> None:
    """Register (or re-register) one trained model in this process's registry."""
    spec = trained_model_spec(model=model)
    if _registered.get(spec.name) == spec.version and _is_registered(spec):
        return
    if spec.kind == "detector":
        registry.register_detector(spec, replace=True)
    else:
        registry.register_attribute_model(spec, replace=True)
    _registered[spec.name] = spec.version
    logger.info("registered trained model %s (%s)", spec.name, spec.version)


def _is_registered(spec: ModelSpec) -> bool:
    table = registry.DETECTORS if spec.kind == "detector" else registry.ATTRIBUTE_MODELS
    return spec.name in table


def trained_models_register() -> list[str]:
    """Bring this process's registry in line with the database: active models in, deactivated ones out."""
    active = list(TrainedModel.objects.filter(is_active=True))
    names = set()
    for model in active:
        trained_model_register(model=model)
        names.add(model.registry_name)
    for name in list(_registered):
        if name not in names:
            registry.DETECTORS.pop(name, None)
            registry.ATTRIBUTE_MODELS.pop(name, None)
            del _registered[name]
            registry.clear_model_cache()
    return sorted(names)


def registry_sync_on_worker_start(**_signal_kwargs) -> None:
    """Celery signal handler: register the trained models when a worker (or pool process) starts."""
    try:
        names = trained_models_register()
    except DatabaseError as exc:
        # A worker started before `migrate` still serves the shipped models.
        logger.warning("trained models not registered: %s", exc)
        return
    logger.debug("trained models in the registry: %s", ", ".join(names) or "none")


# Tasks that look models up by name; a model trained after the worker started must be found.
SYNCED_TASKS = frozenset({"detection.tasks.detect_page_task"})


def registry_sync_before_detection(sender=None, **_signal_kwargs) -> None:
    """Celery signal handler: before a page detection, register models trained since the last sync."""
    if getattr(sender, "name", "") in SYNCED_TASKS:
        registry_sync_on_worker_start()
