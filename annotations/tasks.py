"""Celery adapters for annotation work: they take ids and call one service."""

from celery import shared_task

# A IIIF Collection imports all its manifests in one task, each paced by the per-host request budget.
IMPORT_SOFT_TIME_LIMIT = 6 * 3600
IMPORT_TIME_LIMIT = IMPORT_SOFT_TIME_LIMIT + 300


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=IMPORT_SOFT_TIME_LIMIT, time_limit=IMPORT_TIME_LIMIT)
def document_import_task(document_id: int) -> None:
    """Import a manifest, collection or scans (claims the pending or abandoned import; a duplicate is a no-op)."""
    from annotations.ingest.manifests import document_import_run

    document_import_run(document_id=document_id)


# A dataset import reads, copies and stores every page of its zip (about 0.1 s a page): an hour is tens of
# thousands. A claim older than the hard limit was abandoned (webapp.jobs.DATASET_IMPORT).
DATASET_IMPORT_SOFT_TIME_LIMIT = 3600
DATASET_IMPORT_TIME_LIMIT = DATASET_IMPORT_SOFT_TIME_LIMIT + 60


@shared_task(
    acks_late=True,
    ignore_result=True,
    soft_time_limit=DATASET_IMPORT_SOFT_TIME_LIMIT,
    time_limit=DATASET_IMPORT_TIME_LIMIT,
)
def dataset_import_task(import_id: int) -> None:
    """Import an uploaded dataset zip (claims the pending or abandoned import; a duplicate is a no-op)."""
    from annotations.ingest.dataset_uploads import dataset_upload_import

    dataset_upload_import(import_id=import_id)


# Exports of many pages with images run long; they are acked on receipt (not acks_late), and an
# abandoned running claim is reclaimed (and re-enqueued by the reaper) after webapp.jobs.EXPORT's stale limit.
EXPORT_SOFT_TIME_LIMIT = 6 * 3600
EXPORT_TIME_LIMIT = EXPORT_SOFT_TIME_LIMIT + 300


@shared_task(ignore_result=True, soft_time_limit=EXPORT_SOFT_TIME_LIMIT, time_limit=EXPORT_TIME_LIMIT)
def export_build_task(export_id: int) -> None:
    """Build an export file (claims the pending export; a rerun is a no-op)."""
    from annotations.exports.services import export_build

    export_build(export_id=export_id)


@shared_task(ignore_result=True)
def summaries_compact_task() -> None:
    """Fold the rows appended to the statistics' year summaries (sent by celery beat; a rerun changes no count)."""
    from annotations.search.summaries import summaries_compact

    summaries_compact()


@shared_task(ignore_result=True)
def exports_purge_task() -> None:
    """Delete exports finished over EXPORT_RETENTION_DAYS ago, rows and files (sent by celery beat; idempotent)."""
    from annotations.exports.cleanup import exports_purge_expired

    exports_purge_expired()


@shared_task(ignore_result=True)
def derivatives_purge_task() -> None:
    """Delete page derivatives unread for IIIF_DERIVATIVE_RETENTION_DAYS and stale markers (celery beat; idempotent)."""
    from annotations.iiif_server.derivatives import derivatives_purge

    derivatives_purge()


@shared_task(acks_late=True, ignore_result=True)
def page_derivative_task(page_id: int) -> None:
    """Fetch one bounded copy of a page image whose host sends no CORS headers (iiif_server/derivatives.py)."""
    from annotations.iiif_server.derivatives import derivative_build

    derivative_build(page_id=page_id)
