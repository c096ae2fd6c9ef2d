"""`/healthz`: database, broker and worker status for load balancers and admins."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from webapp.celery import app as celery_app
from webapp.query import takes_query_parameters

BROKER_TIMEOUT_S = 2.0


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, connection.vendor
    except Exception as exc:  # any driver error means "down"; the message says which
        return False, f"{exc.__class__.__name__}: {exc}"


def _broker_ok() -> tuple[bool, str]:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
        return True, "reachable"
    except Exception as exc:  # kombu raises many transport-specific errors
        return False, f"{exc.__class__.__name__}: {exc}"


def _workers() -> list[str]:
    replies = celery_app.control.inspect(timeout=1.0).ping() or {}
    return sorted(replies)


@require_GET
@takes_query_parameters()
def healthz(request):
    database_ok, database = _database_ok()
    broker_ok, broker = _broker_ok()
    workers = _workers() if broker_ok else []
    healthy = database_ok and broker_ok
    return JsonResponse(
        {
            "status": "ok" if healthy and workers else ("degraded" if healthy else "down"),
            "database": {"ok": database_ok, "detail": database},
            "broker": {"ok": broker_ok, "detail": broker},
            "workers": {"ok": bool(workers), "names": workers},
        },
        status=200 if healthy else 503,
    )
