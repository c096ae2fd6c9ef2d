"""The web process never loads a model: every page and API route, served in a fresh interpreter, leaves
TensorFlow, Keras, dlib, ONNX Runtime and OpenCV unimported (model work is an inference-queue job)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from tests.support.worker import database_url
from tests.test_permission_matrix import ENDPOINTS, make_corpus, make_export, write_corpus_files

pytestmark = pytest.mark.django_db(transaction=True)


def test_serving_every_page_and_api_route_imports_no_model_library(tmp_path):
    superuser = get_user_model().objects.create_superuser("root", password="root-password-123")
    objects = {**make_corpus("own"), **write_corpus_files("own", tmp_path)}
    objects.update(export=make_export(superuser, objects["corpus"]), superuser=superuser.username)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LOCAL_IMAGES_DIR": str(settings.LOCAL_IMAGES_DIR),
        "IIIF_CACHE_DIR": str(settings.IIIF_CACHE_DIR),
        "IMPORT_SERVER_ROOTS": str(tmp_path),
    }

    walk = subprocess.run(
        [sys.executable, "-m", "tests.support.web_walk", json.dumps(objects)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert walk.returncode == 0, walk.stderr[-4000:]
    report = json.loads(walk.stdout.strip().splitlines()[-1])
    statuses = report["statuses"]
    assert set(statuses) >= {endpoint.name for endpoint in ENDPOINTS}
    # The routes that used to load a model answered, as jobs, and the similarity query stayed synchronous.
    assert statuses["evaluate detector"] == 202
    assert statuses["similar faces, not encoded yet"] == 202
    assert statuses["similar faces"] == 200
    assert "detection.tasks.inference_job_task" in report["sent"]
    assert report["before"] == []
    assert report["after"] == []
