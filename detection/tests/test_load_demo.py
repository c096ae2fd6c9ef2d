"""`manage.py load_demo`: the bundled demo holds real dated pages over several years, with faces per year."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image

from annotations.models import Corpus, Document, Page
from detection.inference.types import Detection
from detection.management.commands.load_demo import demo_folders
from detection.models import DetectionRun
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "demo"


def test_the_bundled_demo_is_real_dated_public_domain_pages_over_several_years():
    folders = [folder for folder in demo_folders(DEMO) if folder.parent.name == "gallica"]
    total_bytes = 0
    years = set()
    for folder in folders:
        described = json.loads((folder / "metadata.json").read_text())
        fields = {item["label"]: item["value"] for item in described["metadata"]}
        assert fields["Identifier"].startswith("https://gallica.bnf.fr/ark:/12148/"), folder
        assert fields["Rights"] == "public domain (domaine public)"
        assert described["attribution"] == "Source gallica.bnf.fr / Bibliothèque nationale de France"
        years.add(described["date"].strip("[")[:4])
        for image in folder.glob("*.jpg"):
            total_bytes += image.stat().st_size
            with Image.open(image) as opened:
                assert max(opened.size) <= 1800, image
    assert len(folders) >= 8 and len(years) >= 5, (len(folders), years)
    assert total_bytes < 6 * 1024 * 1024


def test_loading_the_demo_imports_every_folder_with_its_date_into_a_public_corpus():
    out = io.StringIO()

    call_command("load_demo", "--no-detect", stdout=out)

    corpus = Corpus.objects.get(name="Demo")
    assert corpus.is_public
    documents = Document.objects.filter(corpus=corpus)
    assert documents.count() == len(demo_folders(DEMO))
    assert all(d.import_status == JobStatus.DONE and d.date_start for d in documents)
    assert len({d.date_start.year for d in documents}) >= 6
    assert Page.objects.filter(document__corpus=corpus).count() == len(list(DEMO.rglob("*.jpg")))
    assert not DetectionRun.objects.exists()
    assert len(out.getvalue().strip().splitlines()) == documents.count()


def test_the_first_stats_after_loading_draw_faces_over_several_years(client, tmp_path, fake_models):
    demo = tmp_path / "demo"
    for folder in demo_folders(DEMO):
        if folder.parent.name == "gallica":
            shutil.copytree(folder, demo / folder.name)
    fake_models.detector.boxes = [Detection(10, 10, 60, 70, 0.9)]

    call_command("load_demo", "--folder", str(demo), stdout=io.StringIO())
    call_command("load_demo", "--folder", str(demo), stdout=io.StringIO())

    assert DetectionRun.objects.count() == Document.objects.count(), "each document detected once"
    rows = client.get("/api/stats/faces-by-year/").json()["results"]
    assert len([row for row in rows if row["faces"]]) >= 5, rows
