"""A LabelMe dataset folder imported as documents to review, and exported back under the names it came with."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from PIL import Image
from rest_framework.test import APIClient

from annotations.ingest.dataset_uploads import dataset_upload_import
from annotations.ingest.datasets import dataset_import
from annotations.ingest.manifests import corpus_get_or_create
from annotations.models import CURATOR_SOURCE, DatasetImport, Document, ExportKind, Face, FaceStatus, Gender
from annotations.tests.factories import add_faces, export_document, scanned_document
from tests.support.manifests import jpeg_bytes


def shape(x0, y0, x1, y1, *, label="face", gender=None, child=False):
    flags = {"female": gender == "female", "male": gender == "male", "child": child}
    return {"label": label, "points": [[x0, y0], [x1, y1]], "shape_type": "rectangle", "flags": flags}


def write_page(folder: Path, stem: str, shapes: list, *, size=(400, 300), image: bool = True, **record) -> None:
    if image:
        (folder / f"{stem}.jpg").write_bytes(jpeg_bytes(*size))
    content = {
        "version": "5.5.0",
        "flags": {},
        "shapes": shapes,
        "imagePath": f"{stem}.jpg",
        "imageData": None,
        "imageWidth": size[0],
        "imageHeight": size[1],
        **record,
    }
    (folder / f"{stem}.json").write_text(json.dumps(content))


@pytest.fixture
def dataset(tmp_path):
    """Two documents of a Visages-style export: d3 (two pages, its provenance in the files) and d7 (one page)."""
    folder = tmp_path / "faces-set"
    folder.mkdir()
    provenance = {
        "documentLabel": "Le Petit Journal",
        "documentDateText": "1910-05-02",
        "license": "https://creativecommons.org/publicdomain/mark/1.0/",
        "attribution": "Source gallica.bnf.fr / BnF",
        "manifest": "https://gallica.bnf.fr/iiif/ark:/12148/bpt6k1/manifest.json",
    }
    write_page(
        folder,
        "d3_p0001",
        [shape(10, 20, 60, 80, gender="female"), shape(200, 30, 240, 90, gender="male", child=True)],
        **provenance,
    )
    write_page(folder, "d3_p0002", [shape(50, 50, 100, 110, gender="male")], **provenance)
    write_page(folder, "d7_p0001", [shape(5, 5, 45, 55), shape(300, 200, 340, 250, label="not_face")])
    return folder


def faces_by_page(corpus) -> dict[str, list[tuple]]:
    faces: dict[str, list[tuple]] = {}
    for face in Face.objects.filter(page__document__corpus=corpus).select_related("page").order_by("x"):
        faces.setdefault(face.page.label, []).append(
            (face.x, face.y, face.w, face.h, face.gender, face.child, face.status, face.source)
        )
    return faces


def test_each_document_of_a_dataset_becomes_a_document_with_its_pages_in_order_and_their_faces(dataset, db):
    corpus = corpus_get_or_create(name="Dev set")

    report = dataset_import(folder=dataset, corpus=corpus, user=None, source="ai-agent")

    assert report.ok, report.as_dict()
    d3, d7 = Document.objects.filter(corpus=corpus).order_by("pk")
    assert [page.label for page in d3.pages.order_by("order")] == ["d3_p0001", "d3_p0002"]
    assert [page.label for page in d7.pages.order_by("order")] == ["d7_p0001"]
    assert (d3.label, d3.date_text, d3.date_start.isoformat()) == ("Le Petit Journal", "1910-05-02", "1910-05-02")
    assert d3.license == "https://creativecommons.org/publicdomain/mark/1.0/"
    assert d3.attribution == "Source gallica.bnf.fr / BnF"
    assert {"label": "Dataset document", "value": "d3"} in d3.metadata
    assert {"label": "Source manifest", "value": "https://gallica.bnf.fr/iiif/ark:/12148/bpt6k1/manifest.json"} in (
        d3.metadata
    )
    assert d7.label == "faces-set d7", "without a documentLabel the document is named after the folder and its key"
    # A machine source's faces wait for a curator's review; its rejected boxes come in rejected, for the
    # curator to restore where the machine was wrong (and so that the set goes out with its negatives).
    assert faces_by_page(corpus) == {
        "d3_p0001": [
            (10, 20, 50, 60, Gender.FEMALE, False, FaceStatus.PREDICTED, "ai-agent"),
            (200, 30, 40, 60, Gender.MALE, True, FaceStatus.PREDICTED, "ai-agent"),
        ],
        "d3_p0002": [(50, 50, 50, 60, Gender.MALE, False, FaceStatus.PREDICTED, "ai-agent")],
        "d7_p0001": [
            (5, 5, 40, 50, Gender.UNKNOWN, False, FaceStatus.PREDICTED, "ai-agent"),
            (300, 200, 40, 50, Gender.UNKNOWN, False, FaceStatus.REJECTED, "ai-agent"),
        ],
    }
    assert [(d["label"], d["pages"], d["created"]) for d in report.as_dict()["documents"]] == [
        ("Le Petit Journal", 2, 3),
        ("faces-set d7", 1, 2),
    ]


def test_a_dataset_folder_copied_from_a_mac_imports_without_its_resource_forks(dataset, db):
    for path in list(dataset.iterdir()):
        (dataset / f"._{path.name}").write_bytes(b"\x00\x05\x16\x07 AppleDouble resource fork")

    report = dataset_import(folder=dataset, corpus=corpus_get_or_create(name="Dev set"), user=None)

    assert report.ok, report.as_dict()
    assert [file["name"] for file in report.as_dict()["files"]] == ["d3_p0001.json", "d3_p0002.json", "d7_p0001.json"]


def test_importing_a_dataset_again_changes_nothing(dataset, db):
    corpus = corpus_get_or_create(name="Dev set")
    dataset_import(folder=dataset, corpus=corpus, user=None, source="ai-agent")
    before = faces_by_page(corpus)

    again = dataset_import(folder=dataset, corpus=corpus, user=None, source="ai-agent")

    assert again.ok
    assert Document.objects.filter(corpus=corpus).count() == 2
    assert faces_by_page(corpus) == before
    assert [(d["created"], d["unchanged"]) for d in again.as_dict()["documents"]] == [(0, 3), (0, 2)]


def test_bad_files_of_a_dataset_are_reported_and_the_good_ones_imported(dataset, tmp_path, db):
    (dataset / "d9_p0001.json").write_text("{not json")
    write_page(dataset, "d9_p0002", [shape(1, 1, 30, 30)], image=False)
    write_page(dataset, "d9_p0003", [shape(1, 1, 30, 30)])
    outside = json.loads((dataset / "d9_p0003.json").read_text())
    (tmp_path / "secret.jpg").write_bytes(jpeg_bytes(400, 300))
    outside["imagePath"] = "../secret.jpg"
    (dataset / "d9_p0003.json").write_text(json.dumps(outside))
    write_page(dataset, "d9_p0004", [shape(1, 1, 30, 30, label="dog")])
    corpus = corpus_get_or_create(name="Dev set")

    report = dataset_import(folder=dataset, corpus=corpus, user=None, source=CURATOR_SOURCE)

    assert not report.ok
    errors = {file["name"]: file["errors"] for file in report.as_dict()["files"] if file["errors"]}
    assert set(errors) == {"d9_p0001.json", "d9_p0002.json", "d9_p0003.json", "d9_p0004.json"}
    assert "not valid JSON" in errors["d9_p0001.json"][0]
    assert errors["d9_p0002.json"] == ["its image d9_p0002.jpg is not in the folder"]
    assert errors["d9_p0003.json"] == ["its image ../secret.jpg is outside the folder"]
    assert "unknown label 'dog'" in errors["d9_p0004.json"][0]
    d9 = Document.objects.get(corpus=corpus, source__endswith="#d9")
    # The page whose shapes were refused is there to review, without faces; the others never came in.
    assert [page.label for page in d9.pages.all()] == ["d9_p0004"]
    assert not Face.objects.filter(page__document=d9).exists()
    assert set(faces_by_page(corpus)) == {"d3_p0001", "d3_p0002", "d7_p0001"}


def test_a_folder_without_labelme_files_is_refused(tmp_path, db):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="No LabelMe or COCO JSON file in"):
        call_command("import_dataset", str(tmp_path / "empty"), "--corpus", "Dev set")
    with pytest.raises(CommandError, match="No such folder"):
        call_command("import_dataset", str(tmp_path / "nowhere"), "--corpus", "Dev set")


def test_files_not_named_as_visages_names_them_make_one_document(tmp_path, db):
    folder = tmp_path / "scans"
    folder.mkdir()
    write_page(folder, "IMG_0002", [shape(10, 10, 50, 50)])
    write_page(folder, "IMG_0010", [shape(10, 10, 50, 50)])
    corpus = corpus_get_or_create(name="Dev set")

    dataset_import(folder=folder, corpus=corpus, user=None, source=CURATOR_SOURCE)

    document = Document.objects.get(corpus=corpus)
    assert document.label == "scans"
    assert [page.label for page in document.pages.order_by("order")] == ["IMG_0002", "IMG_0010"]
    assert set(Face.objects.filter(page__document=document).values_list("status", flat=True)) == {FaceStatus.ADDED}


def test_a_dataset_goes_out_under_the_names_it_came_in_with(tmp_path, db, capsys):
    # The round trip a curator's check of a dev set needs: export, import elsewhere, review, export again
    # under the same file names, so that what keys on them (a frozen split, a sources table) still holds.
    source = scanned_document(tmp_path / "scans")
    add_faces(source)
    first = tmp_path / "first"
    export_document(ExportKind.LABELME, source, first, include_rejected=True)
    call_command("import_dataset", str(first), "--corpus", "Check")
    corpus = corpus_get_or_create(name="Check")
    (copy,) = Document.objects.filter(corpus=corpus)

    second = tmp_path / "second"
    call_command(
        "export_labelme",
        "--corpus",
        str(corpus.pk),
        "--out",
        str(second),
        "--include-rejected",
        "--names",
        "labels",
    )

    assert copy.pk != source.pk
    assert sorted(p.name for p in second.iterdir()) == sorted(p.name for p in first.iterdir())
    for path in sorted(first.glob("*.json")):
        before, after = json.loads(path.read_text()), json.loads((second / path.name).read_text())
        assert after["imagePath"] == before["imagePath"]
        # Imported as a curator's, every face is verified now; boxes, labels and attributes are as they were.
        assert [(s["label"], s["points"], s["gender"], s["flags"]["child"]) for s in after["shapes"]] == [
            (s["label"], s["points"], s["gender"], s["flags"]["child"]) for s in before["shapes"]
        ]


def test_pages_whose_labels_cannot_name_a_file_keep_the_id_name(tmp_path, db):
    document = scanned_document(tmp_path / "scans")
    first, second = document.pages.order_by("order")
    other = scanned_document(tmp_path / "more", corpus=document.corpus)
    third, fourth = other.pages.order_by("order")
    for page, label in [(first, "f. 1 / recto"), (second, "same"), (third, f"d{other.pk}_p0002"), (fourth, "same")]:
        type(page).objects.filter(pk=page.pk).update(label=label)
    out = tmp_path / "out"

    call_command("export_labelme", "--corpus", str(document.corpus.pk), "--out", str(out), "--names", "labels")

    # An unsafe label, and a repeat of a name already written, fall back to d<document>_p<order>, and that
    # to d<document>_p<order>-page<id> when a label took it.
    assert sorted(p.stem for p in out.glob("*.json")) == sorted(
        [f"d{document.pk}_p0001", "same", f"d{other.pk}_p0002", f"d{other.pk}_p0002-page{fourth.pk}"]
    )


def test_export_labelme_takes_a_document_or_a_corpus(db, tmp_path):
    with pytest.raises(CommandError, match="one of the arguments --document --corpus is required"):
        call_command("export_labelme", "--out", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="No corpus with id 999"):
        call_command("export_labelme", "--corpus", "999", "--out", str(tmp_path / "x"))


def test_a_dataset_document_s_export_names_the_manifest_its_files_named(dataset, tmp_path, db):
    corpus = corpus_get_or_create(name="Dev set")
    dataset_import(folder=dataset, corpus=corpus, user=None, source=CURATOR_SOURCE)
    out = tmp_path / "out"

    call_command("export_labelme", "--corpus", str(corpus.pk), "--out", str(out), "--names", "labels")

    for name in ("d3_p0001", "d3_p0002", "d7_p0001"):
        before, after = (json.loads((folder / f"{name}.json").read_text()) for folder in (dataset, out))
        for key in ("documentLabel", "documentDateText", "license", "attribution", "manifest"):
            assert after[key] == before.get(key, after[key] if key == "documentLabel" else ""), (name, key)


def zipped(folder: Path, *, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{prefix}{path.name}")
    return buffer.getvalue()


def post_dataset(user, content: bytes, name: str = "faces-set.zip", **fields):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client.post("/api/imports/annotations/", {"file": SimpleUploadedFile(name, content), **fields})


def upload_dataset(user, content: bytes, name: str = "faces-set.zip", **fields) -> dict:
    """Upload a dataset zip, run the import its worker runs, and read the finished import as its uploader does."""
    queued = post_dataset(user, content, name, **fields)
    assert queued.status_code == 202, queued.content
    assert queued.json()["status"] == "pending"
    dataset_upload_import(import_id=queued.json()["id"])
    client = APIClient()
    client.force_authenticate(user)
    finished = client.get(queued.json()["url"])
    assert finished.status_code == 200
    assert finished.json()["status"] == "done", finished.json()
    return finished.json()


@pytest.mark.parametrize("prefix", ["", "faces-set/"])
def test_a_curator_uploads_a_dataset_zip_into_a_corpus(dataset, alice, corpus, prefix):
    job = upload_dataset(alice, zipped(dataset, prefix=prefix), corpus=corpus.pk, source="ai-agent")

    report = job["report"]
    assert report["ok"] and (job["name"], job["source"], job["boxes_only"]) == ("faces-set.zip", "ai-agent", False)
    assert [(d["key"], d["label"], d["pages"], d["created"]) for d in report["documents"]] == [
        ("d3", "Le Petit Journal", 2, 3),
        ("d7", "faces-set d7", 1, 2),
    ]
    assert report["folder"] == "upload:faces-set.zip"
    assert set(Document.objects.filter(corpus=corpus).values_list("source", flat=True)) == {
        "upload:faces-set.zip#d3",
        "upload:faces-set.zip#d7",
    }
    assert Document.objects.get(source="upload:faces-set.zip#d3").created_by == alice
    assert sorted(Face.objects.values_list("status", "source")) == [(FaceStatus.PREDICTED, "ai-agent")] * 4 + [
        (FaceStatus.REJECTED, "ai-agent")
    ]

    again = upload_dataset(alice, zipped(dataset, prefix=prefix), corpus=corpus.pk, source="ai-agent")

    assert again["report"]["ok"]
    assert Document.objects.filter(corpus=corpus).count() == 2 and Face.objects.count() == 5


def test_a_dataset_upload_needs_a_curator_of_the_corpus(dataset, bob, charlie, corpus):
    content = zipped(dataset)

    assert post_dataset(bob, content, corpus=corpus.pk).status_code == 403
    assert post_dataset(charlie, content, corpus=corpus.pk).status_code == 404
    assert post_dataset(None, content, corpus=corpus.pk).status_code in (401, 403)
    assert not DatasetImport.objects.exists() and not Document.objects.exists() and not Face.objects.exists()


def test_a_dataset_upload_names_one_target_and_is_a_zip(dataset, alice, corpus, tmp_path):
    document = scanned_document(tmp_path / "scans", corpus=corpus)
    content = zipped(dataset)

    both = post_dataset(alice, content, corpus=corpus.pk, document=document.pk)
    neither = post_dataset(alice, content)
    w3c = post_dataset(alice, content, corpus=corpus.pk, format="w3c")
    one_json = post_dataset(alice, (dataset / "d7_p0001.json").read_bytes(), name="d7_p0001.json", corpus=corpus.pk)
    broken = post_dataset(alice, b"PK\x03\x04 not really", corpus=corpus.pk)

    assert (both.status_code, neither.status_code, w3c.status_code) == (400, 400, 400)
    assert "document or a corpus" in str(both.json()) and "document or a corpus" in str(neither.json())
    assert "LabelMe or COCO" in str(w3c.json())
    assert one_json.status_code == 400 and "zip of LabelMe or COCO files and their images" in str(one_json.json())
    assert broken.status_code == 400 and "not a valid zip file" in str(broken.json())
    assert Document.objects.filter(corpus=corpus).count() == 1 and not Face.objects.exists()
    assert not DatasetImport.objects.exists(), "a refused upload queues nothing"


@pytest.mark.parametrize("entry", ["../evil.json", "/abs/evil.json", "a/../../evil.json"])
def test_a_dataset_zip_entry_pointing_outside_is_refused_and_nothing_imported(dataset, alice, corpus, entry):
    buffer = io.BytesIO(zipped(dataset))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(entry, "{}")

    job = upload_dataset(alice, buffer.getvalue(), corpus=corpus.pk)

    assert not job["report"]["ok"]
    assert "points outside the archive" in str(job["report"])
    assert not Document.objects.exists()


def test_a_dataset_imported_boxes_only_leaves_every_attribute_to_the_curator(dataset, tmp_path, db):
    # A blind check: a curator who sees a machine's "male" on a halftone woman tends to accept it; with the
    # boxes only, the curator labels each face afresh, and comparing the two (bench/label_agreement.py)
    # measures the machine's labels.
    record = json.loads((dataset / "d3_p0001.json").read_text())
    record["shapes"][0].update({"label": "female", "gender": "female", "gender_confidence": 0.9, "age": 30})
    record["shapes"][0]["description"] = json.dumps({"age": 30, "gender_conf": 0.9})
    (dataset / "d3_p0001.json").write_text(json.dumps(record))
    corpus = corpus_get_or_create(name="Blind")

    call_command("import_dataset", str(dataset), "--corpus", "Blind", "--source", "ai-agent", "--boxes-only")

    faces = Face.objects.filter(page__document__corpus=corpus).order_by("page__label", "x")
    assert [(f.page.label, f.x, f.y, f.w, f.h, f.status) for f in faces] == [
        ("d3_p0001", 10, 20, 50, 60, FaceStatus.PREDICTED),
        ("d3_p0001", 200, 30, 40, 60, FaceStatus.PREDICTED),
        ("d3_p0002", 50, 50, 50, 60, FaceStatus.PREDICTED),
        ("d7_p0001", 5, 5, 40, 50, FaceStatus.PREDICTED),
        ("d7_p0001", 300, 200, 40, 50, FaceStatus.REJECTED),
    ]
    assert {(f.gender, f.child, f.age, f.gender_confidence, f.age_confidence) for f in faces} == {
        (Gender.UNKNOWN, False, None, None, None)
    }


def test_a_dataset_upload_can_leave_the_labels_out(dataset, alice, corpus, tmp_path):
    job = upload_dataset(alice, zipped(dataset), corpus=corpus.pk, source="ai-agent", boxes_only="true")

    assert job["report"]["ok"] and job["boxes_only"]
    assert set(Face.objects.values_list("gender", "child")) == {(Gender.UNKNOWN, False)}
    document = scanned_document(tmp_path / "scans", corpus=corpus)
    into_document = post_dataset(alice, zipped(dataset), document=document.pk, boxes_only="true")
    assert into_document.status_code == 400 and "boxes_only" in into_document.json()


@pytest.mark.parametrize("image_path", ["a\u0000.jpg", "x" * 5000 + ".jpg", "dir.json"])
def test_a_dataset_file_naming_an_impossible_image_is_reported(dataset, alice, corpus, image_path):
    buffer = io.BytesIO(zipped(dataset))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(
            "d9_p0001.json", json.dumps({"shapes": [], "imagePath": image_path, "imageWidth": 4, "imageHeight": 4})
        )
        archive.writestr("dir.json/inside.jpg", jpeg_bytes(4, 4))

    job = upload_dataset(alice, buffer.getvalue(), corpus=corpus.pk, source="ai-agent")

    assert not job["report"]["ok"]
    errors = {file["name"]: file["errors"] for file in job["report"]["files"] if file["errors"]}
    assert list(errors) == ["d9_p0001.json"] and "its image" in errors["d9_p0001.json"][0]
    assert Document.objects.filter(corpus=corpus).count() == 2, "the good documents came in"


def test_labelme_files_holding_their_image_come_in_with_it(dataset, tmp_path, db):
    # The labelme tool saves each image inside its file (imageData, base64): a set shared that way has no images.
    png = io.BytesIO()
    Image.new("RGB", (320, 240), "grey").save(png, format="PNG")
    write_page(
        dataset,
        "d9_p0001",
        [shape(10, 10, 50, 60, gender="female")],
        size=(320, 240),
        image=False,
        imageData=base64.b64encode(png.getvalue()).decode("ascii"),
    )
    write_page(dataset, "d9_p0002", [shape(1, 1, 30, 30)], image=False, imageData="bm90IGFuIGltYWdl")
    write_page(dataset, "d9_p0003", [shape(1, 1, 30, 30)], image=False, imageData="not base64 !")
    corpus = corpus_get_or_create(name="Dev set")

    report = dataset_import(folder=dataset, corpus=corpus, user=None, source="ai-agent")

    errors = {file["name"]: file["errors"] for file in report.as_dict()["files"] if file["errors"]}
    assert errors == {
        "d9_p0002.json": ["its image d9_p0002.jpg is not in the folder, and its imageData is not an image"],
        "d9_p0003.json": ["its image d9_p0003.jpg is not in the folder, and its imageData is not base64"],
    }
    (page,) = Document.objects.get(corpus=corpus, source__endswith="#d9").pages.all()
    assert (page.label, page.width, page.height) == ("d9_p0001", 320, 240)
    assert faces_by_page(corpus)["d9_p0001"] == [
        (10, 10, 40, 50, Gender.FEMALE, False, FaceStatus.PREDICTED, "ai-agent")
    ]
    assert [path.name for path in dataset.glob("d9_p0001.*")] == ["d9_p0001.json"], "nothing written in the folder"


def test_a_dataset_zip_entry_whose_name_the_disk_refuses_is_refused(dataset, alice, corpus):
    buffer = io.BytesIO(zipped(dataset))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("n" * 300 + ".json", "{}")

    job = upload_dataset(alice, buffer.getvalue(), corpus=corpus.pk)

    assert not job["report"]["ok"]
    assert "cannot be written" in str(job["report"])
    assert not Document.objects.exists()


def test_boxes_only_keeps_a_label_it_does_not_know_for_the_import_to_refuse(dataset, db):
    record = json.loads((dataset / "d7_p0001.json").read_text())
    record["shapes"][0]["label"] = "dog"
    (dataset / "d7_p0001.json").write_text(json.dumps(record))

    report = dataset_import(
        folder=dataset, corpus=corpus_get_or_create(name="Blind"), user=None, source="ai-agent", boxes_only=True
    )

    (rejected,) = [file for file in report.as_dict()["files"] if file["errors"]]
    assert rejected["name"] == "d7_p0001.json" and "unknown label 'dog'" in rejected["errors"][0]


def test_a_coco_export_comes_in_as_new_documents_too(tmp_path, alice, corpus):
    # A COCO dataset (Visages' COCO export: images/ and annotations.json) as a LabelMe one: a document per
    # d<document>, pages named by their files, the faces and rejected boxes with their attributes.
    source = scanned_document(tmp_path / "scans", corpus=corpus_get_or_create(name="Elsewhere"))
    faces = add_faces(source)
    Document.objects.filter(pk=source.pk).update(label="Le Matin", date_text="1912", attribution="BnF", license="CC0")
    exported = tmp_path / "coco.zip"
    export_document(ExportKind.COCO, source, exported, include_rejected=True)

    job = upload_dataset(alice, exported.read_bytes(), name="coco.zip", corpus=corpus.pk, source="ai-agent")

    assert job["report"]["ok"], job
    (document,) = Document.objects.filter(corpus=corpus)
    assert (document.label, document.date_text, document.attribution, document.license) == (
        "Le Matin",
        "1912",
        "BnF",
        "CC0",
    )
    assert [page.label for page in document.pages.order_by("order")] == [f"d{source.pk}_p0001", f"d{source.pk}_p0002"]
    came = sorted(
        (f.page.order, f.x, f.y, f.w, f.h, f.gender, f.child, f.status)
        for f in Face.objects.filter(page__document=document).select_related("page")
    )
    expected = sorted(
        (
            f.page.order,
            f.x,
            f.y,
            f.w,
            f.h,
            f.gender,
            f.child,
            FaceStatus.REJECTED if f.status == FaceStatus.REJECTED else FaceStatus.PREDICTED,
        )
        for f in faces.values()
    )
    assert came == expected


def test_a_coco_file_whose_images_are_missing_says_which(tmp_path, db):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "d1_p0001.jpg").write_bytes(jpeg_bytes(400, 300))
    coco = {
        "images": [
            {"id": 1, "file_name": "d1_p0001.jpg", "width": 400, "height": 300},
            {"id": 2, "file_name": "d1_p0002.jpg", "width": 400, "height": 300},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 20, 50, 60]},
            {"id": 2, "image_id": 2, "category_id": 1, "bbox": [10, 20, 50, 60]},
        ],
        "categories": [{"id": 1, "name": "face"}],
    }
    (folder / "faces.json").write_text(json.dumps(coco))

    report = dataset_import(folder=folder, corpus=corpus_get_or_create(name="Set"), user=None).as_dict()

    errors = {file["name"]: file["errors"] for file in report["files"] if file["errors"]}
    assert errors == {"faces.json": ["image 2: its image d1_p0002.jpg is not in the folder"]}
    assert [(d["key"], d["pages"], d["created"]) for d in report["documents"]] == [("d1", 1, 1)]


def test_a_coco_dataset_comes_in_boxes_only_too(tmp_path, db):
    source = scanned_document(tmp_path / "scans", corpus=corpus_get_or_create(name="Elsewhere"))
    add_faces(source)
    exported = tmp_path / "coco.zip"
    export_document(ExportKind.COCO, source, exported)
    folder = tmp_path / "coco"
    with zipfile.ZipFile(exported) as archive:
        archive.extractall(folder)
    duplicate = json.loads((folder / "annotations.json").read_text())
    (folder / "again.json").write_text(json.dumps(duplicate))

    report = dataset_import(
        folder=folder, corpus=corpus_get_or_create(name="Blind"), user=None, source="ai-agent", boxes_only=True
    ).as_dict()

    faces = Face.objects.filter(page__document__corpus__name="Blind")
    assert faces.count() == 4 and set(faces.values_list("gender", "child", "age")) == {("unknown", False, None)}
    errors = {file["name"]: file["errors"] for file in report["files"] if file["errors"]}
    assert errors == {
        "annotations.json": [
            f"the page d{source.pk}_p0001 is in again.json already",
            f"the page d{source.pk}_p0002 is in again.json already",
        ]
    }


@pytest.mark.parametrize("boxes_only", [False, True])
def test_a_coco_file_with_odd_ids_and_lists_is_reported_not_a_crash(tmp_path, db, boxes_only):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "d1_p0001.jpg").write_bytes(jpeg_bytes(400, 300))
    coco = {
        "images": [{"id": [1], "file_name": "d1_p0001.jpg", "width": 400, "height": 300, "license": [2]}],
        "annotations": [{"id": 1, "image_id": {"x": 1}, "category_id": 1, "bbox": [10, 20, 50, 60]}, "junk"],
        "categories": "face",
        "licenses": [{"id": [2], "name": "CC0"}, "junk"],
    }
    (folder / "faces.json").write_text(json.dumps(coco))

    report = dataset_import(folder=folder, corpus=corpus_get_or_create(name="Set"), user=None, boxes_only=boxes_only)

    assert not report.ok
    assert [file["name"] for file in report.as_dict()["files"] if file["errors"]] == ["faces.json"]
    assert not Face.objects.exists()
