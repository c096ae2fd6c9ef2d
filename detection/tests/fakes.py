"""Fake models for pipeline tests: fixed boxes and fixed attributes, recording what they were shown."""

from __future__ import annotations

from detection.inference.types import AgeGender, Detection


class FakeDetector:
    """Finds the same boxes (derivative pixels) in every image it is shown, above its threshold."""

    name = "fake"
    version = "fake-1"

    def __init__(self, boxes: list[Detection] | None = None, *, score_threshold: float = 0.5) -> None:
        self.boxes = list(boxes or [])
        self.score_threshold = score_threshold
        self.shapes: list[tuple[int, int]] = []
        self.error: Exception | None = None

    def detect(self, image):
        self.shapes.append(image.shape[:2])
        if self.error is not None:
            raise self.error
        return [box for box in self.boxes if box.score >= self.score_threshold]


class FakeAgeGender:
    """Calls every face a 30-year-old woman, and remembers the boxes it was asked about."""

    name = "fake-age-gender"
    version = "fake-ag-1"

    def __init__(self) -> None:
        self.boxes: list[Detection] = []

    def predict(self, image, box: Detection) -> AgeGender:
        self.boxes.append(box)
        return AgeGender(age=30.0, age_confidence=0.4, gender="female", gender_confidence=0.9, child=False)
