"""BRAT standoff export: NAME.txt and NAME_ANNOTATOR.ann per document, as PolNeAR and INCEpTION read them.

Each attribution is an ``Attribution`` event over ``Source``, ``Cue`` and ``Content``
spans (its trigger on the cue); the label is the event's ``Stance`` attribute, a
flag an ``Unsure`` attribute, a note an ``AnnotatorNotes`` comment. Attributions
nobody labelled (``--all``) go to NAME.ann. File names are made from document ids
and annotator names, unique (also where case does not count) and within the file
system's limit; ``stancelabel.json`` maps every file back to its exact document id
and annotator name, which the importer uses, so names come back as they were.
The folder is written beside its target and swapped in whole (core.outputs), so
an interrupted export leaves the earlier one.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from stancelabel.core.filenames import UNSAFE_FILE_CHARS, UniqueNames, file_name_part, name_max
from stancelabel.core.outputs import Output, new_file_mode

#: Characters an annotator name keeps in a file name: no "_", which separates NAME from ANNOTATOR.
_UNSAFE_ANNOTATOR = re.compile(r"[^\w.-]+|_+")
_ROLE_TYPES = (("source", "Source"), ("cue", "Cue"), ("content", "Content"))
MANIFEST = "stancelabel.json"


def _stem(doc_id: str) -> str:
    return UNSAFE_FILE_CHARS.sub("_", doc_id).strip("._") or "document"


def _annotator_part(annotator: str) -> str:
    return file_name_part(annotator, _UNSAFE_ANNOTATOR, "annotator")


def _must_escape(char: str) -> bool:
    return char in "%|,=:" or char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def escape_value(value: str) -> str:
    """A label name as one BRAT attribute value: percent-encoded wherever BRAT or its configuration
    would split it (white space of any kind, ``%``, and the ``|``, ``,``, ``=`` and ``:`` of annotation.conf)."""
    return "".join("".join(f"%{b:02X}" for b in c.encode("utf-8")) if _must_escape(c) else c for c in value)


#: Characters a note is written without: line breaks of every kind (as Python's ``splitlines`` sees
#: them) and tabs, so a note stays on its one line in any reader.
_NOTE_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NOTE_BREAKS = re.compile("[\\\\\n\r\t\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def escape_note(note: str) -> str:
    """A note on one line: backslash, line breaks and tabs written as escapes the importer reverses."""
    return _NOTE_BREAKS.sub(lambda m: _NOTE_ESCAPES.get(m[0], f"\\u{ord(m[0]):04x}"), note)


def ann_lines(records: list[dict[str, Any]], text: str) -> list[str]:
    """The .ann lines of one annotator's records of one document."""
    lines: list[str] = []
    t = e = a = n = 0

    def text_bound(kind: str, spans: list) -> str:
        """A ``T`` line for these spans; returns its id."""
        nonlocal t
        t += 1
        offsets = ";".join(f"{s} {end}" for s, end in spans)
        covered = " ".join(text[s:end] for s, end in spans).replace("\n", " ")
        lines.append(f"T{t}\t{kind} {offsets}\t{covered}")
        return f"T{t}"

    for record in records:
        arguments = [f"{kind}:{text_bound(kind, record[role])}" for role, kind in _ROLE_TYPES if record[role]]
        trigger = text_bound("Attribution", record["cue"] or record["content"])
        e += 1
        lines.append(f"E{e}\tAttribution:{trigger} " + " ".join(arguments))
        if record["label"]:
            a += 1
            lines.append(f"A{a}\tStance E{e} {escape_value(record['label'])}")
        if record["flagged"]:
            a += 1
            lines.append(f"A{a}\tUnsure E{e}")
        if record["note"]:
            n += 1
            lines.append(f"#{n}\tAnnotatorNotes E{e}\t{escape_note(record['note'])}")
        if record["target"]:
            n += 1
            lines.append(f"#{n}\tTarget E{e}\t{escape_note(record['target'])}")
    return lines


def _write(path: Path, content: str, mode: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(path, mode)


def write_brat(records: Iterator[dict[str, Any]], output: Output, report, should_stop: Callable[[], bool],
               document_text: Callable[[str], str], label_names: list[str],
               document_target: Callable[[str], str | None] = lambda sha: None) -> None:
    """Write the records as a BRAT folder at the planned output, replacing an earlier export there whole."""
    file_mode = new_file_mode()  # new files in a new folder, whatever the old folder's mode
    try:
        _write_folder(records, output, report, should_stop, document_text, document_target, label_names, file_mode)
    except _Stopped:
        pass  # the staging folder is gone, the earlier export untouched


class _Stopped(Exception):
    """Raised inside the staging folder's block, so it is thrown away instead of swapped in."""


def _write_folder(records: Iterator[dict[str, Any]], output: Output, report, should_stop: Callable[[], bool],
                  document_text: Callable[[str], str], document_target: Callable[[str], str | None],
                  label_names: list[str], file_mode: int) -> None:
    with output.staging_folder() as staging:
        names = UniqueNames(name_max(staging))
        manifest: dict[str, dict[str, Any]] = {}
        current: list[dict[str, Any]] = []

        def flush() -> None:
            if not current:
                return
            sha, doc_id = current[0]["doc_sha256"], current[0]["doc_id"]
            text = document_text(sha)
            stem = _stem(doc_id)
            text_name = names.take(stem, ".txt", sha)
            if text_name != f"{stem}.txt":
                report.renamed.append((f"document {doc_id}", text_name))
            _write(staging / text_name, text, file_mode)
            manifest[text_name] = {"doc_id": doc_id, "doc_sha256": sha, "target": document_target(sha)}
            by_annotator: dict[str | None, list[dict[str, Any]]] = {}
            for record in current:
                by_annotator.setdefault(record["annotator"], []).append(record)
            base = text_name[:-len(".txt")]
            for annotator, group in by_annotator.items():
                plain = base if annotator is None else f"{base}_{_annotator_part(annotator)}"
                ann_name = names.take(plain, ".ann", f"{sha}\x00{annotator}")
                if ann_name != f"{plain}.ann":
                    report.renamed.append((f"{annotator or 'unlabelled'} on document {doc_id}", ann_name))
                _write(staging / ann_name, "\n".join(ann_lines(group, text)) + "\n", file_mode)
                manifest[ann_name] = {"text": text_name, "annotator": annotator}
            current.clear()

        for record in records:
            if should_stop():
                raise _Stopped
            if current and current[0]["doc_sha256"] != record["doc_sha256"]:
                flush()
            current.append(record)
            report.records += 1
        if should_stop():  # the records may have ended because of it
            raise _Stopped
        flush()
        _write(staging / "annotation.conf", ANNOTATION_CONF.format(labels="|".join(map(escape_value, label_names))),
               file_mode)
        _write(staging / MANIFEST, json.dumps({"stancelabel": 1, "files": manifest}, ensure_ascii=False, indent=1)
               + "\n", file_mode)


#: BRAT's schema for the exported types, so the folder opens in BRAT as it is.
ANNOTATION_CONF = """[entities]
Source
Cue
Content

[relations]

[events]
Attribution\tSource?:Source, Cue?:Cue, Content?:Content

[attributes]
Stance\tArg:Attribution, Value:{labels}
Unsure\tArg:Attribution
"""
