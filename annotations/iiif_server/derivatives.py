"""One bounded copy of a remote page image, for viewers when the image host sends no CORS headers.

The review canvas loads page images straight from their host. A host that sends no
`Access-Control-Allow-Origin` cannot be drawn on a canvas, so the page then asks us instead: a worker
fetches one derivative (at most IIIF_DERIVATIVE_MAX_SIZE px on its longer side) through the SSRF-safe
fetcher, with the host's request budget, and `/iiif/pages/<id>/derivative.jpg` serves it, cached on
disk (IIIF_DERIVATIVE_DIR, on the shared media volume), to those who may view the page. Markers
beside the file say a fetch is pending or has failed (tried again after IIIF_DERIVATIVE_RETRY_S).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from annotations.iiif_server.imaging import ImageUnavailable, page_derivative
from annotations.models import Page

JPEG_QUALITY = 85
# A pending marker older than this belongs to a fetch that died: the next request queues a new one.
PENDING_STALE_S = 600
READY, PENDING, FAILED = "ready", "pending", "failed"


@dataclass(frozen=True)
class DerivativeState:
    status: str  # READY | PENDING | FAILED
    path: Path | None = None
    error: str = ""


def derivative_path(page: Page) -> Path:
    """Where the page's derivative lives: keyed by page and image, so a re-imported image gets a new file."""
    source = f"{page.image_service_id}|{page.image_url}|{settings.IIIF_DERIVATIVE_MAX_SIZE}"
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    return Path(settings.IIIF_DERIVATIVE_DIR) / f"page-{page.pk}-{digest}.jpg"


def _marker(path: Path, kind: str) -> Path:
    return path.with_name(f"{path.name}.{kind}")


def _age_s(path: Path, *, reads: bool = False) -> float:
    """Seconds since the file was written, or with `reads` since it was last written or read (a derivative
    served is read). A marker ages from when it was written: every 502 reads its error again."""
    info = path.stat()
    return time.time() - (max(info.st_mtime, info.st_atime) if reads else info.st_mtime)


def derivatives_purge() -> int:
    """Delete derivatives nobody read for IIIF_DERIVATIVE_RETENTION_DAYS (asked for again, they are fetched
    again), failures past their retry period and markers of fetches that died; how many files went."""
    folder = Path(settings.IIIF_DERIVATIVE_DIR)
    limits = {
        ".jpg": settings.IIIF_DERIVATIVE_RETENTION_DAYS * 86400,
        ".error": settings.IIIF_DERIVATIVE_RETRY_S,
        ".pending": PENDING_STALE_S,
        ".partial": PENDING_STALE_S,
    }
    purged = 0
    for path in folder.glob("page-*") if folder.is_dir() else ():
        limit = limits.get(path.suffix)
        try:
            if limit is not None and _age_s(path, reads=path.suffix == ".jpg") > limit:
                path.unlink()
                purged += 1
        except FileNotFoundError:
            # Served, rebuilt or purged by another process meanwhile.
            continue
    return purged


def derivative_request(*, page: Page) -> DerivativeState:
    """The derivative if it is ready or has failed; otherwise queue its fetch once and say it is pending."""
    path = derivative_path(page)
    if path.is_file():
        return DerivativeState(READY, path=path)
    error = _marker(path, "error")
    if error.is_file():
        if _age_s(error) < settings.IIIF_DERIVATIVE_RETRY_S:
            return DerivativeState(FAILED, error=error.read_text(encoding="utf-8"))
        # A host that failed once (down, 429, 403) may answer now: try again, at most once a retry period.
        error.unlink(missing_ok=True)
    pending = _marker(path, "pending")
    path.parent.mkdir(parents=True, exist_ok=True)
    if pending.is_file() and _age_s(pending) > PENDING_STALE_S:
        pending.unlink(missing_ok=True)
    try:
        # O_EXCL: of many viewers asking at once, one queues the fetch.
        os.close(os.open(pending, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return DerivativeState(PENDING)
    from annotations.tasks import page_derivative_task

    page_derivative_task.delay_on_commit(page.pk)
    # An eager worker (CELERY_TASK_ALWAYS_EAGER) has finished already.
    return DerivativeState(READY, path=path) if path.is_file() else DerivativeState(PENDING)


def derivative_build(*, page_id: int) -> DerivativeState:
    """Fetch the page's derivative and store it (or why it failed); the worker's half of derivative_request."""
    page = Page.objects.get(pk=page_id)
    path = derivative_path(page)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        derivative = page_derivative(page, max_size=settings.IIIF_DERIVATIVE_MAX_SIZE)
        partial = _marker(path, "partial")
        derivative.image.convert("RGB").save(partial, "JPEG", quality=JPEG_QUALITY)
        partial.replace(path)
        return DerivativeState(READY, path=path)
    except ImageUnavailable as exc:
        _marker(path, "error").write_text(str(exc), encoding="utf-8")
        return DerivativeState(FAILED, error=str(exc))
    finally:
        _marker(path, "pending").unlink(missing_ok=True)
