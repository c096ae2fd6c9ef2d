"""Celery adapters for annotation work: they take ids and call one service."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def document_import_task(document_id: int) -> None:
    """Import a document's manifest or scans (claims the pending import; a rerun is a no-op)."""
    from annotations.importing import document_import_run

    document_import_run(document_id=document_id)
