"""Import services: a manifest URL, file, Gallica ARK, folder or zip of scans becomes a Document."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from PIL import Image, UnidentifiedImageError

from annotations.access import NOT_FOUND, corpora_named_for_user, get_corpus_for_user, require_role
from annotations.iiif.dates import parse_date
from annotations.iiif.fetch import Fetcher, FetchError, FetchPolicy
from annotations.iiif.host_budget import HostBudget, RedisHostBudget
from annotations.iiif.messages import Message, MessageError, unexpected_error
from annotations.iiif.parse import (
    IIIFError,
    ImageService,
    ParsedCanvas,
    ParsedCollection,
    ParsedManifest,
    SkippedCanvas,
    parse_iiif,
)
from annotations.ingest.file_names import is_system_file
from annotations.ingest.local_scans import document_local_key_ensure, points_at_local_scans, upload_lock
from annotations.models import Corpus, CorpusRole, Document, Page
from annotations.services import page_counts_refresh
from webapp.jobs import ACTIVE_STATUSES, DOCUMENT_IMPORT, JobStatus, job_claim, job_fail, job_finish
from webapp.messages import message_fields, message_translated

logger = logging.getLogger(__name__)

ARK_PATTERN = re.compile(r"^(?:https?://gallica\.bnf\.fr/(?:iiif/)?)?(ark:/12148/[A-Za-z0-9]+)")
GALLICA_MANIFEST = "https://gallica.bnf.fr/iiif/{ark}/manifest.json"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"})
# A page order offset large enough to park existing pages while orders are rewritten.
ORDER_PARKING_OFFSET = 1_000_000
FOLDER_METADATA_FILE = "metadata.json"
# A zip entry's flattened name is cut to this many bytes (its suffix, up to ZIP_SUFFIX_MAX_BYTES, kept): disks
# refuse names over 255 bytes, and a number may still be added to make it unique.
ZIP_NAME_MAX_BYTES = 200
ZIP_SUFFIX_MAX_BYTES = 16
# A date as the record words it is stored up to this long (a longer note stays whole in the metadata).
DATE_TEXT_MAX = Document._meta.get_field("date_text").max_length
NO_SOURCE_MESSAGE = gettext_noop("Give a manifest URL, a Gallica ARK, a manifest file or a folder of images")


class ImportFailed(MessageError):
    """An import that cannot complete: ImportFailed(template, name=value), shown to the curator in their language.

    str() gives it in the active language (the form and the API refuse a request with it); the import
    task stores the message itself, translated when read.
    """

    def __str__(self) -> str:
        return message_translated(self)


class CorpusNameAmbiguous(Exception):
    """Several corpora the importer curates have the name given: the import must name one by id."""


@dataclass(frozen=True)
class ResolvedSource:
    kind: str  # "url" | "file" | "folder" | "zip"
    location: str


@functools.cache
def _redis_host_budget(url: str, unavailable_timeout: float) -> RedisHostBudget:
    # One client (and connection pool) per process, not one per fetch.
    return RedisHostBudget(url, unavailable_timeout=unavailable_timeout)


def host_budget() -> HostBudget | None:
    """The per-host request budget settings ask for: shared in Redis, or None (this process's own)."""
    if settings.IIIF_HOST_BUDGET == "redis":
        return _redis_host_budget(settings.REDIS_URL, settings.IIIF_HOST_BUDGET_REDIS_TIMEOUT)
    return None


def fetch_policy() -> FetchPolicy:
    """The fetch policy from settings."""
    return FetchPolicy(
        user_agent=settings.IIIF_USER_AGENT,
        timeout=settings.IIIF_HTTP_TIMEOUT,
        max_retries=settings.IIIF_MAX_RETRIES,
        backoff_base=settings.IIIF_BACKOFF_BASE,
        max_retry_after=settings.IIIF_MAX_RETRY_AFTER,
        allow_private_hosts=settings.IIIF_ALLOW_PRIVATE_HOSTS,
        default_min_interval=settings.IIIF_DEFAULT_MIN_INTERVAL,
        host_min_intervals={"gallica.bnf.fr": settings.IIIF_GALLICA_MIN_INTERVAL},
        cache_dir=settings.IIIF_CACHE_DIR,
        budget=host_budget(),
    )


def _source_url(source: str) -> str | None:
    """The URL a source names (a Gallica ARK becomes its manifest URL); None for a server path."""
    ark = ARK_PATTERN.match(source)
    if ark and not source.endswith(".json"):
        return GALLICA_MANIFEST.format(ark=ark.group(1))
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", source):
        return source
    return None


def source_resolve(source: str) -> ResolvedSource:
    """Say what kind of source the curator gave, resolving Gallica ARKs to manifest URLs."""
    source = source.strip()
    if not source:
        # Path("") is the working directory: never import that by accident.
        raise ImportFailed(NO_SOURCE_MESSAGE)
    url = _source_url(source)
    if url is not None:
        return ResolvedSource("url", url)
    path = Path(source).expanduser()
    if path.is_dir():
        return ResolvedSource("folder", str(path.resolve()))
    if path.is_file() and path.suffix.lower() == ".zip":
        return ResolvedSource("zip", str(path.resolve()))
    if path.is_file():
        return ResolvedSource("file", str(path.resolve()))
    raise ImportFailed(
        gettext_noop("Source not found: %(source)r is neither a URL, a Gallica ARK nor an existing file or folder"),
        source=source,
    )


def source_check_server_path(*, source: str, user) -> None:
    """Refuse a server path outside IMPORT_SERVER_ROOTS, unless a superuser gave it; URLs and ARKs pass.

    Files on the server are not a web user's to read: only the shares the operator listed are.
    The roots are checked before anything looks at the path, so a refusal says nothing about what exists.
    """
    source = source.strip()
    if not source or user.is_superuser or _source_url(source) is not None:
        return
    roots = [Path(root).expanduser().resolve() for root in settings.IMPORT_SERVER_ROOTS]
    try:
        # Symlinks followed and `..` removed: the path must really lie inside a root.
        path = Path(source).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        path = None
    if path is None or not any(path.is_relative_to(root) for root in roots):
        listed = ", ".join(str(root) for root in roots) or Message(gettext_noop("none configured"))
        raise ImportFailed(
            gettext_noop("Server paths can only be imported from IMPORT_SERVER_ROOTS (%(roots)s)"), roots=listed
        )


def corpus_get_or_create(*, name: str, owner=None, is_public: bool = False) -> Corpus:
    """`owner`'s corpus of exactly that name (None: the shared, ownerless one), created private unless `is_public`."""
    corpus, _ = Corpus.objects.get_or_create(name=name, owner=owner, defaults={"is_public": is_public})
    return corpus


def corpus_for_operator(*, name: str, is_public: bool = False) -> Corpus:
    """The corpus an operator's command names: the shared one of that name, else the only one, else a new shared one."""
    named = Corpus.objects.filter(name=name).order_by("pk")
    shared = named.filter(owner=None).first()
    if shared is not None:
        return shared
    owned = list(named[:2])
    if len(owned) > 1:
        raise CorpusNameAmbiguous(
            _("Several users have a corpus named %(name)r: import into it from the web page or the API, by its id.")
            % {"name": name}
        )
    return owned[0] if owned else corpus_get_or_create(name=name, is_public=is_public)


def corpus_for_import(*, user, name: str, corpus_id: int | None = None) -> Corpus:
    """The corpus a user's import goes into, checked for the curator role.

    By id, or by name: the user's own corpus of that name, else the one of that name they curate.
    A name they can see but not curate is refused. A name no corpus they can see has becomes their
    own new private corpus, even when someone else's private corpus has it: it neither blocks them
    nor tells them it exists. That new corpus is returned unsaved: it is created with the document,
    so a request refused meanwhile (a bad source, an upload too large) leaves no empty corpus.
    """
    if not user.is_authenticated:
        raise PermissionDenied(_("Log in to import"))
    if corpus_id is not None:
        return get_corpus_for_user(user, corpus_id, CorpusRole.CURATOR)
    curated = corpora_named_for_user(user, name, CorpusRole.CURATOR)
    own = [corpus for corpus in curated if corpus.owner_id == user.pk]
    if own or len(curated) == 1:
        return (own or curated)[0]
    if curated:
        raise CorpusNameAmbiguous(
            _("Several corpora you curate are named %(name)r: give the one to import into as corpus_id.")
            % {"name": name}
        )
    visible = corpora_named_for_user(user, name)
    if visible:
        require_role(user, visible[0], CorpusRole.CURATOR, not_found=NOT_FOUND["corpus"])
    return Corpus(name=name, owner=user, is_public=False)


def document_request_import(*, corpus: Corpus, source: str, user=None, upload_path: str = "") -> Document:
    """Create or reset the Document for a source, ready for the import task to claim.

    `upload_path`: where an uploaded zip is stored (under MEDIA_ROOT); its `source` is only its name.
    """
    source = source.strip()
    if not source:
        raise ImportFailed(NO_SOURCE_MESSAGE)
    with transaction.atomic():
        document, created = Document.objects.select_for_update().get_or_create(
            corpus=corpus, source=source, defaults={"created_by": user, "upload_path": upload_path}
        )
        if not created:
            Document.objects.filter(pk=document.pk).update(
                import_status=JobStatus.PENDING, import_error="", import_error_message=None, import_finished_at=None
            )
            document.refresh_from_db()
    return document


def document_enqueue_import(*, document: Document) -> None:
    """Queue the import task once the surrounding transaction commits."""
    from annotations.tasks import document_import_task

    document_import_task.delay_on_commit(document.pk)


def document_import_run(
    *, document_id: int, expand_collections: bool = True, staged_folder: Path | None = None
) -> Document | None:
    """Claim a pending (or abandoned) import and run it to completion; failures are stored, not raised.

    A IIIF Collection imports all its manifests (annotations/ingest/collections.py); with
    `expand_collections` off (a collection's own members) it is refused with its list instead.
    `staged_folder`: a folder of scans to import in place of the source, which then only says where
    they came from (a LabelMe dataset's document: annotations/ingest/datasets.py).
    """
    if job_claim(DOCUMENT_IMPORT, document_id) is None:
        logger.info("document %s: no pending (or abandoned) import to claim", document_id)
        return None
    document = Document.objects.get(pk=document_id)
    try:
        parsed = _load_source(document) if staged_folder is None else _load_folder(document, staged_folder)
        if isinstance(parsed, ParsedCollection) and not expand_collections:
            raise _collection_refused(document, parsed)
        if isinstance(parsed, ParsedCollection):
            from annotations.ingest.collections import collection_import_members

            document.refresh_from_db()
            collection_import_members(document=document, collection=parsed, fetcher=Fetcher(fetch_policy()))
        else:
            # Only a folder or zip import has a scan folder: no manifest's pages read local files.
            document_store_parsed(document=document, parsed=parsed, local_folder=document.local_folder)
    except (ImportFailed, FetchError, IIIFError) as exc:
        _fail(document, exc)
    except Exception as exc:
        logger.exception("document %s: import crashed", document_id)
        _fail(document, unexpected_error(exc))
    document.refresh_from_db()
    return document


def _fail(document: Document, error: Message | MessageError) -> None:
    job_fail(DOCUMENT_IMPORT, document.pk, claimed_at=document.import_started_at, error=error)


def _collection_refused(document: Document, collection: ParsedCollection) -> ImportFailed:
    Document.objects.filter(pk=document.pk).update(
        label=collection.label,
        import_report={"collection": {"id": collection.id, "manifests": collection.manifests}},
    )
    return ImportFailed(
        gettext_noop(
            "This is a IIIF Collection of %(count)s manifests, not a manifest: "
            "pick the manifests to import from the list"
        ),
        count=len(collection.manifests),
    )


def _load_source(document: Document) -> ParsedManifest | ParsedCollection:
    if document.upload_path:
        resolved = ResolvedSource("zip", str(Path(settings.MEDIA_ROOT) / document.upload_path))
    else:
        resolved = source_resolve(document.source)
    if resolved.kind == "url":
        Document.objects.filter(pk=document.pk).update(manifest_url=resolved.location)
        data = Fetcher(fetch_policy()).get_json(resolved.location, max_bytes=settings.IIIF_MAX_MANIFEST_BYTES)
        return _parse(data)
    if resolved.kind == "file":
        return _parse(_read_json_file(Path(resolved.location)))
    if resolved.kind == "zip":
        document = document_local_key_ensure(document=document)
        archive = Path(resolved.location)
        with tempfile.TemporaryDirectory() as tmp:
            folder = zip_extract_images(archive, Path(tmp))
            zip_extract_metadata(archive, folder)
            # An upload is stored under its content hash: its own name was kept as the label when it came in.
            return folder_to_manifest(
                folder, key=document.local_key, local_folder=document.local_folder, label=document.label or archive.stem
            )
    return _load_folder(document, Path(resolved.location))


def _load_folder(document: Document, folder: Path) -> ParsedManifest:
    """A folder of scans copied into the document's own scan folder (given its key and folder once)."""
    document = document_local_key_ensure(document=document)
    return folder_to_manifest(folder, key=document.local_key, local_folder=document.local_folder)


def _read_json_file(path: Path) -> object:
    if path.stat().st_size > settings.IIIF_MAX_MANIFEST_BYTES:
        raise ImportFailed(gettext_noop("Manifest file too large: %(name)s"), name=path.name)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportFailed(
            gettext_noop("%(name)s is not valid JSON (%(error)s)"), name=path.name, error=str(exc)
        ) from exc


def _parse(data: object) -> ParsedManifest | ParsedCollection:
    parsed = parse_iiif(data)
    if isinstance(parsed, ParsedManifest) and len(parsed.canvases) > settings.IIIF_MAX_CANVASES:
        raise ImportFailed(
            gettext_noop("The manifest has %(count)s image canvases, over the limit of %(limit)s"),
            count=len(parsed.canvases),
            limit=settings.IIIF_MAX_CANVASES,
        )
    if isinstance(parsed, ParsedManifest):
        _refuse_local_scan_urls(parsed)
    return parsed


def _refuse_local_scan_urls(parsed: ParsedManifest) -> None:
    """A manifest may not point a page at our local scans: those belong to a folder or zip import."""
    for canvas in parsed.canvases:
        urls = [canvas.image_url, canvas.service.id if canvas.service else ""]
        if any(url and points_at_local_scans(url) for url in urls):
            raise ImportFailed(
                gettext_noop(
                    "Canvas %(canvas)s points at this server's local scans (/iiif/local/): "
                    "only a folder or zip import may use local scans"
                ),
                canvas=canvas.label or canvas.order,
            )


def zip_extract_images(archive: Path, target: Path) -> Path:
    """Extract the images of a zip into `target`, refusing path tricks and oversize members."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise ImportFailed(gettext_noop("%(name)s is not a valid zip file"), name=archive.name) from exc
    total = 0
    taken: set[str] = set()
    with zf:
        for member in zf.infolist():
            if member.is_dir() or Path(member.filename).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            name = Path(member.filename)
            if name.is_absolute() or ".." in name.parts:
                raise ImportFailed(
                    gettext_noop("Refused zip entry %(name)r: it points outside the archive"), name=member.filename
                )
            if is_system_file(member.filename):
                continue
            total += member.file_size
            if total > settings.UPLOAD_MAX_BYTES:
                raise ImportFailed(gettext_noop("The zip expands beyond the upload size limit"))
            # a/b/c.jpg and a_b_c.jpg both flatten to a_b_c.jpg: the second becomes a_b_c-2.jpg.
            flat_name = _unique_name(_within_bytes("_".join(name.parts), ZIP_NAME_MAX_BYTES), taken)
            with zf.open(member) as source, open(target / flat_name, "wb") as out:
                shutil.copyfileobj(source, out)
    return target


def zip_extract_metadata(archive: Path, target: Path) -> None:
    """Copy the zip's `metadata.json` (at its root, or in its one top folder) to `target`, as in a scan folder."""
    with zipfile.ZipFile(archive) as zf:
        sidecars = [
            member
            for member in zf.infolist()
            if not member.is_dir()
            and Path(member.filename).name == FOLDER_METADATA_FILE
            and len(Path(member.filename).parts) <= 2
        ]
        if not sidecars:
            return
        if len(sidecars) > 1:
            names = ", ".join(member.filename for member in sidecars)
            raise ImportFailed(
                gettext_noop("The zip holds more than one %(file)s (%(names)s): keep one"),
                file=FOLDER_METADATA_FILE,
                names=names,
            )
        member = sidecars[0]
        if member.file_size > settings.IIIF_MAX_MANIFEST_BYTES:
            raise ImportFailed(gettext_noop("%(file)s in the zip is too large"), file=FOLDER_METADATA_FILE)
        with zf.open(member) as source, open(target / FOLDER_METADATA_FILE, "wb") as out:
            shutil.copyfileobj(source, out)


def natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip("._-") or "image"
    return cleaned[:200]


def _within_bytes(name: str, limit: int) -> str:
    """`name`, its stem cut (whole characters) so that it takes at most `limit` bytes on disk, its suffix kept."""
    if len(name.encode()) <= limit:
        return name
    path = Path(name)
    suffix = path.suffix if len(path.suffix.encode()) <= ZIP_SUFFIX_MAX_BYTES else ""
    stem = path.stem if suffix else name
    return stem.encode()[: limit - len(suffix.encode())].decode("utf-8", "ignore") + suffix


def _unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `stem-2.ext`, `stem-3.ext`... when taken (case-insensitively: some file systems fold case)."""
    path = Path(name)
    candidate, number = name, 1
    while candidate.lower() in taken:
        number += 1
        candidate = f"{path.stem[:190]}-{number}{path.suffix}"
    taken.add(candidate.lower())
    return candidate


def folder_to_manifest(folder: Path, *, key: str, local_folder: str, label: str = "") -> ParsedManifest:
    """Copy a folder's images into the document's scan folder and describe them as a manifest we serve.

    `key` is the document's URL key, `local_folder` its folder under LOCAL_IMAGES_DIR. The label is
    `metadata.json`'s, else `label`, else the folder's name.
    """
    files = sorted(
        (
            p
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not is_system_file(p.name)
        ),
        key=lambda p: natural_key(p.name),
    )
    if not files:
        raise ImportFailed(
            gettext_noop("No images (.jpg, .png, .tif, .webp) in %(folder)s"), folder=folder.name or str(folder)
        )
    target = Path(settings.LOCAL_IMAGES_DIR) / local_folder
    target.mkdir(parents=True, exist_ok=True)
    canvases: list[ParsedCanvas] = []
    skipped = []
    taken: set[str] = set()
    Image.MAX_IMAGE_PIXELS = settings.IMAGE_MAX_PIXELS
    for path in files:
        name = _unique_name(_safe_name(path.name), taken)
        try:
            with Image.open(path) as img:
                img.verify()
            with Image.open(path) as img:
                width, height = img.size
        except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
            skipped.append(
                SkippedCanvas(
                    canvas_id=path.name,
                    label=path.name,
                    reason=Message(gettext_noop("unreadable image (%(error)s)"), {"error": str(exc)}),
                )
            )
            continue
        shutil.copyfile(path, target / name)
        service_id = f"/iiif/local/{key}/{name}"
        canvases.append(
            ParsedCanvas(
                order=len(canvases) + 1,
                canvas_id=f"{service_id}/canvas",
                label=path.stem,
                width=width,
                height=height,
                image_url=f"{service_id}/full/max/0/default.jpg",
                image_width=width,
                image_height=height,
                service=ImageService(id=service_id, version="3", profile="level1"),
            )
        )
    if not canvases:
        raise ImportFailed(gettext_noop("None of the images in the folder could be read"))
    described = _folder_description(folder)
    date_text = str(described.get("date", ""))
    date_start, date_end = parse_date(date_text)
    return ParsedManifest(
        id=f"/iiif/local/{key}",
        version="3",
        label=str(described.get("label") or label or folder.name),
        summary=str(described.get("summary", "")),
        metadata=[{"label": str(m["label"]), "value": str(m["value"])} for m in described.get("metadata", [])],
        attribution=str(described.get("attribution", "")),
        license=str(described.get("license", "")),
        related="",
        see_also="",
        nav_date="",
        date_text=date_text,
        date_start=date_start,
        date_end=date_end,
        thumbnail="",
        canvases=canvases,
        skipped=skipped,
    )


def _folder_description(folder: Path) -> dict:
    """The optional `metadata.json` beside the scans: label, date, summary, attribution, license, metadata."""
    sidecar = folder / FOLDER_METADATA_FILE
    if not sidecar.is_file():
        return {}
    data = _read_json_file(sidecar)
    metadata = data.get("metadata", []) if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or not isinstance(metadata, list)
        or not all(isinstance(m, dict) and {"label", "value"} <= m.keys() for m in metadata)
    ):
        raise ImportFailed(
            gettext_noop(
                "%(file)s must be an object with optional label, date, summary, attribution, "
                "license and a metadata list of {label, value}"
            ),
            file=FOLDER_METADATA_FILE,
        )
    return data


@transaction.atomic
def document_store_parsed(*, document: Document, parsed: ParsedManifest, local_folder: str = "") -> Document:
    """Write a parsed manifest into the document and its pages, updating in place on re-import.

    `local_folder`: the document's own scan folder, for a folder or zip import only (never derived
    from the manifest, whose ids are the uploader's to choose).
    """
    Document.objects.filter(pk=document.pk).update(
        manifest_url=document.manifest_url or ("" if local_folder else parsed.id),
        iiif_version=parsed.version,
        label=parsed.label or document.source,
        summary=parsed.summary,
        metadata=parsed.metadata,
        date_text=_cut(parsed.date_text, DATE_TEXT_MAX),
        date_start=parsed.date_start,
        date_end=parsed.date_end,
        attribution=parsed.attribution,
        license=parsed.license,
        related_url=parsed.related,
        thumbnail_url=parsed.thumbnail,
    )
    existing = {page.canvas_id: page for page in Page.objects.filter(document=document)}
    to_create: list[Page] = []
    changes: dict[int, dict] = {}
    for canvas in parsed.canvases:
        fields = _page_fields(canvas, local_folder)
        page = existing.pop(canvas.canvas_id, None)
        if page is None:
            to_create.append(Page(document=document, **fields))
            continue
        changed = {name: value for name, value in fields.items() if getattr(page, name) != value}
        if changed:
            changes[page.pk] = changed
    # Park the orders that move (and those of vanished pages) so rewriting them never trips
    # the unique (document, order) constraint; unchanged pages are not touched at all.
    moving = [pk for pk, changed in changes.items() if "order" in changed] + [p.pk for p in existing.values()]
    Page.objects.filter(pk__in=moving).update(order=F("order") + ORDER_PARKING_OFFSET)
    for pk, changed in changes.items():
        Page.objects.filter(pk=pk).update(**changed)
    # Face sizes are kept as shares of the page area: a resized canvas changes them.
    page_counts_refresh(page_ids=[pk for pk, changed in changes.items() if {"width", "height"} & changed.keys()])
    Page.objects.bulk_create(to_create, batch_size=500)
    kept, removed = _settle_vanished_pages(document, list(existing.values()), len(parsed.canvases))
    report = {
        "pages": len(parsed.canvases),
        "created": len(to_create),
        "updated": len(changes),
        "unchanged": len(parsed.canvases) - len(to_create) - len(changes),
        "removed": removed,
        "kept_with_faces": kept,
        "skipped": [_skipped_row(canvas) for canvas in parsed.skipped],
    }
    job_finish(
        DOCUMENT_IMPORT,
        document.pk,
        claimed_at=document.import_started_at,
        from_statuses=ACTIVE_STATUSES,
        import_report=report,
        import_error="",
        import_error_message=None,
    )
    document.refresh_from_db()
    return document


def _cut(text: str, limit: int) -> str:
    """`text`, or its first characters and an ellipsis, within `limit` characters."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _skipped_row(canvas: SkippedCanvas) -> dict:
    """A skipped canvas in the import report: its reason in English, and as a message shown in the reader's language."""
    return {
        "canvas_id": canvas.canvas_id,
        "label": canvas.label,
        **message_fields(canvas.reason, text="reason", stored="reason_message"),
    }


def _page_fields(canvas: ParsedCanvas, local_folder: str) -> dict:
    service = canvas.service
    return {
        "canvas_id": canvas.canvas_id,
        "order": canvas.order,
        "label": canvas.label,
        "width": canvas.width,
        "height": canvas.height,
        "image_url": canvas.image_url,
        "image_width": canvas.image_width,
        "image_height": canvas.image_height,
        "image_service_id": service.id if service else "",
        "image_service_version": service.version if service else "",
        "local_path": f"{local_folder}/{service.id.rsplit('/', 1)[1]}" if local_folder and service else "",
        # Newspaper issues open on their front page ("la une"): the first canvas.
        "is_front_page": canvas.order == 1,
    }


def _settle_vanished_pages(document: Document, vanished: list[Page], page_total: int) -> tuple[int, int]:
    """Delete pages gone from the manifest, but keep (at the end) those that carry faces."""
    kept = 0
    removed = 0
    for page in vanished:
        if page.faces.exists():
            kept += 1
            Page.objects.filter(pk=page.pk).update(order=page_total + kept)
        else:
            page.delete()
            removed += 1
    return kept, removed


@contextmanager
def upload_stored(*, upload) -> Iterator[tuple[str, str]]:
    """Save an uploaded zip of scans under MEDIA_ROOT, by content hash (same file, same source), and
    hold its lock (local_scans.upload_lock) until the block ends: the block commits the document made
    from it, so a deletion of the last document of the same content never removes the file under it.

    Gives the stored path (relative to MEDIA_ROOT) and the source to show: the upload's own name and
    a digest prefix, never a server path.
    """
    if upload.size > settings.UPLOAD_MAX_BYTES:
        raise ImportFailed(
            gettext_noop("Upload too large: %(size)s bytes, limit %(limit)s"),
            size=upload.size,
            limit=settings.UPLOAD_MAX_BYTES,
        )
    if not upload.name.lower().endswith(".zip"):
        raise ImportFailed(gettext_noop("Upload a .zip file of images"))
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    name = _safe_name(Path(upload.name).name)
    relative = Path("uploads") / digest.hexdigest()[:24] / name
    target = Path(settings.MEDIA_ROOT) / relative
    with upload_lock(str(relative)):
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        yield str(relative), f"{name} (upload {digest.hexdigest()[:12]})"


def document_import_from_input(
    *, user, corpus_name: str = "", corpus_id: int | None = None, source: str = "", upload=None
) -> Document:
    """The web form and API entry point: store any upload, create or reset the document, queue it.

    The corpus is named by id or by name (`corpus_for_import`; "Default" when neither is given).
    """
    if upload is None:
        # The user's own string only: an upload is stored, and its path chosen, by our own code.
        source_check_server_path(source=source, user=user)
    # Checked before the upload is stored: a refused request leaves nothing on disk.
    corpus = corpus_for_import(user=user, name=corpus_name or "Default", corpus_id=corpus_id)
    if upload is None:
        resolved = source_resolve(source)
        if resolved.kind != "url":
            # The worker then reads the very path checked here, whatever its own working directory.
            source = resolved.location
        return _document_import_queue(corpus=corpus, source=source, user=user)
    with upload_stored(upload=upload) as (upload_path, upload_source):
        # The stored file is named by its hash: the upload's own name is the label unless metadata.json gives one.
        return _document_import_queue(
            corpus=corpus, source=upload_source, user=user, upload_path=upload_path, label=Path(upload.name).stem
        )


def _document_import_queue(*, corpus: Corpus, source: str, user, upload_path: str = "", label: str = "") -> Document:
    """Create or reset the document and queue its import, in one committed transaction (with its new corpus)."""
    with transaction.atomic():
        if corpus.pk is None:
            corpus = corpus_get_or_create(name=corpus.name, owner=corpus.owner)
        document = document_request_import(corpus=corpus, source=source, user=user, upload_path=upload_path)
        if label:
            Document.objects.filter(pk=document.pk).update(label=label)
        document_enqueue_import(document=document)
    return document
