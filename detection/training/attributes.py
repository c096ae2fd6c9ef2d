"""Training the age/gender/child classifier (Keras, from scratch on CPU, early stopping on validation loss)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from detection.inference.trained import crop, infer, resized, to_grey
from detection.inference.types import AGE_SCALE
from detection.training.data import KNOWN_GENDERS, LabelledImage, augmenter
from detection.training.fitting import FitResult, Progress, fit, training_batches


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


def _attribute_batches(crops: np.ndarray, samples: Sequence[AttributeSample], **options):
    targets, weights = attribute_targets(samples)

    def pack(grey: np.ndarray, rows: np.ndarray):
        return grey, {k: v[rows] for k, v in targets.items()}, {k: v[rows] for k, v in weights.items()}

    return training_batches(crops, pack, **options)


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
    train_crops = np.stack([resized(s.crop, input_size) for s in train])
    val_crops = np.stack([resized(s.crop, input_size) for s in validation])
    result = fit(
        model,
        _attribute_batches(train_crops, train, batch_size=batch_size, augment=augmenter(seed), seed=seed),
        _attribute_batches(val_crops, validation, batch_size=batch_size, augment=None, seed=seed),
        epochs=epochs,
        patience=patience,
        on_epoch=on_epoch,
    )
    result.metrics = _attribute_scores(validation, infer(model, to_grey(val_crops)))
    return result


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
