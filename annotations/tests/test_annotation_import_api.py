"""POST /api/imports/annotations/: curators upload files into a document and get a per-file report."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from annotations.models import Face, FaceRevision, FaceStatus
from annotations.tests.factories import scanned_document


@pytest.fixture
def document(tmp_path, corpus):
    return scanned_document(tmp_path / "scans", corpus=corpus)


def labelme(shapes) -> SimpleUploadedFile:
    data = {"shapes": shapes, "imagePath": "page2.jpg", "imageData": None, "imageWidth": 400, "imageHeight": 300}
    return SimpleUploadedFile("page2.json", json.dumps(data).encode(), content_type="application/json")


def face_shape(points, label="face"):
    return {"label": label, "points": points, "shape_type": "rectangle", "flags": {"male": True}}


def post(user, document, upload, **fields):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client.post("/api/imports/annotations/", {"file": upload, "document": document.pk, **fields})


def test_a_curator_imports_a_labelme_file(alice, document):
    response = post(alice, document, labelme([face_shape([[200, 150], [100, 50]])]))

    assert response.status_code == 200, response.content
    report = response.json()
    assert report["ok"] and report["created"] == 1 and report["files"][0]["format"] == "labelme"
    face = Face.objects.get()
    assert (face.page.order, face.x, face.y, face.w, face.h) == (2, 200, 100, 200, 200), "400x300 image of 800x600"
    assert face.status == FaceStatus.ADDED and face.gender == "male"
    assert FaceRevision.objects.get().user == alice
    assert face.page.male_count == 1


def test_a_model_source_imports_predictions(alice, document):
    response = post(alice, document, labelme([face_shape([[10, 10], [50, 50]])]), source="mtcnn-0.1")

    assert response.status_code == 200
    assert Face.objects.get().status == FaceStatus.PREDICTED and Face.objects.get().source == "mtcnn-0.1"


def test_rejected_files_come_back_as_400_with_the_report(alice, document):
    response = post(alice, document, labelme([face_shape([[10, 10], [50, 50]], label="horse")]))

    assert response.status_code == 400
    report = response.json()
    assert report["files_rejected"] == 1 and "unknown label 'horse'" in report["files"][0]["errors"][0]
    assert not Face.objects.exists()


def test_viewers_and_strangers_cannot_import(bob, charlie, document):
    assert post(bob, document, labelme([face_shape([[10, 10], [50, 50]])])).status_code == 403
    assert post(charlie, document, labelme([face_shape([[10, 10], [50, 50]])])).status_code == 404
    assert post(None, document, labelme([face_shape([[10, 10], [50, 50]])])).status_code == 403
    assert not Face.objects.exists()


def test_a_bad_source_name_or_format_is_400(alice, document):
    assert post(alice, document, labelme([]), source="no spaces allowed").status_code == 400
    assert post(alice, document, labelme([]), format="pdf").status_code == 400
