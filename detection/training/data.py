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
    # Who made the box and where its review stands, as exported (`source`, `status`; empty when not said).
    source: str = ""
    status: str = ""


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
                    source=str(shape.get("source") or ""),
                    status=str(shape.get("status") or ""),
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


# Below this many documents a job holds out whole pages: with fewer, holding out whole documents
# would leave too little to train on.
MIN_DOCUMENTS_FOR_DOCUMENT_SPLIT = 4


@dataclass(frozen=True)
class HeldOutSplit:
    """Pages to train on, pages for early stopping (validation), and held-out pages the metrics are read on.

    The unit is the page (or the document): no page, and so no face of a page, is on two sides.
    """

    train: list[LabelledImage]
    validation: list[LabelledImage]
    test: list[LabelledImage]
    unit: str  # "document" or "page"


def split_held_out(
    images: Sequence[LabelledImage], *, validation_share: float = 0.25, test_share: float = 0.25, seed: int = 0
) -> HeldOutSplit:
    """Split pages three ways by document (when there are enough documents) or else by page.

    Pages are keyed by their page id, so a page exported twice still falls on one side only.
    Validation picks the epoch to keep; the test pages are seen only once the model is trained.
    """
    documents = sorted({image.document for image in images})
    if len(documents) >= MIN_DOCUMENTS_FOR_DOCUMENT_SPLIT:
        unit, keys = "document", documents
        key_of = _document_key
    else:
        unit, keys = "page", sorted({image.page for image in images})
        key_of = _page_key
    rng = np.random.default_rng(seed)
    shuffled = [str(key) for key in rng.permutation(keys)] if keys else []
    n_test = _share_count(len(shuffled), test_share, keep=2)
    n_validation = _share_count(len(shuffled) - n_test, validation_share / max(1e-9, 1 - test_share), keep=1)
    test_keys = set(shuffled[:n_test])
    validation_keys = set(shuffled[n_test : n_test + n_validation])
    sides: dict[str, list[LabelledImage]] = {"train": [], "validation": [], "test": []}
    for image in images:
        key = key_of(image)
        side = "test" if key in test_keys else "validation" if key in validation_keys else "train"
        sides[side].append(image)
    return HeldOutSplit(**sides, unit=unit)


def _document_key(image: LabelledImage) -> str:
    return image.document


def _page_key(image: LabelledImage) -> str:
    return image.page


def _share_count(total: int, share: float, *, keep: int) -> int:
    """How many of `total` units a share takes: at least one, leaving `keep` for the other sides."""
    if total <= keep:
        return 0
    return min(total - keep, max(1, round(share * total)))


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
