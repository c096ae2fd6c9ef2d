"""The heritage dev set in bench/data/heritage_dev (#14): it parses, every image has its source and licence, and
the harness's split keeps each document on one side. Reads the JSON and CSV files only (no image is decoded)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV_SET = ROOT / "bench" / "data" / "heritage_dev"


def sources() -> dict[str, dict[str, str]]:
    with (DEV_SET / "SOURCES.csv").open(encoding="utf-8", newline="") as rows:
        return {row["file"]: row for row in csv.DictReader(rows)}


def test_every_labelme_file_parses_with_its_image_and_face_attributes():
    from detection.training.data import read_labelme_folder

    files = sorted(DEV_SET.glob("*.json"))
    images = read_labelme_folder(DEV_SET)

    assert len(images) == len(files) >= 40
    for path in files:
        record = json.loads(path.read_text(encoding="utf-8"))
        assert (DEV_SET / record["imagePath"]).is_file(), path.name
        assert record["flags"]["reviewed"] is True, f"{path.name}: only reviewed pages belong in the set"
        for shape in record["shapes"]:
            assert shape["shape_type"] == "rectangle" and shape["label"] in ("face", "not_face"), path.name
            assert shape["gender"] in ("female", "male", "unknown"), path.name
    faces = [box for image in images for box in image.boxes if box.is_face]
    assert len(faces) >= 300
    assert {box.gender for box in faces} == {"female", "male", "unknown"}
    assert any(box.child for box in faces)


def test_at_least_a_quarter_of_the_faces_are_women():
    from detection.training.data import read_labelme_folder

    faces = [box for image in read_labelme_folder(DEV_SET) for box in image.boxes if box.is_face]

    assert sum(box.gender == "female" for box in faces) >= len(faces) / 4


def test_the_reporting_half_holds_children_from_many_documents():
    # #14 asks for the child flag to be measured: on the reporting half, children must not come from one or two
    # documents only (the crowd of schoolchildren of document 1 tunes).
    sys.path.insert(0, str(ROOT / "bench"))
    from heritage_eval import _document, split_by_document

    from detection.training.data import read_labelme_folder

    _tuning, reporting = split_by_document(read_labelme_folder(DEV_SET))
    documents = {_document(image) for image in reporting for box in image.boxes if box.is_face and box.child}

    assert len(documents) >= 13, sorted(documents)


def test_every_image_has_a_source_and_a_licence_and_every_source_its_image():
    rows = sources()
    images = {path.name for path in DEV_SET.glob("*.jpg")}

    assert set(rows) == images
    for name, row in rows.items():
        for key in ("gallica_ark", "original_url", "licence", "repository", "path", "commit", "repository_licence"):
            assert row[key].strip(), f"{name}: no {key}"
        assert len(row["commit"]) == 40, name


def test_every_file_names_its_document_s_title_date_licence_and_manifest_as_its_source_row_does():
    # What a curator's check imports them with (import_dataset: the document's label, date, licence,
    # attribution and source manifest), as the app's exports write them.
    rows = sources()
    for path in sorted(DEV_SET.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        row = rows[record["imagePath"]]
        assert (record["documentLabel"], record["documentDateText"], record["license"]) == (
            row["title"],
            row["date"],
            row["licence"],
        ), path.name
        assert record["attribution"].strip(), path.name
        gallica = row["original_url"].startswith("https://gallica.bnf.fr/")
        expected = f"https://gallica.bnf.fr/iiif/ark:/12148/{row['gallica_ark']}/manifest.json" if gallica else ""
        assert record["manifest"] == expected, path.name


def test_the_split_keeps_each_document_and_each_gallica_record_on_one_side():
    sys.path.insert(0, str(ROOT / "bench"))
    from heritage_eval import _document, split_by_document

    from detection.training.data import read_labelme_folder

    rows = sources()
    tuning, reporting = split_by_document(read_labelme_folder(DEV_SET))
    sides = {}
    for side, images in (("tuning", tuning), ("reporting", reporting)):
        for image in images:
            ark = rows[image.image_path.name]["gallica_ark"]
            assert rows[image.image_path.name]["document"] == _document(image)
            assert sides.setdefault(ark, side) == side, f"{ark} is on both sides"

    assert tuning and reporting
    assert {_document(i) for i in tuning}.isdisjoint({_document(i) for i in reporting})
