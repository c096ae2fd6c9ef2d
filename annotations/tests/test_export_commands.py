"""Management commands: export_labelme, export_index and import_annotations."""

from __future__ import annotations

import csv
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from annotations.ingest.manifests import corpus_get_or_create
from annotations.models import Face
from annotations.tests.factories import add_faces, scanned_document


@pytest.fixture
def document(tmp_path, db):
    document = scanned_document(tmp_path / "scans")
    add_faces(document)
    return document


def test_export_labelme_writes_a_folder_labelme_can_open(document, tmp_path, capsys):
    from labelme import LabelFile

    out = tmp_path / "labelme"
    call_command("export_labelme", "--document", str(document.pk), "--out", str(out), "--max-size", "640")

    files = sorted(out.glob("*.json"))
    assert len(files) == 2 and len(list(out.glob("*.jpg"))) == 2
    assert sum(len(LabelFile(str(path)).shapes) for path in files) == 4
    assert capsys.readouterr().out.strip() == f"Exported 4 faces on 2 pages to {out}"


def test_export_labelme_to_a_zip_with_negatives(document, tmp_path):
    out = tmp_path / "faces.zip"
    call_command("export_labelme", "--document", str(document.pk), "--out", str(out), "--include-rejected")

    with zipfile.ZipFile(out) as archive:
        page1 = json.loads(archive.read(f"d{document.pk}_p0001.json"))
    assert (page1["imageWidth"], page1["imageHeight"]) == (1200, 1600), "full size by default"
    assert sorted(shape["label"] for shape in page1["shapes"]) == ["face", "face", "face", "not_face"]


def test_export_labelme_refuses_an_unknown_document(db, tmp_path):
    with pytest.raises(CommandError, match="No document with id 999"):
        call_command("export_labelme", "--document", "999", "--out", str(tmp_path / "x"))


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_index_writes_one_record_per_page(document, tmp_path, fmt):
    out = tmp_path / f"index.{fmt}"
    call_command("export_index", "--format", fmt, "--out", str(out))

    records = list(csv.DictReader(out.open())) if fmt == "csv" else json.loads(out.read_text())
    assert [int(record["nVisages"]) for record in records] == [3, 1]
    assert [record["ID"] for record in records] == [str(document.pk)] * 2


def test_import_annotations_brings_an_export_back(document, tmp_path):
    out = tmp_path / "faces.zip"
    call_command("export_labelme", "--document", str(document.pk), "--out", str(out), "--max-size", "500")
    target = scanned_document(tmp_path / "scans", corpus=corpus_get_or_create(name="Copy"))

    call_command("import_annotations", str(out), "--document", str(target.pk))

    assert Face.objects.filter(page__document=target).count() == 4


def test_import_annotations_fails_on_rejected_files(document, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{")

    with pytest.raises(CommandError, match="Some files were rejected"):
        call_command("import_annotations", str(broken), "--document", str(document.pk))


@pytest.mark.parametrize("source", ["x" * 101, "two words", ""])
def test_import_commands_refuse_a_source_the_faces_cannot_carry(document, tmp_path, source):
    # The API refused these; the commands passed them on, and a source over 100 characters failed the
    # import on PostgreSQL (Face.source holds 100) with a database error instead of saying why.
    out = tmp_path / "faces"
    call_command("export_labelme", "--document", str(document.pk), "--out", str(out))

    with pytest.raises(CommandError, match="--source must be"):
        call_command(
            "import_annotations",
            str(out / f"d{document.pk}_p0001.json"),
            "--document",
            str(document.pk),
            "--source",
            source,
        )
    with pytest.raises(CommandError, match="--source must be"):
        call_command("import_dataset", str(out), "--corpus", "Copy", "--source", source)
    assert Face.objects.count() == 5
