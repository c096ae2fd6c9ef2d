"""Parsing IIIF Presentation 2 and 3 manifests and collections (SPECS.md §3.3)."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest

from annotations.iiif.messages import Message
from annotations.iiif.parse import (
    IIIFError,
    ImageService,
    ParsedCollection,
    ParsedManifest,
    SkippedCanvas,
    parse_iiif,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "iiif"
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "iiif"

GALLICA = "https://gallica.bnf.fr/iiif/ark:/12148/bpt6k4600034x"
GALLICA_1_1_PROFILE = "http://library.stanford.edu/iiif/image-api/1.1/compliance.html#level2"
EXAMPLE = "https://iiif.example.org/visages/excelsior-1915-03-12"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def parse_manifest(data: object) -> ParsedManifest:
    result = parse_iiif(data)
    assert isinstance(result, ParsedManifest)
    return result


def parse_collection(data: object) -> ParsedCollection:
    result = parse_iiif(data)
    assert isinstance(result, ParsedCollection)
    return result


def metadata_values(manifest: ParsedManifest, label: str) -> list[str]:
    return [entry["value"] for entry in manifest.metadata if entry["label"] == label]


def p3_image_canvas(canvas_id: str, body: object, **canvas: object) -> dict:
    """A minimal P3 canvas painted with body."""
    annotation = {"id": f"{canvas_id}/a", "type": "Annotation", "motivation": "painting", "body": body}
    page = {"id": f"{canvas_id}/p", "type": "AnnotationPage", "items": [annotation]}
    return {"id": canvas_id, "type": "Canvas", "width": 100, "height": 200, "items": [page], **canvas}


def p3_manifest(*canvases: dict) -> dict:
    return {
        "@context": "http://iiif.io/api/presentation/3/context.json",
        "id": "https://iiif.example.org/m.json",
        "type": "Manifest",
        "label": {"none": ["m"]},
        "items": list(canvases),
    }


# Gallica-like Presentation 2 manifest


def test_it_reads_gallica_p2_descriptive_fields() -> None:
    manifest = parse_manifest(load("gallica-p2-excelsior-1915.json"))

    assert manifest.id == f"{GALLICA}/manifest.json"
    assert manifest.version == "2"
    assert manifest.label == "Excelsior : journal illustré quotidien"
    assert manifest.summary.startswith("Excelsior : journal illustré quotidien : informations")
    assert manifest.attribution == "Bibliothèque nationale de France"
    assert manifest.license == "https://gallica.bnf.fr/html/conditions-dutilisation-des-contenus-de-gallica"
    assert manifest.related == "https://gallica.bnf.fr/ark:/12148/bpt6k4600034x"
    assert manifest.see_also.startswith("http://oai.bnf.fr/oai2/OAIHandler?verb=GetRecord")
    assert manifest.thumbnail == "https://gallica.bnf.fr/ark:/12148/bpt6k4600034x.thumbnail"
    assert manifest.nav_date == ""


def test_it_parses_the_gallica_date_metadata_into_a_day() -> None:
    manifest = parse_manifest(load("gallica-p2-excelsior-1915.json"))

    assert manifest.date_text == "1915-03-12"
    assert (manifest.date_start, manifest.date_end) == (date(1915, 3, 12), date(1915, 3, 12))


def test_it_flattens_p2_metadata_values_and_keeps_repeated_labels() -> None:
    manifest = parse_manifest(load("gallica-p2-excelsior-1915.json"))

    assert len(manifest.metadata) == 13
    assert metadata_values(manifest, "Language") == ["français; fre"]
    assert metadata_values(manifest, "Format") == ["application/pdf; image/jpeg"]
    assert metadata_values(manifest, "Relation") == [
        "Notice du catalogue : http://catalogue.bnf.fr/ark:/12148/cb32771891w",
        "http://gallica.bnf.fr/ark:/12148/cb32771891w/date",
    ]
    # One value in two languages: the English one is shown.
    assert metadata_values(manifest, "Type") == ["printed text"]


def test_it_keeps_the_gallica_image_api_1_1_service_id_verbatim() -> None:
    manifest = parse_manifest(load("gallica-p2-excelsior-1915.json"))

    first = manifest.canvases[0]
    assert first.service == ImageService(id=f"{GALLICA}/f1", version="1", profile=GALLICA_1_1_PROFILE)
    assert first.image_url == f"{GALLICA}/f1/full/full/0/native.jpg"
    assert (first.order, first.canvas_id, first.label) == (1, f"{GALLICA}/canvas/f1", "NP")
    assert (first.width, first.height, first.image_width, first.image_height) == (6275, 4555, 6275, 4555)


def test_it_strips_info_json_from_a_service_given_as_a_list() -> None:
    manifest = parse_manifest(load("gallica-p2-excelsior-1915.json"))

    assert manifest.canvases[1].service == ImageService(id=f"{GALLICA}/f2", version="1", profile=GALLICA_1_1_PROFILE)


def test_it_flattens_a_p2_label_given_as_a_value_list() -> None:
    manifest = parse_manifest(load("gallica-p2-excelsior-1915.json"))

    assert [canvas.label for canvas in manifest.canvases] == ["NP", "2", "3"]


def test_it_keeps_canvas_size_apart_from_a_smaller_image_resource() -> None:
    canvas = parse_manifest(load("gallica-p2-excelsior-1915.json")).canvases[2]

    assert (canvas.width, canvas.height) == (6275, 4555)
    assert (canvas.image_width, canvas.image_height) == (3138, 2278)


# Presentation 3 manifest


def test_it_reads_p3_descriptive_fields_from_language_maps() -> None:
    manifest = parse_manifest(load("p3-excelsior-mixed-canvases.json"))

    assert manifest.id == f"{EXAMPLE}/manifest.json"
    assert manifest.version == "3"
    assert manifest.label == "Excelsior, 12 March 1915"
    assert manifest.summary == "Front page and inner pages of one issue, with a sound recording."
    assert manifest.attribution == "Bibliothèque nationale de France / Gallica"
    assert manifest.license == "http://creativecommons.org/publicdomain/mark/1.0/"
    assert manifest.related == "https://gallica.bnf.fr/ark:/12148/bpt6k4600034x"
    assert manifest.see_also == f"{EXAMPLE}/oai-dc.xml"
    assert manifest.thumbnail == "https://iiif.example.org/iiif/3/excelsior-p1/full/200,/0/default.jpg"


def test_it_flattens_p3_metadata_language_maps() -> None:
    manifest = parse_manifest(load("p3-excelsior-mixed-canvases.json"))

    assert manifest.metadata[:2] == [
        {"label": "Date", "value": "mars 1915"},
        {"label": "Subject", "value": "War; Portraits"},
    ]
    assert len(metadata_values(manifest, "Relation")) == 2


def test_nav_date_wins_over_the_date_metadata() -> None:
    manifest = parse_manifest(load("p3-excelsior-mixed-canvases.json"))

    assert manifest.nav_date == "1915-03-12T00:00:00Z"
    assert manifest.date_text == "mars 1915"
    assert (manifest.date_start, manifest.date_end) == (date(1915, 3, 12), date(1915, 3, 12))


def test_it_uses_nav_date_as_date_text_without_date_metadata() -> None:
    data = p3_manifest(p3_image_canvas("https://x/c1", {"id": "https://x/1.jpg", "type": "Image"}))
    data["navDate"] = "1922-01-01T00:00:00Z"

    manifest = parse_manifest(data)

    assert manifest.date_text == "1922-01-01T00:00:00Z"
    assert manifest.date_start == date(1922, 1, 1)


def test_it_numbers_kept_canvases_in_manifest_order() -> None:
    manifest = parse_manifest(load("p3-excelsior-mixed-canvases.json"))

    assert [(canvas.order, canvas.label) for canvas in manifest.canvases] == [
        (1, "p. 1"),
        (2, "page 2"),
        (3, "p. 3"),
    ]


def test_it_skips_sound_canvas_with_reason() -> None:
    manifest = parse_manifest(load("p3-excelsior-mixed-canvases.json"))

    assert manifest.skipped[0] == SkippedCanvas(
        canvas_id=f"{EXAMPLE}/canvas/audio",
        label="Reading of the front page",
        reason=Message("no image (%(kind)s)", {"kind": "Sound"}),
    )
    assert str(manifest.skipped[0].reason) == "no image (Sound)"


def test_it_skips_empty_canvas_with_reason() -> None:
    manifest = parse_manifest(load("p3-excelsior-mixed-canvases.json"))

    assert manifest.skipped[1] == SkippedCanvas(
        canvas_id=f"{EXAMPLE}/canvas/blank", label="Blank page, not digitised", reason=Message("no painting annotation")
    )


def test_it_skips_canvas_with_no_size_on_canvas_or_image() -> None:
    manifest = parse_manifest(load("p3-excelsior-mixed-canvases.json"))

    assert manifest.skipped[2] == SkippedCanvas(
        canvas_id=f"{EXAMPLE}/canvas/p4", label="p. 4", reason=Message("missing width/height")
    )
    assert len(manifest.skipped) == 3


def test_it_reads_an_image_service_3() -> None:
    canvas = parse_manifest(load("p3-excelsior-mixed-canvases.json")).canvases[0]

    assert canvas.service == ImageService(
        id="https://iiif.example.org/iiif/3/excelsior-p1", version="3", profile="level2"
    )
    assert canvas.image_url == "https://iiif.example.org/iiif/3/excelsior-p1/full/max/0/default.jpg"


def test_it_takes_the_first_option_of_a_choice_with_its_image_service_2() -> None:
    canvas = parse_manifest(load("p3-excelsior-mixed-canvases.json")).canvases[1]

    assert canvas.image_url == "https://iiif.example.org/iiif/2/excelsior-p2/full/full/0/default.jpg"
    assert canvas.service == ImageService(
        id="https://iiif.example.org/iiif/2/excelsior-p2",
        version="2",
        profile="http://iiif.io/api/image/2/level1.json",
    )
    assert (canvas.width, canvas.image_width) == (4000, 2000)


def test_it_falls_back_to_image_size_when_the_canvas_has_none() -> None:
    canvas = parse_manifest(load("p3-excelsior-mixed-canvases.json")).canvases[2]

    assert (canvas.width, canvas.height) == (3000, 4200)
    assert canvas.service is None


def test_it_picks_the_image_service_among_other_services() -> None:
    body = {
        "id": "https://x/1.jpg",
        "type": "Image",
        "service": [
            {"id": "https://x/auth/login", "type": "AuthCookieService1", "profile": "http://iiif.io/api/auth/1/login"},
            {
                "@id": "https://x/iiif/1",
                "@type": "ImageService2",
                "profile": ["http://iiif.io/api/image/2/level0.json"],
            },
        ],
    }

    canvas = parse_manifest(p3_manifest(p3_image_canvas("https://x/c1", body))).canvases[0]

    assert canvas.service == ImageService(
        id="https://x/iiif/1", version="2", profile="http://iiif.io/api/image/2/level0.json"
    )


def test_it_builds_the_image_url_from_the_service_when_the_image_has_no_id() -> None:
    body = {"type": "Image", "service": {"id": "https://x/iiif/1", "type": "ImageService3"}}

    canvas = parse_manifest(p3_manifest(p3_image_canvas("https://x/c1", body))).canvases[0]

    assert canvas.image_url == "https://x/iiif/1/full/max/0/default.jpg"


def test_it_reads_sizes_given_as_digit_strings() -> None:
    canvas = p3_image_canvas("https://x/c1", {"id": "https://x/1.jpg", "type": "Image"}, width="640", height="480")

    parsed = parse_manifest(p3_manifest(canvas)).canvases[0]

    assert (parsed.width, parsed.height) == (640, 480)


# Collections


def test_it_lists_the_manifests_of_a_real_p3_gallica_collection() -> None:
    collection = parse_collection(load("p3-collection-gallica-mercure-galant-1713.json"))

    assert collection.label == "Mercure galant (1678) (1713)"
    assert len(collection.manifests) == 11
    assert collection.manifests[0] == {
        "id": "https://gallica.bnf.fr/iiif/ark:/12148/bpt6k6316091w/manifest.json",
        "label": "Mercure galant (1678) ( mars 1713)",
        "type": "Manifest",
    }


def test_it_lists_nested_collections_and_manifests_of_a_p2_collection() -> None:
    collection = parse_collection(load("p2-collection-excelsior-1915.json"))

    assert collection.id == "https://iiif.example.org/visages/collection/excelsior-1915.json"
    assert collection.label == "Excelsior, 1915"
    assert [(entry["type"], entry["label"]) for entry in collection.manifests] == [
        ("Manifest", "Excelsior, 12 mars 1915"),
        ("Manifest", "Excelsior, 13 mars 1915"),
        ("Collection", "Excelsior, avril 1915"),
    ]


def test_it_lists_a_p3_nested_collection_once_and_ignores_other_items() -> None:
    data = {
        "@context": "http://iiif.io/api/presentation/3/context.json",
        "id": "https://x/top",
        "type": "Collection",
        "label": {"en": ["Top"]},
        "items": [
            {"id": "https://x/sub", "type": "Collection", "label": {"en": ["Sub"]}},
            {"id": "https://x/sub", "type": "Collection", "label": {"en": ["Sub again"]}},
            {"id": "https://x/thing", "type": "Text"},
        ],
    }

    assert parse_collection(data).manifests == [{"id": "https://x/sub", "label": "Sub", "type": "Collection"}]


# Real manifests from other projects


def test_it_parses_the_real_colorized_p2_manifest() -> None:
    manifest = parse_manifest(load("p2-colorized-heritage-photos.json"))

    assert [canvas.service for canvas in manifest.canvases] == [
        None,
        ImageService(
            id="https://gallica.bnf.fr/iiif/ark:/12148/btv1b531454753/f1",
            version="2",
            profile="http://iiif.io/api/image/2/level2.json",
        ),
    ]
    assert manifest.summary == "Based on Gallica document bpt6k9907264 and DeOldify"
    assert manifest.metadata == []
    assert (manifest.date_start, manifest.date_end) == (None, None)


def test_it_reads_the_bl_image_size_from_its_image_service() -> None:
    manifest = parse_manifest(load("p2-bl-playbills-3-canvases.json"))

    first = manifest.canvases[0]
    assert len(manifest.canvases) == 3
    assert (first.width, first.height, first.image_width, first.image_height) == (2644, 4074, 2644, 4074)
    assert first.service == ImageService(
        id="https://api.bl.uk/image/iiif/ark:/81055/vdc_100022589079.0x000003",
        version="2",
        profile="http://iiif.io/api/image/2/level2.json",
    )


def test_it_reads_the_bl_date_range_and_links() -> None:
    manifest = parse_manifest(load("p2-bl-playbills-3-canvases.json"))

    assert manifest.date_text == "1820-1822"
    assert (manifest.date_start, manifest.date_end) == (date(1820, 1, 1), date(1822, 12, 31))
    assert manifest.related == "http://access.bl.uk/item/viewer/ark:/81055/vdc_100022589080.0x000002"
    assert manifest.see_also == ""
    assert len(manifest.metadata) == 12


def test_it_parses_every_canvas_of_the_full_bl_manifest() -> None:
    path = SHARED_FIXTURES / "p2-bl-playbills-368-canvases.json"
    if not path.exists():
        pytest.skip(f"shared fixtures not present: {path}")

    manifest = parse_manifest(json.loads(path.read_text(encoding="utf-8")))

    assert len(manifest.canvases) == 368
    assert manifest.skipped == []
    assert all(canvas.service is not None for canvas in manifest.canvases)


# Failures


def test_it_rejects_a_manifest_without_image_canvas_and_says_why() -> None:
    with pytest.raises(IIIFError, match="no image canvas") as error:
        parse_iiif(load("p3-no-image-canvas.json"))

    assert "no image (Sound)" in str(error.value)
    assert "no image (Video)" in str(error.value)


def test_it_rejects_a_manifest_with_no_canvases() -> None:
    with pytest.raises(IIIFError, match="no image canvas: the manifest has no canvases"):
        parse_iiif(p3_manifest())


def test_it_rejects_json_that_is_not_iiif() -> None:
    with pytest.raises(IIIFError, match="not a IIIF manifest"):
        parse_iiif(load("not-a-manifest-labelme.json"))


@pytest.mark.parametrize(("data", "kind"), [([], "a list"), ("manifest", "a string"), (None, "null"), (3, "a number")])
def test_it_rejects_json_that_is_not_an_object(data: object, kind: str) -> None:
    with pytest.raises(IIIFError, match=f"expected a JSON object, got {kind}"):
        parse_iiif(data)


def test_it_rejects_an_image_api_info_json() -> None:
    info = {
        "@context": "http://iiif.io/api/image/2/context.json",
        "@id": f"{GALLICA}/f1",
        "protocol": "http://iiif.io/api/image",
        "width": 6275,
        "height": 4555,
    }

    with pytest.raises(IIIFError, match="Image API info.json"):
        parse_iiif(info)


def test_it_rejects_a_iiif_resource_that_is_not_a_manifest() -> None:
    annotation_list = {
        "@context": "http://iiif.io/api/presentation/2/context.json",
        "@id": "https://x/list/f1",
        "@type": "sc:AnnotationList",
        "resources": [],
    }

    with pytest.raises(IIIFError, match="AnnotationList is not a Manifest or Collection"):
        parse_iiif(annotation_list)


def _break_canvases(data: dict) -> None:
    data["sequences"][0]["canvases"] = {"oops": True}


def _break_canvas(data: dict) -> None:
    data["sequences"][0]["canvases"][1] = "https://x/canvas"


def _break_images(data: dict) -> None:
    data["sequences"][0]["canvases"][1]["images"] = {"resource": {}}


def _break_resource(data: dict) -> None:
    del data["sequences"][0]["canvases"][1]["images"][0]["resource"]


def _break_image_entry(data: dict) -> None:
    data["sequences"][0]["canvases"][1]["images"][0] = 42


@pytest.mark.parametrize(
    ("breaker", "message"),
    [
        (_break_canvases, "'canvases' should be a list"),
        (_break_canvas, "invalid canvas 2: expected a JSON object, got a string"),
        (_break_images, r"invalid canvas 2 \(.*/canvas/f2\): 'images' should be a list"),
        (_break_resource, r"invalid canvas 2 \(.*/canvas/f2\): its painting annotation has no 'resource'"),
        (_break_image_entry, r"invalid canvas 2 \(.*/canvas/f2\): an entry of 'images' is not a JSON object"),
    ],
)
def test_it_reports_malformed_p2_pieces_as_iiif_errors(breaker, message: str) -> None:
    data = copy.deepcopy(load("gallica-p2-excelsior-1915.json"))
    breaker(data)

    with pytest.raises(IIIFError, match=message):
        parse_iiif(data)


@pytest.mark.parametrize(
    ("canvas", "message"),
    [
        ({"id": "https://x/c1", "type": "Canvas", "items": "page"}, "'items' should be a list"),
        ({"id": "https://x/c1", "type": "Canvas", "items": [[]]}, "annotation page in 'items' is not a JSON object"),
        (p3_image_canvas("https://x/c1", None), "its painting annotation has no 'body' object"),
        (p3_image_canvas("https://x/c1", []), "its painting annotation has no 'body' object"),
        (p3_image_canvas("https://x/c1", {"type": "Choice", "items": []}), "its Choice of images offers no option"),
    ],
)
def test_it_reports_malformed_p3_canvases_with_their_position(canvas: dict, message: str) -> None:
    with pytest.raises(IIIFError, match=rf"invalid canvas 1 \(https://x/c1\): .*{message}"):
        parse_iiif(p3_manifest(canvas))


def test_it_rejects_manifest_items_that_are_not_a_list() -> None:
    data = p3_manifest()
    data["items"] = {"id": "https://x/c1"}

    with pytest.raises(IIIFError, match="invalid manifest: 'items' should be a list, got an object"):
        parse_iiif(data)


def test_iiif_errors_are_value_errors() -> None:
    assert issubclass(IIIFError, ValueError)
