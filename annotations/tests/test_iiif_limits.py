"""Our IIIF image endpoint bounds what one request may render, and throttles anonymous rendering."""

from __future__ import annotations

import io
import warnings

import pytest
from PIL import Image

from annotations.iiif_server.imaging import ImageUnavailable, local_image
from annotations.models import Corpus
from annotations.tests.factories import scanned_document
from webapp.throttling import AnonymousRenderThrottle

pytestmark = pytest.mark.django_db

LIMIT = 1_000_000


@pytest.fixture
def scan(tmp_path, settings):
    settings.IIIF_MAX_AREA = LIMIT
    document = scanned_document(tmp_path / "scans", corpus=Corpus.objects.create(name="Public", is_public=True))
    return document.pages.get(order=1)  # 1200 x 1600


def render(client, scan, size: str, region: str = "full"):
    return client.get(f"{scan.image_service_id}/{region}/{size}/0/default.jpg")


def test_info_json_advertises_the_largest_image_it_renders(client, scan):
    info = client.get(f"{scan.image_service_id}/info.json").json()

    assert info["maxArea"] == LIMIT
    assert info["maxWidth"] == info["maxHeight"] == 10_000


def test_an_anonymous_upscale_past_the_limit_gets_a_400(client, scan):
    response = render(client, scan, "^!10000,10000")

    assert response.status_code == 400
    assert "maxArea" in response.content.decode()


@pytest.mark.parametrize(("size", "status"), [("1000,1000", 200), ("1000,1001", 400), ("^1001,1000", 400)])
def test_explicit_sizes_are_checked_at_the_limit_itself(client, scan, size, status):
    assert render(client, scan, size).status_code == status


def test_max_is_the_largest_size_within_the_limit(client, scan):
    response = render(client, scan, "max")

    assert response.status_code == 200
    width, height = Image.open(io.BytesIO(response.content)).size
    assert width * height <= LIMIT and width * height > 0.99 * LIMIT
    assert abs(width / height - 1200 / 1600) < 0.01


def test_anonymous_rendering_is_throttled_and_members_are_not(client, scan, monkeypatch, admin_user):
    monkeypatch.setattr(AnonymousRenderThrottle, "THROTTLE_RATES", {"iiif-anonymous": "3/hour"})

    statuses = [render(client, scan, "200,").status_code for _ in range(4)]
    info = client.get(f"{scan.image_service_id}/info.json").status_code
    client.force_login(admin_user)
    signed_in = render(client, scan, "200,").status_code

    assert statuses == [200, 200, 200, 429]
    assert (info, signed_in) == (200, 200)


@pytest.mark.parametrize(("size", "refused"), [((1000, 1000), False), ((LIMIT + 1, 1), True)])
def test_the_decompression_check_fires_at_the_pixel_limit_itself(settings, tmp_path, size, refused):
    settings.IMAGE_MAX_PIXELS = LIMIT
    path = tmp_path / f"scan-{size[0]}.png"
    Image.new("L", size).save(path)

    if refused:
        # Refused by our check, without Pillow's warning for images under twice its own limit.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ImageUnavailable, match="too many pixels"):
                local_image(path)
    else:
        assert local_image(path).size == size
