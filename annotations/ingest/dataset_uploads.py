"""A dataset zip uploaded on the web or the API, imported by a worker.

The request stores the zip and queues a `DatasetImport` job; the worker imports it as `import_dataset` imports a
folder (`datasets.dataset_import_upload`), keeps the report on the job, and deletes the zip. An import of
thousands of pages takes minutes: in the request it would outlast the web server's timeout and leave the curator
with an error page and half a dataset.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path, PurePosixPath

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_noop

from annotations.iiif.messages import Message, unexpected_error
from annotations.ingest.datasets import dataset_import_upload
from annotations.models import Corpus, DatasetImport
from webapp.jobs import DATASET_IMPORT, job_claim, job_fail, job_finish

logger = logging.getLogger(__name__)

# Where uploaded dataset zips wait for their worker, under MEDIA_ROOT: one folder per upload.
DATASET_UPLOADS = "dataset-imports"
TOO_LONG = gettext_noop("The dataset import took longer than its time limit: upload the dataset in smaller zips")
NAME_MAX = 255


def dataset_upload_queue(
    *, upload, corpus: Corpus, user, source: str, boxes_only: bool, language: str
) -> DatasetImport:
    """Store an uploaded dataset zip and queue its import once the request commits; the job.

    The caller checked the user's role in the corpus and the upload's name and size. The zip is stored under
    a name of ours; its own name (`upload:<name>#d<document>` sources) is kept on the job.
    """
    relative = Path(DATASET_UPLOADS) / uuid.uuid4().hex / "dataset.zip"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        with transaction.atomic():
            job = DatasetImport.objects.create(
                corpus=corpus,
                name=PurePosixPath(upload.name).name[:NAME_MAX],
                source=source,
                boxes_only=boxes_only,
                upload_path=str(relative),
                language=language,
                created_by=user if user is not None and user.is_authenticated else None,
            )
            transaction.on_commit(lambda: _enqueue(job.pk))
    except BaseException:
        dataset_upload_delete(upload_path=str(relative))
        raise
    return job


def _enqueue(import_id: int) -> None:
    from annotations.tasks import dataset_import_task

    dataset_import_task.delay(import_id)


def dataset_upload_import(*, import_id: int) -> DatasetImport | None:
    """Claim a pending (or abandoned) dataset import and run it; the report is kept, a crash stored, never raised.

    The zip is deleted once the import is over, done or failed; a worker that dies on the way leaves it for the
    one that takes the claim over. A second delivery of the task finds nothing to claim and returns None.
    """
    claimed_at = job_claim(DATASET_IMPORT, import_id, report={})
    if claimed_at is None:
        logger.info("dataset import %s: nothing to claim", import_id)
        return None
    job = DatasetImport.objects.select_related("corpus", "created_by").get(pk=import_id)
    try:
        # The report's messages are read by the curator who uploaded the zip: in their language.
        with translation.override(job.language or settings.LANGUAGE_CODE):
            report = dataset_import_upload(
                name=job.name,
                archive=Path(settings.MEDIA_ROOT) / job.upload_path,
                corpus=job.corpus,
                user=job.created_by,
                source=job.source,
                boxes_only=job.boxes_only,
            )
    except SoftTimeLimitExceeded:
        over = job_fail(DATASET_IMPORT, job.pk, claimed_at=claimed_at, error=Message(TOO_LONG), upload_path="")
    except Exception as exc:
        logger.exception("dataset import %s failed", job.pk)
        over = job_fail(DATASET_IMPORT, job.pk, claimed_at=claimed_at, error=unexpected_error(exc), upload_path="")
    else:
        over = job_finish(DATASET_IMPORT, job.pk, claimed_at=claimed_at, report=report.as_dict(), upload_path="")
    if over:
        dataset_upload_delete(upload_path=job.upload_path)
    job.refresh_from_db()
    return job


def dataset_upload_delete(*, upload_path: str) -> None:
    """Delete a stored dataset zip and its folder; nothing outside the dataset uploads folder."""
    if not upload_path:
        return
    uploads = (Path(settings.MEDIA_ROOT) / DATASET_UPLOADS).resolve()
    path = (Path(settings.MEDIA_ROOT) / upload_path).resolve()
    if path.parent.parent != uploads:
        logger.warning("not deleting %s: outside %s", path, uploads)
        return
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:
        logger.warning("dataset upload folder %s not removed", path.parent)
