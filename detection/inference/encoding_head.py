"""Gender and child heads on face encodings: logistic regressions fitted on curated faces (#14 point 3).

A head reads a face's 128-d dlib encoding (`FaceEncoder`, the one similarity search uses),
optionally with the shipped age/gender model's reading of it (the logit of its probability of
"female" and its age / 100), and gives a probability. The face is read as it is and mirrored,
and the two scores are averaged, as the heads were fitted on both. Gender is "unknown"
inside the band where neither sex reaches `gender_threshold`, as for the other attribute models.

Heads are a few hundred numbers, saved as JSON (`EncodingHeads.save`), fitted by
`detection.training.encoding_head`. Nothing here needs Django or a deep-learning framework
beyond dlib (and ONNX Runtime when the age/gender reading is a feature).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .images import as_rgb, mirrored_around
from .types import AGE_SCALE, AgeGender, Detection

# The features a head may read, in the order they are concatenated.
ENCODING = "encoding"
AGE_GENDER = "age-gender"
FEATURE_SETS = ((ENCODING,), (ENCODING, AGE_GENDER))
# The age/gender model's probability is clipped this far from 0 and 1 before its logit is taken.
LOGIT_CLIP = 1e-3


def sigmoid(scores: np.ndarray) -> np.ndarray:
    """The logistic function of scores clipped to ±50 (no overflow in exp; the result is 0 or 1 to double precision)."""
    return 1.0 / (1.0 + np.exp(-np.clip(scores, -50.0, 50.0)))


@dataclass(frozen=True)
class LogisticHead:
    """P(positive) = sigmoid(((x - mean) / scale) · weights + bias).

    The weights and bias are calibrated (Platt scaling on cross-validated scores), so the
    probability can be cut by the same `gender_threshold` band as the other models'.
    """

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def logit(self, features: np.ndarray) -> np.ndarray:
        """The linear score of the rows of `features` (n, d); a feature that could not be read (NaN) counts
        as the fitted faces' mean."""
        x = np.asarray(features, dtype=np.float64)
        x = np.where(np.isnan(x), self.mean, x)
        return ((x - self.mean) / self.scale) @ self.weights + self.bias

    def probability(self, features: np.ndarray) -> float:
        """The probability of one face from its rows (as it is and mirrored): the sigmoid of their mean score."""
        return float(sigmoid(np.mean(self.logit(features))))

    def as_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "weights": self.weights.tolist(),
            "bias": float(self.bias),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogisticHead:
        return cls(
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
        )


@dataclass(frozen=True)
class EncodingHeads:
    """A gender head and a child head (either may be missing: no curated face of one class), and how to read them."""

    features: tuple[str, ...]
    gender: LogisticHead | None
    child: LogisticHead | None
    gender_threshold: float = 0.6
    child_threshold: float = 0.5
    version: str = "encoding-head"
    # What the fit saw and chose (faces, documents, regularisation, cross-validated figures).
    report: dict[str, Any] | None = None

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "kind": "encoding-head",
            "features": list(self.features),
            "gender": self.gender.as_dict() if self.gender else None,
            "child": self.child.as_dict() if self.child else None,
            "gender_threshold": self.gender_threshold,
            "child_threshold": self.child_threshold,
            "version": self.version,
            "report": self.report or {},
        }
        path.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> EncodingHeads:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        features = tuple(record["features"])
        if features not in FEATURE_SETS:
            raise ValueError(f"unknown encoding-head features {features!r}")
        return cls(
            features=features,
            gender=LogisticHead.from_dict(record["gender"]) if record.get("gender") else None,
            child=LogisticHead.from_dict(record["child"]) if record.get("child") else None,
            gender_threshold=float(record.get("gender_threshold", 0.6)),
            child_threshold=float(record.get("child_threshold", 0.5)),
            version=str(record.get("version", "encoding-head")),
            report=record.get("report") or {},
        )


def age_gender_features(estimate: AgeGender) -> np.ndarray | None:
    """The age/gender model's reading as two features: the logit of P(female), and age / 100.

    The model must be read without an unknown band (gender_threshold 0.5), so its likelier sex is kept.
    """
    if estimate.age is None or estimate.gender == "unknown":
        return None
    p_female = estimate.gender_confidence if estimate.gender == "female" else 1.0 - estimate.gender_confidence
    p = min(max(p_female, LOGIT_CLIP), 1.0 - LOGIT_CLIP)
    return np.array([math.log(p / (1.0 - p)), estimate.age / AGE_SCALE])


class FaceFeatures:
    """The features of one face and of its mirror image: rows (2, d), or None for a face too small to encode."""

    # Context around the face kept when it is mirrored (the encoder's landmarks look inside the box only).
    MIRROR_MARGIN = 0.5

    def __init__(self, features: Sequence[str], *, encoder=None, age_gender=None) -> None:
        if tuple(features) not in FEATURE_SETS:
            raise ValueError(f"unknown encoding-head features {tuple(features)!r}; known: {FEATURE_SETS}")
        self.features = tuple(features)
        if encoder is None:
            from .encoder import FaceEncoder

            encoder = FaceEncoder()
        self.encoder = encoder
        if AGE_GENDER in self.features and age_gender is None:
            from .age_gender import OnnxAgeGender

            # Its mirror-averaged reading, with no unknown band: the head needs its probability.
            age_gender = OnnxAgeGender(gender_threshold=0.5)
        self.age_gender = age_gender

    def of(self, image: np.ndarray, box: Detection) -> np.ndarray | None:
        rgb = as_rgb(image)
        face = box.clipped(rgb.shape[1], rgb.shape[0])
        encoding = self.encoder.encode(rgb, face)
        if encoding is None:
            return None
        crop, mirrored_box = mirrored_around(rgb, face, self.MIRROR_MARGIN)
        mirrored = self.encoder.encode(crop, mirrored_box)
        rows = [np.asarray(encoding, dtype=np.float64), np.asarray(mirrored if mirrored is not None else encoding)]
        if AGE_GENDER in self.features:
            reading = age_gender_features(self.age_gender.predict(rgb, face))
            if reading is None:
                reading = np.array([np.nan, np.nan])
            rows = [np.concatenate([row, reading]) for row in rows]
        return np.stack(rows)


class EncodingHeadAttributes:
    """Gender and child from heads fitted on curated faces' encodings, served like the other attribute models.

    Age comes from the age/gender model when it is one of the head's features, else it is not
    given. A face the encoder cannot read (under 10 px) is "unknown".
    """

    name: str = "encoding-head"
    version: str = "encoding-head"

    def __init__(
        self,
        *,
        model_path: str | None = None,
        heads: EncodingHeads | None = None,
        gender_threshold: float | None = None,
        child_threshold: float | None = None,
        encoder=None,
        age_gender=None,
    ) -> None:
        if (model_path is None) == (heads is None):
            raise ValueError("give either model_path or heads")
        self.heads = heads if heads is not None else EncodingHeads.load(Path(model_path))
        self.gender_threshold = self.heads.gender_threshold if gender_threshold is None else gender_threshold
        if not 0.5 <= self.gender_threshold <= 1.0:
            raise ValueError(f"gender_threshold must be in [0.5, 1], got {self.gender_threshold}")
        self.child_threshold = self.heads.child_threshold if child_threshold is None else child_threshold
        self.version = self.heads.version
        self.reader = FaceFeatures(self.heads.features, encoder=encoder, age_gender=age_gender)

    def predict(self, image: np.ndarray, box: Detection) -> AgeGender:
        """Age, gender and child flag of the face at `box`."""
        rows = self.reader.of(image, box)
        if rows is None:
            return AgeGender.unknown()
        return self.read(rows)

    def predict_many(self, image: np.ndarray, boxes: Sequence[Detection]) -> list[AgeGender]:
        return [self.predict(image, box) for box in boxes]

    def read(self, rows: np.ndarray) -> AgeGender:
        """The estimate from a face's feature rows (the face and its mirror image)."""
        gender, confidence = "unknown", 0.0
        if self.heads.gender is not None:
            p_female = self.heads.gender.probability(rows)
            confidence = max(p_female, 1.0 - p_female)
            if confidence >= self.gender_threshold:
                gender = "female" if p_female >= 0.5 else "male"
        child = False
        if self.heads.child is not None:
            child = self.heads.child.probability(rows) >= self.child_threshold
        age = None
        if AGE_GENDER in self.heads.features and not np.isnan(rows[0, -1]):
            age = float(rows[0, -1] * AGE_SCALE)
        return AgeGender(age=age, age_confidence=None, gender=gender, gender_confidence=confidence, child=child)
