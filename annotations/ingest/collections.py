"""IIIF Collections: every manifest of a collection (nested ones walked) imported as one job.

The collection's own Document is the job: its `import_report["collection"]` lists the members with
their status, document id and error, updated after each one, so the document page and
`GET /api/documents/<id>/` show progress manifest by manifest. Members are imported one after the
other in the same task, each through the same import as a single manifest, so the SSRF-safe
fetcher and its per-host request budget apply to every request.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from annotations.iiif.fetch import Fetcher, FetchError
from annotations.iiif.messages import Message
from annotations.iiif.parse import IIIFError, ParsedCollection, parse_iiif
from annotations.models import Document
from webapp.jobs import DOCUMENT_IMPORT, JobStatus
from webapp.messages import Translatable, message_fields

HTTP_URL = re.compile(r"^https?://", re.IGNORECASE)
MEMBER_PENDING = "pending"


def collection_members(*, collection: ParsedCollection, source_url: str, fetcher: Fetcher) -> list[dict]:
    """The manifests of a collection, nested collections walked depth-first, as report rows.

    Each row is {"id", "label", "status", "document", "error", "error_message"}: the error in English,
    and as a message shown in the reader's language (Document.import_report_translated). Members that
    cannot be reached (a nested collection that fails to load, an entry that is not an http(s) URL, a
    collection nested deeper than IIIF_MAX_COLLECTION_DEPTH) come back already failed. A manifest or collection listed
    twice, or a collection that lists itself or an ancestor, is walked once. Raises ImportFailed
    when the walk meets more than IIIF_MAX_COLLECTION_MANIFESTS entries.
    """
    from annotations.ingest.manifests import ImportFailed

    cap = settings.IIIF_MAX_COLLECTION_MANIFESTS
    seen = {source_url, collection.id}
    rows: list[dict] = []
    walked: list[str] = []

    def walk(node: ParsedCollection, depth: int) -> None:
        for entry in node.manifests:
            url = entry["id"]
            if url in seen:
                continue
            seen.add(url)
            walked.append(url)
            if len(walked) > cap:
                raise ImportFailed(
                    gettext_noop(
                        "The collection lists more than %(cap)s manifests and collections "
                        "(IIIF_MAX_COLLECTION_MANIFESTS)"
                    ),
                    cap=cap,
                )
            if not HTTP_URL.match(url):
                rows.append(_row(entry, error=Message(gettext_noop("not an http(s) URL"))))
            elif entry["type"] != "Collection":
                rows.append(_row(entry))
            elif depth >= settings.IIIF_MAX_COLLECTION_DEPTH:
                too_deep = Message(gettext_noop("collection nested deeper than %(depth)s levels"), {"depth": depth})
                rows.append(_row(entry, error=too_deep))
            else:
                try:
                    nested = parse_iiif(fetcher.get_json(url, max_bytes=settings.IIIF_MAX_MANIFEST_BYTES))
                except (FetchError, IIIFError) as exc:
                    rows.append(_row(entry, error=exc))
                    continue
                if isinstance(nested, ParsedCollection):
                    walk(nested, depth + 1)
                else:
                    # Listed as a collection, but a manifest: import it as one.
                    rows.append(_row(entry))

    walk(collection, 1)
    return rows


def _row(entry: dict, *, error: Translatable | None = None) -> dict:
    return {
        "id": entry["id"],
        "label": entry.get("label", ""),
        "status": MEMBER_PENDING if error is None else JobStatus.FAILED.value,
        "document": None,
        **message_fields("" if error is None else error, text="error", stored="error_message"),
    }


def collection_import_members(*, document: Document, collection: ParsedCollection, fetcher: Fetcher) -> Document:
    """Import every manifest of the collection into the document's corpus, recording progress as it goes."""
    from annotations.ingest.manifests import ImportFailed, document_import_run, document_request_import

    rows = collection_members(
        collection=collection, source_url=document.manifest_url or document.source, fetcher=fetcher
    )
    report = {"collection": {"id": collection.id, "label": collection.label, "members": rows}}
    _save_progress(document, report, label=collection.label)
    for row in rows:
        if row["status"] != MEMBER_PENDING:
            continue
        try:
            member = document_request_import(corpus=document.corpus, source=row["id"], user=document.created_by)
        except ImportFailed as exc:
            row.update(status=JobStatus.FAILED.value, **message_fields(exc, text="error", stored="error_message"))
            continue
        # A member that turns out to be a collection itself is refused, never walked again from here.
        result = document_import_run(document_id=member.pk, expand_collections=False)
        if result is None:
            running = Message(gettext_noop("another import of it is running"))
            failed = message_fields(running, text="error", stored="error_message")
            row.update(status=JobStatus.FAILED.value, document=member.pk, **failed)
        else:
            row.update(
                status=result.import_status,
                document=result.pk,
                error=result.import_error,
                error_message=result.import_error_message,
            )
        _save_progress(document, report)
    imported = sum(row["status"] == JobStatus.DONE for row in rows)
    error = (
        ""
        if imported
        else Message(
            gettext_noop("None of the %(total)s manifests of the collection could be imported"), {"total": len(rows)}
        )
    )
    Document.objects.filter(pk=document.pk).update(
        import_status=JobStatus.DONE if imported else JobStatus.FAILED,
        import_report=_counted(report),
        import_finished_at=timezone.now(),
        **DOCUMENT_IMPORT.error_values(error),
    )
    document.refresh_from_db()
    return document


def _counted(report: dict) -> dict:
    rows = report["collection"]["members"]
    report["collection"].update(
        total=len(rows),
        done=sum(row["status"] == JobStatus.DONE for row in rows),
        failed=sum(row["status"] == JobStatus.FAILED for row in rows),
    )
    return report


def _save_progress(document: Document, report: dict, **fields) -> None:
    with transaction.atomic():
        Document.objects.filter(pk=document.pk).update(import_report=_counted(report), **fields)
