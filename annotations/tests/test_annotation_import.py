"""Imports of LabelMe / COCO / W3C / IIIF files: round trips, validation errors, idempotence, curator wins."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.db.models import F
from PIL import Image

from annotations.ingest import store
from annotations.ingest.annotation_files import annotations_import
from annotations.ingest.manifests import corpus_get_or_create
from annotations.models import CURATOR_SOURCE, Document, ExportKind, Face, FaceRevision, FaceStatus, Gender
from annotations.services import FaceConflict
from annotations.tests.factories import (
    add_faces,
    export_document,
    make_corpus,
    make_document,
    make_page,
    scanned_document,
)
from tests.support.manifests import jpeg_bytes

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "annotations"
ATTRIBUTES = ("gender", "child", "age")


@pytest.fixture
def source_document(tmp_path, db):
    document = scanned_document(tmp_path / "scans")
    add_faces(document)
    return document


@pytest.fixture
def empty_document(tmp_path, source_document, alice):
    """The same scans imported into another corpus: other canvas ids, no faces."""
    return scanned_document(tmp_path / "scans", corpus=corpus_get_or_create(name="Empty"))


def export_bytes(kind, document, tmp_path, name, **options) -> bytes:
    out = tmp_path / name
    export_document(kind, document, out, **options)
    return out.read_bytes()


def run_import(document, content, *, name="upload.zip", user=None, **kwargs):
    return annotations_import(document=document, user=user, name=name, content=content, **kwargs)


def faces_by_page_order(document: Document) -> dict[int, list[Face]]:
    faces: dict[int, list[Face]] = {}
    for face in Face.objects.filter(page__document=document).select_related("page").order_by("page__order", "y", "x"):
        faces.setdefault(face.page.order, []).append(face)
    return faces


def assert_same_faces(original: Document, imported: Document, *, scale: float = 1.0, with_rejected: bool = True):
    before, after = faces_by_page_order(original), faces_by_page_order(imported)
    if not with_rejected:
        before = {order: [f for f in faces if f.status != FaceStatus.REJECTED] for order, faces in before.items()}
    assert before.keys() == after.keys()
    for order, faces in before.items():
        assert len(after[order]) == len(faces), f"page {order}"
        for old, new in zip(faces, after[order], strict=True):
            # Within one exported-image pixel once scaled back to the canvas.
            assert all(abs(a - b) <= scale for a, b in zip(old.as_box(), new.as_box(), strict=True)), (old, new)
            assert [getattr(new, name) for name in ATTRIBUTES] == [getattr(old, name) for name in ATTRIBUTES]
            assert (new.status == FaceStatus.REJECTED) == (old.status == FaceStatus.REJECTED)


def labelme_file(page_order: int, shapes: list, *, width=300, height=400, image_path=None) -> bytes:
    return json.dumps(
        {
            "version": "5.5.0",
            "flags": {},
            "shapes": shapes,
            "imagePath": image_path or f"d1_p{page_order:04d}.jpg",
            "imageData": None,
            "imageWidth": width,
            "imageHeight": height,
        }
    ).encode()


def rectangle(points, label="face", **extra):
    return {"label": label, "points": points, "shape_type": "rectangle", "flags": {}, "group_id": None, **extra}


def test_labelme_round_trip_into_an_empty_corpus_keeps_boxes_and_attributes(source_document, empty_document, tmp_path):
    content = export_bytes(
        ExportKind.LABELME, source_document, tmp_path, "out.zip", image_size=500, include_rejected=True
    )

    report = run_import(empty_document, content)

    assert report.ok, report.as_dict()
    assert report.as_dict()["created"] == 5
    assert_same_faces(source_document, empty_document, scale=1600 / 500)
    imported = Face.objects.filter(page__document=empty_document)
    assert set(imported.values_list("source", flat=True)) == {CURATOR_SOURCE}
    assert set(imported.exclude(status=FaceStatus.REJECTED).values_list("status", flat=True)) == {FaceStatus.ADDED}
    assert empty_document.pages.get(order=1).face_count == 3, "counts refreshed, the rejected box not counted"


def test_reimporting_the_same_files_creates_nothing_twice(source_document, empty_document, tmp_path):
    content = export_bytes(ExportKind.LABELME, source_document, tmp_path, "out.zip", image_size=500)
    run_import(empty_document, content)
    faces, revisions = Face.objects.count(), FaceRevision.objects.count()

    again = run_import(empty_document, content).as_dict()

    assert again["ok"] and again["created"] == 0 and again["updated"] == 0 and again["unchanged"] == 4
    assert (Face.objects.count(), FaceRevision.objects.count()) == (faces, revisions)


def test_importing_an_unchanged_export_into_its_own_document_changes_nothing(source_document, tmp_path):
    content = export_bytes(ExportKind.LABELME, source_document, tmp_path, "out.zip", image_size=700)
    before = {face.pk: face.snapshot() for face in Face.objects.all()}

    report = run_import(source_document, content).as_dict()

    assert report["ok"] and report["unchanged"] == 4 and report["created"] == report["updated"] == 0
    assert {face.pk: face.snapshot() for face in Face.objects.all()} == before


def test_curator_import_records_revisions(empty_document, alice):
    content = labelme_file(1, [rectangle([[10, 20], [40, 60]], flags={"female": True, "male": False})])

    report = run_import(empty_document, content, name="d1_p0001.json", user=alice)

    assert report.ok, report.as_dict()
    face = Face.objects.get(page__document=empty_document)
    assert (face.x, face.y, face.w, face.h) == (40, 80, 120, 160), "300x400 image on a 1200x1600 canvas"
    assert face.gender == Gender.FEMALE and face.confidence == 1.0
    revision = FaceRevision.objects.get(face=face)
    assert revision.user == alice and revision.action == "import" and revision.before is None


def test_reversed_point_rectangles_import_as_the_same_box(empty_document):
    shapes = [
        rectangle([[40, 60], [10, 20]]),
        rectangle([[110, 20], [140, 60]]),
        rectangle([[240, 20], [210, 60]]),
    ]

    report = run_import(empty_document, labelme_file(1, shapes), name="d1_p0001.json")

    assert report.ok, report.as_dict()
    boxes = sorted(Face.objects.filter(page__document=empty_document).values_list("x", "y", "w", "h"))
    assert boxes == [(40, 80, 120, 160), (440, 80, 120, 160), (840, 80, 120, 160)]


def test_invalid_json_is_rejected_with_a_clear_error(empty_document):
    report = run_import(empty_document, b'{"shapes": [', name="broken.json").as_dict()

    assert not report["ok"] and report["files_rejected"] == 1
    assert report["files"][0]["errors"][0].startswith("not valid JSON")
    assert not Face.objects.filter(page__document=empty_document).exists()


def test_wrong_image_size_is_rejected(empty_document):
    content = labelme_file(1, [rectangle([[10, 20], [40, 60]])], width=400, height=400)

    report = run_import(empty_document, content, name="d1_p0001.json").as_dict()

    assert not report["ok"]
    assert "wrong image size 400x400" in report["files"][0]["errors"][0]
    assert "aspect ratios differ" in report["files"][0]["errors"][0]
    assert not Face.objects.filter(page__document=empty_document).exists()


def test_sizes_that_disagree_with_the_image_in_the_zip_are_rejected(empty_document):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("d1_p0001.json", labelme_file(1, [rectangle([[10, 20], [40, 60]])], width=300, height=400))
        archive.writestr("d1_p0001.jpg", jpeg_bytes(600, 800))

    report = run_import(empty_document, buffer.getvalue()).as_dict()

    assert not report["ok"]
    assert report["files"][0]["errors"] == ["imageWidth x imageHeight say 300x400 but d1_p0001.jpg is 600x800"]


def test_unknown_labels_reject_the_whole_file(empty_document):
    shapes = [rectangle([[10, 20], [40, 60]]), rectangle([[50, 20], [90, 60]], label="dog")]

    report = run_import(empty_document, labelme_file(1, shapes), name="d1_p0001.json").as_dict()

    assert not report["ok"]
    assert report["files"][0]["errors"] == [
        "shape 2: unknown label 'dog' (expected one of face, visage, female, woman, facew, male, man, facem, "
        "child, facec, negative, non_face, not_face)"
    ]
    assert not Face.objects.filter(page__document=empty_document).exists(), "nothing of a rejected file is stored"


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (rectangle([[10, 20], [40, 60], [50, 70]]), "shape 1: a rectangle needs exactly two [x, y] points"),
        ({"label": "face", "points": [[1, 2], [3, 4]], "shape_type": "polygon"}, "shape 1: shape_type 'polygon'"),
        (rectangle([[10, 20], [40, 60]], flags={"female": "yes"}), "shape 1: flags must map names to true or false"),
        (rectangle([[10, 20], [10, 60]]), "shape 1: the box has no area"),
        (rectangle([[10, 20], [340, 60]]), "shape 1: the box 10,20 to 340,60 lies outside the 300x400 image"),
        (rectangle([[10, 20], [40, 60]], age=-3), "shape 1: age must be between 0 and 130, got -3"),
    ],
)
def test_invalid_shapes_are_reported(empty_document, shape, message):
    report = run_import(empty_document, labelme_file(1, [shape]), name="d1_p0001.json").as_dict()

    assert not report["ok"]
    assert report["files"][0]["errors"][0].startswith(message), report["files"][0]["errors"]


def test_a_file_for_no_page_of_the_document_is_rejected(empty_document):
    content = labelme_file(7, [rectangle([[10, 20], [40, 60]])], image_path="elsewhere.jpg")

    report = run_import(empty_document, content, name="elsewhere.json").as_dict()

    assert report["files"][0]["errors"] == [
        f"no page of document {empty_document.pk} matches file name 'elsewhere.jpg' or file name 'elsewhere.json'"
    ]


def test_one_bad_file_in_a_zip_does_not_block_the_good_ones(empty_document):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("good/page1.json", labelme_file(1, [rectangle([[10, 20], [40, 60]])], image_path="page1.jpg"))
        archive.writestr("bad/page2.json", b"not json")

    report = run_import(empty_document, buffer.getvalue()).as_dict()

    assert report["files_imported"] == 1 and report["files_rejected"] == 1 and report["created"] == 1
    assert Face.objects.get(page__document=empty_document).page.order == 1, "matched by the page's file name"


def test_a_curator_correction_updates_the_matching_face(source_document, tmp_path, alice):
    out = tmp_path / "labelme"
    export_document(ExportKind.LABELME, source_document, out, image_size=400)
    path = out / f"d{source_document.pk}_p0001.json"
    data = json.loads(path.read_text())
    man = next(shape for shape in data["shapes"] if shape["flags"]["male"])
    man["flags"].update({"male": False, "female": True})
    man["points"] = [
        [man["points"][1][0] + 2, man["points"][1][1] + 1],
        [man["points"][0][0] + 2, man["points"][0][1] + 1],
    ]

    report = run_import(source_document, json.dumps(data).encode(), name=path.name, user=alice).as_dict()

    assert report["ok"] and report["updated"] == 1 and report["unchanged"] == 2 and report["created"] == 0
    face = Face.objects.get(pk=man["face_id"])
    assert face.gender == Gender.FEMALE and face.status == FaceStatus.EDITED and face.version == 2
    assert (face.x, face.y) == (608, 214), "moved by (2, 1) image pixels at scale 4"
    revision = FaceRevision.objects.get(face=face)
    assert revision.before["gender"] == "male" and revision.after["gender"] == "female"
    assert source_document.pages.get(order=1).female_count == 2


def test_a_model_import_never_overrides_a_curated_face(source_document, tmp_path):
    woman = Face.objects.get(gender=Gender.FEMALE)
    shapes = [
        rectangle([[26, 51], [62, 95]], flags={"male": True}),
        rectangle([[250, 300], [280, 340]], confidence=0.55),
        rectangle([[200, 10], [220, 30]], label="not_face"),
    ]

    report = run_import(source_document, labelme_file(1, shapes), name="d1_p0001.json", source="mtcnn").as_dict()

    assert report["ok"] and report["created"] == 1 and report["unchanged"] == 1 and report["skipped"] == 1
    woman.refresh_from_db()
    assert woman.gender == Gender.FEMALE and woman.version == 1
    new = Face.objects.get(source="mtcnn")
    assert new.status == FaceStatus.PREDICTED and new.confidence == 0.55
    assert not FaceRevision.objects.exists(), "model faces are not curator revisions"


def test_coco_round_trip(source_document, empty_document, tmp_path):
    content = export_bytes(
        ExportKind.COCO, source_document, tmp_path, "coco.json", with_images=False, include_rejected=True
    )

    report = run_import(empty_document, content, name="coco.json")

    assert report.ok and report.files[0].format == "coco", report.as_dict()
    assert_same_faces(source_document, empty_document)


def test_coco_unknown_category_and_image_are_errors(empty_document):
    coco = {
        "images": [{"id": 1, "file_name": "page1.jpg", "width": 1200, "height": 1600}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4]},
            {"id": 2, "image_id": 9, "category_id": 1, "bbox": [1, 2, 3, 4]},
        ],
        "categories": [{"id": 1, "name": "face"}, {"id": 3, "name": "car"}],
    }

    report = run_import(empty_document, json.dumps(coco).encode(), name="coco.json").as_dict()

    assert report["files"][0]["errors"] == [
        "annotation 1: unknown category 'car' (expected one of face, visage, female, woman, facew, male, man, facem, "
        "child, facec, negative, non_face, not_face)",
        "annotation 2: unknown image_id 9",
    ]


def test_w3c_round_trip(source_document, empty_document, tmp_path):
    content = export_bytes(ExportKind.W3C, source_document, tmp_path, "faces.jsonld", base_url="http://visages.test")
    # Another corpus has other canvas ids: point the annotations at the empty document's canvases.
    for old, new in zip(source_document.pages.order_by("order"), empty_document.pages.order_by("order"), strict=True):
        content = content.replace(old.canvas_id.encode(), new.canvas_id.encode())

    report = run_import(empty_document, content, name="faces.jsonld")

    assert report.ok and report.files[0].format == "w3c", report.as_dict()
    assert_same_faces(source_document, empty_document, with_rejected=False)


def test_iiif_annotation_pages_import_back(source_document, tmp_path):
    content = export_bytes(ExportKind.IIIF, source_document, tmp_path, "iiif.zip", base_url="http://visages.test")
    Face.objects.exclude(status=FaceStatus.REJECTED).delete()

    report = run_import(source_document, content, fmt="iiif").as_dict()

    assert report["ok"] and report["created"] == 4, report
    assert report["files"][-1]["warnings"] == ["a manifest without embedded annotations: nothing to import from it"]
    assert Face.objects.filter(gender=Gender.FEMALE, age=34).exists()


def test_gallicapix_style_p2_annotations_with_face_tags(db):
    document = make_document(corpus=make_corpus(), source="https://gallica.bnf.fr/iiif/ark:/12148/bpt6k46000341")
    page = make_page(document=document, order=3, width=4000, height=6000)
    annotation_list = {
        page.canvas_id: [
            {
                "@id": "https://example.org/3-1-1",
                "@type": "oa:Annotation",
                "motivation": "oa:tagging",
                "resource": [{"@type": "oa:Tag", "chars": "faceW (dnn: 0.87)"}],
                "on": f"{page.canvas_id}#xywh=100.5,200.2,300,400",
            }
        ]
    }

    report = run_import(document, json.dumps({"manifest": annotation_list}).encode(), name="gp.json", source="dnn")

    assert report.ok, report.as_dict()
    face = Face.objects.get()
    assert (face.x, face.y, face.w, face.h, face.gender) == (100, 200, 300, 400, Gender.FEMALE)
    assert face.confidence == 0.87 and face.source == "dnn"


def test_annotations_without_face_tags_are_ignored_with_a_warning(db):
    document = make_document(corpus=make_corpus(), source="https://gallica.bnf.fr/iiif/ark:/12148/btv1b10537237h")
    make_page(document=document, order=29, width=6000, height=8000)
    content = (FIXTURES / "iiif-p2-annotations-float-xywh.json").read_bytes()

    report = run_import(document, content, name="btv1b10537237h_29_iiif.json").as_dict()

    assert report["ok"] and report["created"] == 0
    assert report["files"][0]["warnings"] == ["4 annotations without a face tag were ignored"]


def test_w3c_annotations_missing_required_fields_are_rejected(empty_document):
    page = empty_document.pages.get(order=1)
    annotations = {
        "type": "AnnotationPage",
        "items": [
            {"type": "Annotation", "body": {"type": "TextualBody", "value": "face"}},
            {"id": "x", "type": "Note"},
        ],
    }

    report = run_import(empty_document, json.dumps(annotations).encode(), name="anno.json").as_dict()

    assert report["files"][0]["errors"] == [
        "annotation 1: id is required",
        "annotation 1: target is required",
        "annotation 2: type must be Annotation, got 'Note'",
        "annotation 2: target is required",
    ]
    assert page.faces.count() == 0


def test_a_zip_without_json_is_reported(empty_document):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        image = io.BytesIO()
        Image.new("RGB", (10, 10)).save(image, "JPEG")
        archive.writestr("page1.jpg", image.getvalue())

    report = run_import(empty_document, buffer.getvalue()).as_dict()

    assert not report["ok"] and report["files"][0]["errors"] == ["no JSON annotation file found"]


def test_gallica_image_names_match_their_canvas(db):
    document = make_document(corpus=make_corpus(), source="https://gallica.bnf.fr/iiif/ark:/12148/bpt6k46000341")
    for order in (1, 2, 3):
        make_page(document=document, order=order, width=2000, height=3000)
    content = labelme_file(
        3, [rectangle([[10, 20], [40, 60]])], width=200, height=300, image_path="bpt6k46000341_f3.jpg"
    )

    report = run_import(document, content, name="bpt6k46000341_f3.json")

    assert report.ok, report.as_dict()
    assert Face.objects.get().page.order == 3


def test_a_plain_face_label_over_a_stored_face_changes_nothing(source_document, alice):
    woman = Face.objects.get(gender=Gender.FEMALE)
    before = woman.snapshot()
    content = labelme_file(1, [rectangle([[100, 200], [250, 380]])], width=1200, height=1600)

    report = run_import(source_document, content, name="d1_p0001.json", user=alice).as_dict()

    assert report["ok"] and report["unchanged"] == 1 and report["updated"] == 0, report
    woman.refresh_from_db()
    assert woman.snapshot() == before
    assert not FaceRevision.objects.exists()


def test_an_import_that_states_the_gender_but_not_the_age_keeps_the_stored_age(source_document, alice):
    man = Face.objects.get(gender=Gender.MALE, page__order=1)
    shape = rectangle([[600, 210], [721, 353]], label="female", flags={"child": False})

    report = run_import(source_document, labelme_file(1, [shape], width=1200, height=1600), user=alice).as_dict()

    assert report["ok"] and report["updated"] == 1, report
    man.refresh_from_db()
    assert (man.gender, man.age, man.gender_confidence, man.child) == (Gender.FEMALE, 52.5, 0.66, False)
    revision = FaceRevision.objects.get(face=man)
    assert revision.user == alice and revision.action == "import"
    assert revision.before["age"] == revision.after["age"] == 52.5
    assert (revision.before["gender"], revision.after["gender"]) == ("male", "female")


def test_an_import_that_sets_the_age_to_null_clears_it_and_says_who(source_document, alice):
    """A key left out keeps the stored value; a key written as null is the curator clearing it."""
    man = Face.objects.get(gender=Gender.MALE, page__order=1)
    shape = rectangle([[600, 210], [721, 353]], label="male", age=None)

    report = run_import(source_document, labelme_file(1, [shape], width=1200, height=1600), user=alice).as_dict()

    assert report["ok"] and report["updated"] == 1, report
    man.refresh_from_db()
    assert (man.gender, man.age) == (Gender.MALE, None)
    revision = FaceRevision.objects.get(face=man)
    assert (revision.user, revision.before["age"], revision.after["age"]) == (alice, 52.5, None)


def test_an_exported_file_imported_back_unchanged_clears_nothing(source_document, tmp_path, alice):
    """Faces without an age export "age": null; reading that back changes no face, with or without an age."""
    content = export_bytes(ExportKind.LABELME, source_document, tmp_path, "out.zip", image_size=1200)
    before = {face.pk: face.snapshot() for face in Face.objects.filter(page__document=source_document)}
    assert any(snapshot["age"] is None for snapshot in before.values()), "the fixture has a face without an age"

    report = run_import(source_document, content, user=alice).as_dict()

    assert report["ok"] and report["updated"] == 0, report
    assert {face.pk: face.snapshot() for face in Face.objects.filter(page__document=source_document)} == before


def test_a_zip_whose_second_file_names_a_stored_face_imports_both_files(source_document, alice):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.json", labelme_file(1, [rectangle([[150, 100], [175, 130]], label="female")]))
        archive.writestr("b.json", labelme_file(1, [rectangle([[25, 50], [62.5, 95]])]))

    report = run_import(source_document, buffer.getvalue(), user=alice).as_dict()

    assert report["ok"] and [f["name"] for f in report["files"]] == ["a.json", "b.json"], report
    assert (report["created"], report["unchanged"]) == (1, 1)
    assert Face.objects.filter(page__document=source_document, x=600, y=400).exists()


def test_an_import_that_meets_a_face_edited_meanwhile_stores_nothing(source_document, alice, monkeypatch):
    man = Face.objects.get(gender=Gender.MALE, page__order=1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.json", labelme_file(1, [rectangle([[150, 100], [175, 130]], label="female")]))
        archive.writestr("b.json", labelme_file(1, [rectangle([[150, 52.5], [180.25, 88.25]], label="female")]))
    changes = store._changes

    def changes_after_another_write(face, imported, box):
        # Another curator's write lands between the import's read of the face and its own write.
        Face.objects.filter(pk=face.pk).update(version=F("version") + 1)
        return changes(face, imported, box)

    monkeypatch.setattr(store, "_changes", changes_after_another_write)
    faces, revisions = Face.objects.count(), FaceRevision.objects.count()

    with pytest.raises(FaceConflict) as conflict:
        run_import(source_document, buffer.getvalue(), user=alice)

    assert conflict.value.face.pk == man.pk
    assert (Face.objects.count(), FaceRevision.objects.count()) == (faces, revisions), "a.json's face is not kept"
    man.refresh_from_db()
    assert man.gender == Gender.MALE
