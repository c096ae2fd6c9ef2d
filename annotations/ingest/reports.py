"""What an annotation import says back: per-file reports, capped message lists, refusals."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Each message list in a report stops here, so a broken file cannot produce a huge response.
MAX_MESSAGES = 50
# What a file's faces did, counted per file and in totals.
FACE_COUNTS = ("created", "updated", "unchanged", "skipped")


class ImportRejected(Exception):
    """A file that cannot be imported; `messages` say every reason found."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass
class FileReport:
    """What happened to one file of an import."""

    name: str
    format: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportReport:
    """Per-file results of an import and their totals."""

    document: int
    source: str
    files: list[FileReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.files) and all(f.ok for f in self.files)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "document": self.document,
            "source": self.source,
            **face_totals(self.files),
            **files_summary(self.files),
        }


def face_totals(files: list[FileReport]) -> dict[str, int]:
    """Each of FACE_COUNTS summed over the files."""
    return {key: sum(getattr(file, key) for file in files) for key in FACE_COUNTS}


def files_summary(files: list[FileReport]) -> dict:
    """How many files went in, how many were refused, and each file's report, as an import answers them."""
    return {
        "files_imported": sum(1 for file in files if file.ok),
        "files_rejected": sum(1 for file in files if not file.ok),
        "files": [{**asdict(file), "ok": file.ok} for file in files],
    }
