"""The ONNX age/gender model on real faces."""

import numpy as np
import pytest
import skimage.data
import skimage.io

from detection.inference.age_gender import OnnxAgeGender
from detection.inference.registry import get_attribute_model
from detection.inference.types import AgeGender, Detection
from tests.support.synthetic_pages import ASTRONAUT_FACE, FACE_DIR, FIXTURE_FACES

ASTRONAUT = Detection(*ASTRONAUT_FACE, score=1.0)


@pytest.mark.realmodel
def test_the_astronaut_is_an_adult_woman():
    estimate = get_attribute_model("onnx-age-gender").predict(skimage.data.astronaut(), ASTRONAUT)

    assert estimate.gender == "female"
    assert 0.6 <= estimate.gender_confidence <= 1.0
    assert 20 <= estimate.age <= 60
    assert 0.0 < estimate.age_confidence <= 1.0
    assert not estimate.child


@pytest.mark.realmodel
@pytest.mark.parametrize(("photo", "gender"), [("obama.jpg", "male"), ("rose_leslie.jpg", "female")])
def test_it_reads_gender_on_fixture_portraits(photo, gender):
    image = skimage.io.imread(FACE_DIR / photo)

    estimate = get_attribute_model("onnx-age-gender").predict(image, Detection(*FIXTURE_FACES[photo], score=1.0))

    assert estimate.gender == gender


@pytest.mark.realmodel
def test_gender_below_the_threshold_is_unknown_but_keeps_its_confidence():
    # The astronaut reads as female with a probability below 1, so a threshold of 1 is never met.
    strict = OnnxAgeGender(gender_threshold=1.0)

    estimate = strict.predict(skimage.data.astronaut(), ASTRONAUT)

    assert estimate.gender == "unknown"
    assert 0.5 <= estimate.gender_confidence < 1.0


@pytest.mark.realmodel
def test_faces_younger_than_child_age_are_children():
    assert OnnxAgeGender(child_age=99).predict(skimage.data.astronaut(), ASTRONAUT).child


@pytest.mark.realmodel
def test_a_box_too_small_to_read_is_unknown():
    tiny = Detection(10, 10, 15, 15, 0.9)

    assert get_attribute_model("onnx-age-gender").predict(np.zeros((50, 50, 3), np.uint8), tiny) == AgeGender.unknown()


@pytest.mark.realmodel
def test_it_rejects_a_threshold_below_a_coin_toss():
    with pytest.raises(ValueError):
        OnnxAgeGender(gender_threshold=0.4)


@pytest.mark.realmodel
def test_flip_averaging_reads_a_face_and_its_mirror_alike():
    # The estimate averages the face and its mirror image, so mirroring the picture changes nothing
    # beyond the package's percent rounding; one reading alone need not be symmetric.
    image = skimage.data.astronaut()
    width = image.shape[1]
    mirrored = np.ascontiguousarray(image[:, ::-1])
    mirrored_box = Detection(width - ASTRONAUT.x2, ASTRONAUT.y1, width - ASTRONAUT.x1, ASTRONAUT.y2, 1.0)
    averaged = OnnxAgeGender()

    estimate, of_mirror = averaged.predict(image, ASTRONAUT), averaged.predict(mirrored, mirrored_box)

    assert estimate.gender == of_mirror.gender == "female"
    assert estimate.gender_confidence == pytest.approx(of_mirror.gender_confidence, abs=0.02)
    assert estimate.age == pytest.approx(of_mirror.age, abs=1.0)


@pytest.mark.realmodel
def test_flip_averaging_is_the_mean_of_both_readings():
    image = skimage.data.astronaut()
    width = image.shape[1]
    mirrored = np.ascontiguousarray(image[:, ::-1])
    mirrored_box = Detection(width - ASTRONAUT.x2, ASTRONAUT.y1, width - ASTRONAUT.x1, ASTRONAUT.y2, 1.0)
    single = OnnxAgeGender(flip_average=False)

    averaged = OnnxAgeGender().predict(image, ASTRONAUT)

    readings = (single.predict(image, ASTRONAUT), single.predict(mirrored, mirrored_box))
    assert averaged.gender_confidence == pytest.approx(np.mean([r.gender_confidence for r in readings]), abs=0.02)
    assert averaged.age == pytest.approx(np.mean([r.age for r in readings]), abs=1.0)
