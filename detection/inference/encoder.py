"""128-d face encodings with dlib's ResNet (the model face_recognition uses), for finding a person again."""

from __future__ import annotations

import numpy as np

from .images import as_rgb
from .types import Detection
from .weights import package_file

ENCODING_SIZE = 128


class FaceEncoder:
    """dlib 5-point alignment, then dlib_face_recognition_resnet_model_v1 on a 150x150 chip.

    Encodings of one person are usually within SAME_PERSON_DISTANCE of each other (Euclidean),
    as dlib documents for its LFW results; other people lie beyond it.
    """

    name: str = "dlib-resnet"
    version: str = "dlib_face_recognition_resnet_model_v1"
    LANDMARKS = "models/shape_predictor_5_face_landmarks.dat"
    WEIGHTS = "models/dlib_face_recognition_resnet_model_v1.dat"
    SAME_PERSON_DISTANCE = 0.6
    # Below this many pixels the 5 landmarks cannot be placed and the encoding is noise.
    MIN_FACE_SIZE = 10
    # Chips are resampled to 150x150 with this much context around the aligned face (dlib's default).
    CHIP_PADDING = 0.25

    def __init__(self, *, jitter: int = 0) -> None:
        import dlib

        self._dlib = dlib
        self.jitter = jitter
        self._landmarks = dlib.shape_predictor(str(package_file("face_recognition_models", self.LANDMARKS)))
        self._net = dlib.face_recognition_model_v1(str(package_file("face_recognition_models", self.WEIGHTS)))

    def encode(self, image: np.ndarray, box: Detection) -> np.ndarray | None:
        """The float32 encoding of the face at `box` in an RGB image; None for a box too small."""
        rgb = as_rgb(image)
        face = box.clipped(rgb.shape[1], rgb.shape[0])
        if face.width < self.MIN_FACE_SIZE or face.height < self.MIN_FACE_SIZE:
            return None
        # dlib rectangles include their right and bottom pixels.
        rect = self._dlib.rectangle(int(face.x1), int(face.y1), int(face.x2) - 1, int(face.y2) - 1)
        shape = self._landmarks(rgb, rect)
        descriptor = self._net.compute_face_descriptor(rgb, shape, self.jitter, self.CHIP_PADDING)
        return np.asarray(descriptor, dtype=np.float32)
