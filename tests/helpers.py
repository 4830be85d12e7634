"""Small helpers shared by the import tests."""

from __future__ import annotations

from pathlib import Path

from stancelabel.io.importer import ImportOptions, ImportReport, import_paths
from stancelabel.store.project import Project


def write(path: Path, content: str | bytes) -> Path:
    """Write exactly these characters (no newline translation) or bytes; create folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def run_import(project: Project, paths: list[Path], blank_nlp, **options) -> ImportReport:
    """One import run with the blank pipeline; options are ImportOptions fields."""
    nlp, info = blank_nlp
    return import_paths(project, [Path(p) for p in paths], ImportOptions(**options), nlp, info)
