"""Building IIIF Image API 1.1/2/3 requests, and parsing them for our own endpoint (SPECS.md §3.2)."""

from __future__ import annotations

import pytest

from annotations.iiif.image_api import (
    clamp_region,
    default_quality,
    derivative_scale,
    face_crop_url,
    full_size,
    image_request_url,
    parse_image_request,
    region_param,
    size_width,
    size_within,
    thumbnail_url,
)

GALLICA_F7 = "https://gallica.bnf.fr/iiif/ark:/12148/btv1b8449043q/f7"
SERVICE = "https://iiif.example.org/iiif/3/excelsior-p1"


# Building requests


def test_it_reproduces_the_documented_gallica_crop_url() -> None:
    url = image_request_url(GALLICA_F7, "1", region=region_param(508, 1166, 485, 1042), size=size_width("1", 500))

    assert url == "https://gallica.bnf.fr/iiif/ark:/12148/btv1b8449043q/f7/508,1166,485,1042/500,/0/native.jpg"


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1", f"{GALLICA_F7}/full/full/0/native.jpg"),
        ("2", f"{GALLICA_F7}/full/full/0/default.jpg"),
        ("3", f"{GALLICA_F7}/full/max/0/default.jpg"),
    ],
)
def test_it_defaults_to_the_full_image_in_each_version(version: str, expected: str) -> None:
    assert image_request_url(GALLICA_F7, version) == expected


def test_it_uses_full_size_and_quality_names_of_each_version() -> None:
    assert [full_size(version) for version in ("1", "2", "3")] == ["full", "full", "max"]
    assert [default_quality(version) for version in ("1", "2", "3")] == ["native", "default", "default"]


def test_it_writes_best_fit_and_width_sizes() -> None:
    assert size_within("1", 2000, 2000) == "!2000,2000"
    assert size_within("3", 224, 300) == "!224,300"
    assert size_width("2", 500) == "500,"


def test_it_rejects_an_unknown_image_api_version() -> None:
    with pytest.raises(ValueError, match="unknown IIIF Image API version '4'"):
        full_size("4")


def test_it_does_not_double_a_trailing_slash_on_the_service_id() -> None:
    assert image_request_url(f"{SERVICE}/", "3", fmt="png") == f"{SERVICE}/full/max/0/default.png"


def test_it_builds_a_gallica_thumbnail_url() -> None:
    assert thumbnail_url(GALLICA_F7, "1", 200) == f"{GALLICA_F7}/full/200,/0/native.jpg"


def test_it_pads_a_box_by_a_fraction_of_its_size() -> None:
    assert clamp_region(100, 200, 50, 80, margin=0.1, width=1000, height=1000) == (95, 192, 60, 96)


def test_it_clamps_a_padded_box_to_the_image() -> None:
    assert clamp_region(5, 10, 50, 40, margin=0.5, width=60, height=45) == (0, 0, 60, 45)


def test_it_keeps_a_fractional_box_inside_its_integer_region() -> None:
    assert clamp_region(10.4, 20.6, 30.2, 40.1, margin=0, width=100, height=100) == (10, 20, 31, 41)


def test_it_rejects_a_box_outside_the_image() -> None:
    with pytest.raises(ValueError, match="does not overlap the 100x100 image"):
        clamp_region(150, 10, 20, 20, margin=0.15, width=100, height=100)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1", f"{GALLICA_F7}/508,1166,485,1042/!224,224/0/native.jpg"),
        ("2", f"{GALLICA_F7}/508,1166,485,1042/!224,224/0/default.jpg"),
        ("3", f"{GALLICA_F7}/508,1166,485,1042/!224,224/0/default.jpg"),
    ],
)
def test_it_builds_a_face_crop_url_for_each_version(version: str, expected: str) -> None:
    url = face_crop_url(GALLICA_F7, version, x=508, y=1166, w=485, h=1042, canvas_w=6275, canvas_h=4555, margin=0)

    assert url == expected


def test_it_pads_and_clamps_the_face_crop() -> None:
    url = face_crop_url(SERVICE, "3", x=0, y=100, w=100, h=100, canvas_w=4000, canvas_h=5600)

    assert url == f"{SERVICE}/0,85,115,130/!224,224/0/default.jpg"


def test_it_maps_the_face_crop_into_a_smaller_image() -> None:
    url = face_crop_url(
        SERVICE,
        "3",
        x=400,
        y=600,
        w=200,
        h=100,
        canvas_w=4000,
        canvas_h=6000,
        margin=0,
        size=64,
        image_w=2000,
        image_h=3000,
    )

    assert url == f"{SERVICE}/200,300,100,50/!64,64/0/default.jpg"


@pytest.mark.parametrize(
    ("full", "box", "expected"),
    [
        ((6275, 4555), (2000, 2000), (2000, 1452)),
        ((2644, 4074), (2000, 2000), (1298, 2000)),
        ((800, 600), (2000, 2000), (800, 600)),
        ((3000, 1000), (300, 300), (300, 100)),
    ],
)
def test_it_predicts_the_size_of_a_best_fit_derivative_without_upscaling(
    full: tuple[int, int], box: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert derivative_scale(*full, *box) == expected


def test_it_rejects_empty_sizes_when_predicting_a_derivative() -> None:
    with pytest.raises(ValueError, match="sizes must be positive"):
        derivative_scale(0, 100, 200, 200)


# Parsing requests on our own endpoint (an 800 x 600 image unless said otherwise)


@pytest.mark.parametrize(
    ("region", "size", "expected"),
    [
        ("full", "max", ((0, 0, 800, 600), (800, 600))),
        ("full", "^max", ((0, 0, 800, 600), (800, 600))),
        ("square", "max", ((100, 0, 600, 600), (600, 600))),
        ("10,20,300,200", "max", ((10, 20, 300, 200), (300, 200))),
        ("pct:10,10,50,50", "max", ((80, 60, 400, 300), (400, 300))),
        ("pct:12.5,0,25,100", "max", ((100, 0, 200, 600), (200, 600))),
        ("full", "400,", ((0, 0, 800, 600), (400, 300))),
        ("full", ",300", ((0, 0, 800, 600), (400, 300))),
        ("full", "pct:50", ((0, 0, 800, 600), (400, 300))),
        ("full", "200,200", ((0, 0, 800, 600), (200, 200))),
        ("full", "!400,400", ((0, 0, 800, 600), (400, 300))),
        ("full", "!2000,2000", ((0, 0, 800, 600), (800, 600))),
        ("full", "^!1600,1600", ((0, 0, 800, 600), (1600, 1200))),
        ("full", "^1600,", ((0, 0, 800, 600), (1600, 1200))),
        ("full", "^pct:150", ((0, 0, 800, 600), (1200, 900))),
    ],
)
def test_it_resolves_region_and_size(region: str, size: str, expected: tuple) -> None:
    assert parse_image_request(region, size, width=800, height=600) == expected


def test_it_cuts_a_region_that_runs_past_the_edge() -> None:
    assert parse_image_request("700,500,300,300", "max", width=800, height=600) == ((700, 500, 100, 100), (100, 100))


def test_it_accepts_full_size_and_upscaling_without_caret_before_version_3() -> None:
    assert parse_image_request("full", "full", width=800, height=600, version="2") == ((0, 0, 800, 600), (800, 600))
    assert parse_image_request("full", "1600,", width=800, height=600, version="2")[1] == (1600, 1200)


@pytest.mark.parametrize(
    ("region", "size", "version", "message"),
    [
        ("0,0,0,10", "max", "3", "zero width or height"),
        ("pct:0,0,0.01,50", "max", "3", "zero width or height"),
        ("800,0,10,10", "max", "3", "lies outside the 800x600 image"),
        ("pct:100,0,10,10", "max", "3", "lies outside"),
        ("-1,0,10,10", "max", "3", "invalid region"),
        ("1.5,0,10,10", "max", "3", "invalid region"),
        ("banana", "max", "3", "invalid region"),
        ("full", "1600,", "3", "larger than the 800x600 region: prefix it with \\^"),
        ("full", "pct:150", "3", "larger than the 800x600 region"),
        ("full", "^max", "2", "only in Image API 3"),
        ("full", "^20000,", "3", "at most 10000 pixels"),
        ("full", "20000,", "2", "at most 10000 pixels"),
        ("full", "0,", "3", "asks for an empty image"),
        ("full", "!0,100", "3", "asks for an empty image"),
        ("full", "pct:0", "3", "asks for an empty image"),
        ("full", "big", "3", "invalid size 'big'"),
        ("full", "max", "4", "unknown IIIF Image API version"),
    ],
)
def test_it_rejects_invalid_requests_with_a_clear_message(region: str, size: str, version: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_image_request(region, size, width=800, height=600, version=version)
