"""Plain result types shared by every model wrapper: one box convention everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Gender = Literal["female", "male", "unknown"]
# Models trained here regress, and heads read, ages in units of AGE_SCALE years (a target of about 0..1).
AGE_SCALE = 100.0


@dataclass(frozen=True)
class Detection:
    """A face box in pixels of the image it was found in: corners (x1, y1)-(x2, y2)."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float

    def __post_init__(self) -> None:
        if self.x2 < self.x1 or self.y2 < self.y1:
            raise ValueError(f"inverted box: {self}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score outside [0, 1]: {self}")

    @classmethod
    def from_xywh(cls, x: float, y: float, w: float, h: float, score: float) -> Detection:
        """Build a detection from a top-left corner and a size."""
        return cls(x, y, x + w, y + h, score)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return self.width * self.height

    def intersection(self, other: Detection) -> float:
        """Area shared by the two boxes."""
        width = min(self.x2, other.x2) - max(self.x1, other.x1)
        height = min(self.y2, other.y2) - max(self.y1, other.y1)
        return max(width, 0.0) * max(height, 0.0)

    def iou(self, other: Detection) -> float:
        """Intersection over union; 0 when the boxes are disjoint or both empty."""
        shared = self.intersection(other)
        union = self.area + other.area - shared
        return shared / union if union > 0 else 0.0

    def scaled(self, sx: float, sy: float) -> Detection:
        """The same box in an image resized by (sx, sy)."""
        return Detection(self.x1 * sx, self.y1 * sy, self.x2 * sx, self.y2 * sy, self.score)

    def shifted(self, dx: float, dy: float) -> Detection:
        """The same box in an image whose origin moved by (-dx, -dy), e.g. tile to page."""
        return Detection(self.x1 + dx, self.y1 + dy, self.x2 + dx, self.y2 + dy, self.score)

    def clipped(self, width: float, height: float) -> Detection:
        """The part of the box inside an image of the given size."""
        x1 = min(max(self.x1, 0.0), width)
        y1 = min(max(self.y1, 0.0), height)
        x2 = min(max(self.x2, x1), width)
        y2 = min(max(self.y2, y1), height)
        return Detection(x1, y1, x2, y2, self.score)

    def to_xywh(self) -> tuple[int, int, int, int]:
        """Integer (x, y, w, h) with each corner rounded to the nearest pixel, at least 1x1."""
        x, y = round(self.x1), round(self.y1)
        return x, y, max(round(self.x2) - x, 1), max(round(self.y2) - y, 1)


@dataclass(frozen=True)
class AgeGender:
    """Estimated age and gender of one face, with the model's confidences."""

    age: float | None
    age_confidence: float | None
    gender: Gender
    # Probability of the returned gender, or of the likelier one when gender is "unknown".
    gender_confidence: float
    child: bool

    @classmethod
    def unknown(cls) -> AgeGender:
        """The answer for a face the model cannot read (too small, no landmarks)."""
        return cls(age=None, age_confidence=None, gender="unknown", gender_confidence=0.0, child=False)
