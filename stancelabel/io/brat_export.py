"""BRAT standoff export: NAME.txt and NAME_ANNOTATOR.ann per document, as PolNeAR and INCEpTION read them.

Each attribution is an ``Attribution`` event over ``Source``, ``Cue`` and ``Content``
spans (its trigger on the cue); the label is the event's ``Stance`` attribute, a
flag an ``Unsure`` attribute, a note an ``AnnotatorNotes`` comment. Attributions
nobody labelled (``--all``) go to NAME.ann. The folder is written beside its
target and swapped in whole, so an interrupted export leaves the earlier one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.tempfiles import partial_prefix, sweep_partials

_UNSAFE = re.compile(r"[^\w.-]+")
_ROLE_TYPES = (("source", "Source"), ("cue", "Cue"), ("content", "Content"))


def _file_stem(doc_id: str, sha: str, used: dict[str, str]) -> str:
    stem = _UNSAFE.sub("_", doc_id).strip("._") or "document"
    if used.get(stem, sha) != sha:  # two documents with the same id: tell them apart
        stem = f"{stem}-{sha[:8]}"
    used[stem] = sha
    return stem


def _annotator_suffix(annotator: str | None) -> str:
    """``_NAME``; a name that had to change to be a safe file name gets a short hash, so two never collide."""
    if annotator is None:
        return ""
    safe = _UNSAFE.sub("-", annotator).strip("-") or "annotator"
    if safe != annotator:
        safe += "-" + hashlib.sha1(annotator.encode("utf-8")).hexdigest()[:6]
    return "_" + safe


def escape_value(value: str) -> str:
    """A label name as one BRAT attribute value: no spaces (percent-encoded, as is ``%``)."""
    return value.replace("%", "%25").replace(" ", "%20")


def escape_note(note: str) -> str:
    """A note on one line: backslash, line breaks and tabs written as escapes the importer reverses."""
    return note.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


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


def _write(path: Path, content: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())


def write_brat(records: Iterator[dict[str, Any]], target: Path, report, should_stop: Callable[[], bool],
               document_text: Callable[[str], str], label_names: list[str]) -> None:
    """Write the records as a BRAT folder at ``target``, replacing an earlier export there whole."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise StanceLabelError(f"{target}: is a file; BRAT export writes a folder")
    if target.is_dir() and any(p.suffix not in (".txt", ".ann", ".conf") for p in target.iterdir()):
        raise StanceLabelError(f"{target}: the folder holds other files than a BRAT export; choose an empty "
                               "or new folder")
    parent = target.parent if str(target.parent) else Path(".")
    try:
        sweep_partials(target)
        staging = Path(tempfile.mkdtemp(prefix=partial_prefix(target), suffix=".partial", dir=parent))
    except OSError as error:
        raise StanceLabelError(f"{target}: cannot write here ({error.strerror})") from None
    try:
        used: dict[str, str] = {}
        current: list[dict[str, Any]] = []

        def flush() -> None:
            if not current:
                return
            sha = current[0]["doc_sha256"]
            text = document_text(sha)
            stem = _file_stem(current[0]["doc_id"], sha, used)
            _write(staging / f"{stem}.txt", text)
            by_annotator: dict[str | None, list[dict[str, Any]]] = {}
            for record in current:
                by_annotator.setdefault(record["annotator"], []).append(record)
            for annotator, group in by_annotator.items():
                _write(staging / f"{stem}{_annotator_suffix(annotator)}.ann", "\n".join(ann_lines(group, text)) + "\n")
            current.clear()

        for record in records:
            if should_stop():
                return
            if current and current[0]["doc_sha256"] != record["doc_sha256"]:
                flush()
            current.append(record)
            report.records += 1
        if should_stop():  # the records may have ended because of it
            return
        flush()
        _write(staging / "annotation.conf", ANNOTATION_CONF.format(labels="|".join(map(escape_value, label_names))))
        _swap_in(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _swap_in(staging: Path, target: Path) -> None:
    if not target.exists():
        os.replace(staging, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)


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
