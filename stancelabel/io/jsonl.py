"""Reading documents from JSON Lines: one object per line with ``text``, ``id``, ``meta`` and ``target``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stancelabel.core.errors import InputFileError
from stancelabel.core.model import SourceDocument, normalize_target
from stancelabel.io.textfile import check_length, decode, normalize_newlines, read_bytes


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def parse_line(path: Path, number: int, line: str) -> dict[str, Any]:
    """One JSONL line as a dict, strictly: no NaN, no duplicate keys, valid Unicode."""
    try:
        record = json.loads(line, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as error:
        raise InputFileError(path, f"not valid JSON ({error.msg} at column {error.colno})", line=number) from None
    except ValueError as error:
        raise InputFileError(path, f"not valid JSON ({error})", line=number) from None
    except RecursionError:
        raise InputFileError(path, "JSON nested too deeply", line=number) from None
    if not isinstance(record, dict):
        raise InputFileError(path, f"expected a JSON object, got {type(record).__name__}", line=number)
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InputFileError(path, "contains an unpaired surrogate (invalid Unicode)", line=number) from None
    except RecursionError:
        raise InputFileError(path, "JSON nested too deeply", line=number) from None
    return record


def iter_lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers; only LF ends a line (JSON may hold U+2028)."""
    text, _ = decode(path, read_bytes(path))
    return [(i, line) for i, line in enumerate(text.split("\n"), start=1) if line.strip()]


def read_jsonl(path: Path) -> list[SourceDocument]:
    """All documents of a JSONL file, or an InputFileError for the first bad line."""
    documents = []
    for number, line in iter_lines(path):
        record = parse_line(path, number, line)
        text = record.get("text")
        if text is None:
            raise InputFileError(path, "no 'text' field", line=number)
        if not isinstance(text, str):
            raise InputFileError(path, f"'text' must be a string, not {type(text).__name__}", line=number)
        if not text.strip():
            raise InputFileError(path, "'text' is empty", line=number)
        check_length(path, text, number)
        meta = record.get("meta", {})
        if not isinstance(meta, dict):
            raise InputFileError(path, "'meta' must be a JSON object", line=number)
        raw_id = record.get("id")
        if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, (str, int))):
            raise InputFileError(path, "'id' must be a string or an integer", line=number)
        external_id = str(raw_id) if raw_id is not None else f"{path.stem}:{number}"
        title = meta.get("title") if isinstance(meta.get("title"), str) else ""
        target = record.get("target", meta.get("target"))
        if target is not None and not isinstance(target, str):
            raise InputFileError(path, f"'target' must be a string, not {type(target).__name__}", line=number)
        documents.append(
            SourceDocument(external_id=external_id, text=normalize_newlines(text), source_file=str(path),
                           title=title or external_id, meta=meta, target=normalize_target(target))
        )
    if not documents:
        raise InputFileError(path, "no documents in this file (only blank lines)")
    return documents
