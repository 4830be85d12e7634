"""Reading BRAT standoff attributions: NAME.txt with NAME.ann or NAME_ANNOTATOR.ann files."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stancelabel.core.errors import InputFileError
from stancelabel.core.model import ImportedAttribution, SourceDocument, Spans, normalize_spans
from stancelabel.io.textfile import decode, read_bytes

ROLES = {"source": "source", "cue": "cue", "content": "content"}
_ID = re.compile(r"^[A-Za-z#*][0-9]*\t")
_TEXT_BOUND = re.compile(r"^(T\d+)\t(\S+) ([0-9 ;]+)\t(.*)$", re.DOTALL)
_ROLE_DIGITS = re.compile(r"\d+$")

Warn = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BratPair:
    """A text file with the annotation files that belong to it (one per annotator)."""

    text: Path
    annotations: tuple[tuple[Path, str | None], ...]


#: Subfolder names that hold .ann files beside a text/ folder.
ANNOTATION_FOLDERS = ("attributions", "ann", "annotations")


def _folders(root: Path) -> tuple[list[Path], list[Path]]:
    texts = [root / "text"] if (root / "text").is_dir() else [root]
    anns = [root / d for d in ANNOTATION_FOLDERS if (root / d).is_dir()] or [root]
    return texts, anns


def find_pairs(*roots: Path) -> list[BratPair]:
    """Pair every NAME.txt below the BRAT folders with NAME.ann and NAME_ANNOTATOR.ann files.

    Accepts flat folders or ones with ``text/`` and ``attributions/`` (or ``ann/``)
    subfolders, as PolNeAR is laid out, and a text folder and an annotation
    folder named side by side. When one text's name is a prefix of another's, an
    .ann file goes to the longest name it matches.
    """
    text_dirs: list[Path] = []
    ann_dirs: list[Path] = []
    for root in roots:
        texts, anns = _folders(root)
        text_dirs += texts
        ann_dirs += anns
    texts = sorted({p for d in text_dirs for p in d.glob("*.txt")})
    by_stem = {p.stem: p for p in texts}
    stems = sorted(by_stem, key=len, reverse=True)
    found: dict[str, list[tuple[Path, str | None]]] = {stem: [] for stem in by_stem}
    for ann in sorted({p for d in ann_dirs for p in d.glob("*.ann")}):
        if ann.stem in by_stem:
            found[ann.stem].append((ann, None))
            continue
        for stem in stems:
            if ann.stem.startswith(stem + "_"):
                found[stem].append((ann, ann.stem[len(stem) + 1:]))
                break
    return [BratPair(by_stem[stem], tuple(found[stem])) for stem in sorted(by_stem)]


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


def _logical_lines(data: str) -> list[tuple[int, str]]:
    """Lines of an .ann file; a line without an ID continues the previous text-bound line.

    BRAT writes the covered text after the offsets, and when that text holds a
    line break the rest of it spills onto the following lines.
    """
    out: list[tuple[int, str]] = []
    for number, line in enumerate(data.split("\n"), start=1):
        line = line.rstrip("\r")
        if out and out[-1][1].startswith("T") and not _ID.match(line):
            out[-1] = (out[-1][0], out[-1][1] + "\n" + line)
        elif line.strip():
            out.append((number, line))
    return out


def read_ann(path: Path, text: str, annotator: str | None, warn: Warn, shift: int = 0) -> list[ImportedAttribution]:
    """Attributions of one .ann file against its text; all of them, or an InputFileError."""
    data, _ = decode(path, read_bytes(path))
    spans: dict[str, tuple[str, Spans]] = {}
    events: list[tuple[int, str, str]] = []
    ignored = 0
    for number, line in _logical_lines(data):
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
            if actual.rstrip("\n") != covered.rstrip("\n") and actual.replace("\n", " ") != covered.replace("\n", " "):
                raise InputFileError(
                    path, f"{ident} text {_short(covered)!r} does not match the document at {raw} "
                    f"({_short(actual)!r}); is this the .ann file of this text?", line=number)
            spans[ident] = (kind, offsets)
        elif line.startswith("E"):
            parts = line.split("\t")
            if len(parts) < 2:
                raise InputFileError(path, "malformed event line (expected 'E1<TAB>Type:T1 Role:T2 ...')", line=number)
            events.append((number, parts[0], parts[1]))
        else:
            ignored += 1  # notes (#), attributes (A), relations (R), normalisations (N), ...
    attributions = []
    skipped = 0
    for number, ident, body in events:
        roles: dict[str, list[tuple[int, int]]] = {"source": [], "cue": [], "content": []}
        for argument in body.split()[1:]:
            role, _, target = argument.partition(":")
            if target not in spans:
                raise InputFileError(path, f"{ident} refers to {target!r}, which is not defined", line=number)
            base = ROLES.get(_ROLE_DIGITS.sub("", role).lower())
            if base:
                roles[base].extend(spans[target][1])
        if not roles["cue"] and not roles["content"]:
            skipped += 1
            continue
        attributions.append(ImportedAttribution(
            source=normalize_spans(roles["source"]), cue=normalize_spans(roles["cue"]),
            content=normalize_spans(roles["content"]), annotator=annotator))
    if ignored:
        warn(f"{path}: ignored {ignored} line(s) other than spans and events (notes, attributes, relations)")
    if skipped:
        warn(f"{path}: skipped {skipped} event(s) with neither a cue nor a content")
    return attributions


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def read_pair(pair: BratPair, default_annotator: str | None, warn: Warn) -> SourceDocument:
    """One text and all its .ann files as a document; any bad file refuses the whole pair."""
    text, had_bom = decode(pair.text, read_bytes(pair.text))
    document = SourceDocument(external_id=pair.text.stem, text=text, source_file=str(pair.text),
                              title=pair.text.stem)
    for ann, annotator in pair.annotations:
        who = annotator or default_annotator
        try:
            found = read_ann(ann, text, who, warn, shift=1 if had_bom else 0)
        except InputFileError:
            if not had_bom:
                raise
            # Some tools count the byte-order mark as a character, others do not.
            found = read_ann(ann, text, who, warn, shift=0)
        document.attributions.extend(found)
        if who:
            document.annotators.append(who)
    return document
