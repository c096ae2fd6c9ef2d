"""No route answers 5xx to hostile input: every URL pattern, every method, anonymous and superuser.

Each route of the URL resolver (admin included) gets hostile path segments, hostile query strings
and, for writes, hostile bodies: ids past the 64-bit range, zero and negative ids, 1e309, NaN,
400-digit numbers, very long strings, a 100,000-deep JSON document, NaN literals and wrong types.
Every answer must be below 500. The superuser passes every access check, so a parser or a lookup
that breaks behind one shows; the objects of the world share one id, so a valid id reaches any
detail route. A route added later is walked too.

Every read of the API, of our IIIF endpoints, of the web pages and of the health probe is walked again
with a query parameter it does not take: a misspelt filter answers 400 naming it, never a 200 that
ignores it.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from urllib.parse import urlencode

import pytest
from celery.app.task import Task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from annotations.models import (
    Corpus,
    CorpusMembership,
    CorpusRole,
    DatasetImport,
    Document,
    Export,
    Face,
    Page,
    Person,
)
from annotations.services import face_update
from detection.models import DetectionRun, InferenceJob, InferenceKind, PageDetection, TrainingJob
from tests.support.manifests import jpeg_bytes
from tests.support.routes import HTTP_METHODS, Route, view_methods, walk_routes
from webapp import health
from webapp.jobs import JobStatus
from webapp.throttling import ScopedWriteThrottle

# Every object of the world has this id: far above what a test database's sequences reach.
ID = 424_242
KEY = hashlib.sha256(b"hostile").hexdigest()[:32]
SCAN = "c1.jpg"
# Past the signed 64-bit range (2**63 is the first value out of it), and past the unsigned one.
HUGE = "99999999999999999999"
JUST_PAST = str(2**63)
LONG = "x" * 3000
# Ids, pages and limits, and the search's face counts (integers compared in the database too).
QUERY_KEYS = [
    *["corpus", "document", "page", "id", "version", "limit", "p", "page_size"],
    *["min_faces", "max_faces", "min_density", "max_density"],
]
# Each key alone with HUGE; the other values with every key at once.
QUERY_VALUES = [JUST_PAST, "-1", "0", "1e309", "NaN", LONG]
# Values each kind of path parameter must answer (a valid one for the other parameters of the path).
VALID_SEGMENTS = {
    "key": KEY,
    "name": SCAN,
    "region": "full",
    "size": "max",
    "rotation": "0",
    "quality": "default",
    "fmt": "jpg",
    "app_label": "annotations",
    "url": "x",
}
# Those a parameter's pattern refuses are skipped (an <int:pk> gets only the digit strings).
HOSTILE_SEGMENTS = [
    HUGE,
    JUST_PAST,
    "0",
    "-1",
    "1e309",
    "NaN",
    "9" * 5000,
    LONG,
    "pct:" + "9" * 400,
    "pct:0,0," + "9" * 400 + ",1e309",
    "9" * 400 + ",",
    "!" + "9" * 400 + "," + "9" * 400,
]
# Namespaces of routes whose views are not ours (see requests()).
LIGHT_NAMESPACES = {"admin"}
ID_FIELDS = [
    *["corpus", "document", "page", "face", "revision", "id", "version", "access_version", "run", "job", "export"],
    "member",
]
DEEP = "[" * 100_000 + "]" * 100_000
# Sent with every write method (as anonymous too).
BODIES = [
    DEEP,
    '{"document": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}",
    '{"x": NaN, "y": Infinity, "w": -Infinity, "h": 1e309, "threshold": NaN, "version": NaN, "document": 1e309,'
    ' "page": NaN, "pages": [NaN], "corpus": -Infinity, "age": NaN}',
    '{"document": "x", "corpus": [], "pages": {}, "page": [1], "version": {}, "kind": 5, "matches": "x",'
    ' "revision": null, "x": "a", "threshold": "high", "params": [], "scope": 1}',
    json.dumps({field: int(HUGE) for field in ID_FIELDS}),
]
# Sent with POST as the superuser: one id field at a time, so that no other field's error hides it.
POST_BODIES = [
    *(json.dumps({field: int(HUGE), "kind": "csv", "version": 1, "person": "x"}) for field in ID_FIELDS),
    json.dumps({"corpus": 2**63, "kind": "attributes"}),
    json.dumps({"document": 2**63, "kind": "rescorer"}),
    json.dumps({"pages": [1, 2**63]}),
    json.dumps({"matches": [{"id": int(HUGE), "version": 1}], "person": "x", "version": 1}),
    json.dumps({"page": ID, "x": 1e308, "y": 1e308, "w": 1e308, "h": 1e308}),
    "{ broken",
    b"\xff\xfe\x00",
]
FORM_BODIES = [
    *({field: value for field in ID_FIELDS} | {"kind": "csv", "source": value} for value in [HUGE, "-1", "NaN"]),
    *({field: HUGE, "kind": "csv"} for field in ["corpus", "document", "page"]),
]


@pytest.fixture
def world(db, monkeypatch):
    """One object of each kind, all with id ID, in a public corpus; a superuser who requested the export."""
    queued = []
    monkeypatch.setattr(Task, "apply_async", lambda task, *args, **kwargs: queued.append(task.name))
    # /healthz answers 503 when the broker is down (its purpose), and waits a second for workers.
    monkeypatch.setattr(health, "_broker_ok", lambda: (True, "not asked in this test"))
    monkeypatch.setattr(health, "_workers", list)
    # Throttled writes would answer 429 before their input is read.
    monkeypatch.setattr(ScopedWriteThrottle, "allow_request", lambda self, request, view: True)
    admin = get_user_model().objects.create_superuser("root", password="root-password-123")
    corpus = Corpus.objects.create(pk=ID, name="Hostile", is_public=True)
    document = Document.objects.create(
        pk=ID,
        corpus=corpus,
        source="https://example.org/scans",
        import_status=JobStatus.DONE,
        local_key=KEY,
        local_folder=KEY,
    )
    scan = Path(settings.LOCAL_IMAGES_DIR) / KEY / SCAN
    scan.parent.mkdir(parents=True)
    scan.write_bytes(jpeg_bytes(80, 100))
    page = Page.objects.create(
        pk=ID,
        document=document,
        order=1,
        canvas_id="https://example.org/c1",
        width=800,
        height=1000,
        image_service_id=f"/iiif/local/{KEY}/{SCAN}",
        image_service_version="3",
        image_width=80,
        image_height=100,
        local_path=f"{KEY}/{SCAN}",
    )
    face = Face.objects.create(pk=ID, page=page, x=10, y=10, w=50, h=60, confidence=0.9, source="res10@test")
    face_update(face=face, user=None, expected_version=1, data={"gender": "male"})
    # A member of the corpus, so that its member routes (/members/<user_id>/) find one.
    member = get_user_model().objects.create_user("member", pk=ID)
    CorpusMembership.objects.create(corpus=corpus, user=member, role=CorpusRole.VIEWER)
    Person.objects.create(pk=ID, corpus=corpus, name="Hostile")
    run = DetectionRun.objects.create(pk=ID, corpus=corpus, document=document, status=JobStatus.RUNNING)
    # Done, so that the document has an evaluation to read.
    PageDetection.objects.create(run=run, page=page, status=JobStatus.DONE)
    TrainingJob.objects.create(pk=ID, kind="attributes", corpus=corpus)
    InferenceJob.objects.create(
        pk=ID, kind=InferenceKind.FACE_ENCODING, face=face, params={"box": [10, 10, 50, 60]}, status=JobStatus.RUNNING
    )
    DatasetImport.objects.create(pk=ID, corpus=corpus, name="set.zip", source="curator", status=JobStatus.PENDING)
    export = Export.objects.create(
        pk=ID, kind="iiif", scope={"corpus": ID}, requested_by=admin, status=JobStatus.DONE, face_count=1
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(SCAN, "{}")
    export.file.save("export.zip", ContentFile(archive.getvalue()), save=True)
    yield admin
    assert queued == [], "a background task was sent to the broker"


def paths(route: Route) -> tuple[str, list[str]]:
    """The route's path with valid parameters, and its paths with one hostile parameter each."""
    valid = {name: VALID_SEGMENTS.get(name, str(ID)) for name in route.parameters}
    hostile = [route.path({**valid, name: value}) for name in route.parameters for value in HOSTILE_SEGMENTS]
    return route.path(valid), [path for path in hostile if path is not None]


def requests(route: Route, *, superuser: bool) -> list[tuple[str, str, dict]]:
    """(method, path, client keyword arguments) of every hostile request for the route.

    Django's admin reads only its own form posts and lookups, and renders a whole form for each
    request: its many routes get every hostile path segment but fewer query strings and bodies.
    """
    light = route.name.split(":")[0] in LIGHT_NAMESPACES
    valid, hostile_paths = paths(route)
    methods = view_methods(route.callback)
    methods = HTTP_METHODS if "any" in methods else sorted(methods | {"get"})
    writes = [method for method in methods if method != "get"]
    sent = [] if light else [("get", f"{valid}?{urlencode({key: HUGE})}", {}) for key in QUERY_KEYS]
    sent += [("get", f"{valid}?{urlencode(dict.fromkeys(QUERY_KEYS, value))}", {}) for value in [HUGE, *QUERY_VALUES]]
    sent += [("get", path, {}) for path in hostile_paths]
    sent += [(method, path, {}) for path in hostile_paths[:1] for method in writes]
    bodies = BODIES[:1] if light else BODIES + (POST_BODIES if superuser else [])
    sent += [
        (method, valid, {"data": body, "content_type": "application/json"})
        for method in writes
        for body in (bodies if method == "post" else BODIES[:1] if light else BODIES)
    ]
    if superuser and "post" in writes:
        sent += [("post", valid, {"data": body}) for body in FORM_BODIES[: 1 if light else None]]
    return sent


ROUTES = walk_routes()


@pytest.mark.parametrize("route", ROUTES, ids=[f"{route.name} {route.regex}" for route in ROUTES])
def test_no_route_answers_5xx_to_hostile_input(client, world, route, django_capture_on_commit_callbacks):
    valid, _ = paths(route)
    assert valid is not None, f"no valid path for {route.regex}: give its parameters a value in VALID_SEGMENTS"
    failures = []
    for user in [None, world]:
        for method, path, kwargs in requests(route, superuser=user is not None):
            if user is not None:
                # Some requests log out (admin, logout): every one starts logged in.
                client.force_login(user)
            else:
                client.logout()
            with django_capture_on_commit_callbacks(execute=False):
                try:
                    response = client.generic(method.upper(), path, **_encoded(kwargs))
                except Exception as exc:  # the test client re-raises what a view raised: a 500
                    failures.append(f"{method.upper()} {path[:120]} {kwargs.get('data', '')!s:.80}: {exc!r:.200}")
                    continue
            if response.status_code >= 500:
                failures.append(f"{method.upper()} {path[:120]} {kwargs.get('data', '')!s:.80}: {response.status_code}")
    assert failures == [], "\n".join(failures)


def _encoded(kwargs: dict) -> dict:
    """client.generic() takes raw bodies: form bodies are multipart-encoded as client.post() would."""
    data = kwargs.get("data")
    if isinstance(data, dict):
        return {"data": encode_multipart(BOUNDARY, data), "content_type": MULTIPART_CONTENT}
    return kwargs


def test_the_walk_covers_every_route_and_the_hostile_values_reach_them():
    """The walk finds every route, builds a valid path for each, and sends hostile values into every parameter."""
    names = {route.name for route in ROUTES}
    assert {"api-face", "api-runs", "iiif-image", "api-token", "admin:index", "document"} <= names
    image = next(route for route in ROUTES if route.name == "iiif-image")
    _, hostile = paths(image)
    assert f"/iiif/local/{KEY}/{SCAN}/pct:{'9' * 400}/max/0/default.jpg" in hostile
    assert f"/iiif/local/{KEY}/{SCAN}/full/pct:{'9' * 400}/0/default.jpg" in hostile
    face = next(route for route in ROUTES if route.name == "api-face")
    assert f"/api/faces/{HUGE}/" in paths(face)[1]
    sent = requests(face, superuser=True)
    assert ("get", f"/api/faces/{ID}/?corpus={HUGE}", {}) in sent
    assert ("patch", f"/api/faces/{ID}/", {"data": DEEP, "content_type": "application/json"}) in sent
    assert not any(method == "post" for method, _, _ in sent)


# The reads that refuse a query parameter they do not take: all but Django's own views (the admin, the
# login and logout pages, the language switch and the JavaScript catalogue) and the search and
# statistics pages, which hand their query string to the search and statistics API and show its
# refusal beside the form (frontend/tests/test_browser_search.py).
DJANGO_VIEWS = ("admin:", "login", "logout", "set-language", "javascript-catalog")
QUERY_READ_BY_THE_API = ("search", "stats")
# Web form posts (function views behind require_POST, which the walk cannot tell from their callbacks).
FORM_POSTS = ("document-import", "document-remove")
UNKNOWN_PARAMETER = "zz_unknown"
# What a route needs in its query string to answer at all: the document whose evaluation is read.
QUERY_NEEDED = {"api-evaluation": f"document={ID}"}
READ_ROUTES = [
    route
    for route in ROUTES
    if route.name
    and not route.name.startswith(DJANGO_VIEWS)
    and view_methods(route.callback) & {"get", "any"}
    and route.name not in (*FORM_POSTS, *QUERY_READ_BY_THE_API)
]


@pytest.mark.parametrize("route", READ_ROUTES, ids=[f"{route.name} {route.regex}" for route in READ_ROUTES])
def test_every_read_route_refuses_a_query_parameter_it_does_not_take(
    client, world, route, django_capture_on_commit_callbacks
):
    """As the superuser, and anonymously where the route is readable so: the read answers without the
    parameter, and answers 400 naming it with it (JSON; plain text from the IIIF image route; an HTML
    page from the web pages)."""
    valid, _ = paths(route)
    query = QUERY_NEEDED.get(route.name, "")
    answered_path = f"{valid}?{query}" if query else valid
    refused_path = f"{valid}?{'&'.join(filter(None, [query, f'{UNKNOWN_PARAMETER}=1']))}"
    failures = []
    for user in [world, None]:
        if user is not None:
            client.force_login(user)
        else:
            client.logout()
        with django_capture_on_commit_callbacks(execute=False):
            answered = client.get(answered_path)
            refused = client.get(refused_path)
        if answered.status_code >= 300:
            if user is not None:
                failures.append(f"{answered_path} answers {answered.status_code} to the superuser")
            # Not readable anonymously (refused, or sent to the login page): nothing to refuse.
            continue
        who = "superuser" if user is not None else "anonymous"
        if refused.status_code != 400 or UNKNOWN_PARAMETER not in _named(refused):
            failures.append(f"{who}: {refused_path} answers {refused.status_code} {_body(refused)!s:.200}")
    assert failures == [], "\n".join(failures)


def test_the_read_walk_covers_the_api_the_iiif_routes_and_the_web_pages():
    names = {route.name for route in READ_ROUTES}
    assert {"api-root", "api-runs", "api-documents", "api-pages", "api-face", "iiif-image", "iiif-manifest"} <= names
    assert {"home", "document", "page", "person", "exports", "run", "training", "healthz"} <= names
    assert not names & {"api-token", "api-encodings", *FORM_POSTS, "admin:index", "login", "search"}, (
        "POST-only routes, Django's own views and the pages whose query the API reads"
    )


def _named(response) -> str | dict:
    """What a 400 names: its JSON object's keys, or its plain text."""
    if "json" in response["Content-Type"]:
        body = response.json()
        return body if isinstance(body, dict) else {}
    return response.content.decode() if response["Content-Type"].startswith(("text/plain", "text/html")) else ""


def _body(response) -> bytes:
    return b"(streamed)" if response.streaming else response.content
