"""Where export files go: a zip, a folder or a single file."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


class ZipSink:
    """Members written one by one into a zip on disk (JPEGs stored, text deflated)."""

    def __init__(self, path: Path):
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)

    def write_bytes(self, name: str, data: bytes, *, compress: bool = True) -> None:
        self.zip.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)

    @contextlib.contextmanager
    def open_text(self, name: str) -> Iterator[IO[str]]:
        with (
            self.zip.open(name, "w", force_zip64=True) as raw,
            io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
        ):
            yield text

    def close(self) -> None:
        self.zip.close()


class FolderSink:
    """Members written as files under a folder."""

    def __init__(self, path: Path):
        self.root = path
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_bytes(self, name: str, data: bytes, *, compress: bool = True) -> None:
        self._path(name).write_bytes(data)

    @contextlib.contextmanager
    def open_text(self, name: str) -> Iterator[IO[str]]:
        with open(self._path(name), "w", encoding="utf-8", newline="") as text:
            yield text

    def close(self) -> None:
        """Nothing to flush: files are closed as they are written."""


# One encoder for every value: json.dumps with options builds a new one per call.
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_dump(stream: IO[str], value) -> None:
    stream.write(_COMPACT_JSON.encode(value))


def json_dump_items(stream: IO[str], values: list) -> None:
    """The items of a list, comma-separated, without its brackets (a stretch of a JSON array being written)."""
    if values:
        stream.write(_COMPACT_JSON.encode(values)[1:-1])


def sink_for(out: Path) -> ZipSink | FolderSink:
    return ZipSink(out) if out.suffix.lower() == ".zip" else FolderSink(out)
