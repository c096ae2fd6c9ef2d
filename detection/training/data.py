"""Training data from LabelMe exports of reviewed pages: truths with attributes, hard negatives, document splits.

`read_labelme_folder` reads the export: shapes labelled `face` are truths with the curator's
attributes, shapes labelled `not_face` are rejected boxes (hard negatives).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detection.inference.types import Detection

FACE_LABEL = "face"
NEGATIVE_LABEL = "not_face"
KNOWN_GENDERS = ("female", "male")


@dataclass(frozen=True)
class LabelledBox:
    """A box of a reviewed page in image pixels: a face with its attributes, or a rejected box."""

    box: Detection
    is_face: bool
    gender: str = "unknown"
    age: float | None = None
    child: bool = False


@dataclass(frozen=True)
class LabelledImage:
    """One exported page: its image file, its boxes, and the document it belongs to (for splits)."""

    image_path: Path
    boxes: tuple[LabelledBox, ...]
    document: str
    page: str

    @property
    def faces(self) -> list[Detection]:
        return [labelled.box for labelled in self.boxes if labelled.is_face]

    @property
    def rejected(self) -> list[Detection]:
        return [labelled.box for labelled in self.boxes if not labelled.is_face]

    def load(self) -> np.ndarray:
        """The page image as RGB uint8."""
        from PIL import Image

        with Image.open(self.image_path) as image:
            return np.asarray(image.convert("RGB"))


def read_labelme_folder(folder: Path) -> list[LabelledImage]:
    """Pages of a LabelMe export folder that have their image; rectangles only, sorted by file name."""
    images = []
    for path in sorted(Path(folder).glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        image_path = path.parent / record.get("imagePath", "")
        if not image_path.is_file():
            continue
        boxes = []
        for shape in record.get("shapes", []):
            if shape.get("shape_type") != "rectangle" or shape.get("label") not in (FACE_LABEL, NEGATIVE_LABEL):
                continue
            (ax, ay), (bx, by) = shape["points"]
            box = Detection(min(ax, bx), min(ay, by), max(ax, bx), max(ay, by), 1.0)
            if box.area <= 0:
                continue
            flags = shape.get("flags", {})
            age = shape.get("age")
            boxes.append(
                LabelledBox(
                    box=box,
                    is_face=shape["label"] == FACE_LABEL,
                    gender=shape.get("gender") or "unknown",
                    age=float(age) if age is not None else None,
                    child=bool(flags.get("child", False)),
                )
            )
        images.append(
            LabelledImage(
                image_path=image_path,
                boxes=tuple(boxes),
                document=str(record.get("document", "")),
                page=str(record.get("page", path.stem)),
            )
        )
    return images


def split_by_document(
    images: Sequence[LabelledImage], *, validation_share: float = 0.25, seed: int = 0
) -> tuple[list[LabelledImage], list[LabelledImage]]:
    """Train and validation pages, whole documents on each side so no page leaks its neighbours.

    With a single document the split falls back to pages (the last ones go to validation).
    """
    documents = sorted({image.document for image in images})
    if len(documents) >= 2:
        rng = np.random.default_rng(seed)
        shuffled = list(rng.permutation(documents))
        n_validation = min(len(documents) - 1, max(1, round(validation_share * len(documents))))
        held_out = set(shuffled[:n_validation])
        return [i for i in images if i.document not in held_out], [i for i in images if i.document in held_out]
    n_validation = min(len(images) - 1, max(1, round(validation_share * len(images)))) if len(images) > 1 else 0
    cut = len(images) - n_validation
    return list(images[:cut]), list(images[cut:])


def augmenter(seed: int):
    """Albumentations pipeline for face crops: pose, lighting, print and scan damage."""
    import albumentations as A

    return A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.Affine(scale=(0.9, 1.1), translate_percent=(-0.06, 0.06), rotate=(-12, 12), border_mode=1, p=0.8),
            A.RandomBrightnessContrast(brightness_limit=0.25, contrast_limit=0.3, p=0.8),
            A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.Downscale(scale_range=(0.35, 0.8))], p=0.4),
            A.GaussNoise(std_range=(0.02, 0.08), p=0.4),
            A.ImageCompression(quality_range=(40, 90), p=0.3),
        ],
        seed=seed,
    )
