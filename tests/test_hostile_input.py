"""Hostile and broken input gets a clear 4xx or a failed job with a message; nothing crashes or is lost."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.exceptions import ParseError

from annotations.ingest.manifests import corpus_get_or_create, document_import_run, document_request_import
from annotations.models import Corpus, Document, Export, Face, Page
from annotations.tests.factories import scanned_document
from detection.models import DetectionRun, TrainingJob
from tests.support.manifests import jpeg_bytes, p2_manifest
from webapp.jobs import JobStatus
from webapp.parsers import JSONParser

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def db_state() -> tuple[int, int]:
    return Document.objects.count(), Page.objects.count()


@pytest.fixture
def local_document(tmp_path, db):
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "p1.jpg").write_bytes(jpeg_bytes(600, 800))
    document = document_request_import(corpus=corpus_get_or_create(name="Scans", is_public=True), source=str(folder))
    return document_import_run(document_id=document.pk)


def test_xss_in_manifest_labels_and_metadata_is_escaped_in_pages(client, http_server, db):
    manifest = p2_manifest(http_server.base_url, 1, label=XSS)
    manifest["metadata"].append({"label": XSS, "value": XSS})
    manifest["sequences"][0]["canvases"][0]["label"] = XSS
    url = http_server.add("/manifest.json", json.dumps(manifest))
    document = document_import_run(
        document_id=document_request_import(corpus=corpus_get_or_create(name="Public", is_public=True), source=url).pk
    )
    page = document.pages.get()

    for path in ["/", f"/documents/{document.pk}/", f"/pages/{page.pk}/"]:
        response = client.get(path)
        assert response.status_code == 200
        html = response.content.decode()
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert" in html


def test_a_decompression_bomb_scan_is_skipped_and_reported(tmp_path, settings, db):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    folder = tmp_path / "bomb"
    folder.mkdir()
    Image.new("L", (3000, 3000)).save(folder / "bomb.png")  # 9 Mpx, tiny on disk
    (folder / "ok.jpg").write_bytes(jpeg_bytes(500, 500))

    document = document_import_run(
        document_id=document_request_import(
            corpus=corpus_get_or_create(name="Scans", is_public=True), source=str(folder)
        ).pk
    )

    assert document.import_status == JobStatus.DONE
    assert [p.label for p in document.pages.all()] == ["ok"]
    assert document.import_report["skipped"][0]["canvas_id"] == "bomb.png"


def test_a_scan_replaced_by_a_truncated_file_gets_a_400_not_a_500(client, local_document, settings):
    page = local_document.pages.get()
    scan = settings.LOCAL_IMAGES_DIR / page.local_path
    scan.write_bytes(scan.read_bytes()[:200])

    response = client.get(f"{page.image_service_id}/full/max/0/default.jpg")

    assert response.status_code == 400
    assert b"unreadable or truncated" in response.content.lower()
    assert Page.objects.filter(pk=page.pk).exists()


def test_an_oversize_upload_is_refused_with_400_and_nothing_stored(curator_client, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    before = db_state()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("p1.jpg", jpeg_bytes(800, 800))
    upload = SimpleUploadedFile("scans.zip", archive.getvalue(), content_type="application/zip")

    response = curator_client.post("/api/documents/", {"upload": upload, "corpus": "Excelsior"})

    assert response.status_code == 400
    assert "too large" in json.dumps(response.json())
    assert db_state() == before


def test_a_non_zip_upload_is_refused_with_400(curator_client):
    before = db_state()
    upload = SimpleUploadedFile("scans.zip", b"this is not a zip", content_type="application/zip")

    response = curator_client.post("/api/documents/", {"upload": upload, "corpus": "Excelsior"})

    assert response.status_code == 202
    document = Document.objects.get()
    assert document_import_run(document_id=document.pk).import_status == JobStatus.FAILED
    assert "not a valid zip" in Document.objects.get().import_error
    assert Page.objects.count() == before[1]


def test_an_unknown_source_is_a_400_with_the_reason(curator_client, settings, tmp_path):
    settings.IMPORT_SERVER_ROOTS = [str(tmp_path)]
    before = db_state()

    response = curator_client.post("/api/documents/", {"source": str(tmp_path / "nowhere"), "corpus": "Excelsior"})

    assert response.status_code == 400
    assert "Source not found" in json.dumps(response.json())
    assert db_state() == before


def test_anonymous_users_cannot_import(client, db):
    response = client.post("/api/documents/", {"source": "ark:/12148/bpt6k46000341"}, content_type="application/json")

    assert response.status_code in {401, 403}
    assert db_state() == (0, 0)


def test_a_viewer_cannot_import_into_a_corpus(client, bob, corpus):
    client.force_login(bob)

    response = client.post(
        "/api/documents/",
        {"source": "ark:/12148/bpt6k46000341", "corpus": "Excelsior"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert db_state() == (0, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": "https://example.org/iiif/manifest.json", "corpus_name": "Excelsior"}, "corpus_name"),
        ({"source": "ark:/12148/bpt6k46000341", "corpus": "Excelsior", "is_public": True}, "is_public"),
    ],
)
def test_an_import_with_an_unknown_field_is_refused_naming_it(
    curator_client, body, field, django_capture_on_commit_callbacks
):
    corpora = Corpus.objects.count()

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = curator_client.post("/api/documents/", body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert db_state() == (0, 0) and Corpus.objects.count() == corpora and not queued


def test_an_upload_with_an_unknown_field_is_refused_naming_it(curator_client):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("p1.jpg", jpeg_bytes(100, 100))
    upload = SimpleUploadedFile("scans.zip", archive.getvalue(), content_type="application/zip")

    response = curator_client.post("/api/documents/", {"upload": upload, "corpus_name": "Excelsior"})

    assert response.status_code == 400
    assert "corpus_name" in response.json()
    assert db_state() == (0, 0) and not Corpus.objects.filter(name="Default").exists()


def test_a_reimport_that_fails_keeps_the_pages_already_stored(http_server, db):
    url = http_server.add("/manifest.json", json.dumps(p2_manifest(http_server.base_url, 2)))
    corpus = corpus_get_or_create(name="Press")
    first = document_import_run(document_id=document_request_import(corpus=corpus, source=url).pk)
    assert first.pages.count() == 2
    http_server.add("/manifest.json", "{ broken")

    again = document_import_run(document_id=document_request_import(corpus=corpus, source=url).pk)

    assert again.import_status == JobStatus.FAILED
    assert again.pages.count() == 2


# ---------------------------------------------------------------------------------------------
# Ids past the database's signed 64-bit range, deep JSON, huge numbers (issue #13, hole 5).

HUGE = "99999999999999999999"
JUST_PAST = str(2**63)
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def scanned(tmp_path, corpus):
    """A document of local scans in alice's corpus, with one face and one run."""
    document = scanned_document(tmp_path / "hostile-scans", corpus=corpus)
    page = document.pages.order_by("order").first()
    face = Face.objects.create(page=page, x=10, y=10, w=50, h=60, confidence=0.9, source="res10@test")
    run = DetectionRun.objects.create(corpus=corpus, document=document, status=JobStatus.DONE)
    return {"corpus": corpus.pk, "document": document.pk, "page": page.pk, "face": face.pk, "run": run.pk}


def rows() -> tuple[int, ...]:
    return (Face.objects.count(), DetectionRun.objects.count(), TrainingJob.objects.count(), Export.objects.count())


ID_FILTERS = [
    "/api/documents/?corpus={v}",
    "/api/pages/?document={v}",
    "/api/faces/?page={v}",
    "/api/faces/?document={v}",
    "/api/faces/?corpus={v}",
    "/api/runs/?corpus={v}",
    "/api/runs/?document={v}",
    "/api/runs/{run}/evaluation/?document={v}",
    "/api/evaluation/?document={v}",
    "/api/training-jobs/?corpus={v}",
    "/api/people/?corpus={v}",
    "/api/search/pages/?corpus={v}",
    "/api/search/pages/?document={v}",
    "/api/search/faces/?corpus={v}",
    "/api/search/faces/?document={v}",
    "/api/stats/faces-by-year/?corpus={v}",
    "/api/stats/faces-by-year/?document={v}",
]


@pytest.mark.parametrize("value", [HUGE, JUST_PAST])
@pytest.mark.parametrize("path", ID_FILTERS)
def test_an_id_filter_past_64_bits_is_a_400_naming_it(curator_client, scanned, path, value):
    response = curator_client.get(path.format(v=value, **scanned))

    assert response.status_code == 400, response.content[:300]
    name = path.split("?")[1].split("=")[0]
    assert "whole number from 1 to 9223372036854775807" in response.json()[name][0]


@pytest.mark.parametrize("value", ["0", "-1", "1e309", "NaN", "x" * 3000])
@pytest.mark.parametrize("path", ["/api/documents/?corpus={v}", "/api/pages/?document={v}", "/api/runs/?document={v}"])
def test_an_id_filter_that_is_no_id_is_a_400_not_ignored(curator_client, scanned, path, value):
    response = curator_client.get(path.format(v=value))

    assert response.status_code == 400
    assert "whole number" in json.dumps(response.json())


@pytest.mark.parametrize(
    ("path", "misspelt", "taken"),
    [
        ("/api/documents/?corpuss={corpus}", "corpuss", "corpus, format, page"),
        ("/api/pages/?documnet={document}", "documnet", "document, format, page"),
    ],
)
def test_a_misspelt_list_filter_is_a_400_naming_it_never_the_whole_list(curator_client, scanned, path, misspelt, taken):
    response = curator_client.get(path.format(**scanned))

    assert response.status_code == 400
    assert response.json() == {misspelt: [f"Unknown parameter; this request takes {taken}."]}


def test_the_largest_id_is_still_an_id(curator_client, scanned):
    for path in ["/api/pages/?document={v}", "/api/faces/?page={v}", "/api/runs/?corpus={v}"]:
        response = curator_client.get(path.format(v=2**63 - 1))
        assert response.status_code == 200 and response.json()["results"] == [], path
    assert curator_client.get(f"/api/faces/{2**63 - 1}/").status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/runs/", {"pages": [1, int(JUST_PAST)]}),
        ("/api/runs/", {"pages": [int(HUGE)]}),
        ("/api/runs/", {"document": int(HUGE)}),
        ("/api/runs/", {"corpus": int(JUST_PAST)}),
        ("/api/faces/", {"page": int(HUGE), "x": 1, "y": 1, "w": 10, "h": 10}),
        ("/api/faces/{face}/revert/", {"revision": int(HUGE)}),
        ("/api/pages/{page}/bulk/", {"action": "accept", "faces": [{"id": int(JUST_PAST), "version": 1}]}),
        ("/api/faces/bulk/", {"action": "accept", "faces": [{"id": int(JUST_PAST), "version": 1}]}),
        ("/api/faces/bulk/", {"action": "reject", "faces": [{"id": int(HUGE), "version": 1}]}),
        ("/api/faces/{face}/person/", {"person": "X", "version": 1, "matches": [{"id": int(HUGE), "version": 1}]}),
        ("/api/training-jobs/", {"kind": "attributes", "corpus": int(HUGE)}),
        ("/api/training-jobs/", {"kind": "attributes", "document": int(JUST_PAST)}),
        ("/api/encodings/", {"document": int(HUGE)}),
        ("/api/evaluation/?document=" + HUGE, None),
        ("/api/exports/", {"kind": "csv", "corpus": HUGE}),
        ("/api/exports/", {"kind": "csv", "document": int(HUGE)}),
    ],
)
def test_an_id_past_64_bits_in_a_body_is_a_400(curator_client, scanned, path, body):
    before = rows()
    if body is None:
        response = curator_client.get(path)
    else:
        response = curator_client.post(path.format(**scanned), body, content_type="application/json")

    assert response.status_code == 400, response.content[:300]
    assert "9223372036854775807" in json.dumps(response.json())
    assert rows() == before


def test_an_annotation_import_into_a_document_past_64_bits_is_a_400(curator_client, scanned):
    upload = SimpleUploadedFile("p.json", b"{}", content_type="application/json")

    response = curator_client.post("/api/imports/annotations/", {"file": upload, "document": HUGE})

    assert response.status_code == 400
    assert "9223372036854775807" in response.json()["document"][0]


def test_an_annotation_import_with_an_unknown_field_is_refused_naming_it(curator_client, scanned):
    upload = annotation_upload("page1.json", LABELME % 10)

    response = curator_client.post(
        "/api/imports/annotations/", {"file": upload, "document": scanned["document"], "fromat": "coco"}
    )

    assert response.status_code == 400
    assert "fromat" in response.json()
    assert Face.objects.count() == 1


def test_an_annotation_import_from_the_browser_form_carries_its_csrf_token(curator_client, scanned):
    # The page's form posts its FormData, CSRF field included, to the API.
    upload = annotation_upload("page2.json", (LABELME % 10).replace("page1.jpg", "page2.jpg"))
    form = {"csrfmiddlewaretoken": "token", "file": upload, "document": scanned["document"], "format": "labelme"}

    response = curator_client.post("/api/imports/annotations/", form)

    assert response.status_code == 200, response.content
    assert Face.objects.count() == 2


def test_a_face_drawn_with_huge_finite_numbers_is_a_400(curator_client, scanned):
    body = {"page": scanned["page"], "x": 1e308, "y": 1e308, "w": 1e308, "h": 1e308}

    response = curator_client.post("/api/faces/", body, content_type="application/json")

    assert response.status_code == 400
    assert "lies outside" in json.dumps(response.json())
    assert Face.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        '{"page": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}",
        '{"page": ' + "[" * 65 + "]" * 65 + "}",
    ],
    ids=["deep list", "deep object", "65 levels"],
)
def test_a_deep_json_body_is_a_400(client, curator_client, scanned, body):
    before = rows()

    anonymous = client.__class__().post("/api/auth/token/", body, content_type="application/json")
    curator = curator_client.post("/api/faces/", body, content_type="application/json")

    for response in [anonymous, curator]:
        assert response.status_code == 400
        assert "nested more than 64 levels" in response.json()["detail"]
    assert rows() == before


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309"])
def test_a_non_finite_number_in_a_json_body_is_a_400(curator_client, scanned, number):
    body = f'{{"page": {scanned["page"]}, "x": {number}, "y": 1, "w": 10, "h": 10}}'

    response = curator_client.post("/api/faces/", body, content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert Face.objects.count() == 1


def test_a_json_body_past_the_size_limit_is_a_400(curator_client, scanned, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = curator_client.post("/api/runs/", {"pages": [scanned["page"]] * 600}, content_type="application/json")

    assert response.status_code == 400
    assert DetectionRun.objects.count() == 1
    # Read straight from the request stream (nothing read the body before), the parser applies the limit.
    with pytest.raises(ParseError, match="larger than 1000 bytes"):
        JSONParser().parse(io.BytesIO(b"[" + b"1," * 600 + b"1]"))


@pytest.mark.parametrize(
    ("region", "size", "message"),
    [
        ("pct:" + "9" * 400, "max", "invalid region"),
        ("pct:0,0," + "9" * 400 + ",50", "max", "invalid region"),
        ("0,0," + "9" * 400 + ",10", "max", "invalid region"),
        ("full", "pct:" + "9" * 400, "invalid size"),
        ("full", "9" * 400 + ",", "invalid size"),
        ("full", "," + "9" * 400, "invalid size"),
        ("full", "!" + "9" * 400 + "," + "9" * 400, "invalid size"),
        ("full", "^pct:" + "9" * 400, "invalid size"),
    ],
)
def test_a_huge_number_in_an_image_request_is_a_400(client, local_document, region, size, message):
    page = local_document.pages.get()

    response = client.get(f"{page.image_service_id}/{region}/{size}/0/default.jpg")

    assert response.status_code == 400
    assert message in response.content.decode()
    assert "at most 9 digits" in response.content.decode()


def annotation_upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="application/json")


LABELME = (
    '{"shapes": [{"label": "face", "points": [[%s, 10], [60, 70]], "shape_type": "rectangle", "flags": {}}],'
    ' "imagePath": "page1.jpg", "imageData": null, "imageWidth": 800, "imageHeight": 600}'
)
COCO = (
    '{"images": [{"id": 1, "file_name": "page1.jpg", "width": 800, "height": 600}],'
    ' "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, %s, 60]}],'
    ' "categories": [{"id": 1, "name": "face"}]}'
)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309"])
@pytest.mark.parametrize(("fmt", "template"), [("labelme", LABELME), ("coco", COCO)])
def test_a_non_finite_number_in_an_annotation_file_is_reported_for_that_file(
    curator_client, scanned, fmt, template, number
):
    upload = annotation_upload(f"{fmt}.json", template % number)

    response = curator_client.post(
        "/api/imports/annotations/", {"file": upload, "document": scanned["document"], "format": fmt}
    )

    assert response.status_code == 400
    report = response.json()
    assert report["files_rejected"] == 1 and "not valid JSON" in report["files"][0]["errors"][0]
    assert Face.objects.count() == 1


def test_a_deep_annotation_file_is_reported_for_that_file(curator_client, scanned):
    deep_object = '{"a": ' * 100_000 + "1" + "}" * 100_000
    deep_description = json.dumps({"shapes": [{"label": "face", "description": deep_object}]})
    for name, text in [("deep.json", DEEP), ("description.json", deep_description)]:
        response = curator_client.post(
            "/api/imports/annotations/",
            {"file": annotation_upload(name, text), "document": scanned["document"], "format": "labelme"},
        )

        assert response.status_code == 400, name
        assert response.json()["files_rejected"] == 1, name
    assert Face.objects.count() == 1


BIG = 10**400  # a JSON integer past the float range: json.loads reads it as an int


def labelme_page1(shape_extra=None, *, width=1200, height=1600, points=((300, 300), (350, 360))) -> str:
    shape = {"label": "face", "points": [list(p) for p in points], "shape_type": "rectangle", "flags": {}}
    data = {"shapes": [{**shape, **(shape_extra or {})}], "imagePath": "page1.jpg", "imageData": None}
    return json.dumps({**data, "imageWidth": width, "imageHeight": height})


def coco_page1(*, image=None, annotation=None, category=None) -> str:
    return json.dumps(
        {
            "images": [{"id": 1, "file_name": "page1.jpg", "width": 1200, "height": 1600, **(image or {})}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 1, "bbox": [300, 300, 50, 60], **(annotation or {})}
            ],
            "categories": [{"id": 1, "name": "face", **(category or {})}],
        }
    )


def web_annotation(canvas: str, **overrides) -> str:
    annotation = {
        "id": "https://example.org/anno/1",
        "type": "Annotation",
        "body": [{"type": "TextualBody", "value": "female", "purpose": "tagging"}],
        "target": f"{canvas}#xywh=300,300,50,60",
    }
    return json.dumps({**annotation, **overrides})


def face_tag(text: str) -> list[dict]:
    return [{"type": "TextualBody", "value": text, "purpose": "tagging"}]


# (format, the file's text for the page-1 canvas, what the report says of it)
MALFORMED_ANNOTATION_FILES = {
    "labelme confidence past the float range": (
        "labelme",
        lambda canvas: labelme_page1({"confidence": BIG}),
        "shape 1: confidence must be between 0 and 1",
    ),
    "labelme age past the float range": (
        "labelme",
        lambda canvas: labelme_page1({"age": BIG}),
        "shape 1: age must be between 0 and 130",
    ),
    "labelme point past the float range": (
        "labelme",
        lambda canvas: labelme_page1(points=((0.5, 1), (BIG, 2))),
        "shape 1: a rectangle needs exactly two [x, y] points",
    ),
    "labelme imageWidth past the float range": (
        "labelme",
        lambda canvas: labelme_page1(width=BIG, height=1),
        "image: image width and height must be whole numbers from 1 to 1000000",
    ),
    "coco score past the float range": (
        "coco",
        lambda canvas: coco_page1(annotation={"score": BIG}),
        "annotation 1: score must be between 0 and 1",
    ),
    "coco bbox past the float range": (
        "coco",
        lambda canvas: coco_page1(annotation={"bbox": [0.5, 1, BIG, 2]}),
        "annotation 1: bbox must be [x, y, width, height]",
    ),
    "coco category id a list": (
        "coco",
        lambda canvas: coco_page1(category={"id": [1]}),
        "category 1: id must be a number or a string, got [1]",
    ),
    "coco image id a list": (
        "coco",
        lambda canvas: coco_page1(image={"id": [1]}),
        "image 1: id must be a number or a string, got [1]",
    ),
    "coco image_id a list": (
        "coco",
        lambda canvas: coco_page1(annotation={"image_id": [1]}),
        "annotation 1: unknown image_id [1]",
    ),
    "coco category_id an object": (
        "coco",
        lambda canvas: coco_page1(annotation={"category_id": {"a": 1}}),
        "annotation 1: unknown category_id {'a': 1}",
    ),
    "w3c tag score 1.2.3": (
        "w3c",
        lambda canvas: web_annotation(canvas, body=face_tag("face (1.2.3)")),
        "annotation 1: the score in the tag 'face (1.2.3)' is not a number",
    ),
    "w3c target source a list": (
        "w3c",
        lambda canvas: web_annotation(canvas, target={"source": [canvas], "selector": {"value": "xywh=1,1,2,2"}}),
        "annotation 1: the target's source must be a canvas id, got [",
    ),
    "w3c target source a number": (
        "w3c",
        lambda canvas: web_annotation(canvas, target={"source": 5, "selector": {"value": "xywh=1,1,2,2"}}),
        "annotation 1: the target's source must be a canvas id, got 5",
    ),
    "w3c target an unparsable URL": (
        "w3c",
        lambda canvas: web_annotation(canvas, target="http://[visages#xywh=1,1,2,2"),
        "annotation 1: no page of document",
    ),
    "w3c selector value a number": (
        "w3c",
        lambda canvas: web_annotation(canvas, target={"source": canvas, "selector": {"value": 5}}),
        "annotation 1: the target's selector value must be a string such as xywh=x,y,w,h, got 5",
    ),
    "w3c type an object": (
        "w3c",
        lambda canvas: json.dumps(
            {"type": "AnnotationPage", "items": [json.loads(web_annotation(canvas, type={"a": 1}))]}
        ),
        "annotation 1: type must be Annotation, got {'a': 1}",
    ),
    "w3c AnnotationPage items a number": (
        "w3c",
        lambda canvas: json.dumps({"type": "AnnotationPage", "items": 5}),
        "AnnotationPage items must be a list, got 5",
    ),
    "w3c Manifest items a number": (
        "w3c",
        lambda canvas: json.dumps({"type": "Manifest", "items": 5}),
        "Manifest items must be a list, got 5",
    ),
    "w3c canvas annotations a number": (
        "w3c",
        lambda canvas: json.dumps({"type": "Manifest", "items": [{"id": canvas, "annotations": 5}]}),
        "Canvas annotations must be a list, got 5",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED_ANNOTATION_FILES))
def test_a_malformed_annotation_file_is_a_400_naming_the_file_and_the_field(curator_client, scanned, case):
    fmt, build, message = MALFORMED_ANNOTATION_FILES[case]
    canvas = Page.objects.get(pk=scanned["page"]).canvas_id
    upload = annotation_upload("page1.json", build(canvas))

    response = curator_client.post(
        "/api/imports/annotations/", {"file": upload, "document": scanned["document"], "format": fmt}
    )

    assert response.status_code == 400
    report = response.json()
    assert report["files_rejected"] == 1 and report["files"][0]["name"] == "page1.json"
    assert any(error.startswith(message) for error in report["files"][0]["errors"]), report["files"][0]["errors"]
    assert Face.objects.count() == 1
