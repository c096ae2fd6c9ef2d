"""Export services: request an export, build it (claimed once, idempotent), write one to a path."""

from __future__ import annotations

import logging
import time
import zipfile
from datetime import timedelta
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from annotations.access import NOT_FOUND, corpora_named_for_user, get_corpus_for_user, get_document_for_user
from annotations.exports.options import ExportOptions, ExportResult
from annotations.exports.scope import export_querysets, page_batches
from annotations.exports.writer import KINDS_WITH_TIMESTAMPS, export_extension, export_write
from annotations.iiif.messages import Message, gettext_noop, unexpected_error
from annotations.models import Corpus, Export, ExportKind
from annotations.search.params import SearchFilterSet, SearchParams, search_params_parse
from webapp.jobs import EXPORT, JobStatus, job_claim, job_fail, job_finish

logger = logging.getLogger(__name__)

# Longer than export_build_task's hard time limit: a running claim this old was abandoned by its worker.
EXPORT_STALE_AFTER = timedelta(hours=7)

# An export's scope is a search: any search filter but the ordering (annotations.search).
SCOPE_KEYS = tuple(name for name in SearchFilterSet.base_filters if name != "ordering")
OPTION_KEYS = ("include_rejected", "with_images", "image_size", "format", "page_names")
# Progress is written at most this often (seconds), so exports of many small pages stay cheap.
PROGRESS_INTERVAL = 1.0
# How many skipped pages an export lists in its error text before summarising.
SKIPPED_LISTED = 20
TOO_LONG = gettext_noop("The export took longer than its time limit: narrow the scope or leave images out")
CORPUS_DELETED = gettext_noop("A corpus this export holds was deleted while it was built")
PAGES_SKIPPED = gettext_noop("Pages skipped, their image unavailable (%(count)s): %(pages)s")


def _clean(values: dict, keys: tuple[str, ...]) -> dict:
    """Known keys with a value, dates as ISO strings (scope and options are stored as JSON)."""
    cleaned = {}
    for key in keys:
        value = values.get(key)
        if value is None or value == "":
            continue
        cleaned[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return cleaned


def export_scope_params(scope: dict) -> SearchParams:
    """The search an export scope stands for; a DRF ValidationError lists bad filters."""
    return search_params_parse(_clean(scope, SCOPE_KEYS))


def export_create(*, user, kind: str, scope: dict, options: dict, base_url: str = "") -> Export:
    """Record an export request the user may make, and queue its build once the transaction commits."""
    if user is None or not user.is_authenticated:
        raise PermissionDenied(_("Log in to export"))
    if kind not in ExportKind.values:
        raise ValidationError({"kind": [_("Unknown export kind %(kind)r") % {"kind": kind}]})
    params = export_scope_params(scope)
    # Stored as parsed (ints, booleans, ISO days, gender aliases resolved), so it reads the same later.
    scope = _clean({key: getattr(params, key) for key in _clean(scope, SCOPE_KEYS)}, SCOPE_KEYS)
    if params.document is not None:
        get_document_for_user(user, params.document)
    if params.corpus.isdigit():
        scope["corpus"] = get_corpus_for_user(user, int(params.corpus)).pk
    elif params.corpus:
        named = corpora_named_for_user(user, params.corpus)
        if not named:
            raise Http404(NOT_FOUND["corpus"])
        if len(named) > 1:
            raise ValidationError(
                {
                    "corpus": [
                        _("Several corpora you can see are named %(name)r: give its id.") % {"name": params.corpus}
                    ]
                }
            )
        scope["corpus"] = named[0].pk
    options = {**_clean(options, OPTION_KEYS), "base_url": base_url.rstrip("/")}
    with transaction.atomic():
        export = Export(kind=kind, scope=scope, options=options, requested_by=user)
        export.full_clean(exclude=["file"])
        export.save()
        export_enqueue(export=export)
    return export


def export_enqueue(*, export: Export) -> None:
    """Queue the build task once the surrounding transaction commits."""
    from annotations.tasks import export_build_task

    export_build_task.delay_on_commit(export.pk)


def export_build(*, export_id: int) -> Export | None:
    """Claim a pending (or abandoned) export and write its file; failures are stored, not raised.

    A second delivery of the same task finds nothing to claim and returns None.
    """
    claimed_at = job_claim(EXPORT, export_id, finished_at=None, progress_done=0)
    if claimed_at is None:
        logger.info("export %s: nothing to claim", export_id)
        return None
    export = Export.objects.select_related("requested_by").get(pk=export_id)
    options = ExportOptions.from_dict(
        {
            **export.options,
            "files_url": f"{export.options.get('base_url', '')}{reverse('api-export', args=[export.pk])}files",
        }
    )
    name = f"exports/export-{export.pk}-{export.kind}.{export_extension(export.kind, options)}"
    final = Path(default_storage.path(name))
    # The partial file keeps its extension: the writers pick a zip or a plain file by suffix.
    partial = final.with_name(f"{final.stem}.part{final.suffix}")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        # An export nobody requested (made in the admin) sees what anonymous visitors see.
        user = export.requested_by or AnonymousUser()
        pages, faces = export_querysets(
            export_scope_params(export.scope), user=user, include_rejected=options.include_rejected
        )
        total = pages.count()
        Export.objects.filter(pk=export.pk).update(progress_total=total)
        result = export_write(
            export.kind,
            page_batches(pages, faces, timestamps=export.kind in KINDS_WITH_TIMESTAMPS),
            out=partial,
            options=options,
            progress=_progress_reporter(export.pk, total),
        )
        partial.replace(final)
    except SoftTimeLimitExceeded:
        _fail(export, partial, Message(TOO_LONG))
    except Exception as exc:
        logger.exception("export %s failed", export.pk)
        _fail(export, partial, unexpected_error(exc))
    else:
        _finish(export, final, name=name, total=total, result=result)
    export.refresh_from_db()
    return export


def _finish(export: Export, final: Path, *, name: str, total: int, result: ExportResult) -> None:
    """Record the corpora the file holds and mark it done in one transaction; fail it if one was deleted meanwhile."""
    with transaction.atomic():
        # Locked, as a corpus or document deletion locks the corpus before it looks for the exports that
        # hold it (export_cleanup): either that deletion finds this export, or this finds the corpus gone.
        held = list(Corpus.objects.select_for_update().filter(pk__in=result.corpora).values_list("pk", flat=True))
        if len(held) == len(result.corpora):
            export.corpora.set(held)
            job_finish(
                EXPORT,
                export.pk,
                claimed_at=export.started_at,
                file=name,
                progress_total=max(total, result.pages),
                progress_done=result.pages,
                face_count=result.faces,
                **EXPORT.error_values(_skipped_message(result)),
            )
            return
    _fail(export, final, Message(CORPUS_DELETED))


def _progress_reporter(export_id: int, total: int):
    last = [0.0]

    def report(done: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL or done >= total:
            last[0] = now
            Export.objects.filter(pk=export_id).update(progress_done=min(done, total))

    return report


def _fail(export: Export, partial: Path, message: Message) -> None:
    partial.unlink(missing_ok=True)
    job_fail(EXPORT, export.pk, claimed_at=export.started_at, error=message)


def _skipped_message(result: ExportResult) -> Message | str:
    """What a finished export says of the pages it skipped (the first SKIPPED_LISTED, each with its reason)."""
    if not result.skipped:
        return ""
    listed: list[Message] = list(result.skipped[:SKIPPED_LISTED])
    more = len(result.skipped) - SKIPPED_LISTED
    if more > 0:
        listed.append(Message(gettext_noop("and %(count)s more"), {"count": more}))
    return Message(PAGES_SKIPPED, {"count": len(result.skipped), "pages": listed})


def export_to_path(*, kind: str, scope: dict, out: Path, options: ExportOptions) -> ExportResult:
    """Write an export straight to a file, folder or zip (management commands; no access checks)."""
    pages, faces = export_querysets(export_scope_params(scope), include_rejected=options.include_rejected)
    out.parent.mkdir(parents=True, exist_ok=True)
    batches = page_batches(pages, faces, timestamps=kind in KINDS_WITH_TIMESTAMPS)
    return export_write(kind, batches, out=out, options=options)


def export_open_member(*, export: Export, name: str) -> bytes:
    """One file from inside a finished zip export (the IIIF manifest copy and its annotation pages).

    Raises KeyError when the export has no such member.
    """
    if export.status != JobStatus.DONE or not export.file or not export.file.name.endswith(".zip"):
        raise KeyError(name)
    with export.file.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        return archive.read(name)
