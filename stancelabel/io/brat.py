"""Reading BRAT standoff attributions: NAME.txt with NAME.ann or NAME_ANNOTATOR.ann files."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from stancelabel.core.errors import InputFileError, StanceLabelError
from stancelabel.core.model import (
    ImportedAttribution,
    LabelRecord,
    SourceDocument,
    Spans,
    attribution_key,
    normalize_spans,
    normalize_target,
)
from stancelabel.core.names import clean_name, text_problem
from stancelabel.io.textfile import check_length, decode, newline_map, read_bytes

ROLES = ("source", "cue", "content")
#: Subfolder names that hold .ann files beside a text/ folder.
ANNOTATION_FOLDERS = ("attributions", "ann", "annotations")
_ID = re.compile(r"^[A-Za-z#*][0-9]*\t")
_TEXT_BOUND = re.compile(r"^(T\d+)\t(\S+) ([0-9 ;]+)\t(.*)$", re.DOTALL)
_OFFSETS = re.compile(r"^T\d+\t\S+ ([0-9 ;]+)\t")
_ROLE_DIGITS = re.compile(r"\d+$")

Warn = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BratPair:
    """A text file with the annotation files that belong to it (one per annotator)."""

    text: Path
    annotations: tuple[tuple[Path, str | None], ...]
    #: the document id and target claim this tool's export recorded for the text (stancelabel.json)
    doc_id: str | None = None
    target: str | None = None


@dataclass(slots=True)
class BratFolders:
    """What a set of BRAT folders holds: texts with their .ann files, and .ann files without a text."""

    pairs: list[BratPair] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)


def _folders(root: Path) -> tuple[list[Path], list[Path]]:
    texts = [root / "text"] if (root / "text").is_dir() else [root]
    anns = [root / d for d in ANNOTATION_FOLDERS if (root / d).is_dir()] or [root]
    return texts, anns


def _match(ann: Path, stems: set[str]) -> tuple[str, str | None] | None:
    """(text stem, annotator) for an .ann file: NAME.ann, or NAME_ANNOTATOR.ann with the longest NAME."""
    if ann.stem in stems:
        return ann.stem, None
    name = ann.stem
    while "_" in name:
        name, _, _ = name.rpartition("_")
        if name in stems:
            return name, ann.stem[len(name) + 1:].strip() or None
    return None


MANIFEST = "stancelabel.json"
#: A file list of a million documents with long ids stays well below this.
MAX_MANIFEST_BYTES = 256 << 20


def read_manifest(folder: Path, warn: Warn | None = None) -> dict[str, dict[str, str | None]]:
    """``stancelabel.json`` of a folder this tool exported: file name -> {doc_id} for texts and
    {text, annotator} for annotation files; empty when there is none (or, with a warning, a bad one)."""
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ValueError(f"larger than {MAX_MANIFEST_BYTES >> 20} MiB")
        data, _ = decode(path, read_bytes(path))
        files = json.loads(data)["files"]
        if not isinstance(files, dict):
            raise ValueError("'files' is not an object")
        out: dict[str, dict[str, str | None]] = {}
        for name, entry in files.items():
            if not isinstance(entry, dict):
                raise ValueError(f"entry {name!r} is not an object")
            kept = {k: entry.get(k) for k in ("doc_id", "text", "annotator", "target")}
            if not all(v is None or isinstance(v, str) for v in kept.values()) or "/" in name or name.startswith("."):
                raise ValueError(f"entry {name!r} is not a file name with text fields")
            problem = next((p for v in kept.values() if isinstance(v, str) and (p := text_problem(v))), None)
            if problem:
                raise ValueError(f"entry {name!r} {problem}")
            out[name] = kept
        return out
    except (InputFileError, ValueError, KeyError, TypeError, RecursionError) as error:
        if warn is not None:
            warn(f"{path}: not a valid file list of this tool ({error}); names are taken from the file names")
        return {}


def find_pairs(*roots: Path, warn: Warn | None = None) -> BratFolders:
    """Pair every NAME.txt below the BRAT folders with NAME.ann and NAME_ANNOTATOR.ann files.

    Accepts flat folders, folders with ``text/`` and ``attributions/`` (or ``ann/``)
    subfolders as PolNeAR is laid out, and a text folder and an annotation
    folder named side by side. An .ann file is paired with a text of its own
    folder first; one left over goes to the only text of that name elsewhere.
    """
    found: dict[Path, list[tuple[Path, str | None]]] = {}
    leftovers: list[Path] = []
    doc_ids: dict[Path, str] = {}
    targets: dict[Path, str] = {}
    for root in roots:
        text_dirs, ann_dirs = _folders(root)
        texts = {p.stem: p for d in text_dirs for p in sorted(d.glob("*.txt"))}
        stems = set(texts)
        manifest = read_manifest(root, warn)
        for text in texts.values():
            found.setdefault(text, [])
            entry = manifest.get(text.name, {})
            if entry.get("doc_id") is not None:
                doc_ids[text] = entry["doc_id"]
            if entry.get("target") is not None:
                targets[text] = entry["target"]
        for ann in sorted({p for d in ann_dirs for p in d.glob("*.ann")}):
            entry = manifest.get(ann.name, {})
            listed = entry.get("text")
            if listed is not None and listed.endswith(".txt") and listed[:-4] in texts:
                found[texts[listed[:-4]]].append((ann, entry.get("annotator")))
                continue
            match = _match(ann, stems)
            if match:
                found[texts[match[0]]].append((ann, match[1]))
            else:
                leftovers.append(ann)
    by_stem: dict[str, list[Path]] = {}
    for text in found:
        by_stem.setdefault(text.stem, []).append(text)
    stems = set(by_stem)
    result = BratFolders()
    for ann in leftovers:
        match = _match(ann, stems)
        if match and len(by_stem[match[0]]) == 1:
            found[by_stem[match[0]][0]].append((ann, match[1]))
        else:
            result.orphans.append(ann)
    result.pairs = [BratPair(text, tuple(anns), doc_ids.get(text), targets.get(text))
                    for text, anns in sorted(found.items(), key=lambda x: str(x[0]))]
    return result


def _parse_offsets(path: Path, number: int, raw: str, limit: int) -> Spans:
    spans = []
    for piece in raw.split(";"):
        parts = piece.split()
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise InputFileError(path, f"bad offsets {raw!r} (expected 'START END' or 'S E;S E')", line=number)
        start, end = int(parts[0]), int(parts[1])
        if start > end:
            raise InputFileError(path, f"span {start}-{end} ends before it starts", line=number)
        if end > limit:
            raise InputFileError(path, f"span {start}-{end} lies outside the text ({limit} characters)", line=number)
        spans.append((start, end))
    return tuple(spans)


def _covered_length(line: str) -> int | None:
    """How long the covered text of a T line should be, from its offsets, if they parse."""
    match = _OFFSETS.match(line)
    if not match:
        return None
    try:
        pieces = [tuple(int(x) for x in piece.split()) for piece in match.group(1).split(";")]
        return sum(end - start for start, end in pieces) + len(pieces) - 1
    except ValueError:
        return None


def _logical_lines(data: str) -> list[tuple[int, str]]:
    """Lines of an .ann file, with span text that holds line breaks joined back.

    BRAT writes the covered text after the offsets; when that text holds a line
    break, the rest of it spills onto the following lines. A following line is
    taken as spilled text only while the covered text is shorter than its
    offsets say, so a malformed line is still reported as its own line.
    """
    out: list[tuple[int, str]] = []
    parts: list[str] = []
    number = 0
    have = wanted = 0
    for index, line in enumerate(data.split("\n"), start=1):
        line = line.rstrip("\r")
        if parts and have < wanted:
            parts.append(line)
            have += 1 + len(line)
            continue
        if parts:
            out.append((number, "\n".join(parts)))
            parts = []
        if not line.strip():
            continue
        if line.startswith("T"):
            number, parts = index, [line]
            wanted = _covered_length(line) or 0
            have = len(line.split("\t", 2)[-1])
        else:
            out.append((index, line))
    if parts:
        out.append((number, "\n".join(parts)))
    return out


def read_ann(path: Path, text: str, annotator: str | None, warn: Warn, shift: int = 0,
             marks: list[tuple[int, str | None, str, bool, str | None]] | None = None) -> list[ImportedAttribution]:
    """Attributions of one .ann file against its text; all of them, or an InputFileError.

    With ``marks``, stances this tool wrote (``A1<TAB>Stance E1 denies``, ``Unsure``
    attributes, ``AnnotatorNotes`` and ``Target`` comments) are collected as
    (attribution index, label, note, flagged, target).
    """
    data, _ = decode(path, read_bytes(path))
    spans: dict[str, tuple[str, Spans]] = {}
    events: list[tuple[int, str, str]] = []
    stances: dict[str, str] = {}
    unsure: set[str] = set()
    notes: dict[str, str] = {}
    targets: dict[str, str] = {}
    ignored = 0
    for number, line in _logical_lines(data):
        if line.startswith("A") and marks is not None:
            fields = line.split("\t", 1)[-1].split()
            if len(fields) == 3 and fields[0] == "Stance" and fields[1].startswith("E"):
                stances[fields[1]] = unquote(fields[2], errors="strict") if _valid_escapes(fields[2]) else fields[2]
                continue
            if len(fields) == 2 and fields[0] == "Unsure" and fields[1].startswith("E"):
                unsure.add(fields[1])
                continue
        if line.startswith("#") and marks is not None:
            parts = line.split("\t", 2)
            head = parts[1].split() if len(parts) == 3 else []
            if len(head) == 2 and head[0] in ("AnnotatorNotes", "Target") and head[1].startswith("E"):
                value = _unescape_note(parts[2])
                problem = text_problem(value)
                if problem:
                    raise InputFileError(path, f"the {'note' if head[0] == 'AnnotatorNotes' else 'target'} "
                                         f"{problem}", line=number)
                (notes if head[0] == "AnnotatorNotes" else targets)[head[1]] = value
                continue
        if line.startswith("T"):
            match = _TEXT_BOUND.match(line)
            if not match:
                raise InputFileError(path, "malformed text-bound line (expected 'T1<TAB>Type START END<TAB>text')",
                                     line=number)
            ident, kind, raw, covered = match.groups()
            offsets = tuple((s - shift, e - shift) for s, e in _parse_offsets(path, number, raw, len(text) + shift))
            if any(s < 0 for s, _ in offsets):
                raise InputFileError(path, f"span {raw} lies outside the text", line=number)
            actual = " ".join(text[s:e] for s, e in offsets)
            if actual != covered and actual.replace("\n", " ") != covered.replace("\n", " "):
                raise InputFileError(
                    path, f"{ident} text {_short(covered)!r} does not match the document at {raw} "
                    f"({_short(actual)!r}); is this the .ann file of this text?", line=number)
            spans[ident] = (kind, offsets)
        elif line.startswith("E"):
            parts = line.split("\t")
            if len(parts) < 2 or not parts[1].split():
                raise InputFileError(path, "malformed event line (expected 'E1<TAB>Type:T1 Role:T2 ...')", line=number)
            events.append((number, parts[0], parts[1]))
        else:
            ignored += 1  # notes (#), attributes (A), relations (R), normalisations (N), ...
    attributions = []
    skipped = 0
    for number, ident, body in events:
        roles: dict[str, list[tuple[int, int]]] = {"source": [], "cue": [], "content": []}
        for position, argument in enumerate(body.split()):
            role, _, target = argument.partition(":")
            if target not in spans:
                raise InputFileError(path, f"{ident} refers to {target!r}, which is not defined", line=number)
            base = _ROLE_DIGITS.sub("", role).lower() if position else None  # 0: the trigger
            if base in ROLES:
                roles[base].extend(spans[target][1])
        source, cue, content = (normalize_spans(roles[r]) for r in ROLES)  # drops zero-width spans
        if not cue and not content:
            skipped += 1
            continue
        if marks is not None and (ident in stances or ident in notes or ident in unsure):
            marks.append((len(attributions), stances.get(ident), notes.get(ident, ""), ident in unsure,
                          targets.get(ident)))
        attributions.append(ImportedAttribution(source=source, cue=cue, content=content, annotator=annotator))
    if ignored:
        warn(f"{path}: ignored {ignored} line(s) other than spans and events (notes, attributes, relations)")
    if skipped:
        warn(f"{path}: skipped {skipped} event(s) with neither a cue nor a content")
    return attributions


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}
_HEX = frozenset("0123456789abcdefABCDEF")


def _unescape_note(note: str) -> str:
    """Reverse the escapes this tool's BRAT export writes in notes (\\n, \\t, \\r, \\\\, \\u2028)."""
    out, i = [], 0
    while i < len(note):
        if note[i] == "\\" and i + 1 < len(note) and note[i + 1] in _ESCAPES:
            out.append(_ESCAPES[note[i + 1]])
            i += 2
        elif note[i] == "\\" and note[i + 1:i + 2] == "u" and len(note) >= i + 6 and set(note[i + 2:i + 6]) <= _HEX:
            out.append(chr(int(note[i + 2:i + 6], 16)))
            i += 6
        else:
            out.append(note[i])
            i += 1
    return "".join(out)


def _valid_escapes(value: str) -> bool:
    """Whether every ``%`` of an attribute value starts a percent-escape of UTF-8 (this tool's exports);
    a value from another tool with a bare ``%`` is taken as it is."""
    try:
        unquote(value, errors="strict")
    except UnicodeDecodeError:
        return False
    return all(value[i + 1:i + 3] and set(value[i + 1:i + 3]) <= _HEX and len(value[i + 1:i + 3]) == 2
               for i, c in enumerate(value) if c == "%")


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def read_pair(pair: BratPair, default_annotator: str | None, warn: Warn,
              errors: list[str]) -> SourceDocument | None:
    """One text with the attributions of each of its .ann files.

    All-or-nothing per file: a bad .ann file is reported in ``errors`` and
    contributes nothing, while the other annotators' files of the same text are
    kept. When every .ann file of a text is bad, the text is skipped too (None).
    A bad text raises InputFileError. CRLF line ends are normalised as
    for plain text, with the offsets mapped, so the document is the same
    whichever way it was imported.
    """
    raw, had_bom = decode(pair.text, read_bytes(pair.text))
    if not raw.strip():
        raise InputFileError(pair.text, "empty text, nothing to annotate")
    check_length(pair.text, raw)
    text, mapping = newline_map(raw) if "\r" in raw else (raw, None)
    external_id = pair.doc_id if pair.doc_id is not None else pair.text.stem
    document = SourceDocument(external_id=external_id, text=text, source_file=str(pair.text),
                              title=external_id, detect=False, target=normalize_target(pair.target))
    failed = 0
    for ann, annotator in pair.annotations:
        who = annotator or default_annotator
        if who is not None:
            try:
                who = clean_name(who, "annotator name")
            except StanceLabelError as error:
                errors.append(str(InputFileError(ann, str(error))))
                failed += 1
                continue
        marks: list[tuple[int, str | None, str, bool, str | None]] = []
        try:
            try:
                found = read_ann(ann, raw, who, warn, shift=1 if had_bom else 0, marks=marks)
            except InputFileError:
                if not had_bom:
                    raise
                # Some tools count the byte-order mark as a character, others do not.
                marks.clear()
                found = read_ann(ann, raw, who, warn, shift=0, marks=marks)
        except InputFileError as error:
            errors.append(str(error))
            failed += 1
            continue
        if mapping is not None:
            for item in found:
                item.source, item.cue, item.content = (
                    tuple((mapping[s], mapping[e]) for s, e in spans)
                    for spans in (item.source, item.cue, item.content))
        document.attributions.extend(found)
        if who:
            document.annotators.append(who)
        for index, label, note, flagged, target in marks:
            item = found[index]
            key = attribution_key(document.sha256, *(normalize_spans(x) for x in (item.source, item.cue, item.content)))
            document.labels.append(LabelRecord(key=key, annotator=who or "imported", label=label, note=note,
                                               flagged=flagged, target=target, where=str(ann),
                                               target_known=target is not None))
    if pair.annotations and failed == len(pair.annotations):
        return None
    return document
