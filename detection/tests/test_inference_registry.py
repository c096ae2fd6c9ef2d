"""Models by name: lookup, one instance per process, and adding a model at run time."""

import os
import subprocess
import sys
from dataclasses import replace as replace_spec
from pathlib import Path

import pytest

from detection.inference import registry
from detection.inference.registry import (
    ATTRIBUTE_MODELS,
    DETECTORS,
    ModelSpec,
    UnknownModelError,
    get_attribute_model,
    get_detector,
    register_attribute_model,
    register_detector,
)


class CountingDetector:
    """Finds nothing, and counts how many times it was built."""

    name = "counting"
    version = "1"
    builds = 0

    def __init__(self, *, score_threshold=0.5):
        CountingDetector.builds += 1
        self.score_threshold = score_threshold

    def detect(self, image):
        return []


def counting_spec(version="1"):
    return ModelSpec(
        name="counting",
        kind="detector",
        version=version,
        license="test only",
        description="finds nothing",
        default_params={"score_threshold": 0.5},
        factory=CountingDetector,
    )


@pytest.fixture(autouse=True)
def shipped_registry(isolated_registry):
    """Every test starts from the shipped registry, an empty model cache and no detector built."""
    CountingDetector.builds = 0


def test_it_ships_the_five_detectors_and_the_age_gender_model():
    assert set(DETECTORS) == {"res10", "haar", "mtcnn", "dlib-mmod", "centerface"}
    assert set(ATTRIBUTE_MODELS) == {"onnx-age-gender"}
    assert registry.DEFAULT_DETECTOR in DETECTORS
    assert registry.DEFAULT_ATTRIBUTE_MODEL in ATTRIBUTE_MODELS


def test_only_the_fixed_input_detector_tiles_by_default():
    assert {name for name, spec in DETECTORS.items() if spec.tiling_default} == {"res10"}


def test_the_settings_default_detector_is_the_registrys_when_the_environment_names_none():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "webapp.settings"}
    environment.pop("DETECTION_DEFAULT_DETECTOR", None)
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "from detection.inference.registry import DEFAULT_DETECTOR; "
        "print(settings.DETECTION_DEFAULT_DETECTOR, DEFAULT_DETECTOR)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    from_settings, from_registry = done.stdout.split()
    assert from_settings == from_registry == "centerface"


class ThreadedDetector(CountingDetector):
    """A counting detector that can use several cores."""

    def __init__(self, *, score_threshold=0.5, threads=1):
        super().__init__(score_threshold=score_threshold)
        self.threads = threads


def test_only_detectors_that_can_use_several_cores_are_given_threads():
    register_detector(counting_spec())
    register_detector(replace_spec(counting_spec(), name="threaded", factory=ThreadedDetector, threaded=True))

    assert get_detector("threaded", threads=2).threads == 2
    assert get_detector("threaded").threads == 1
    # The others are built as they would be without it, and shared with callers that name none.
    assert get_detector("counting", threads=2) is get_detector("counting")
    assert [name for name, spec in DETECTORS.items() if spec.threaded] == ["centerface", "threaded"]


def test_a_rescored_detector_gives_its_base_the_workers_threads(monkeypatch):
    from detection.inference import trained

    register_detector(replace_spec(counting_spec(), name="threaded", factory=ThreadedDetector, threaded=True))
    monkeypatch.setattr(trained, "load_model", lambda path: (None, {"input_size": 32, "margin": 0.2}))

    rescored = trained.RescoredDetector(model_path="unused.keras", base="threaded", threads=2)

    assert rescored._base.threads == 2


def test_every_spec_names_a_version_and_a_license():
    for spec in [*DETECTORS.values(), *ATTRIBUTE_MODELS.values()]:
        assert spec.version and spec.license and spec.description


def test_an_unknown_detector_name_raises_and_lists_the_known_ones():
    with pytest.raises(UnknownModelError, match="res10"):
        get_detector("yolo")


def test_an_unknown_attribute_model_name_raises_a_key_error():
    with pytest.raises(KeyError):
        get_attribute_model("deepface")


def test_a_registered_detector_is_served_by_name():
    register_detector(counting_spec())

    assert isinstance(get_detector("counting"), CountingDetector)


def test_the_same_name_and_params_give_the_same_instance():
    register_detector(counting_spec())

    first = get_detector("counting")

    assert get_detector("counting") is first
    assert get_detector("counting", score_threshold=0.5) is first
    assert CountingDetector.builds == 1


def test_other_params_give_another_instance():
    register_detector(counting_spec())

    strict = get_detector("counting", score_threshold=0.9)

    assert strict is not get_detector("counting")
    assert strict.score_threshold == 0.9


def test_registering_a_taken_name_needs_replace():
    register_detector(counting_spec())
    old = get_detector("counting")

    with pytest.raises(ValueError):
        register_detector(counting_spec(version="2"))
    register_detector(counting_spec(version="2"), replace=True)

    assert DETECTORS["counting"].version == "2"
    assert get_detector("counting") is not old


def test_a_detector_cannot_be_registered_as_an_attribute_model():
    with pytest.raises(ValueError):
        register_attribute_model(counting_spec())
