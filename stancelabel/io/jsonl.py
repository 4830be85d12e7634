"""Reading documents from JSON Lines: one object per line with ``text``, ``id``, ``meta`` and ``target``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from stancelabel.core import spans as codec
from stancelabel.core.errors import InputFileError, StanceLabelError
from stancelabel.core.model import (
    ImportedAttribution,
    LabelRecord,
    SourceDocument,
    attribution_key,
    normalize_target,
)
from stancelabel.core.names import clean_name, value_problem
from stancelabel.io.textfile import check_length, decode, document_text, normalize_newlines, read_bytes


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large to be a finite number")
    return value


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
        record = json.loads(line, parse_constant=_reject_constant, parse_float=_finite_float,
                            object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as error:
        raise InputFileError(path, f"not valid JSON ({error.msg} at column {error.colno})", line=number) from None
    except ValueError as error:
        raise InputFileError(path, f"not valid JSON ({error})", line=number) from None
    except RecursionError:
        raise InputFileError(path, "JSON nested too deeply", line=number) from None
    if not isinstance(record, dict):
        raise InputFileError(path, f"expected a JSON object, got {type(record).__name__}", line=number)
    problem = value_problem(record)
    if problem:
        raise InputFileError(path, f"the record {problem}", line=number)
    return record


def iter_lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers; only LF ends a line (JSON may hold U+2028)."""
    text, _ = decode(path, read_bytes(path))
    return [(i, line) for i, line in enumerate(text.split("\n"), start=1) if line.strip()]


def read_jsonl(path: Path, annotator: str | None = None) -> list[SourceDocument]:
    """All documents of a JSONL file, or an InputFileError for the first bad line.

    Three kinds of file, told apart by their first record: this tool's exports
    (``doc_sha256`` and ``key``: labels back onto their documents), labelled texts
    (``text`` and ``label``, as doccano or Prodigy write them), and plain documents.
    """
    lines = iter_lines(path)
    if not lines:
        raise InputFileError(path, "no documents in this file (only blank lines)")
    first = parse_line(path, *lines[0])
    if "doc_sha256" in first and "key" in first:
        return read_export_records(path, lines, annotator)
    documents = _read_documents(path, lines)
    if "label" in first:
        _label_whole_texts(path, lines, documents, annotator)
    return documents


def _read_documents(path: Path, lines: list[tuple[int, str]]) -> list[SourceDocument]:
    documents = []
    for number, line in lines:
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
            SourceDocument(external_id=external_id, text=document_text(text), source_file=str(path),
                           title=title or external_id, meta=meta, target=normalize_target(target))
        )
    if not documents:
        raise InputFileError(path, "no documents in this file (only blank lines)")
    return documents


# -- labelled texts (doccano, Prodigy textcat) ---------------------------------------------------

DEFAULT_ANNOTATOR = "imported"


def _annotator_of(path: Path, number: int, record: dict[str, Any], default: str | None) -> str:
    for field_name in ("annotator", "_annotator_id"):
        value = record.get(field_name)
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise InputFileError(path, f"'{field_name}' must be a non-empty string", line=number)
            try:
                return clean_name(value, f"'{field_name}'")
            except StanceLabelError as error:
                raise InputFileError(path, str(error), line=number) from None
    return default or DEFAULT_ANNOTATOR


def _label_whole_texts(path: Path, lines: list[tuple[int, str]], documents: list[SourceDocument],
                       annotator: str | None) -> None:
    """``{"text": ..., "label": ...}``: a label on the whole text, as an attribution with no source."""
    for (number, line), document in zip(lines, documents):
        record = parse_line(path, number, line)
        label = record.get("label")
        if isinstance(label, list):
            if len(label) != 1:
                raise InputFileError(path, f"'label' holds {len(label)} labels; one per text is supported",
                                     line=number)
            label = label[0]
        if label is not None and not isinstance(label, str):
            raise InputFileError(path, f"'label' must be a string, not {type(label).__name__}", line=number)
        if record.get("answer") in ("reject", "ignore") or label is None:
            continue
        whole = ImportedAttribution((), (), ((0, len(document.text)),))
        document.attributions.append(whole)
        document.detect = False
        key = attribution_key(document.sha256, (), (), ((0, len(document.text)),))
        document.labels.append(LabelRecord(key=key, annotator=_annotator_of(path, number, record, annotator),
                                           label=label, where=f"{path}:{number}"))


# -- this tool's exports ---------------------------------------------------------------------------

def _spans(path: Path, number: int, record: dict[str, Any], role: str) -> tuple[tuple[int, int], ...]:
    value = record.get(role, [])
    if not codec.is_offset_list(value):
        raise InputFileError(path, f"'{role}' must be a list of [start, end] offsets", line=number)
    return codec.from_lists(value)


def _optional_str(path: Path, number: int, record: dict[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is not None and not isinstance(value, str):
        raise InputFileError(path, f"'{name}' must be a string or null, not {type(value).__name__}", line=number)
    return value


def read_export_records(path: Path, lines: list[tuple[int, str]], annotator: str | None) -> list[SourceDocument]:
    """Records this tool exported: grouped by the text they hold, to be attached to their document
    (by its text hash) or, when the project lacks it, to become a document of that text."""
    groups: dict[tuple[str, int, str], SourceDocument] = {}
    for number, line in lines:
        record = parse_line(path, number, line)
        sha = record.get("doc_sha256")
        if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise InputFileError(path, "'doc_sha256' must be 64 lowercase hexadecimal digits", line=number)
        text = record.get("text")
        if not isinstance(text, str) or not text:
            raise InputFileError(path, "'text' must be a non-empty string", line=number)
        meta = record.get("meta") or {}
        if not isinstance(meta, dict):
            raise InputFileError(path, "'meta' must be a JSON object", line=number)
        start = meta.get("text_start", 0)
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise InputFileError(path, "'meta.text_start' must be a whole number >= 0", line=number)
        key = record.get("key")
        if not isinstance(key, str):
            raise InputFileError(path, "'key' must be a string", line=number)
        source, cue, content = (_spans(path, number, record, role) for role in ("source", "cue", "content"))
        if not cue and not content:
            raise InputFileError(path, "an attribution needs a 'cue' or a 'content' span", line=number)
        origin = record.get("origin", "imported")
        if origin not in ("auto", "imported", "manual"):
            raise InputFileError(path, f"'origin' must be auto, imported or manual, not {origin!r}", line=number)
        status = record.get("status", "active")
        if status not in ("active", "rejected"):
            raise InputFileError(path, f"'status' must be active or rejected, not {status!r}", line=number)
        flagged = record.get("flagged", False)
        if not isinstance(flagged, bool):
            raise InputFileError(path, "'flagged' must be true or false", line=number)
        label, note = _optional_str(path, number, record, "label"), record.get("note") or ""
        if not isinstance(note, str):
            raise InputFileError(path, "'note' must be a string", line=number)
        target = normalize_target(_optional_str(path, number, record, "target"))
        doc_id = record.get("doc_id")
        group = groups.get((sha, start, text))
        if group is None:
            group = groups[(sha, start, text)] = SourceDocument(
                external_id=str(doc_id) if isinstance(doc_id, (str, int)) and not isinstance(doc_id, bool)
                else f"{path.stem}:{number}",
                text=normalize_newlines(text), source_file=str(path), known_sha256=sha, offset=start,
                target=target, detect=False)
            group.title = group.external_id
        if all(a.key != key for a in group.attributions):
            group.attributions.append(ImportedAttribution(
                source, cue, content, source_hint=_optional_str(path, number, record, "source_hint"),
                suggestion=_optional_str(path, number, record, "suggestion"), key=key, origin=origin, status=status))
        has_annotator = record.get("annotator") is not None or record.get("_annotator_id") is not None
        if label is not None or note or flagged:
            if not has_annotator and annotator is None:
                raise InputFileError(path, "a label with no 'annotator' (give one with --annotator)", line=number)
            group.labels.append(LabelRecord(
                key=key, annotator=_annotator_of(path, number, record, annotator), label=label, note=note,
                flagged=flagged, target=target, created_at=_optional_str(path, number, record, "created_at"),
                updated_at=_optional_str(path, number, record, "updated_at"), where=f"{path}:{number}",
                target_known=True))
    return list(groups.values())
