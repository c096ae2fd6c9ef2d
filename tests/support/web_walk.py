"""Run in a fresh interpreter (`python -m tests.support.web_walk OBJECTS_JSON`): request every page and API
route as a superuser with Django's test client, then print, as JSON, each answer's status and the model
libraries (TensorFlow, Keras, dlib, ONNX Runtime, OpenCV) the process imported meanwhile.

OBJECTS_JSON names the objects of one corpus of tests/test_permission_matrix.make_corpus plus an export
and the superuser's username; the database is the one DATABASE_URL names. No task reaches a broker.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

MODEL_LIBRARIES = {"tensorflow", "keras", "tf_keras", "dlib", "onnxruntime", "cv2"}


def model_libraries() -> list[str]:
    return sorted(name for name in sys.modules if name.split(".")[0] in MODEL_LIBRARIES)


def page_paths() -> list[str]:
    """The pages no matrix row covers: login, the schema and its docs, the health probe and every admin list."""
    from django.contrib import admin
    from django.urls import reverse

    paths = [reverse(name) for name in ("healthz", "login", "api-schema", "api-docs", "admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        paths.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        paths.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    return paths


def main() -> None:
    objects = json.loads(sys.argv[1])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    import django

    django.setup()
    before = model_libraries()

    from celery.app.task import Task
    from django.contrib.auth import get_user_model
    from django.test import Client

    from tests.test_permission_matrix import ENDPOINTS, LISTS, fill, send

    sent = []
    Task.apply_async = lambda task, *args, **kwargs: sent.append(task.name)
    client = Client(raise_request_exception=False)
    client.force_login(get_user_model().objects.get(username=objects["superuser"]))
    statuses, errors = {}, {}

    def record(name: str, response) -> None:
        statuses[name] = response.status_code
        if response.status_code >= 500 and response.exc_info:
            errors[name] = "".join(traceback.format_exception(*response.exc_info)[-4:])

    for endpoint in ENDPOINTS:
        record(endpoint.name, send(client, endpoint, objects))
    for path, _key, _shown in LISTS:
        record(path, client.get(fill(path, objects)))
    for path in page_paths():
        record(path, client.get(path))
    report = {"before": before, "after": model_libraries(), "statuses": statuses, "errors": errors}
    print(json.dumps({**report, "sent": sorted(set(sent))}))


if __name__ == "__main__":
    main()
