"""Merging project files (and this tool's JSONL exports) from several annotators into one.

Documents meet by the SHA-256 of their text, attributions by their stable key,
annotators by name, labels by name, targets by text. Every input's event log is
copied into the output (an event already there, from a file merged before, is
recognised and not copied twice) and the current state is replayed from the
merged log in time order, so the later of two labels by one annotator wins, and
merging the same file twice, or a file already in, changes nothing.

Inputs are other people's files: each is opened through UntrustedProject (a
checked private copy, never attached to the output). The output is built in a
temporary file beside its target and renamed into place only when every input
was read: a failed merge leaves no output and changes no input.
"""

from __future__ import annotations

import gc
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stancelabel.core.errors import InputFileError, StanceLabelError
from stancelabel.core.model import ImportedAttribution, Label, SourceDocument, text_sha256
from stancelabel.store.project import Project
from stancelabel.team.untrusted import UntrustedProject

KEYS = "ABCDEFGHILMORVWYZ"  # free letters for labels whose own key is taken


@dataclass
class InputReport:
    path: str
    kind: str
    documents: int = 0
    documents_new: int = 0
    attributions_new: int = 0
    labels: int = 0
    events_new: int = 0
    events_duplicate: int = 0


@dataclass
class MergeReport:
    output: str
    inputs: list[InputReport] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    same_id_different_text: list[dict[str, Any]] = field(default_factory=list)
    labels_added: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"output": self.output, "inputs": [vars(x) for x in self.inputs], "conflicts": self.conflicts,
                "same_id_different_text": self.same_id_different_text, "labels_added": self.labels_added}


_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def _valid_name(name: object) -> bool:
    return isinstance(name, str) and bool(name.strip()) and name == name.strip() and name.isprintable()


def _check_spans(value: object, length: int) -> bool:
    return isinstance(value, list) and all(
        isinstance(x, list) and len(x) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in x)
        and 0 <= x[0] <= x[1] <= length for x in value)


def _check_event(kind: str, value: str, length: int) -> bool:
    """Whether an event's JSON value has the shape its kind needs (and names things that exist)."""
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError, RecursionError):
        return False
    if kind == "label":  # a label id no longer in the schema may stay in the history
        return parsed is None or (isinstance(parsed, int) and not isinstance(parsed, bool))
    if kind == "note":
        return isinstance(parsed, str) or parsed is None
    if kind == "flag":
        return isinstance(parsed, bool) or parsed is None
    if kind == "status":
        return parsed in ("active", "rejected")
    if kind == "span":
        return (isinstance(parsed, dict) and parsed.get("origin") in ("auto", "imported", "manual")
                and all(_check_spans(parsed.get(role), length) for role in ("source", "cue", "content")))
    if kind == "gold":
        return (isinstance(parsed, dict) and isinstance(parsed.get("label"), int)
                and not isinstance(parsed.get("label"), bool) and isinstance(parsed.get("note", ""), str))
    return False


def _time_order(event: tuple) -> tuple:
    return event[0], event[1], event[2]


def _map_value(kind: str, value: str, labels: dict[int, int | None]) -> str:
    """An event value (JSON text) with the input's label ids turned into the output's."""
    if kind == "label" and value != "null":
        mapped = labels.get(int(value))
        return "null" if mapped is None else str(mapped)
    if kind == "gold":
        parsed = json.loads(value)
        if isinstance(parsed, dict) and parsed.get("label") is not None:
            return json.dumps({**parsed, "label": labels.get(parsed["label"])})
    return value  # notes, flags, spans, status: the same in every file


class _Merger:
    def __init__(self, output: Project, report: MergeReport) -> None:
        self.out = output
        self.report = report
        self.seen_events: dict[tuple, int] = {}
        self.external_ids: dict[str, tuple[str, str]] = {}  # external id -> (sha, first file)
        self.final_labels: dict[tuple[str, str], list[tuple[str, str, str]]] = {}  # (key, annotator) -> labels
        self.first = True
        self.order = 0
        self.keys: set[str] | None = None
        self.origins: dict[int, int] = {}
        self.key_doc: dict[str, str] = {}  # attribution key -> its document's text hash

    # -- the label schema ---------------------------------------------------------------

    def label_map(self, source: UntrustedProject) -> dict[int, int | None]:
        rows = source.query("SELECT id, name, shortcut, colour, description, position FROM label ORDER BY position")
        theirs = [Label(r[1], r[2], r[3], r[4], r[5]) for r in rows]
        if self.first:
            self.out.save_labels(theirs)  # which checks the schema
        else:
            ours = self.out.labels()
            names = {label.name for label in ours}
            keys = {label.shortcut.upper() for label in ours}
            added = []
            for label in theirs:
                if label.name in names:
                    continue
                key = label.shortcut.upper()
                if key in keys or key.isdigit():
                    key = next((k for k in KEYS if k not in keys), "")
                if not key:
                    raise StanceLabelError(f"{source.path}: too many labels to give each a key")
                keys.add(key)
                added.append(Label(label.name, key, label.colour, label.description))
                self.report.labels_added.append(label.name)
            if added:
                self.out.save_labels([*ours, *added])
        by_name = {label.name: label.id for label in self.out.labels()}
        return {r[0]: by_name.get(r[1]) for r in rows}

    # -- one project file ---------------------------------------------------------------

    def add_project(self, source: UntrustedProject, item: InputReport) -> list[tuple]:
        """Documents, attributions and authors of an input; returns its events, mapped, for later."""
        labels = self.label_map(source)
        self.order += 1
        name = source.query("SELECT value FROM project_meta WHERE key = 'name'")
        self.origins[self.order] = self.out.merge_source_id(str(source.path), name[0][0] if name else source.path.stem)
        earlier_sources = {i: self.out.merge_source_id(f, p) for i, f, p in
                           source.query("SELECT id, file, project FROM merge_source")}
        if self.first:
            guidelines = source.query("SELECT value FROM project_meta WHERE key = 'guidelines'")
            if guidelines:
                self.out.set_guidelines(guidelines[0][0])
            self.first = False
        targets = dict(source.query("SELECT id, text FROM target"))
        present = self.out.document_shas()
        if self.keys is None:
            self.keys = set(self.out.attribution_ids_by_key())
        refuse = lambda reason: StanceLabelError(f"{source.path}: refused: {reason}; nothing was merged")  # noqa: E731
        documents = {i: (sha, length) for i, sha, length in source.query(
            "SELECT id, sha256, length(text) FROM document")}
        key_of, length_of = {}, {}
        for attribution_id, key, document_id, *spans in source.query(
                "SELECT id, key, document_id, source, cue, content FROM attribution"):
            sha, length = documents[document_id]
            try:
                parsed = [json.loads(x) for x in spans]
            except ValueError:
                parsed = None
            if parsed is None or not all(_check_spans(x, length) for x in parsed):
                raise refuse(f"attribution {key} has spans that are not offsets inside its document")
            if self.key_doc.setdefault(key, sha) != sha:
                raise refuse(f"attribution key {key} names attributions of two different documents")
            key_of[attribution_id], length_of[attribution_id] = key, length
        # One query for the attributions the output lacks (none, usually, after the first file).
        by_document: dict[int, list[tuple]] = {}
        if any(key not in self.keys for key in key_of.values()):
            for row in source.query("SELECT document_id, key, source, cue, content, origin, source_hint, "
                                    "suggestion FROM attribution ORDER BY id"):
                if row[1] not in self.keys:
                    by_document.setdefault(row[0], []).append(row[1:])
        for doc_id, external_id, title, text, sha, meta, source_file, target_id in source.query(
                "SELECT id, external_id, title, text, sha256, meta, source_file, target_id FROM document ORDER BY id"):
            if text_sha256(text) != sha:
                raise StanceLabelError(f"{source.path}: refused: document {external_id!r} does not match its own "
                                       "text hash (the file was altered); nothing was merged")
            item.documents += 1
            item.documents_new += sha not in present
            seen = self.external_ids.setdefault(external_id, (sha, str(source.path)))
            if seen[0] != sha:
                self.report.same_id_different_text.append(
                    {"doc_id": external_id, "files": [seen[1], str(source.path)]})
            attributions = []
            for key, src, cue, content, origin, hint, suggestion in by_document.get(doc_id, ()):
                if key in self.keys:  # already in the output, from an earlier input (or twice in this one)
                    continue
                self.keys.add(key)
                attributions.append((ImportedAttribution(
                    tuple(map(tuple, json.loads(src))), tuple(map(tuple, json.loads(cue))),
                    tuple(map(tuple, json.loads(content))), source_hint=hint, suggestion=suggestion, key=key,
                    origin=origin), origin))
            document = SourceDocument(external_id, text, source_file, title=title, meta=json.loads(meta),
                                      target=targets.get(target_id))
            if sha not in present or attributions:
                sentences = [] if sha in present else [(s, e) for s, e in source.query(
                    'SELECT start, "end" FROM sentence WHERE document_id = ? ORDER BY idx', (doc_id,))]
                if any(not 0 <= a <= b <= len(text) for a, b in sentences) or \
                        any(sentences[i][0] < sentences[i - 1][1] for i in range(1, len(sentences))):
                    raise refuse(f"document {external_id!r} has sentences outside its text or out of order")
                _, added = self.out.add_document(document, sentences, attributions=attributions)
                item.attributions_new += added
            present.add(sha)
        for key, annotator in source.query(
                "SELECT a.key, u.name FROM attribution_author x JOIN attribution a ON a.id = x.attribution_id "
                "JOIN annotator u ON u.id = x.annotator_id"):
            self.out.add_author(key, annotator)
        # Plain scans mapped through small dictionaries: cheaper than joins over a million rows.
        names = dict(source.query("SELECT id, name FROM annotator"))
        for name in names.values():
            if not _valid_name(name):
                raise refuse(f"annotator name {name!r} is empty or holds control characters")
        label_names = dict(source.query("SELECT id, name FROM label"))
        events = []
        order, append = self.order, events.append
        last_label: dict[tuple[str, str], tuple[int, str, str]] = {}
        rows = source.query("SELECT id, at, annotator_id, attribution_id, kind, value, previous, undoes, target_id, "
                            "source_id FROM event")
        event_ids = {row[0] for row in rows}
        for event_id, at, annotator_id, attribution_id, kind, value, previous, undoes, target_id, source_id in rows:
            key, annotator = key_of.get(attribution_id), names.get(annotator_id)
            if key is None or annotator is None:
                raise refuse(f"event {event_id} names an attribution or annotator that is not in the file")
            if not isinstance(at, str) or not _TIME.match(at):
                raise refuse(f"event {event_id} has no valid time (ISO 8601 UTC), got {at!r}")
            length = length_of[attribution_id]
            if not _check_event(kind, value, length) or not (previous == "null" or _check_event(kind, previous,
                                                                                                 length)):
                raise refuse(f"event {event_id} ({kind}) has a value of the wrong shape")
            if undoes is not None and undoes not in event_ids:
                raise refuse(f"event {event_id} undoes an event that is not in the file")
            if kind == "label":
                label = label_names.get(json.loads(value))
                if event_id > last_label.get((key, annotator), (0,))[0]:
                    last_label[(key, annotator)] = (event_id, at, label)
            if kind == "label" or kind == "gold":
                value, previous = _map_value(kind, value, labels), _map_value(kind, previous, labels)
            append((at, order, event_id, annotator, key, kind, value, previous, undoes,
                    targets.get(target_id), item, earlier_sources.get(source_id)))
        path = str(source.path)
        for (key, annotator), (_, at, label) in last_label.items():
            if label is not None:
                item.labels += 1
                self.final_labels.setdefault((key, annotator), []).append((at, label, path))
        return events

    def add_events(self, events: list[tuple]) -> None:
        """Every input's events in time order; one already in the output is not copied again."""
        ids: dict[tuple[int, int], int] = {}
        attribution_ids = self.out.attribution_ids_by_key()
        next_id = self.out.next_event_id()
        rows = []
        seen = self.seen_events
        events.sort(key=_time_order)  # time, then input order
        for at, order, event_id, annotator, key, kind, value, previous, undoes, target, item, earlier in events:
            identity = (at, annotator, key, kind, value)
            known = seen.get(identity)
            if known is not None:
                ids[(order, event_id)] = known
                item.events_duplicate += 1
                continue
            ids[(order, event_id)] = seen[identity] = next_id
            # an event merged before keeps the file it first came from
            rows.append((next_id, at, annotator, attribution_ids[key], kind, value, previous,
                         ids.get((order, undoes)) if undoes is not None else None, target,
                         earlier if earlier is not None else self.origins[order]))
            next_id += 1
            item.events_new += 1
        self.out.append_events(rows)

    def conflicts(self) -> None:
        """One annotator, one attribution, different labels in different files; with what the merge kept."""
        found = [(pair, labels) for pair, labels in self.final_labels.items()
                 if len(labels) > 1 and any(label != labels[0][1] for _, label, _ in labels)]
        kept = self.out.label_of_keys([pair for pair, _ in found]) if found else {}
        for (key, annotator), labels in sorted(found):
            labels.sort()
            self.report.conflicts.append({
                "key": key, "annotator": annotator,
                "labels": [{"label": label, "updated_at": updated, "file": path} for updated, label, path in labels],
                "kept": kept.get((key, annotator))})


def merge(output: Path, inputs: list[Path], blank_nlp=None, replace: bool = False) -> MergeReport:
    """Merge project files and JSONL exports into a new project file at ``output``.

    An existing ``output`` is replaced only with ``replace``, and never when it is one
    of the inputs or open (a -wal file beside it): a merge changes no input.
    """
    output = Path(output)
    if not inputs:
        raise StanceLabelError("nothing to merge: name the project files (and JSONL exports) to merge")
    if output.is_dir():
        raise StanceLabelError(f"{output}: is a folder; give the merged project's file name")
    if output.exists():
        if any(Path(x).exists() and os.path.samefile(output, x) for x in inputs):
            raise StanceLabelError(f"{output}: is also one of the files to merge; write the merge to a new file")
        if output.with_name(output.name + "-wal").exists():
            raise StanceLabelError(f"{output}: is open (in StanceLabel or another program); close it, or write "
                                   "the merge to a new file")
        if not replace:
            raise StanceLabelError(f"{output}: already exists; choose a new file (or --force to replace it)")
    report = MergeReport(output=str(output))
    folder = output.parent if str(output.parent) else Path(".")
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived tuples, no cycles: the collector would only slow the merge down
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=folder)
    os.close(handle)
    os.unlink(temporary)
    merged = None
    try:
        merged = Project.open(temporary, create=True, name=output.stem)
        merger = _Merger(merged, report)
        events: list[tuple] = []
        jsonl: list[tuple[Path, InputReport]] = []
        with merged.transaction():
            for path in inputs:
                path = Path(path)
                if path.suffix.lower() in (".jsonl", ".ndjson"):
                    item = InputReport(str(path), "jsonl")
                    jsonl.append((path, item))
                else:
                    item = InputReport(str(path), "project")
                    with UntrustedProject(path) as source:
                        events += merger.add_project(source, item)
                report.inputs.append(item)
            merger.add_events(events)
        merged.replay_events()
        merger.conflicts()
        for path, item in jsonl:
            _merge_jsonl(merged, path, item, blank_nlp)
        merged.close()
        merged = None
        os.replace(temporary, output)
    except BaseException:
        if merged is not None:
            merged.close()
        for leftover in (temporary, temporary + "-wal", temporary + "-shm"):
            Path(leftover).unlink(missing_ok=True)
        raise
    finally:
        if collecting:
            gc.enable()
    return report


def _merge_jsonl(project: Project, path: Path, item: InputReport, blank_nlp) -> None:
    from stancelabel.io.importer import ImportOptions, ImportReport, import_sources
    from stancelabel.io.jsonl import read_jsonl

    sources = read_jsonl(path)
    if not any(source.known_sha256 for source in sources):
        raise InputFileError(path, "not an export of this tool (no doc_sha256 and key); import documents with "
                                   "stancelabel import instead")
    nlp, info = blank_nlp if blank_nlp is not None else _blank()
    result = ImportReport()
    import_sources(project, sources, [str(path)], ImportOptions(detect=False), nlp, info, report=result)
    if result.errors:
        raise StanceLabelError(result.errors[0])
    item.documents = len({s.known_sha256 or s.sha256 for s in sources})
    item.documents_new = result.documents_added
    item.attributions_new = result.attributions_added
    item.labels = result.labels_added


def _blank():
    from stancelabel.nlp.pipeline import load_pipeline

    return load_pipeline("blank:en")


def format_merge(report: MergeReport) -> str:
    lines = [f"merged {len(report.inputs)} input(s) into {report.output}"]
    for item in report.inputs:
        lines.append(f"  {item.path}: {item.documents} document(s) ({item.documents_new} new), "
                     f"{item.attributions_new} new attribution(s), {item.labels} label(s), "
                     f"{item.events_new} event(s) added, {item.events_duplicate} already there")
    for name in report.labels_added:
        lines.append(f"  label {name!r} added to the schema")
    for entry in report.same_id_different_text:
        lines.append(f"  warning: document id {entry['doc_id']!r} has different texts in {', '.join(entry['files'])}"
                     " (kept as separate documents)")
    for conflict in report.conflicts:
        given = "; ".join(f"{x['label']} in {x['file']} ({x['updated_at']})" for x in conflict["labels"])
        lines.append(f"  conflict: {conflict['annotator']} labelled {conflict['key']} differently: {given}; "
                     f"kept {conflict['kept']} (the later)")
    return "\n".join(lines)
