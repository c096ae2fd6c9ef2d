"""Finished exports are purged (row and file) EXPORT_RETENTION_DAYS after they finished: beat task and command."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from annotations.exports.services import export_build, export_create
from annotations.models import Export
from annotations.tasks import exports_purge_task
from annotations.tests.factories import add_faces, scanned_document
from webapp.celery import app
from webapp.jobs import JobStatus


@pytest.fixture
def exports(tmp_path, corpus, alice, settings):
    """Finished 8 and 6 days ago, failed 8 days ago, and still pending since 30 days; retention 7 days."""
    settings.EXPORT_RETENTION_DAYS = 7
    document = scanned_document(tmp_path / "scans", corpus=corpus)
    add_faces(document)
    now = timezone.now()
    made = {}
    for name, age in [("old", 8), ("recent", 6), ("failed", 8), ("pending", 30)]:
        export = export_create(user=alice, kind="csv", scope={"document": document.pk}, options={})
        if name != "pending":
            export_build(export_id=export.pk)
        Export.objects.filter(pk=export.pk).update(created_at=now - timedelta(days=age))
        if name != "pending":
            Export.objects.filter(pk=export.pk).update(finished_at=now - timedelta(days=age))
        made[name] = Export.objects.get(pk=export.pk)
    default_storage.delete(made["failed"].file.name)
    Export.objects.filter(pk=made["failed"].pk).update(status=JobStatus.FAILED, file="")
    made["failed"].refresh_from_db()
    return made


def files(exports: dict[str, Export]) -> dict[str, Path]:
    return {name: Path(default_storage.path(e.file.name)) for name, e in exports.items() if e.file}


def left(exports: dict[str, Export]) -> list[str]:
    kept = set(Export.objects.values_list("pk", flat=True))
    return sorted(name for name, export in exports.items() if export.pk in kept)


def test_the_task_purges_finished_exports_older_than_the_retention_period(exports, django_capture_on_commit_callbacks):
    paths = files(exports)
    assert all(path.exists() for path in paths.values())

    with django_capture_on_commit_callbacks(execute=True):
        exports_purge_task()

    assert left(exports) == ["pending", "recent"]
    assert sorted(name for name, path in paths.items() if path.exists()) == ["recent"]


def test_the_command_purges_the_same_and_a_rerun_purges_nothing(exports, capsys, django_capture_on_commit_callbacks):
    paths = files(exports)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_exports")
    first = capsys.readouterr().out
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_exports")
    second = capsys.readouterr().out

    assert left(exports) == ["pending", "recent"]
    assert not paths["old"].exists() and paths["recent"].exists()
    assert first.strip() == "2 exports purged (finished over 7 days ago)"
    assert second.strip() == "0 exports purged (finished over 7 days ago)"


def test_the_retention_period_is_a_setting(exports, settings, django_capture_on_commit_callbacks):
    settings.EXPORT_RETENTION_DAYS = 5

    with django_capture_on_commit_callbacks(execute=True):
        exports_purge_task()

    assert left(exports) == ["pending"]


def test_the_beat_schedule_runs_the_registered_purge_task():
    scheduled = [entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()]

    assert exports_purge_task.name in scheduled
    assert exports_purge_task.name in app.tasks
    assert app.conf.beat_schedule == django_settings.CELERY_BEAT_SCHEDULE
