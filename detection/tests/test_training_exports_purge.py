"""Exports of the reviewed pages a training job trained on do not outlive the job (hourly purge)."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings

from detection.models import TrainingJob, TrainingKind
from detection.tasks import training_exports_purge_task
from webapp.jobs import JobStatus

pytestmark = pytest.mark.django_db


def export_of(job_id: int) -> Path:
    folder = Path(django_settings.MEDIA_ROOT) / "training" / f"job-{job_id}" / "labelme"
    folder.mkdir(parents=True)
    (folder / "page-1.jpg").write_bytes(b"a page of the corpus")
    return folder.parent


def test_exports_left_by_ended_or_deleted_jobs_go_and_a_running_jobs_stays(corpus):
    """A worker killed mid-job (its time limit's hard kill) leaves its export, as versions before this one did."""
    running, failed, done = (
        TrainingJob.objects.create(kind=TrainingKind.ATTRIBUTES, corpus=corpus, status=status)
        for status in (JobStatus.RUNNING, JobStatus.FAILED, JobStatus.DONE)
    )
    kept = export_of(running.pk)
    gone = [export_of(failed.pk), export_of(done.pk), export_of(done.pk + 1000)]
    stranger = Path(django_settings.MEDIA_ROOT) / "training" / "notes"
    stranger.mkdir()

    training_exports_purge_task()
    training_exports_purge_task()

    assert kept.is_dir() and stranger.is_dir()
    assert not any(folder.exists() for folder in gone)


def test_the_beat_schedule_runs_the_training_exports_purge():
    scheduled = [entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()]
    assert "detection.tasks.training_exports_purge_task" in scheduled
