"""GET /api/runs/<id>/annotated.zip: every page of a run, annotated, in one download."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from detection.inference.types import Detection
from detection.services import run_create, run_execute
from detection.tests.conftest import add_scan_page

pytestmark = pytest.mark.django_db


def detected(document, boxes, fake_models):
    fake_models.detector.boxes = boxes
    return run_execute(run=run_create(user=None, document=document, enqueue=False, tiling=False))


def test_the_annotated_pages_of_a_run_download_as_one_zip(client, bob, document, fake_models, settings):
    pages = [add_scan_page(document, width=1200, height=1600) for _ in range(2)]
    missing = add_scan_page(document, width=300, height=300)
    run = detected(document, [Detection(400, 400, 600, 640, 0.9)], fake_models)
    missing.local_path = "gone.jpg"
    missing.save(update_fields=["local_path"])
    settings.DETECTION_MAX_DERIVATIVE = 800
    client.force_login(bob)

    response = client.get(f"/api/runs/{run.pk}/annotated.zip")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f'filename="run-{run.pk}-annotated.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = sorted(archive.namelist())
    assert names == sorted([f"{document.pk}/p{p.order:04d}.jpg" for p in pages] + ["unavailable.txt"])
    image = Image.open(io.BytesIO(archive.read(f"{document.pk}/p{pages[0].order:04d}.jpg"))).convert("RGB")
    assert image.size == (600, 800)
    r, g, b = image.getpixel((201, 260))
    assert r > 200 and 100 < g < 180 and b < 80, "the face box is drawn"
    assert f"page {missing.pk}" in archive.read("unavailable.txt").decode()


def test_a_run_over_the_page_limit_asks_for_an_export(client, bob, document, fake_models, settings):
    for _ in range(2):
        add_scan_page(document, width=300, height=300)
    run = detected(document, [], fake_models)
    settings.RUN_ANNOTATED_ZIP_MAX_PAGES = 1
    client.force_login(bob)

    response = client.get(f"/api/runs/{run.pk}/annotated.zip")

    assert response.status_code == 400
    assert "request an export" in response.json()["detail"]


def test_the_zip_of_a_private_run_is_hidden(client, charlie, document, fake_models):
    add_scan_page(document, width=300, height=300)
    run = detected(document, [], fake_models)
    client.force_login(charlie)

    assert client.get(f"/api/runs/{run.pk}/annotated.zip").status_code == 404


def test_the_run_page_links_the_zip(client, bob, document, fake_models):
    add_scan_page(document, width=300, height=300)
    run = detected(document, [], fake_models)
    client.force_login(bob)

    html = client.get(f"/runs/{run.pk}/").content.decode()

    assert f'href="/api/runs/{run.pk}/annotated.zip"' in html
