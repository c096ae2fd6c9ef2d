"""Local scans belong to one document: its random URL key, its folder, and their removal with it."""

from __future__ import annotations

import fcntl
import logging
import posixpath
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from annotations.models import Document

logger = logging.getLogger(__name__)

# New keys are 32 hex characters; folders named before the random keys are 16.
LOCAL_FOLDER_PATTERN = re.compile(r"^[a-f0-9]{16}(?:[a-f0-9]{16})?$")
LOCAL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
LOCAL_SCANS_PATH = "/iiif/local/"
# Enough rounds to undo any nesting of percent-encoding a manifest could use.
MAX_UNQUOTE_ROUNDS = 10


def new_local_key() -> str:
    """A key nobody can compute: 128 random bits."""
    return secrets.token_hex(16)


def document_local_key_ensure(*, document: Document) -> Document:
    """Give a folder or zip import its key and folder once; a re-import keeps them."""
    if not document.local_key:
        key = new_local_key()
        Document.objects.filter(pk=document.pk, local_key="").update(local_key=key, local_folder=key)
        document.refresh_from_db(fields=["local_key", "local_folder"])
    return document


def local_file_path(local_path: str) -> Path:
    """The file behind a page's local path (`<folder>/<name>`); ValueError for anything suspicious."""
    folder, _, name = local_path.partition("/")
    if not LOCAL_FOLDER_PATTERN.match(folder) or not LOCAL_NAME_PATTERN.match(name):
        raise ValueError("unknown image")
    path = Path(settings.LOCAL_IMAGES_DIR) / folder / name
    if not path.is_file():
        raise ValueError("unknown image")
    return path


def page_local_file(page) -> Path:
    """The scan behind a local page, read only from its own document's folder; ValueError otherwise."""
    folder = page.local_path.partition("/")[0]
    if not page.document.local_folder or folder != page.document.local_folder:
        raise ValueError("unknown image")
    return local_file_path(page.local_path)


def points_at_local_scans(url: str) -> bool:
    """Whether a URL from a manifest names this server's local scans, in any spelling.

    Relative URLs and URLs on our own hosts (ALLOWED_HOSTS) count; percent-encoding (nested),
    backslashes, `..` segments and letter case are undone first. Another server's /iiif/local/
    is an ordinary remote image.
    """
    text = url.strip()
    for _ in range(MAX_UNQUOTE_ROUNDS):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    text = text.replace("\\", "/")
    parts = urlsplit(text)
    if parts.netloc:
        host, _port = split_domain_port(parts.netloc.rsplit("@", 1)[-1].lower())
        if host and not validate_host(host, settings.ALLOWED_HOSTS):
            return False
    path = posixpath.normpath("/" + parts.path).lower()
    return f"{path}/".find(LOCAL_SCANS_PATH) != -1


def local_scans_delete(*, folder: str) -> None:
    """Remove a document's scan folder from LOCAL_IMAGES_DIR (nothing outside it, whatever the name)."""
    if not LOCAL_FOLDER_PATTERN.match(folder):
        return
    shutil.rmtree(Path(settings.LOCAL_IMAGES_DIR) / folder, ignore_errors=True)
    logger.info("local scans %s deleted", folder)


@contextmanager
def upload_lock(upload_path: str) -> Iterator[None]:
    """Hold the lock of an uploaded zip's content (MEDIA_ROOT/uploads/<digest>.lock, an `flock`).

    Storing an upload holds it until the document made from it is committed, and deleting an unused
    one holds it while it looks for documents: the same content uploaded again as its last document
    goes is never deleted under its new document.
    """
    digest_dir = (Path(settings.MEDIA_ROOT) / upload_path).parent
    digest_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(digest_dir.parent / f"{digest_dir.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upload_delete_unused(*, upload_path: str) -> None:
    """Remove an uploaded zip (MEDIA_ROOT/uploads/<digest>/<name>) once no document imports from it,
    and its digest folder when nothing else is in it; nothing outside the uploads folder."""
    if not upload_path:
        return
    uploads = (Path(settings.MEDIA_ROOT) / "uploads").resolve()
    path = (Path(settings.MEDIA_ROOT) / upload_path).resolve()
    if path.parent.parent != uploads:
        return
    with upload_lock(upload_path):
        if Document.objects.filter(upload_path=upload_path).exists():
            return
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            # The same content uploaded under another name is still there.
            pass
    logger.info("upload %s deleted", upload_path)
