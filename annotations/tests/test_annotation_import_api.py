"""POST /api/imports/annotations/: curators upload files into a document and get a per-file report."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from annotations.ingest.values import KNOWN_LABELS
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


def test_a_zip_over_stored_faces_answers_its_two_file_report(alice, document):
    page = document.pages.get(order=2)
    stored = Face.objects.create(page=page, x=200, y=100, w=200, h=200, confidence=0.9, age=40, source="res10@test")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.json", labelme([face_shape([[10, 10], [50, 50]])]).read())
        zf.writestr("b.json", labelme([{**face_shape([[100, 50], [200, 150]]), "flags": {}}]).read())

    response = post(alice, document, SimpleUploadedFile("faces.zip", archive.getvalue()))

    assert response.status_code == 200, response.content
    report = response.json()
    assert [f["name"] for f in report["files"]] == ["a.json", "b.json"]
    assert (report["created"], report["unchanged"]) == (1, 1)
    stored.refresh_from_db()
    assert (stored.version, stored.age, stored.gender) == (1, 40, "unknown")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["shape 1: unknown label 'horse' (expected one of {labels})", "shape 2: a shape is a JSON object"]),
        (
            "fr",
            [
                "forme 1\u00a0: étiquette inconnue 'horse' (valeurs possibles\u00a0: {labels})",
                "forme 2\u00a0: une forme est un objet JSON",
            ],
        ),
    ],
)
def test_the_report_speaks_the_language_of_the_request(alice, document, language, expected):
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.force_authenticate(alice)
    upload = labelme([face_shape([[10, 10], [50, 50]], label="horse"), "a shape?"])

    response = client.post("/api/imports/annotations/", {"file": upload, "document": document.pk})

    assert response.status_code == 400
    assert response.json()["files"][0]["errors"] == [message.format(labels=KNOWN_LABELS) for message in expected]


def test_the_report_follows_the_language_cookie(alice, document, settings):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    client.force_authenticate(alice)

    response = client.post("/api/imports/annotations/", {"file": labelme(["a shape?"]), "document": document.pk})

    assert response.json()["files"][0]["errors"] == ["forme 1\u00a0: une forme est un objet JSON"]
