"""Who may do what: anonymous / viewer / curator / admin × every route × own, someone else's private or public corpus.

Every cell either succeeds because the role allows it, or is refused (401/403/404, or a redirect to
the login page) and changes nothing: an unexpected allow fails the test, and so does an unexpected
refusal. List and search routes answer everyone, so they are checked for isolation instead: the
private corpus of someone else never shows up. `test_every_route_is_in_the_matrix` walks the URL
resolver so that a new route without a row here fails the suite.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from celery.app.task import Task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import resolve

from annotations.ingest.dataset_uploads import DATASET_UPLOADS
from annotations.models import (
    Corpus,
    CorpusAccessChange,
    CorpusMembership,
    CorpusRole,
    DatasetImport,
    Document,
    Export,
    Face,
    FaceRevision,
    Page,
    Person,
    ReviewStatus,
)
from annotations.services import face_update
from detection import similarity
from detection.inference import registry
from detection.model_loop import evaluation
from detection.models import (
    DetectionRun,
    FaceEncoding,
    InferenceJob,
    InferenceKind,
    PageDetection,
    TrainedModel,
    TrainingJob,
)
from tests.support.manifests import jpeg_bytes
from tests.support.routes import routes, view_methods
from webapp.jobs import JobStatus

ROLES = ["anonymous", "viewer", "curator", "admin"]
# "owner": the corpus's owner alone (or an operator); none of the roles above is, so all are refused.
RANK = {"anonymous": 0, "viewer": 1, "curator": 2, "admin": 3, "owner": 4}
# own: the user's role there (private corpus); other: someone else's private corpus (no role);
# public: someone else's public corpus, where everyone, even anonymous, is a viewer.
CORPORA = ["own", "other", "public"]
DENIED = {401, 403, 404}
# An id no row holds (every table's), and a scans' key no document holds.
MISSING_ID = 987_654
MISSING_KEY = hashlib.sha256(b"missing").hexdigest()[:32]
YEARS = {"own": 1911, "other": 1912, "public": 1913}


def labelme_file(objects: dict) -> dict:
    """A one-box LabelMe file for page 1 (matched by its canvas name) of the corpus's document."""
    data = {
        "shapes": [{"label": "face", "points": [[100, 100], [160, 170]], "shape_type": "rectangle", "flags": {}}],
        "imagePath": "c1.jpg",
        "imageData": None,
        "imageWidth": 800,
        "imageHeight": 1000,
    }
    upload = SimpleUploadedFile("c1.json", json.dumps(data).encode(), content_type="application/json")
    return {"file": upload, "document": objects["doc"], "format": "labelme"}


def coco_file(objects: dict) -> dict:
    data = {
        "images": [{"id": 1, "file_name": "c1.jpg", "width": 800, "height": 1000}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [100, 100, 60, 70]}],
        "categories": [{"id": 1, "name": "face"}],
    }
    upload = SimpleUploadedFile("c1-coco.json", json.dumps(data).encode(), content_type="application/json")
    return {"file": upload, "document": objects["doc"], "format": "coco"}


def labelme_dataset(objects: dict) -> dict:
    """A LabelMe dataset zip (one page, one box) that comes into the corpus as a new document."""
    record = {
        "shapes": [{"label": "face", "points": [[4, 4], [30, 36]], "shape_type": "rectangle", "flags": {}}],
        "imagePath": "d1_p0001.jpg",
        "imageData": None,
        "imageWidth": 40,
        "imageHeight": 50,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("d1_p0001.jpg", jpeg_bytes(40, 50, label="1"))
        archive.writestr("d1_p0001.json", json.dumps(record))
    return {"file": SimpleUploadedFile("dataset.zip", buffer.getvalue()), "corpus": objects["corpus"]}


def zip_of_scans(objects: dict) -> dict:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("page1.jpg", jpeg_bytes(40, 50, label="1"))
    return {"upload": SimpleUploadedFile("scans.zip", buffer.getvalue()), "corpus_id": objects["corpus"]}


def model_activation(objects: dict) -> dict:
    """A curator's override of the activation rule, naming the model's current state (any date for a missing id)."""
    model = TrainedModel.objects.filter(pk=objects["model"]).first()
    updated_at = model.updated_at.isoformat() if model else "2020-01-01T00:00:00+00:00"
    return {"is_active": True, "reason": "matrix check", "updated_at": updated_at}


def spare_document_version(objects: dict) -> dict:
    """The removable document's version as its remover read it (any date for a missing id)."""
    document = Document.objects.filter(pk=objects["spare_doc"]).first()
    return {"updated_at": document.updated_at.isoformat() if document else "2020-01-01T00:00:00+00:00"}


def scan_folder(objects: dict) -> dict:
    return {"source": objects["folder"], "corpus_id": objects["corpus"]}


@dataclass(frozen=True)
class Endpoint:
    """One method of one route: the lowest role it needs in the corpus its objects belong to.

    `path` and `body` use placeholders filled with the objects of the corpus under test ({doc},
    {page}, {face}, {run}, ...); a body may be a function of those objects (uploads). `login`:
    anonymous is refused even on a public corpus. `form`: an HTML form post, which redirects
    either way, so it counts as allowed when it changed something.
    """

    name: str
    method: str
    path: str
    minimum: str
    body: dict | Callable[[dict], dict] | None = None
    login: bool = False
    form: bool = False
    multipart: bool = False


# Writes only start background work through transaction.on_commit, which the test captures and
# never runs; Task.apply_async is patched too, so no detection, training, encoding, import or
# export build ever runs (or reaches a broker): only the permission decision is tested.
ENDPOINTS = [
    # Documents, pages and faces (annotations/urls.py).
    Endpoint("document api", "get", "/api/documents/{doc}/", "viewer"),
    Endpoint("remove document", "delete", "/api/documents/{spare_doc}/", "admin", spare_document_version),
    Endpoint("page api", "get", "/api/pages/{page}/", "viewer"),
    Endpoint("face api", "get", "/api/faces/{face}/", "viewer"),
    Endpoint("face history", "get", "/api/faces/{face}/history/", "viewer"),
    Endpoint("update face", "patch", "/api/faces/{face}/", "curator", {"version": 1, "gender": "female"}),
    Endpoint("accept face", "post", "/api/faces/{face}/accept/", "curator", {"version": 1}),
    Endpoint("reject face", "delete", "/api/faces/{face}/?version=1", "curator"),
    Endpoint("revert face", "post", "/api/faces/{face2}/revert/", "curator", {"revision": "{revision}", "version": 2}),
    Endpoint("add face", "post", "/api/faces/", "curator", {"page": "{page}", "x": 5, "y": 5, "w": 20, "h": 20}),
    Endpoint(
        "review page status",
        "patch",
        "/api/pages/{page}/",
        "curator",
        {"review_status": "in_review", "review_version": 1},
    ),
    Endpoint(
        "bulk accept",
        "post",
        "/api/pages/{page}/bulk/",
        "curator",
        {"action": "accept", "faces": [{"id": "{face}", "version": 1}]},
    ),
    Endpoint(
        "corpus-wide bulk write",
        "post",
        "/api/faces/bulk/",
        "curator",
        {"action": "set_gender", "value": "male", "faces": [{"id": "{face}", "version": 1}]},
    ),
    # A corpus's settings and members (admins decide who may see or change it).
    Endpoint("corpus api", "get", "/api/corpora/{corpus}/", "viewer"),
    Endpoint("update corpus", "patch", "/api/corpora/{corpus}/", "admin", {"is_public": True, "access_version": 1}),
    Endpoint("corpus members", "get", "/api/corpora/{corpus}/members/", "admin"),
    Endpoint(
        "add corpus member",
        "post",
        "/api/corpora/{corpus}/members/",
        "admin",
        {"username": "newcomer", "role": "curator", "access_version": 1},
    ),
    Endpoint(
        "change member role",
        "patch",
        "/api/corpora/{corpus}/members/{member}/",
        "admin",
        {"role": "admin", "access_version": 1},
    ),
    Endpoint("remove member", "delete", "/api/corpora/{corpus}/members/{member}/?access_version=1", "admin"),
    # An admin member may not make anyone, themselves included, the owner: only the owner hands it over.
    Endpoint(
        "hand corpus over", "put", "/api/corpora/{corpus}/owner/", "owner", {"member": "{heir}", "access_version": 1}
    ),
    # An empty corpus (the world's corpora hold documents, which would refuse any deletion).
    Endpoint("delete corpus", "delete", "/api/corpora/{empty_corpus}/", "owner", {"access_version": 1}),
    Endpoint(
        "delete corpus form",
        "post",
        "/corpora/{empty_corpus}/",
        "owner",
        {"action": "delete", "access_version": 1},
        login=True,
        form=True,
    ),
    Endpoint("corpus access history", "get", "/api/corpora/{corpus}/access-history/", "admin"),
    Endpoint("corpus settings page", "get", "/corpora/{corpus}/", "admin", login=True),
    Endpoint(
        "corpus settings form",
        "post",
        "/corpora/{corpus}/",
        "admin",
        {"action": "settings", "is_public": "true", "access_version": 1},
        login=True,
        form=True,
    ),
    Endpoint(
        "add member form",
        "post",
        "/corpora/{corpus}/",
        "admin",
        {"action": "add", "username": "newcomer", "role": "viewer", "access_version": 1},
        login=True,
        form=True,
    ),
    Endpoint(
        "hand over form",
        "post",
        "/corpora/{corpus}/",
        "owner",
        {"action": "owner", "member": "{heir}", "access_version": 1},
        login=True,
        form=True,
    ),
    Endpoint(
        "remove member form",
        "post",
        "/corpora/{corpus}/",
        "admin",
        {"action": "remove", "member": "{member}", "access_version": 1},
        login=True,
        form=True,
    ),
    # Imports: a manifest URL, a Gallica ARK, a server folder, a zip upload (API and web form), into a corpus
    # named by id (by name, a corpus the importer cannot see is no corpus to them: test_corpus_names.py).
    Endpoint(
        "import manifest",
        "post",
        "/api/documents/",
        "curator",
        {"source": "https://example.org/new/manifest.json", "corpus_id": "{corpus}"},
    ),
    Endpoint(
        "import ark", "post", "/api/documents/", "curator", {"source": "ark:/12148/bpt6k1", "corpus_id": "{corpus}"}
    ),
    Endpoint("import folder", "post", "/api/documents/", "curator", scan_folder),
    Endpoint("import zip", "post", "/api/documents/", "curator", zip_of_scans, multipart=True),
    Endpoint("import folder form", "post", "/documents/import/", "curator", scan_folder, login=True, form=True),
    Endpoint(
        "remove document form",
        "post",
        "/documents/{spare_doc}/remove/",
        "admin",
        spare_document_version,
        login=True,
        form=True,
    ),
    Endpoint(
        "import form",
        "post",
        "/documents/import/",
        "curator",
        {"source": "ark:/12148/bpt6k2", "corpus_id": "{corpus}"},
        login=True,
        form=True,
    ),
    # Annotation imports.
    Endpoint("import labelme", "post", "/api/imports/annotations/", "curator", labelme_file, multipart=True),
    Endpoint("import coco", "post", "/api/imports/annotations/", "curator", coco_file, multipart=True),
    Endpoint("import labelme dataset", "post", "/api/imports/annotations/", "curator", labelme_dataset, multipart=True),
    Endpoint("dataset import", "get", "/api/imports/datasets/{dataset_import}/", "curator"),
    # Exports: {export} is one the requesting user asked for on this corpus (the admin's for anonymous).
    Endpoint("request export", "post", "/api/exports/", "viewer", {"kind": "csv", "corpus": "{corpus}"}, login=True),
    Endpoint(
        "export form", "post", "/exports/", "viewer", {"kind": "csv", "corpus": "{corpus}"}, login=True, form=True
    ),
    Endpoint("export api", "get", "/api/exports/{export}/", "viewer", login=True),
    Endpoint("export download", "get", "/api/exports/{export}/download/", "viewer", login=True),
    Endpoint("export member", "get", "/api/exports/{export}/files/manifest.json", "viewer", login=True),
    # Detection runs (detection/urls.py).
    Endpoint("run api", "get", "/api/runs/{run}/", "viewer"),
    Endpoint("run pages", "get", "/api/runs/{run}/pages/", "viewer"),
    Endpoint("run csv", "get", "/api/runs/{run}/faces.csv", "viewer"),
    Endpoint("run annotated zip", "get", "/api/runs/{run}/annotated.zip", "viewer"),
    Endpoint("annotated page", "get", "/api/pages/{page}/annotated.jpg", "viewer"),
    Endpoint("start run", "post", "/api/runs/", "curator", {"document": "{doc}", "detector": "res10"}),
    Endpoint("start corpus run", "post", "/api/runs/", "curator", {"corpus": "{corpus}", "detector": "res10"}),
    Endpoint("start pages run", "post", "/api/runs/", "curator", {"pages": ["{page}"], "detector": "res10"}),
    Endpoint("cancel run", "post", "/api/runs/{run}/cancel/", "curator", {}),
    Endpoint("retry run", "post", "/api/runs/{run}/retry/", "curator", {}),
    # Model loop (detection/model_loop_urls.py).
    Endpoint("run evaluation", "get", "/api/runs/{run}/evaluation/", "viewer"),
    Endpoint("evaluation", "get", "/api/evaluation/?document={doc}", "viewer"),
    Endpoint("evaluate detector", "post", "/api/evaluation/", "curator", {"document": "{doc}", "detector": "res10"}),
    Endpoint("evaluation job", "get", "/api/inference-jobs/{evaluation_job}/", "curator"),
    Endpoint("encoding job", "get", "/api/inference-jobs/{encoding_job}/", "viewer"),
    Endpoint("train on corpus", "post", "/api/training-jobs/", "curator", {"kind": "attributes", "corpus": "{corpus}"}),
    Endpoint("train on document", "post", "/api/training-jobs/", "curator", {"kind": "rescorer", "document": "{doc}"}),
    Endpoint("training job", "get", "/api/training-jobs/{job}/", "viewer"),
    Endpoint("cancel training", "post", "/api/training-jobs/{job}/cancel/", "curator", {}),
    Endpoint("override model activation", "post", "/api/models/{model}/activation/", "curator", model_activation),
    Endpoint("similar faces", "get", "/api/faces/{face}/similar/", "viewer"),
    Endpoint("similar faces, not encoded yet", "get", "/api/faces/{bare_face}/similar/", "viewer"),
    Endpoint("name person", "post", "/api/faces/{face}/person/", "curator", {"person": "Joffre", "version": 1}),
    Endpoint("encode faces", "post", "/api/encodings/", "curator", {"document": "{doc}"}),
    # IIIF: our manifests and the local scans we serve.
    Endpoint("manifest", "get", "/iiif/documents/{doc}/manifest.json", "viewer"),
    Endpoint("face annotations", "get", "/iiif/pages/{page}/annotations.json", "viewer"),
    Endpoint("page derivative", "get", "/iiif/pages/{page}/derivative.jpg", "viewer"),
    Endpoint("scan info", "get", "/iiif/local/{key}/c1.jpg/info.json", "viewer"),
    Endpoint("scan image", "get", "/iiif/local/{key}/c1.jpg/full/max/0/default.jpg", "viewer"),
    # HTML pages of one corpus's objects.
    Endpoint("document page", "get", "/documents/{doc}/", "viewer"),
    Endpoint("review page", "get", "/pages/{page}/", "viewer"),
    Endpoint("person page", "get", "/people/{person_id}/", "viewer"),
    Endpoint("run page", "get", "/runs/{run}/", "viewer"),
    # Lists, search and pages of forms answer everyone (their isolation is tested below);
    # exports are per user, so they need a login.
    Endpoint("home page", "get", "/", "anonymous"),
    Endpoint("search page", "get", "/search/", "anonymous"),
    Endpoint("stats page", "get", "/stats/", "anonymous"),
    Endpoint("training page", "get", "/training/?corpus={corpus}", "anonymous"),
    Endpoint("exports page", "get", "/exports/", "anonymous", login=True),
    Endpoint("export list", "get", "/api/exports/", "anonymous", login=True),
    Endpoint("corpus list", "get", "/api/corpora/", "anonymous"),
    Endpoint("document list", "get", "/api/documents/?corpus={corpus}", "anonymous"),
    Endpoint("page list", "get", "/api/pages/?document={doc}", "anonymous"),
    Endpoint("face list", "get", "/api/faces/?document={doc}", "anonymous"),
    Endpoint("run list", "get", "/api/runs/?corpus={corpus}", "anonymous"),
    Endpoint("page search", "get", "/api/search/pages/?corpus={corpus}", "anonymous"),
    Endpoint("face search", "get", "/api/search/faces/?corpus={corpus}", "anonymous"),
    Endpoint("stats", "get", "/api/stats/faces-by-year/?corpus={corpus}", "anonymous"),
    Endpoint("stats csv", "get", "/api/stats/faces-by-year/?corpus={corpus}&format=csv", "anonymous"),
    Endpoint("training jobs", "get", "/api/training-jobs/?corpus={corpus}", "anonymous"),
    Endpoint("people", "get", "/api/people/?corpus={corpus}", "anonymous"),
    Endpoint("models", "get", "/api/models/", "anonymous"),
    # Shipped and trained detectors by name: a trained model is listed (and selectable for runs and
    # evaluations) only to those who may see the corpus it learned from, as /api/models/ lists it.
    Endpoint("detectors", "get", "/api/detectors/", "anonymous"),
]


def scan_key(key: str) -> str:
    """The scans' key and folder of the corpus's document (a folder import makes them random)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def make_corpus(key: str) -> dict:
    """A corpus with a document of three reviewed pages (a local scan), faces, a run and a training job."""
    corpus = Corpus.objects.create(name=f"{key}-corpus", is_public=key == "public")
    image_key = scan_key(key)
    document = Document.objects.create(
        corpus=corpus,
        source=f"https://example.org/{key}/manifest.json",
        label=f"{key}-document",
        import_status=JobStatus.DONE,
        date_start=f"{YEARS[key]}-01-01",
        date_end=f"{YEARS[key]}-12-31",
        local_key=image_key,
        local_folder=image_key,
    )
    pages = [
        Page.objects.create(
            document=document,
            order=order,
            canvas_id=f"https://example.org/{key}/c{order}",
            width=800,
            height=1000,
            image_service_id=f"/iiif/local/{image_key}/c{order}.jpg",
            image_service_version="3",
            image_width=80,
            image_height=100,
            local_path=f"{image_key}/c{order}.jpg",
            review_status=ReviewStatus.REVIEWED,
        )
        # Three: training needs a page each for training, validation and the held-out test.
        for order in (1, 2, 3)
    ]
    person = Person.objects.create(corpus=corpus, name=f"{key}-person")
    face = Face.objects.create(
        page=pages[0], x=10, y=10, w=50, h=60, confidence=0.9, source="res10@test", person=person
    )
    face2 = Face.objects.create(page=pages[0], x=300, y=300, w=50, h=60, confidence=0.8, source="res10@test")
    face2 = face_update(face=face2, user=None, expected_version=1, data={"gender": "male"})
    for encoded, offset in [(face, 0.0), (face2, 0.01)]:
        FaceEncoding.objects.create(
            face=encoded,
            corpus=corpus,
            vector=(np.zeros(128, np.float32) + offset).astype("<f4").tobytes(),
            model_version=similarity.ENCODER_VERSION,
            x=encoded.x,
            y=encoded.y,
            w=encoded.w,
            h=encoded.h,
        )
    run = DetectionRun.objects.create(
        corpus=corpus,
        document=document,
        detector="res10",
        status=JobStatus.RUNNING,
        pages_total=2,
        pages_done=1,
        pages_failed=1,
    )
    PageDetection.objects.create(run=run, page=pages[0], status=JobStatus.DONE, finished_at="2020-01-01T00:00Z")
    PageDetection.objects.create(run=run, page=pages[1], status=JobStatus.FAILED, error="timeout")
    model = TrainedModel.objects.create(
        name=f"{key}-rescore",
        corpus=corpus,
        kind="detector",
        version=1,
        params={"score_threshold": 0.5, "sidecar": {"base": "res10", "search": {}}},
        data_snapshot={"corpus": corpus.pk},
        file=f"models/{key}/v1.keras",
    )
    TrainingJob.objects.create(kind="rescorer", corpus=corpus, status=JobStatus.DONE, trained_model=model)
    job = TrainingJob.objects.create(kind="attributes", corpus=corpus)
    bare_face = Face.objects.create(page=pages[1], x=20, y=20, w=40, h=40, confidence=0.7, source="res10@test")
    evaluation_job = InferenceJob.objects.create(
        kind=InferenceKind.EVALUATION, document=document, params={"detector": "res10"}, status=JobStatus.DONE
    )
    encoding_job = InferenceJob.objects.create(
        kind=InferenceKind.FACE_ENCODING, face=face, params={"box": [10, 10, 50, 60]}, status=JobStatus.DONE
    )
    # A dataset zip a curator uploaded, imported: its report names the corpus's documents.
    dataset_import = DatasetImport.objects.create(
        corpus=corpus, name=f"{key}-set.zip", source="curator", status=JobStatus.DONE, report={"ok": True}
    )
    # A document nobody has curated (a wrong import), which its admins may remove.
    spare = Document.objects.create(
        corpus=corpus,
        source=f"https://example.org/{key}/spare.json",
        label=f"{key}-spare",
        import_status=JobStatus.DONE,
        date_start=document.date_start,
        date_end=document.date_end,
    )
    spare_page = Page.objects.create(document=spare, order=1, canvas_id=f"{key}-spare-1", width=800, height=1000)
    Face.objects.create(page=spare_page, x=10, y=10, w=50, h=60, confidence=0.9, source="res10@test")
    # An empty corpus beside it, as private or public, which only an owner may delete.
    empty = Corpus.objects.create(name=f"{key}-empty", is_public=key == "public")
    # A viewer of the corpus whose role its admins may change, or whom they may remove.
    member = get_user_model().objects.create_user(f"{key}-member")
    CorpusMembership.objects.create(corpus=corpus, user=member, role=CorpusRole.VIEWER)
    # An admin member the corpus could be handed over to.
    heir = get_user_model().objects.create_user(f"{key}-heir")
    CorpusMembership.objects.create(corpus=corpus, user=heir, role=CorpusRole.ADMIN)
    return {
        "corpus": corpus.pk,
        "corpus_name": corpus.name,
        "doc": document.pk,
        "spare_doc": spare.pk,
        "empty_corpus": empty.pk,
        "page": pages[0].pk,
        "face": face.pk,
        "face2": face2.pk,
        "revision": FaceRevision.objects.filter(face=face2).latest("pk").pk,
        "run": run.pk,
        "job": job.pk,
        "bare_face": bare_face.pk,
        "evaluation_job": evaluation_job.pk,
        "encoding_job": encoding_job.pk,
        "dataset_import": dataset_import.pk,
        "model": model.pk,
        "key": image_key,
        "person": person.name,
        "person_id": person.pk,
        "member": member.pk,
        "heir": heir.pk,
    }


def make_export(user, corpus_id: int) -> int:
    """A finished zip export of the corpus, requested by `user`."""
    export = Export.objects.create(
        kind="iiif", scope={"corpus": corpus_id}, requested_by=user, status=JobStatus.DONE, face_count=1
    )
    # As the build records it: the corpus whose pages the file holds.
    export.corpora.set([corpus_id])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", "{}")
    export.file.save(f"export-{export.pk}.zip", ContentFile(buffer.getvalue()), save=True)
    return export.pk


def write_corpus_files(key: str, tmp_path: Path) -> dict:
    """The corpus's files, in this test's own folders: its document's scan and a folder of scans to import."""
    scan = Path(settings.LOCAL_IMAGES_DIR) / scan_key(key) / "c1.jpg"
    scan.parent.mkdir(parents=True, exist_ok=True)
    scan.write_bytes(jpeg_bytes(80, 100, label=key))
    folder = tmp_path / f"{key}-scans"
    folder.mkdir()
    (folder / "page1.jpg").write_bytes(jpeg_bytes(40, 50, label="1"))
    return {"folder": str(folder)}


@pytest.fixture(scope="module")
def world_rows(django_db_setup, django_db_blocker):
    """Three corpora (each with an empty one beside it); viewer, curator and admin are members of `own` only.

    Made once for the module, in a transaction rolled back at its end: each test runs in a savepoint
    inside it (pytest-django's `db`), so what one test writes is gone for the next.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        users = get_user_model().objects
        rows = {key: make_corpus(key) for key in CORPORA}
        # A user with no role anywhere, whom an admin may add to a corpus.
        users.create_user("newcomer")
        people = {}
        for role in ["viewer", "curator", "admin"]:
            user = users.create_user(role)
            for corpus_id in (rows["own"]["corpus"], rows["own"]["empty_corpus"]):
                CorpusMembership.objects.create(corpus_id=corpus_id, user=user, role=getattr(CorpusRole, role.upper()))
            people[role] = user
        rows["people"] = people
        yield rows
        transaction.set_rollback(True)


@pytest.fixture
def world(world_rows, db, tmp_path, monkeypatch, settings):
    """The module's corpora with this test's files, and no task sent to a broker."""
    # The corpora's scan folders lie in tmp_path: a server share web users may import from.
    settings.IMPORT_SERVER_ROOTS = [str(tmp_path)]
    similarity.similarity_cache_clear()
    queued = []
    monkeypatch.setattr(Task, "apply_async", lambda task, *args, **kwargs: queued.append(task.name))
    # Evaluating a detector afresh runs it on every reviewed page: what it answers is not the point here.
    monkeypatch.setattr(
        evaluation,
        "evaluation_for_detector",
        lambda *, pages, **kwargs: evaluation.evaluation_for_run(
            run=DetectionRun.objects.get(page_tasks__page=pages[0], page_tasks__status=JobStatus.DONE)
        ),
    )
    world = {key: {**world_rows[key], **write_corpus_files(key, tmp_path)} for key in CORPORA}
    world["people"] = {role: user for role, user in world_rows["people"].items()}
    yield world
    assert queued == [], "a background task was sent to the broker"
    for model in TrainedModel.objects.all():
        registry.DETECTORS.pop(model.registry_name, None)
    registry.clear_model_cache()


def fill(value, objects: dict):
    """Placeholders replaced by the corpus's objects; a whole-value placeholder keeps its type (ids)."""
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in objects:
            return objects[value[1:-1]]
        return value.format(**objects)
    if isinstance(value, list):
        return [fill(item, objects) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, objects) for key, item in value.items()}
    return value


def expected_allowed(endpoint: Endpoint, role: str, corpus_key: str) -> bool:
    if role == "anonymous" and endpoint.login:
        return False
    rank = {"own": RANK[role], "other": 0, "public": RANK["viewer"]}[corpus_key]
    return endpoint.minimum == "anonymous" or rank >= RANK[endpoint.minimum]


def database_state() -> list:
    """Everything a refused request must leave as it was (rows, versions, statuses, stored uploads)."""
    uploads = Path(settings.MEDIA_ROOT) / "uploads"
    dataset_uploads = Path(settings.MEDIA_ROOT) / DATASET_UPLOADS
    return [
        list(Corpus.objects.order_by("pk").values_list("pk", "name", "is_public", "owner", "access_version")),
        list(CorpusMembership.objects.order_by("pk").values_list("pk", "role")),
        CorpusAccessChange.objects.count(),
        list(Document.objects.order_by("pk").values_list("pk", "import_status", "source")),
        list(Page.objects.order_by("pk").values_list("pk", "review_status")),
        list(Face.objects.order_by("pk").values_list("pk", "version", "status", "person")),
        list(Person.objects.order_by("pk").values_list("pk", "name")),
        FaceRevision.objects.count(),
        list(DetectionRun.objects.order_by("pk").values_list("pk", "status")),
        list(PageDetection.objects.order_by("pk").values_list("pk", "status")),
        list(TrainingJob.objects.order_by("pk").values_list("pk", "status", "cancel_requested")),
        list(TrainedModel.objects.order_by("pk").values_list("pk", "is_active", "activation_reason")),
        list(Export.objects.order_by("pk").values_list("pk", "status")),
        list(DatasetImport.objects.order_by("pk").values_list("pk", "status")),
        sorted(uploads.iterdir()) if uploads.exists() else [],
        sorted(dataset_uploads.iterdir()) if dataset_uploads.exists() else [],
    ]


def refused_login(response) -> bool:
    return response.status_code == 302 and urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)


def head(response) -> bytes:
    """The start of the body, streamed (file downloads) or not."""
    return (b"".join(response.streaming_content) if response.streaming else response.content)[:300]


def send(client, endpoint: Endpoint, objects: dict):
    body = endpoint.body(objects) if callable(endpoint.body) else fill(endpoint.body, objects)
    path = fill(endpoint.path, objects)
    if body is None:
        return getattr(client, endpoint.method)(path)
    if endpoint.form or endpoint.multipart:
        return getattr(client, endpoint.method)(path, data=body)
    return getattr(client, endpoint.method)(path, data=body, content_type="application/json")


@pytest.mark.parametrize("corpus_key", CORPORA)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_permission_matrix(client, world, corpus_key, role, endpoint, django_capture_on_commit_callbacks):
    user = world["people"].get(role)
    if user is not None:
        client.force_login(user)
    objects = {
        **world[corpus_key],
        "export": make_export(user or world["people"]["admin"], world[corpus_key]["corpus"]),
    }
    allowed = expected_allowed(endpoint, role, corpus_key)
    before = database_state()

    with django_capture_on_commit_callbacks(execute=False):
        response = send(client, endpoint, objects)

    changed = database_state() != before
    what = f"{role} / {endpoint.name} / {corpus_key} corpus: {response.status_code} {head(response)!r}"
    if endpoint.form and allowed:
        assert response.status_code == 302 and changed, f"should be allowed: {what}"
    elif endpoint.form:
        # A refused form redirects with an error message, or answers 404 for a corpus it may not see.
        assert response.status_code in {302, *DENIED}, f"must be refused: {what}"
        assert not changed, f"refused but changed something: {what}"
    elif allowed:
        assert 200 <= response.status_code < 300, f"should be allowed: {what}"
    else:
        assert response.status_code in DENIED or refused_login(response), f"must be refused: {what}"
        assert not changed, f"refused but changed something: {what}"


def missing_objects(objects: dict) -> dict:
    """The corpus's objects with every id (and the scans' key) replaced by one no row holds; names stay."""
    missing = {key: MISSING_ID if isinstance(value, int) else value for key, value in objects.items()}
    return {**missing, "key": MISSING_KEY}


def answer(user, endpoint: Endpoint, objects: dict) -> tuple:
    """What the user learns from the request (status, redirect, body, messages), sent by a client of its own."""
    client = Client()
    if user is not None:
        client.force_login(user)
    response = send(client, endpoint, objects)
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    return response.status_code, response.get("Location"), head(response), messages


# Every (endpoint, role) refused on someone else's private corpus.
REFUSED_ON_OTHER = [
    pytest.param(endpoint, role, id=f"{endpoint.name}-{role}")
    for endpoint in ENDPOINTS
    for role in ROLES
    if not expected_allowed(endpoint, role, "other")
]


@pytest.mark.parametrize(("endpoint", "role"), REFUSED_ON_OTHER)
def test_hidden_objects_answer_like_missing_ones(world, endpoint, role, django_capture_on_commit_callbacks):
    """An object of someone else's private corpus answers exactly as an id no row holds, so existence does not leak."""
    user = world["people"].get(role)
    hidden = {**world["other"], "export": make_export(user or world["people"]["admin"], world["other"]["corpus"])}

    with django_capture_on_commit_callbacks(execute=False):
        answers = [answer(user, endpoint, objects) for objects in (hidden, missing_objects(hidden))]

    assert answers[0] == answers[1], f"{role} / {endpoint.name}: hidden {answers[0]!r}, missing {answers[1]!r}"


# ---------------------------------------------------------------------------------------------
# Lists and search: everyone gets an answer, nobody sees someone else's private corpus.


def ids(response) -> set:
    return {item["id"] for item in response.json()["results"]}


def csv_years(response) -> set:
    """Years with faces (the rows run from the first year to the last, empty years included)."""
    return {int(row["year"]) for row in csv.DictReader(io.StringIO(response.content.decode())) if int(row["faces"])}


# (path, key of the corpus object expected in it, how to read what it shows)
LISTS = [
    ("/api/corpora/", "corpus", ids),
    ("/api/documents/", "doc", ids),
    ("/api/documents/?corpus={corpus}", "doc", ids),
    ("/api/pages/", "page", ids),
    ("/api/pages/?document={doc}", "page", ids),
    ("/api/faces/", "face", ids),
    ("/api/faces/?document={doc}", "face", ids),
    ("/api/faces/?page={page}", "face", ids),
    ("/api/runs/", "run", ids),
    ("/api/runs/?corpus={corpus}", "run", ids),
    ("/api/runs/?document={doc}", "run", ids),
    ("/api/search/pages/", "page", ids),
    ("/api/search/pages/?corpus={corpus}", "page", ids),
    ("/api/search/pages/?min_faces=1&gender=male", "page", ids),
    ("/api/search/faces/", "face", ids),
    ("/api/search/faces/?corpus={corpus}", "face", ids),
    ("/api/search/faces/?person={person}", "face", ids),
    ("/api/stats/faces-by-year/", "year", lambda r: {row["year"] for row in r.json()["results"] if row["faces"]}),
    ("/api/stats/faces-by-year/?corpus={corpus}", "year", lambda r: {row["year"] for row in r.json()["results"]}),
    (
        "/api/stats/faces-by-year/?gender_correction=true",
        "year",
        lambda r: {row["year"] for row in r.json()["results"] if row["faces"]},
    ),
    ("/api/stats/faces-by-year/?format=csv", "year", csv_years),
    ("/api/stats/faces-by-year/?corpus={corpus}&format=csv", "year", csv_years),
    ("/api/training-jobs/", "job", ids),
    ("/api/training-jobs/?corpus={corpus}", "job", ids),
    ("/api/people/", "person", lambda r: {item["person"] for item in r.json()["results"]}),
    ("/api/people/?q={person}", "person", lambda r: {item["person"] for item in r.json()["results"]}),
    ("/api/models/", "model", lambda r: {item["id"] for item in r.json()["trained"]}),
    ("/", "corpus_name", lambda r: r.content.decode()),
    ("/", "doc_label", lambda r: r.content.decode()),
    ("/search/", "corpus_name", lambda r: r.content.decode()),
    ("/stats/", "corpus_name", lambda r: r.content.decode()),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "key", "shown"), LISTS, ids=[f"{p} {k}" for p, k, _ in LISTS])
def test_lists_never_show_another_corpus(client, world, role, path, key, shown):
    if role != "anonymous":
        client.force_login(world["people"][role])
    for corpus_key in CORPORA:
        objects = {**world[corpus_key], "year": YEARS[corpus_key], "doc_label": f"{corpus_key}-document"}
        response = client.get(fill(path, objects))
        assert response.status_code == 200, (path, response.content[:300])
        visible = corpus_key == "public" or (corpus_key == "own" and role != "anonymous")
        assert (objects[key] in shown(response)) == visible, f"{role}: {path} for the {corpus_key} corpus"


@pytest.mark.parametrize("role", ["viewer", "curator", "admin"])
def test_exports_are_their_requesters_own(client, world, role):
    """An export of the own corpus asked for by another member stays hidden, even from the corpus admin."""
    client.force_login(world["people"][role])
    mine = make_export(world["people"][role], world["own"]["corpus"])
    someone_elses = make_export(world["people"]["viewer" if role != "viewer" else "curator"], world["own"]["corpus"])
    lost = make_export(world["people"][role], world["other"]["corpus"])

    listed = ids(client.get("/api/exports/"))
    page = client.get("/exports/").content.decode()

    # An export holding a corpus its requester cannot view is not even listed (issue #13).
    assert mine in listed and someone_elses not in listed and lost not in listed
    for path in ["/api/exports/{}/", "/api/exports/{}/download/", "/api/exports/{}/files/manifest.json"]:
        assert client.get(path.format(mine)).status_code == 200, path
        assert client.get(path.format(someone_elses)).status_code == 404, path
        assert client.get(path.format(lost)).status_code == 404, path
    assert f'id="export-{mine}"' in page and f'id="export-{someone_elses}"' not in page
    assert f'id="export-{lost}"' not in page


@pytest.mark.parametrize("role", ROLES)
def test_similar_faces_stay_in_the_corpus(client, world, role):
    """The other corpus holds a face with the same encoding: it is never offered as similar."""
    if role != "anonymous":
        client.force_login(world["people"][role])
    for corpus_key in ["own", "public"]:
        if corpus_key == "own" and role == "anonymous":
            continue
        objects = world[corpus_key]
        response = client.get(f"/api/faces/{objects['face']}/similar/")

        assert response.status_code == 200, response.content
        found = {item["face"]["id"] for item in response.json()["results"]}
        assert found == {objects["face2"]}, corpus_key


@pytest.mark.parametrize("role", ROLES)
def test_scans_are_served_only_through_the_document_that_owns_them(client, world, role):
    """A public document's page naming another corpus's scan file serves nothing, to anyone."""
    if role != "anonymous":
        client.force_login(world["people"][role])
    other = world["other"]
    stray = Document.objects.create(corpus_id=world["public"]["corpus"], source="stray", import_status="done")
    Page.objects.create(
        document=stray,
        order=1,
        canvas_id="stray-1",
        width=800,
        height=1000,
        image_service_id=f"/iiif/local/{other['key']}/c1.jpg",
        local_path=f"{other['key']}/c1.jpg",
    )

    for path in ["/iiif/local/{key}/c1.jpg/info.json", "/iiif/local/{key}/c1.jpg/full/max/0/default.jpg"]:
        assert client.get(path.format(key=other["key"])).status_code == 404, path


# ---------------------------------------------------------------------------------------------
# Completeness: a route with no row in the matrix fails here.

# Routes that hold no corpus's data, each with why.
NOT_CORPUS_SCOPED = {
    "healthz",  # liveness probe, no data
    "login",  # the login form
    "logout",
    "set-language",  # the language switcher: stores the signed-in user's own choice
    "javascript-catalog",  # the interface's translated JavaScript strings
    "api-token",  # trades a username and password for a token
    "api-schema",  # the OpenAPI schema: routes and fields, no rows
    "api-docs",  # Swagger UI over that schema
    "api-root",  # the list of endpoints: paths and names, no rows
}
# Whole namespaces: Django's admin checks is_staff and model permissions itself.
NOT_CORPUS_SCOPED_NAMESPACES = {"admin"}
SAMPLE = {
    "doc": 1, "page": 1, "face": 1, "face2": 1, "revision": 1, "run": 1, "job": 1, "export": 1, "corpus": 1,
    "corpus_name": "x", "key": "0123456789abcdef0123456789abcdef", "person": "x", "folder": "x", "model": 1,
    "bare_face": 1, "person_id": 1, "evaluation_job": 1, "encoding_job": 1, "member": 1, "spare_doc": 1,
    "empty_corpus": 1, "dataset_import": 1,
}  # fmt: skip


def covered() -> set[tuple[str, str]]:
    """(url name, method) of every matrix row and list check."""
    paths = [(e.path, e.method) for e in ENDPOINTS] + [(path, "get") for path, _, _ in LISTS]
    pairs = set()
    for path, method in paths:
        match = resolve(urlsplit(fill(path, SAMPLE)).path)
        name = ":".join([*match.namespaces, match.url_name])
        pairs |= {(name, method), (name, "any")}
    return pairs


def test_every_route_is_in_the_matrix():
    done = covered()
    missing = []
    for name, callback in routes():
        if name in NOT_CORPUS_SCOPED or name.split(":")[0] in NOT_CORPUS_SCOPED_NAMESPACES:
            continue
        missing += [
            f"{method.upper()} {name}" for method in sorted(view_methods(callback)) if (name, method) not in done
        ]
    assert missing == [], f"routes with no permission-matrix row: {missing}"


def test_the_completeness_check_sees_every_route_and_method():
    """The walk finds nested includes and the methods of class-based views (so a missing row would show)."""
    found = dict(routes())

    assert {"api-face", "api-training-jobs", "iiif-image", "exports", "admin:index"} <= set(found)
    assert view_methods(found["api-face"]) == {"get", "patch", "delete"}
    assert view_methods(found["api-training-jobs"]) == {"get", "post"}
    assert ("api-face", "delete") in covered()
    assert not NOT_CORPUS_SCOPED & {name for name, _ in covered()}
