"""Folders named for a database row (`corpus-12`, `job-7`): found by id, for purges of rows that are gone."""

from __future__ import annotations

from pathlib import Path


def folders_by_id(root: Path, prefix: str) -> dict[int, Path]:
    """The folders under `root` named `<prefix><id>`, by id; none when `root` does not exist."""
    found = {}
    for folder in root.glob(f"{prefix}*") if root.is_dir() else ():
        suffix = folder.name.removeprefix(prefix)
        if folder.is_dir() and suffix.isdigit():
            found[int(suffix)] = folder
    return found
