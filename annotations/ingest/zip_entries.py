"""What every zip import reads of an entry's name: its parts, and whether an archiver added it beside the files."""

from __future__ import annotations

from pathlib import PurePosixPath


def zip_entry_parts(name: str) -> tuple[str, ...]:
    """The folders and file of an entry's name, with Windows archivers' backslashes read as separators."""
    return PurePosixPath(name.replace("\\", "/")).parts


def zip_entry_is_junk(name: str) -> bool:
    """An entry an archiver added beside the files: macOS's resource forks (`__MACOSX/…/._scan.jpg`, named like
    images but none), and hidden files and folders (`.DS_Store`). `..` is no hidden name: the caller refuses it."""
    return any(part == "__MACOSX" or (part.startswith(".") and part != "..") for part in zip_entry_parts(name))
