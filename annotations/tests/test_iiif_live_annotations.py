"""Our live manifest lists each public page's faces as IIIF annotations, served anonymously with CORS."""

from __future__ import annotations

import pytest

from annotations.models import FaceStatus, Gender
from annotations.tests.factories import make_corpus, make_document, make_face, make_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_document():
    document = make_document(corpus=make_corpus(is_public=True), label="Excelsior")
    first, second, third = (make_page(document=document) for _ in range(3))
    make_face(page=first, x=100, y=50, gender=Gender.FEMALE, status=FaceStatus.PREDICTED, confidence=0.87)
    make_face(page=first, x=400, y=60, gender=Gender.MALE, status=FaceStatus.ACCEPTED)
    make_face(page=first, x=700, y=70, status=FaceStatus.REJECTED)
    make_face(page=third, x=10, y=10, status=FaceStatus.REJECTED)
    return document


def canvas_annotations(manifest: dict) -> list:
    return [canvas.get("annotations") for canvas in manifest["items"]]


def test_a_public_manifest_lists_an_annotation_page_for_each_canvas_with_faces(client, public_document):
    response = client.get(f"/iiif/documents/{public_document.pk}/manifest.json")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    first = public_document.pages.get(order=1)
    assert canvas_annotations(response.json()) == [
        [{"id": f"http://testserver/iiif/pages/{first.pk}/annotations.json", "type": "AnnotationPage"}],
        None,
        None,  # its only face is rejected
    ]


def test_the_annotation_page_holds_the_non_rejected_faces_marked_machine_or_curated(client, public_document):
    first = public_document.pages.get(order=1)

    response = client.get(f"/iiif/pages/{first.pk}/annotations.json")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    page = response.json()
    assert page["type"] == "AnnotationPage" and page["id"].endswith(f"/iiif/pages/{first.pk}/annotations.json")
    canvas = f"{first.canvas_id}"
    assert [item["target"] for item in page["items"]] == [
        f"{canvas}#xywh=100,50,100,120",
        f"{canvas}#xywh=400,60,100,120",
    ]
    tags = [[body["value"] for body in item["body"] if body["purpose"] == "tagging"] for item in page["items"]]
    assert tags == [["face", "female", "machine"], ["face", "male", "curated"]]
    texts = [[body["value"] for body in item["body"] if body["purpose"] == "describing"] for item in page["items"]]
    assert texts == [["Face, female, machine (res10 0.87)"], ["Face, male, curated"]]
    assert all(item["motivation"] == "tagging" for item in page["items"])


def test_a_private_corpus_manifest_lists_no_annotations_and_hides_them_from_strangers(client, bob):
    document = make_document(corpus=make_corpus(is_public=False))
    page = make_page(document=document)
    make_face(page=page)
    document.corpus.memberships.create(user=bob, role="viewer")

    assert client.get(f"/iiif/pages/{page.pk}/annotations.json").status_code == 404
    client.force_login(bob)
    manifest = client.get(f"/iiif/documents/{document.pk}/manifest.json").json()
    assert canvas_annotations(manifest) == [None]
    assert client.get(f"/iiif/pages/{page.pk}/annotations.json").status_code == 200
