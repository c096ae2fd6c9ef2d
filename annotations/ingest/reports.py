"""What an annotation import says back: per-file reports, capped message lists, refusals."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Each message list in a report stops here, so a broken file cannot produce a huge response.
MAX_MESSAGES = 50


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
        files = [{**asdict(f), "ok": f.ok} for f in self.files]
        totals = {key: sum(f[key] for f in files) for key in ("created", "updated", "unchanged", "skipped")}
        return {
            "ok": self.ok,
            "document": self.document,
            "source": self.source,
            **totals,
            "files_imported": sum(1 for f in self.files if f.ok),
            "files_rejected": sum(1 for f in self.files if not f.ok),
            "files": files,
        }
