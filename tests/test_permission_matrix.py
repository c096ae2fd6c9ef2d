"""Who may do what: anonymous / viewer / curator / admin × endpoints × own or someone else's corpus.

Every cell either succeeds (2xx) because the role allows it, or is refused with 401/403/404:
an unexpected allow fails the test, and so does an unexpected refusal.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from annotations.models import Corpus, CorpusMembership, CorpusRole, Document, Face, ImportStatus, Page
from detection.models import DetectionRun

ROLES = ["anonymous", "viewer", "curator", "admin"]
RANK = {"anonymous": 0, "viewer": 1, "curator": 2, "admin": 3}
DENIED = {401, 403, 404}

# (name, method, path template, body, minimum role). {doc}, {page}, {face}, {run} are filled
# with objects of the corpus under test.
ENDPOINTS = [
    ("document api", "get", "/api/documents/{doc}/", None, "viewer"),
    ("page api", "get", "/api/pages/{page}/", None, "viewer"),
    ("face api", "get", "/api/faces/{face}/", None, "viewer"),
    ("face history", "get", "/api/faces/{face}/history/", None, "viewer"),
    ("run api", "get", "/api/runs/{run}/", None, "viewer"),
    ("run csv", "get", "/api/runs/{run}/faces.csv", None, "viewer"),
    ("document page", "get", "/documents/{doc}/", None, "viewer"),
    ("review page", "get", "/pages/{page}/", None, "viewer"),
    ("manifest", "get", "/iiif/documents/{doc}/manifest.json", None, "viewer"),
    ("update face", "patch", "/api/faces/{face}/", {"version": 1, "gender": "female"}, "curator"),
    ("accept face", "post", "/api/faces/{face}/accept/", {"version": 1}, "curator"),
    ("reject face", "delete", "/api/faces/{face}/?version=1", None, "curator"),
    ("add face", "post", "/api/faces/", {"page": "{page}", "x": 5, "y": 5, "w": 20, "h": 20}, "curator"),
    ("review page status", "patch", "/api/pages/{page}/", {"review_status": "reviewed"}, "curator"),
    ("bulk accept", "post", "/api/pages/{page}/bulk/", {"action": "accept", "threshold": 0.1}, "curator"),
    ("name person", "post", "/api/faces/{face}/person/", {"person": "Joffre", "version": 1}, "curator"),
    ("start run", "post", "/api/runs/", {"document": "{doc}", "detector": "res10"}, "curator"),
    ("cancel run", "post", "/api/runs/{run}/cancel/", {}, "curator"),
]


def make_corpus(name: str) -> dict:
    corpus = Corpus.objects.create(name=name, is_public=False)
    document = Document.objects.create(
        corpus=corpus, source=f"https://example.org/{name}/manifest.json", label=name, import_status=ImportStatus.DONE
    )
    page = Page.objects.create(
        document=document, order=1, canvas_id=f"https://example.org/{name}/c1", width=800, height=1000
    )
    face = Face.objects.create(page=page, x=10, y=10, w=50, h=60, confidence=0.9, source="res10@test")
    run = DetectionRun.objects.create(corpus=corpus, document=document, detector="res10")
    return {"corpus": corpus, "doc": document.pk, "page": page.pk, "face": face.pk, "run": run.pk}


@pytest.fixture
def world(db):
    users = get_user_model().objects
    own = make_corpus("own")
    other = make_corpus("other")
    people = {}
    for role in ["viewer", "curator", "admin"]:
        user = users.create_user(role)
        CorpusMembership.objects.create(corpus=own["corpus"], user=user, role=getattr(CorpusRole, role.upper()))
        people[role] = user
    return {"own": own, "other": other, "people": people}


def fill(value, objects: dict):
    if isinstance(value, str):
        return value.format(**objects)
    if isinstance(value, dict):
        return {key: (int(fill(v, objects)) if v in {"{page}", "{doc}"} else v) for key, v in value.items()}
    return value


@pytest.mark.parametrize("corpus_key", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "path", "body", "minimum"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_permission_matrix(
    client, world, corpus_key, role, name, method, path, body, minimum, django_capture_on_commit_callbacks
):
    objects = world[corpus_key]
    if role != "anonymous":
        client.force_login(world["people"][role])
    allowed = corpus_key == "own" and RANK[role] >= RANK[minimum]

    with django_capture_on_commit_callbacks(execute=False):
        data = fill(body, objects)
        kwargs = {"data": data, "content_type": "application/json"} if data is not None else {}
        response = getattr(client, method)(fill(path, objects), **kwargs)

    if allowed:
        assert 200 <= response.status_code < 300, (
            f"{role} should be allowed to {name}: {response.status_code} {response.content[:300]}"
        )
    else:
        assert response.status_code in DENIED, (
            f"{role} must not {name} in the {corpus_key} corpus: {response.status_code}"
        )


@pytest.mark.parametrize("role", ROLES)
def test_lists_never_show_another_corpus(client, world, role):
    if role != "anonymous":
        client.force_login(world["people"][role])
    other = world["other"]
    for path, key in [
        ("/api/documents/", "doc"),
        ("/api/pages/", "page"),
        ("/api/faces/", "face"),
        ("/api/runs/", "run"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert other[key] not in [item["id"] for item in response.json()["results"]], path
    search = client.get("/api/search/pages/")
    assert other["page"] not in [item["id"] for item in search.json()["results"]]
