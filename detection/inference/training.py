"""Models trained here from curated faces (Keras): an age/gender/child classifier and a detector re-scorer.

Both read the LabelMe export of reviewed pages (`read_labelme_folder`): shapes labelled `face`
are truths with the curator's attributes, shapes labelled `not_face` are rejected boxes (hard
negatives). Both train from scratch on CPU in minutes, so nothing is downloaded, and both stop
early on validation loss. The trained files are plain `.keras` archives with a JSON sidecar that
says how to feed them; `KerasAttributeModel` and `RescoredDetector` load them as registry models.

TensorFlow and albumentations are imported inside the functions that need them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .detectors import FaceDetector
from .images import as_rgb
from .metrics import evaluate_detections, match
from .types import AgeGender, Detection

FACE_LABEL = "face"
NEGATIVE_LABEL = "not_face"
KNOWN_GENDERS = ("female", "male")
# Ages are regressed in units of AGE_SCALE years so the target is about 0..1.
AGE_SCALE = 100.0


# ---------------------------------------------------------------------------------------------
# Training data: the LabelMe export of reviewed pages.


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


# ---------------------------------------------------------------------------------------------
# Shared Keras plumbing.


Progress = Callable[[int, int, dict[str, float]], bool]


@dataclass
class FitResult:
    """What a training run produced: the model, its losses and whether it was stopped."""

    model: Any
    history: dict[str, list[float]]
    initial_val_loss: float
    best_val_loss: float
    best_epoch: int
    epochs_run: int
    cancelled: bool
    metrics: dict[str, Any] = field(default_factory=dict)


def _progress_callback(on_epoch: Progress | None, epochs: int):
    import keras

    class ReportProgress(keras.callbacks.Callback):
        """Reports each epoch and stops training when the reporter says the job was cancelled."""

        cancelled = False

        def on_epoch_end(self, epoch, logs=None):
            if on_epoch is not None and on_epoch(epoch + 1, epochs, {k: float(v) for k, v in (logs or {}).items()}):
                self.cancelled = True
                self.model.stop_training = True

    return ReportProgress()


def _fit(
    model,
    train_data,
    validation_data,
    *,
    epochs: int,
    patience: int,
    on_epoch: Progress | None,
) -> FitResult:
    import keras

    initial = model.evaluate(validation_data, verbose=0, return_dict=True)["loss"]
    progress = _progress_callback(on_epoch, epochs)
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    history = model.fit(
        train_data, validation_data=validation_data, epochs=epochs, verbose=0, callbacks=[stopper, progress]
    ).history
    losses = history.get("val_loss", [])
    best_epoch = int(np.argmin(losses)) + 1 if losses else 0
    return FitResult(
        model=model,
        history={key: [float(v) for v in values] for key, values in history.items()},
        initial_val_loss=float(initial),
        best_val_loss=float(min(losses)) if losses else float(initial),
        best_epoch=best_epoch,
        epochs_run=len(losses),
        cancelled=progress.cancelled,
    )


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


# ---------------------------------------------------------------------------------------------
# Age, gender and child classifier.


@dataclass(frozen=True)
class AttributeSample:
    """One curated face crop (RGB uint8) and the labels a curator gave it."""

    crop: np.ndarray
    gender: str
    age: float | None
    child: bool


def attribute_samples(images: Sequence[LabelledImage], *, size: int, margin: float) -> list[AttributeSample]:
    """Crops of every curated face of these pages, with their gender, age and child labels."""
    samples = []
    for image in images:
        faces = [labelled for labelled in image.boxes if labelled.is_face]
        if not faces:
            continue
        pixels = image.load()
        for labelled in faces:
            samples.append(
                AttributeSample(
                    crop=crop(pixels, labelled.box, size=size, margin=margin),
                    gender=labelled.gender,
                    age=labelled.age,
                    child=labelled.child,
                )
            )
    return samples


def attribute_targets(samples: Sequence[AttributeSample]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Targets and per-head weights: a face without a known gender or age teaches only the other heads."""
    gender = np.array([[1.0 if s.gender == "female" else 0.0] for s in samples], dtype=np.float32)
    gender_known = np.array([s.gender in KNOWN_GENDERS for s in samples], dtype=np.float32)
    age = np.array([[(s.age or 0.0) / AGE_SCALE] for s in samples], dtype=np.float32)
    age_known = np.array([s.age is not None for s in samples], dtype=np.float32)
    child = np.array([[1.0 if s.child else 0.0] for s in samples], dtype=np.float32)
    targets = {"gender": gender.reshape(-1, 1), "age": age.reshape(-1, 1), "child": child.reshape(-1, 1)}
    weights = {"gender": gender_known, "age": age_known, "child": np.ones(len(samples), dtype=np.float32)}
    return targets, weights


def build_attribute_model(input_size: int, *, seed: int = 0):
    """A small CNN (about 20 k weights) with three heads: P(female), age / 100, P(child)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((input_size, input_size, 1), name="face")
    x = inputs
    for filters in (8, 16, 32, 48):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = {
        "gender": layers.Dense(1, activation="sigmoid", name="gender")(x),
        "age": layers.Dense(1, activation="relu", name="age")(x),
        "child": layers.Dense(1, activation="sigmoid", name="child")(x),
    }
    model = keras.Model(inputs, outputs, name="visages_attributes")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss={"gender": "binary_crossentropy", "age": "mae", "child": "binary_crossentropy"},
        # XLA compilation costs seconds per traced function and buys nothing for a net this small on CPU.
        jit_compile=False,
    )
    return model


def _batches(crops: np.ndarray, pack, *, batch_size: int, augment, seed: int):
    """A Keras dataset over RGB crops, augmented and reshuffled every epoch when `augment` is given.

    `pack(grey, rows)` turns a batch of grey crops and their row numbers into (x, y, weights).
    """
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = np.arange(len(crops))

        def __len__(self):
            return max(1, math.ceil(len(crops) / batch_size))

        def on_epoch_end(self):
            if augment is not None:
                self.order = self.rng.permutation(len(crops))

        def __getitem__(self, index):
            rows = self.order[index * batch_size : (index + 1) * batch_size]
            batch = crops[rows]
            if augment is not None:
                batch = np.stack([augment(image=image)["image"] for image in batch])
            return pack(to_grey(batch), rows)

    return Batches()


def _attribute_batches(crops: np.ndarray, samples: Sequence[AttributeSample], **options):
    targets, weights = attribute_targets(samples)

    def pack(grey: np.ndarray, rows: np.ndarray):
        return grey, {k: v[rows] for k, v in targets.items()}, {k: v[rows] for k, v in weights.items()}

    return _batches(crops, pack, **options)


def train_attribute_model(
    train: Sequence[AttributeSample],
    validation: Sequence[AttributeSample],
    *,
    input_size: int = 64,
    epochs: int = 30,
    batch_size: int = 32,
    patience: int = 5,
    seed: int = 0,
    on_epoch: Progress | None = None,
) -> FitResult:
    """Train the attribute CNN on augmented crops; stops early on validation loss and keeps the best weights."""
    if not train or not validation:
        raise ValueError("training needs curated faces on both sides of the split")
    model = build_attribute_model(input_size, seed=seed)
    train_crops = np.stack([_resized(s.crop, input_size) for s in train])
    val_crops = np.stack([_resized(s.crop, input_size) for s in validation])
    result = _fit(
        model,
        _attribute_batches(train_crops, train, batch_size=batch_size, augment=augmenter(seed), seed=seed),
        _attribute_batches(val_crops, validation, batch_size=batch_size, augment=None, seed=seed),
        epochs=epochs,
        patience=patience,
        on_epoch=on_epoch,
    )
    result.metrics = _attribute_scores(validation, infer(model, to_grey(val_crops)))
    return result


def _resized(image: np.ndarray, size: int) -> np.ndarray:
    import cv2

    if image.shape[0] == size and image.shape[1] == size:
        return image
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def _attribute_scores(samples: Sequence[AttributeSample], predictions: dict[str, np.ndarray]) -> dict[str, Any]:
    p_female = predictions["gender"].ravel()
    ages = predictions["age"].ravel() * AGE_SCALE
    p_child = predictions["child"].ravel()
    known = [i for i, s in enumerate(samples) if s.gender in KNOWN_GENDERS]
    aged = [i for i, s in enumerate(samples) if s.age is not None]
    return {
        "val_faces": len(samples),
        "val_gender_faces": len(known),
        "val_gender_accuracy": _mean_or_none([(p_female[i] >= 0.5) == (samples[i].gender == "female") for i in known]),
        "val_age_faces": len(aged),
        "val_age_mae": _mean_or_none([abs(ages[i] - samples[i].age) for i in aged]),  # type: ignore[operator]
        "val_child_accuracy": _mean_or_none([(p_child[i] >= 0.5) == samples[i].child for i in range(len(samples))]),
    }


def _mean_or_none(values: Sequence[Any]) -> float | None:
    return float(np.mean(values)) if len(values) else None


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


# ---------------------------------------------------------------------------------------------
# Detector re-scorer: a second look at the base detector's candidates.


@dataclass(frozen=True)
class RescoreSample:
    """A candidate box's crop (RGB uint8), the base detector's score, and whether it is a face."""

    crop: np.ndarray
    base_score: float
    is_face: bool


@dataclass(frozen=True)
class CandidatePage:
    """The base detector's candidates on one labelled page, with the curated truth beside them."""

    image: LabelledImage
    candidates: tuple[Detection, ...]


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
        from .tiling import detect_tiled, filter_implausible

        height, width = image.shape[:2]
        found = (
            detect_tiled(detector, image, tile_size=self.tile_size, overlap=self.overlap)
            if self.tiling
            else detector.detect(image)
        )
        return filter_implausible(
            found,
            image_width=width,
            image_height=height,
            max_area_share=self.max_face_share,
            min_size=self.min_face_size,
        )


def candidate_pages(
    images: Sequence[LabelledImage],
    detector: FaceDetector,
    search: CandidateSearch,
    *,
    on_page: Callable[[int], None] | None = None,
) -> list[CandidatePage]:
    """Run the base detector (at its low candidate threshold) on each page once."""
    pages = []
    for index, image in enumerate(images):
        pages.append(CandidatePage(image=image, candidates=tuple(search.candidates(detector, image.load()))))
        if on_page is not None:
            on_page(index + 1)
    return pages


def rescore_samples(
    pages: Sequence[CandidatePage], *, size: int, margin: float, add_truths: bool = True
) -> list[RescoreSample]:
    """Labelled crops for the re-scorer.

    A candidate overlapping a curated face (IoU >= 0.5) is a positive; any other candidate,
    and every box the curator rejected, is a negative. With `add_truths`, curated faces the
    detector missed are added as positives (scored at the candidates' lowest score), so the
    model sees faces it must keep.
    """
    samples = []
    for page in pages:
        pixels = page.image.load()
        faces = page.image.faces
        hits = match(page.candidates, faces)
        floor = min((c.score for c in page.candidates), default=0.0)
        for candidate, truth in zip(page.candidates, hits, strict=True):
            samples.append(
                RescoreSample(crop(pixels, candidate, size=size, margin=margin), candidate.score, truth is not None)
            )
        found = {truth for truth in hits if truth is not None}
        if add_truths:
            for index, face in enumerate(faces):
                if index not in found:
                    samples.append(RescoreSample(crop(pixels, face, size=size, margin=margin), floor, True))
        for rejected in page.image.rejected:
            if not any(rejected.iou(c) >= 0.5 for c in page.candidates):
                samples.append(RescoreSample(crop(pixels, rejected, size=size, margin=margin), floor, False))
    return samples


def build_rescorer_model(input_size: int, *, seed: int = 0):
    """A small CNN on the candidate crop, joined with the base score: P(the candidate is a face)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    face = keras.Input((input_size, input_size, 1), name="crop")
    base = keras.Input((1,), name="base_score")
    x = face
    for filters in (16, 32, 32):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Concatenate()([x, base])
    x = layers.Dense(16, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="is_face")(x)
    model = keras.Model({"crop": face, "base_score": base}, outputs, name="visages_rescorer")
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy", jit_compile=False)
    return model


def _rescore_batches(samples: Sequence[RescoreSample], **options):
    scores = np.array([[s.base_score] for s in samples], dtype=np.float32)
    labels = np.array([[1.0 if s.is_face else 0.0] for s in samples], dtype=np.float32)
    positives = max(1.0, float(labels.sum()))
    negatives = max(1.0, float(len(labels) - labels.sum()))
    # Each class weighs half of the loss, so a page of junk candidates does not drown the faces.
    weights = np.where(labels.ravel() > 0, len(labels) / (2 * positives), len(labels) / (2 * negatives))
    weights = weights.astype(np.float32)

    def pack(grey: np.ndarray, rows: np.ndarray):
        return {"crop": grey, "base_score": scores[rows]}, labels[rows], weights[rows]

    return _batches(np.stack([s.crop for s in samples]), pack, **options)


def rescorer_metrics(
    model, pages: Sequence[CandidatePage], *, size: int, margin: float, base_threshold: float, score_threshold: float
) -> dict[str, float | int | None]:
    """Held-out metrics of the base detector and of the re-scored candidates (same candidates).

    AP reads each whole ranking (every candidate); precision, recall and F1 are taken at each
    model's own operating threshold.
    """
    base_pairs = []
    rescored_pairs = []
    for page in pages:
        faces = page.image.faces
        base_pairs.append((list(page.candidates), faces))
        rescored_pairs.append((rescore(model, page.image.load(), page.candidates, size=size, margin=margin), faces))
    metrics: dict[str, float | int | None] = {"val_pages": len(pages), "val_truths": sum(len(p[1]) for p in base_pairs)}
    for prefix, pairs, threshold in (
        ("base", base_pairs, base_threshold),
        ("rescored", rescored_pairs, score_threshold),
    ):
        ranking = evaluate_detections(pairs)
        operating = evaluate_detections(pairs, score_threshold=threshold)
        metrics[f"val_{prefix}_ap50"] = ranking.ap50
        metrics[f"val_{prefix}_ap50_95"] = ranking.ap50_95
        metrics[f"val_{prefix}_precision"] = operating.precision
        metrics[f"val_{prefix}_recall"] = operating.recall
        metrics[f"val_{prefix}_f1"] = operating.f1
    return metrics


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


def train_rescorer(
    train: Sequence[CandidatePage],
    validation: Sequence[CandidatePage],
    *,
    input_size: int = 32,
    margin: float = 0.25,
    epochs: int = 40,
    batch_size: int = 64,
    patience: int = 6,
    seed: int = 0,
    base_threshold: float = 0.5,
    score_threshold: float = 0.5,
    on_epoch: Progress | None = None,
) -> FitResult:
    """Train the re-scorer on candidate crops; metrics compare held-out AP before and after."""
    train_samples = rescore_samples(train, size=input_size, margin=margin)
    val_samples = rescore_samples(validation, size=input_size, margin=margin, add_truths=False)
    if not any(s.is_face for s in train_samples) or not any(not s.is_face for s in train_samples):
        raise ValueError("the re-scorer needs both faces and rejected or unmatched boxes to learn from")
    if not val_samples:
        raise ValueError("the held-out pages gave no candidates to validate on")
    model = build_rescorer_model(input_size, seed=seed)
    result = _fit(
        model,
        _rescore_batches(train_samples, batch_size=batch_size, augment=augmenter(seed), seed=seed),
        _rescore_batches(val_samples, batch_size=batch_size, augment=None, seed=seed),
        epochs=epochs,
        patience=patience,
        on_epoch=on_epoch,
    )
    result.metrics = {
        "train_samples": len(train_samples),
        "train_faces": sum(s.is_face for s in train_samples),
        "val_samples": len(val_samples),
        **rescorer_metrics(
            model,
            validation,
            size=input_size,
            margin=margin,
            base_threshold=base_threshold,
            score_threshold=score_threshold,
        ),
    }
    return result


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
        self._base = get_detector(base, score_threshold=candidate_threshold)
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
