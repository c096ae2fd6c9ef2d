"""What every folder and zip import reads of a file's name: its parts, and whether the system or an archiver
added it beside the user's files."""

from __future__ import annotations

from pathlib import PurePosixPath


def name_parts(name: str) -> tuple[str, ...]:
    """The folders and file of a zip entry's or a file's name, Windows archivers' backslashes read as separators."""
    return PurePosixPath(name.replace("\\", "/")).parts


def is_system_file(name: str) -> bool:
    """A file the user did not put there: macOS's resource forks (`._scan.jpg` beside each file on a disk that
    is not the Mac's own, `__MACOSX/…/._scan.jpg` in its zips: named like images but none), hidden files and
    folders (`.DS_Store`). `..` is no hidden name: a zip entry holding it is refused by the caller."""
    return any(part == "__MACOSX" or (part.startswith(".") and part != "..") for part in name_parts(name))
