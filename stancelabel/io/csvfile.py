"""Reading documents from CSV: a text column, an optional id column, dialect sniffed."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from stancelabel.core.errors import InputFileError
from stancelabel.core.model import SourceDocument, normalize_target
from stancelabel.io.textfile import check_length, decode, document_text, read_bytes

#: A news article fits in one cell; the csv module's default limit (128 KiB) may not.
csv.field_size_limit(64 * 1024 * 1024)


class _Dialect(csv.excel):
    """RFC 4180 quoting (double quotes, doubled to escape) with the file's own separator.

    Strict: a stray or unterminated quote is an error with its line, not text.
    """

    strict = True


def _dialect(path: Path, header_line: str) -> type[csv.Dialect]:
    """Only the separator is guessed, from the header row; quoting is always RFC 4180.

    csv.Sniffer also guesses the quote character, and takes the apostrophes of
    ordinary prose for quotes, which splits or corrupts valid files.
    """
    if path.suffix.lower() == ".tsv":
        separator = "\t"
    else:
        counts = {sep: header_line.count(sep) for sep in (",", ";", "\t", "|")}
        separator = max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","
    return type("FileDialect", (_Dialect,), {"delimiter": separator})


def read_csv(path: Path, text_column: str = "text", id_column: str | None = None,
             target_column: str | None = None) -> list[SourceDocument]:
    """All documents of a CSV file (one per row), or an InputFileError naming the line."""
    text, _ = decode(path, read_bytes(path))
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(path, text.split("\n", 1)[0]))
    try:
        header = next(reader)
    except StopIteration:
        raise InputFileError(path, "empty file, no header row") from None
    except csv.Error as error:
        raise InputFileError(path, f"malformed CSV ({error})", line=reader.line_num) from None
    columns = [c.strip() for c in header]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise InputFileError(path, f"the header names column {repeated[0]!r} more than once", line=1)
    if text_column not in columns:
        raise InputFileError(
            path, f"no column {text_column!r} (columns: {', '.join(columns)}); choose one with --text-column", line=1
        )
    if id_column is not None and id_column not in columns:
        raise InputFileError(path, f"no column {id_column!r} (columns: {', '.join(columns)})", line=1)
    if target_column is not None and target_column not in columns:
        raise InputFileError(path, f"no column {target_column!r} (columns: {', '.join(columns)}); "
                             "choose one with --target-column", line=1)
    if id_column is None and "id" in columns:
        id_column = "id"
    text_at = columns.index(text_column)
    id_at = columns.index(id_column) if id_column else None
    documents = []
    while True:
        start_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise InputFileError(path, f"malformed CSV ({error})", line=start_line) from None
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise InputFileError(path, f"{len(row)} fields, but the header has {len(columns)}", line=start_line)
        body = row[text_at]
        if not body.strip():
            raise InputFileError(path, f"column {text_column!r} is empty", line=start_line)
        check_length(path, body, start_line)
        external_id = row[id_at] if id_at is not None and row[id_at].strip() else f"{path.stem}:{start_line}"
        meta = {c: v for c, v in zip(columns, row) if c not in (text_column, id_column, target_column)}
        target = normalize_target(row[columns.index(target_column)]) if target_column else None
        documents.append(
            SourceDocument(external_id=external_id, text=document_text(body), source_file=str(path),
                           title=meta.get("title", "") or external_id, meta=meta, target=target)
        )
    if not documents:
        raise InputFileError(path, "no documents in this file (a header but no rows)")
    return documents
