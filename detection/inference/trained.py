"""Models trained here from curated faces (Keras), loaded as registry models: an age/gender/child
classifier and a detector re-scorer.

The trained files are plain `.keras` archives with a JSON sidecar that says how to feed them.
TensorFlow is imported inside the functions that need it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detection.inference.detectors import FaceDetector
from detection.inference.images import as_rgb
from detection.inference.types import AGE_SCALE, AgeGender, Detection


def crop(image: np.ndarray, box: Detection, *, size: int, margin: float) -> np.ndarray:
    """A size x size RGB crop of the box grown by `margin` of its size per side; edges are replicated."""
    import cv2

    rgb = as_rgb(image)
    height, width = rgb.shape[:2]
    grow_x, grow_y = margin * box.width, margin * box.height
    x1, y1 = math.floor(box.x1 - grow_x), math.floor(box.y1 - grow_y)
    x2, y2 = max(math.ceil(box.x2 + grow_x), x1 + 1), max(math.ceil(box.y2 + grow_y), y1 + 1)
    inside = rgb[max(y1, 0) : min(y2, height), max(x1, 0) : min(x2, width)]
    if inside.size == 0:
        return np.zeros((size, size, 3), np.uint8)
    padded = cv2.copyMakeBorder(
        inside,
        max(-y1, 0),
        max(y2 - height, 0),
        max(-x1, 0),
        max(x2 - width, 0),
        cv2.BORDER_REPLICATE,
    )
    interpolation = cv2.INTER_AREA if padded.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(padded, (size, size), interpolation=interpolation)


def to_grey(crops: np.ndarray) -> np.ndarray:
    """RGB uint8 crops (n, h, w, 3) as float32 grey in [0, 1], shape (n, h, w, 1).

    Heritage pages are mostly greyscale or sepia: colour carries the scan, not the face.
    """
    grey = crops.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (grey / 255.0)[..., None]


def infer(model, inputs, *, batch_size: int = 256):
    """The model's outputs as numpy, by direct calls in batches.

    `model.predict` traces a graph for every new input shape, which costs more than the few
    crops of one page take to run.
    """
    import keras

    first = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs
    outputs = []
    for start in range(0, len(first), batch_size):
        batch = (
            {key: value[start : start + batch_size] for key, value in inputs.items()}
            if isinstance(inputs, dict)
            else inputs[start : start + batch_size]
        )
        outputs.append(keras.tree.map_structure(keras.ops.convert_to_numpy, model(batch, training=False)))
    if isinstance(outputs[0], dict):
        return {key: np.concatenate([out[key] for out in outputs]) for key in outputs[0]}
    return np.concatenate(outputs)


def save_model(model, path: Path, sidecar: dict[str, Any]) -> Path:
    """Write the `.keras` archive and its JSON sidecar beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    write_sidecar(path, sidecar)
    return path


def write_sidecar(path: Path, sidecar: dict[str, Any]) -> None:
    """Write (or rewrite) the JSON that says how to feed the model saved at `path`."""
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=1, sort_keys=True), encoding="utf-8")


def load_model(path: Path) -> tuple[Any, dict[str, Any]]:
    """A saved model and its sidecar."""
    import keras

    sidecar = json.loads(Path(path).with_suffix(".json").read_text(encoding="utf-8"))
    return keras.models.load_model(path, compile=False), sidecar


def resized(image: np.ndarray, size: int) -> np.ndarray:
    import cv2

    if image.shape[0] == size and image.shape[1] == size:
        return image
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


class KerasAttributeModel:
    """Our attribute CNN trained from curated faces, served like the ONNX age/gender model."""

    name: str = "keras-attributes"
    version: str = "keras-attributes"
    # Below this many pixels a face is a smudge; the answer is "unknown".
    MIN_FACE_SIZE = 8

    def __init__(self, *, model_path: str, gender_threshold: float = 0.6, child_threshold: float = 0.5) -> None:
        if not 0.5 <= gender_threshold <= 1.0:
            raise ValueError(f"gender_threshold must be in [0.5, 1], got {gender_threshold}")
        self.gender_threshold = gender_threshold
        self.child_threshold = child_threshold
        self._model, sidecar = load_model(Path(model_path))
        self.input_size = int(sidecar["input_size"])
        self.margin = float(sidecar["margin"])
        # A model trained without any curated age must not invent one.
        self.predicts_age = bool(sidecar.get("age_faces", 0))
        self.version = str(sidecar.get("version", self.version))

    def predict(self, image: np.ndarray, box: Detection) -> AgeGender:
        """Age, gender and child flag of the face at `box`."""
        return self.predict_many(image, [box])[0]

    def predict_many(self, image: np.ndarray, boxes: Sequence[Detection]) -> list[AgeGender]:
        """The attributes of several faces of one image in one forward pass."""
        rgb = as_rgb(image)
        readable = [i for i, b in enumerate(boxes) if min(b.width, b.height) >= self.MIN_FACE_SIZE]
        results = [AgeGender.unknown() for _ in boxes]
        if not readable:
            return results
        crops = np.stack([crop(rgb, boxes[i], size=self.input_size, margin=self.margin) for i in readable])
        outputs = infer(self._model, to_grey(crops))
        for row, index in enumerate(readable):
            p_female = float(outputs["gender"][row, 0])
            confidence = max(p_female, 1.0 - p_female)
            gender = ("female" if p_female >= 0.5 else "male") if confidence >= self.gender_threshold else "unknown"
            age = float(outputs["age"][row, 0]) * AGE_SCALE if self.predicts_age else None
            results[index] = AgeGender(
                age=None if age is None else min(max(age, 0.0), 130.0),
                age_confidence=None,
                gender=gender,
                gender_confidence=confidence,
                child=float(outputs["child"][row, 0]) >= self.child_threshold,
            )
        return results


@dataclass(frozen=True)
class CandidateSearch:
    """How the base detector looks for candidates on a page: tiles, then the plausibility filter."""

    tiling: bool = True
    tile_size: int = 300
    overlap: float = 0.25
    max_face_share: float = 0.25
    min_face_size: int = 12

    def candidates(self, detector: FaceDetector, image: np.ndarray) -> list[Detection]:
        """The detector's boxes on the image (tiled when asked), without implausible ones."""
        from .tiling import plausible_faces

        return plausible_faces(
            detector,
            image,
            tiling=self.tiling,
            tile_size=self.tile_size,
            overlap=self.overlap,
            max_area_share=self.max_face_share,
            min_size=self.min_face_size,
            # Every score: the re-scorer judges the candidates, whatever the base detector made of them.
            lowest_score=0.0,
        )


def rescore(model, image: np.ndarray, candidates: Sequence[Detection], *, size: int, margin: float) -> list[Detection]:
    """The candidates with the re-scorer's probability as their score (same order)."""
    if not candidates:
        return []
    crops = np.stack([crop(image, c, size=size, margin=margin) for c in candidates])
    scores = np.array([[c.score] for c in candidates], dtype=np.float32)
    probabilities = infer(model, {"crop": to_grey(crops), "base_score": scores}).ravel()
    return [
        Detection(c.x1, c.y1, c.x2, c.y2, float(min(max(p, 0.0), 1.0)))
        for c, p in zip(candidates, probabilities, strict=True)
    ]


class RescoredDetector:
    """A base registry detector whose candidates a trained re-scorer scores again.

    The base detector runs at `candidate_threshold` (below its usual threshold, so faces it
    was unsure of can be rescued), on tiles when `tiling` is on, exactly as the candidates the
    re-scorer was trained on were found; boxes whose new score is below `score_threshold` are
    dropped. Tiling happens here, so the pipeline should run this detector untiled.
    """

    name: str = "rescored"
    version: str = "rescored"

    def __init__(
        self,
        *,
        model_path: str,
        base: str = "res10",
        candidate_threshold: float = 0.2,
        score_threshold: float = 0.5,
        tiling: bool = True,
        tile_size: int = 300,
        overlap: float = 0.25,
        max_face_share: float = 0.25,
        min_face_size: int = 12,
        threads: int | None = None,
    ) -> None:
        from .registry import get_detector

        self.score_threshold = score_threshold
        self.candidate_threshold = candidate_threshold
        self.search = CandidateSearch(
            tiling=tiling,
            tile_size=tile_size,
            overlap=overlap,
            max_face_share=max_face_share,
            min_face_size=min_face_size,
        )
        # `threads`: for the base detector, when it can use several cores.
        self._base = get_detector(base, threads=threads, score_threshold=candidate_threshold)
        self._model, sidecar = load_model(Path(model_path))
        self.input_size = int(sidecar["input_size"])
        self.margin = float(sidecar["margin"])
        self.version = str(sidecar.get("version", self.version))

    def detect(self, image: np.ndarray) -> list[Detection]:
        """The base detector's boxes, re-scored, above the score threshold."""
        rgb = as_rgb(image)
        found = self.search.candidates(self._base, rgb)
        rescored = rescore(self._model, rgb, found, size=self.input_size, margin=self.margin)
        return [d for d in rescored if d.score >= self.score_threshold]
