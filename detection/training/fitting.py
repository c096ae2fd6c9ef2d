"""The shared Keras fitting loop: batches, progress callbacks, early stopping.

TensorFlow and albumentations are imported inside the functions that need them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detection.inference.trained import to_grey

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


def fit(
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


def training_batches(crops: np.ndarray, pack, *, batch_size: int, augment, seed: int):
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
