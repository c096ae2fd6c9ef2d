"""Celery tasks of the job core (webapp.jobs), used by both apps."""

from celery import shared_task


@shared_task(ignore_result=True)
def jobs_reap_task() -> None:
    """Re-enqueue every job whose running claim is past its stale limit (sent by celery beat; idempotent)."""
    from webapp.jobs import jobs_reap

    jobs_reap()
