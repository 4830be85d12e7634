"""Typed, user-facing errors: each carries one line a person can act on."""

from __future__ import annotations

from pathlib import Path


class StanceLabelError(Exception):
    """A known, environmental failure (bad input, locked file, ...), not a bug.

    Its ``str`` is one line for a person; callers show it and carry on.
    """


class InputFileError(StanceLabelError):
    """An input file that cannot be read; names the file and, where known, the line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class ProjectFileError(StanceLabelError):
    """A project file that cannot be opened or written as asked."""

    def __init__(self, path: str | Path, message: str, *, retriable: bool = False) -> None:
        self.path = str(path)
        # one line, whatever SQLite put in its report
        self.message = message = "; ".join(part.strip() for part in message.splitlines() if part.strip())
        #: a passing condition (locked, disk full, read-only): the same write may succeed later
        self.retriable = retriable
        super().__init__(f"{self.path}: {message}")


class PipelineError(StanceLabelError):
    """A spaCy pipeline that was asked for but cannot be loaded."""
