"""Exporting labels: one record per (attribution, annotator) label, streamed from the project
into JSONL, CSV, spaCy's DocBin or BRAT standoff, written atomically.

Records are built in reading order straight from one SQL cursor, a document's
text and sentences kept only while its rows go by, so memory stays flat however
many labels there are. Where the export may go, and how it is written, is the
output policy of core.outputs: to a temporary file beside the target, synced
and renamed over it (an interrupted export leaves the previous file as it was),
or straight to standard output, a FIFO or a device for JSONL and CSV.
"""

from __future__ import annotations

import bisect
import csv
import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from stancelabel.core import spans as codec
from stancelabel.core.errors import StanceLabelError
from stancelabel.core.inputs import special_file
from stancelabel.core.model import ROLES, Sentence, Spans
from stancelabel.core.outputs import STDOUT, Kind, Output, descriptor_of, plan_output
from stancelabel.store.project import Project

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv", "spacy", "brat")
#: Formats that can be written straight to standard output, a FIFO or a device.
STREAMABLE = ("jsonl", "csv")
#: What a BRAT export folder holds besides NAME.txt and NAME_ANNOTATOR.ann files.
BRAT_FOLDER_NAMES = ("annotation.conf", "stancelabel.json")
#: Prodigy's span labels for the three roles.
SPAN_LABELS = {"source": "SOURCE", "cue": "CUE", "content": "CONTENT"}
#: What joins the pieces of a discontinuous span in the ``*_text`` fields.
GAP = " … "
#: Cells a spreadsheet would run as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


@dataclass(slots=True)
class ExportOptions:
    """What to export: whose labels, which ones, and how."""

    format: str = "jsonl"
    annotators: list[str] = field(default_factory=list)
    gold: bool = False
    all: bool = False
    labels: list[str] = field(default_factory=list)
    flagged: bool = False
    raw: bool = False
    bom: bool = False
    per_doc: bool = False


@dataclass(slots=True)
class ExportReport:
    records: int = 0
    documents: int = 0
    path: str = ""
    interrupted: bool = False
    #: file names that differ from the plain ones (a clash, or too long): (what, file name)
    renamed: list[tuple[str, str]] = field(default_factory=list)


def format_for(path: str | Path) -> str:
    """The export format a file name asks for: by extension; a folder or no extension is BRAT;
    standard output (``-``), a FIFO or a device is JSONL."""
    if str(path) == STDOUT or descriptor_of(str(path)) is not None or \
            special_file(Path(path)) in ("a named pipe (FIFO)", "a character device"):
        return "jsonl"
    suffix = Path(path).suffix.lower()
    formats = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".spacy": "spacy"}
    if suffix in formats:
        return formats[suffix]
    if Path(path).is_dir() or not suffix:
        return "brat"
    raise StanceLabelError(f"{path}: cannot tell the export format from the name; give --format")


# -- records ---------------------------------------------------------------------------------

def _hash32(text: str) -> int:
    """A stable signed 32-bit hash, as Prodigy's ``_input_hash`` and ``_task_hash`` are (CRC-32 of UTF-8)."""
    value = zlib.crc32(text.encode("utf-8"))
    return value - (1 << 32) if value >= 1 << 31 else value


def _timestamp(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


class _Document:
    """The text and sentences of the document whose rows are going by."""

    def __init__(self, project: Project, document_id: int) -> None:
        document = project.document(document_id)
        self.id = document_id
        self.external_id = document.external_id
        self.sha256 = document.sha256
        self.text = document.text
        self.sentences: list[Sentence] = project.sentences(document_id)
        self._starts = [s.start for s in self.sentences]
        self._sentence_json: dict[int, dict[str, Any]] = {}

    def sentence(self, index: int | None) -> Sentence | None:
        return self.sentences[index] if index is not None and 0 <= index < len(self.sentences) else None

    def sentence_record(self, index: int | None) -> dict[str, Any] | None:
        sentence = self.sentence(index)
        if sentence is None:
            return None
        if index not in self._sentence_json:
            self._sentence_json[index] = {"index": sentence.index, "start": sentence.start, "end": sentence.end,
                                          "text": self.text[sentence.start:sentence.end]}
        return self._sentence_json[index]

    def covering(self, index: int | None, spans: Spans) -> tuple[int, int]:
        """The whole sentences that hold the attribution's sentence and all its spans."""
        sentence = self.sentence(index)
        start = min(s for s, _ in spans) if spans else sentence.start
        end = max(e for _, e in spans) if spans else sentence.end
        if sentence is not None:
            start, end = min(start, sentence.start), max(end, sentence.end)
        first = bisect.bisect_right(self._starts, start) - 1
        if first >= 0 and start < self.sentences[first].end:
            start = self.sentences[first].start
        last = bisect.bisect_left(self._starts, end) - 1
        if last >= 0 and self.sentences[last].start < end <= self.sentences[last].end:
            end = self.sentences[last].end
        return start, end

    def text_of(self, spans: Spans) -> str:
        return GAP.join(self.text[s:e] for s, e in spans)


def iter_records(project: Project, options: ExportOptions,
                 should_stop: Callable[[], bool] = lambda: False) -> Iterator[dict[str, Any]]:
    """The export records (see docs/formats.md), one dict per (attribution, annotator) label."""
    known = {label.name for label in project.labels()}
    for name in options.labels:
        if name not in known:
            raise StanceLabelError(f"unknown label {name!r} (this project's labels: {', '.join(sorted(known))})")
    annotators = project.known_annotators(options.annotators)
    document: _Document | None = None
    rows = project.label_rows(annotators=annotators, gold=options.gold, everything=options.all,
                              labels=options.labels, flagged=options.flagged)
    for row in rows:
        if should_stop():
            return
        if document is None or document.id != row.document_id:
            document = _Document(project, row.document_id)
        spans = {"source": codec.from_json(row.source), "cue": codec.from_json(row.cue),
                 "content": codec.from_json(row.content)}
        everything = spans["source"] + spans["cue"] + spans["content"]
        text_start, text_end = document.covering(row.sentence_index, everything)
        text = document.text[text_start:text_end]
        prodigy_spans = [
            {"start": s - text_start, "end": e - text_start, "label": SPAN_LABELS[role], "text": document.text[s:e]}
            for role in ROLES for s, e in spans[role]
        ]
        label, annotator, target, key = row.label, row.annotator, row.target, row.key
        answer = "reject" if row.status == "rejected" else ("accept" if label else "ignore")
        yield {
            "doc_id": document.external_id,
            "doc_sha256": document.sha256,
            "sentence": document.sentence_record(row.sentence_index),
            "source": codec.to_lists(spans["source"]),
            "cue": codec.to_lists(spans["cue"]),
            "content": codec.to_lists(spans["content"]),
            "source_text": document.text_of(spans["source"]),
            "cue_text": document.text_of(spans["cue"]),
            "content_text": document.text_of(spans["content"]),
            "source_hint": row.source_hint,
            "suggestion": row.suggestion,
            "target": target,
            "label": label,
            "annotator": annotator,
            "note": row.note,
            "flagged": bool(row.flagged),
            "origin": row.origin,
            "status": row.status,
            "key": key,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "text": text,
            "spans": prodigy_spans,
            "answer": answer,
            "meta": {"doc_id": document.external_id, "key": key, "text_start": text_start, "target": target},
            "_input_hash": _hash32(text),
            "_task_hash": _hash32(f"{text}\x1f{row.source}{row.cue}{row.content}\x1f{label or ''}"),
            "_annotator_id": annotator,
            "_timestamp": _timestamp(row.updated_at),
        }


# -- formats -----------------------------------------------------------------------------------

#: One record as compact UTF-8 JSON. orjson: the export's time goes largely into encoding, and it
#: encodes about five times faster than the standard library, with the same output.
JSON_DUMPS = orjson.dumps

CSV_FIELDS = ("doc_id", "doc_sha256", "sentence_index", "sentence_start", "sentence_end", "sentence_text",
              "source", "cue", "content", "source_text", "cue_text", "content_text", "source_hint", "suggestion",
              "target", "label", "annotator", "note", "flagged", "origin", "status", "key", "created_at",
              "updated_at", "answer")


def csv_row(record: dict[str, Any], raw: bool) -> list[str]:
    sentence = record["sentence"] or {}
    values = {
        **record,
        "sentence_index": sentence.get("index", ""), "sentence_start": sentence.get("start", ""),
        "sentence_end": sentence.get("end", ""), "sentence_text": sentence.get("text", ""),
        "source": codec.spans_to_text(record["source"]), "cue": codec.spans_to_text(record["cue"]),
        "content": codec.spans_to_text(record["content"]),
        "flagged": "true" if record["flagged"] else "false",
    }
    out = []
    for name in CSV_FIELDS:
        value = values[name]
        cell = "" if value is None else str(value)
        if not raw and cell.startswith(FORMULA_STARTS):
            cell = "'" + cell
        out.append(cell)
    return out


def _write_jsonl(records: Iterator[dict[str, Any]], out: IO[bytes], report: ExportReport) -> None:
    write = out.write
    for record in records:
        write(JSON_DUMPS(record))
        write(b"\n")
        report.records += 1


def _write_csv(records: Iterator[dict[str, Any]], out: IO[str], report: ExportReport, options: ExportOptions) -> None:
    if options.bom:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for record in records:
        writer.writerow(csv_row(record, options.raw))
        report.records += 1


def plan_export(project_path: Path, path: str | Path, fmt: str) -> Output:
    """Check where an export goes (see core.outputs): nothing is written when it is refused."""
    if (str(path) == STDOUT or descriptor_of(str(path)) is not None) and fmt not in STREAMABLE:
        raise StanceLabelError(f"-: only JSONL and CSV can be written to standard output; name a "
                               f"{'folder' if fmt == 'brat' else 'file'} for the {fmt} export")
    if fmt == "brat":
        return plan_output(path, Kind.FOLDER, reading=[Path(project_path)], reading_role=_EXPORTED,
                           folder_names=BRAT_FOLDER_NAMES, folder_mark="stancelabel.json",
                           folder_suffixes=(".txt", ".ann"))
    return plan_output(path, Kind.FILE, reading=[Path(project_path)], reading_role=_EXPORTED,
                       streams=fmt in STREAMABLE)


_EXPORTED = "the project being exported"


def export(project: Project, path: str | Path, options: ExportOptions,
           progress: Callable[[int], None] | None = None,
           should_stop: Callable[[], bool] = lambda: False) -> ExportReport:
    """Write the export; nothing is left at ``path`` unless it is complete (``-``: standard output)."""
    if options.format not in FORMATS:
        raise StanceLabelError(f"unknown export format {options.format!r} (one of {', '.join(FORMATS)})")
    output = plan_export(project.path, path, options.format)
    report = ExportReport(path=str(path))
    stopped = False

    def stop() -> bool:
        nonlocal stopped
        stopped = stopped or should_stop()
        return stopped

    def counted(records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        last = None
        for n, record in enumerate(records, start=1):
            if record["doc_sha256"] != last:  # records come document by document
                last = record["doc_sha256"]
                report.documents += 1
            yield record
            if progress is not None and n % 1000 == 0:
                progress(n)

    records = counted(iter_records(project, options, stop))
    label_names = [label.name for label in project.labels()]

    def document_text(sha: str) -> str:
        return project.document(project.document_id_by_sha(sha)).text

    def document_target(sha: str) -> str | None:
        return project.document(project.document_id_by_sha(sha)).target
    try:
        if options.format == "jsonl":
            with output.open(binary=True) as out:
                _write_jsonl(records, out, report)
                if stopped:
                    raise _Cancelled
        elif options.format == "csv":
            with output.open(binary=False) as out:
                _write_csv(records, out, report, options)
                if stopped:
                    raise _Cancelled
        elif options.format == "spacy":
            from stancelabel.io.spacy_export import write_docbin

            with output.open(binary=True) as out:
                write_docbin(records, out, report, label_names, options.per_doc, document_text)
                if stopped:
                    raise _Cancelled
        else:
            from stancelabel.io.brat_export import write_brat

            write_brat(records, output, report, stop, document_text, label_names, document_target)
            if stopped:
                raise _Cancelled
    except _Cancelled:
        report.interrupted = True
        report.records = report.documents = 0
    except OSError as error:
        if isinstance(error, BrokenPipeError) and output.stream is not None:
            raise
        raise output.explain(error) from None
    log.info("export of %s to %s (%s): %d record(s)%s", project.path, path, options.format, report.records,
             " (cancelled)" if report.interrupted else "")
    return report


class _Cancelled(Exception):
    """Raised inside an atomic write to throw the partial file away."""

