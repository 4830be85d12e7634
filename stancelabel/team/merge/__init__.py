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
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stancelabel.core import spans as codec
from stancelabel.core.errors import InputFileError, StanceLabelError
from stancelabel.core.inputs import special_file
from stancelabel.core.model import Label, text_sha256
from stancelabel.core.outputs import Kind, plan_output
from stancelabel.core.tempfiles import sweep_stale_folders
from stancelabel.store.project import Project
from stancelabel.team.merge import staging
from stancelabel.team.merge.inputs import AHEAD, opened, refused
from stancelabel.team.merge.staging import Staging
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





class _Merger:
    def __init__(self, output: Project, report: MergeReport, staging: Staging) -> None:
        self.out = output
        self.staging = staging
        self.report = report
        self.external_ids: dict[str, tuple[str, str]] = {}  # external id -> (sha, first file)
        self.annotator_inputs: dict[str, int] = {}  # annotator name -> how many inputs name them
        self.staged_names: set[str] = set()  # the annotators of the inputs staged so far
        self.logs: list[tuple[InputReport, int, Future, UntrustedProject, set[str]]] = []
        self.sources: list[UntrustedProject] = []  # open until the staging thread is done with them
        self.first = True
        self.order = 0
        self.origins: dict[int, int] = {}

    # -- the label schema ---------------------------------------------------------------

    def label_map(self, source: UntrustedProject) -> dict[int, int | None]:
        rows = source.query("SELECT id, name, shortcut, colour, description, position FROM label ORDER BY position")
        theirs = [Label(r[1], r[2], r[3], r[4], r[5]) for r in rows]
        if self.first:
            try:
                self.out.save_labels(theirs)  # which checks the schema
            except StanceLabelError as error:
                raise refused(source, str(error)) from None
        else:
            ours = self.out.labels()
            names = {label.name.casefold() for label in ours}  # one label, whatever its case (as the schema rule)
            keys = {label.shortcut.upper() for label in ours}
            added = []
            for label in theirs:
                if label.name.casefold() in names:
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
                try:
                    self.out.save_labels([*ours, *added])
                except StanceLabelError as error:
                    raise refused(source, str(error)) from None
        by_name = {label.name.casefold(): label.id for label in self.out.labels()}
        return {r[0]: by_name.get(r[1].casefold()) for r in rows}

    # -- one project file ---------------------------------------------------------------

    def add_project(self, source: UntrustedProject, item: InputReport) -> Callable[[], None]:
        """Start merging an input: its labels into the output's schema, its keys and events to the staging
        thread. Returns what finishes it (documents, attributions and authors into the output), to be
        called in input order, best after the next input was started."""
        self.sources.append(source)
        labels = self.label_map(source)
        self.order += 1
        name = source.query("SELECT value FROM project_meta WHERE key = 'name'")
        self.origins[self.order] = self.out.merge_source_id(str(source.path), name[0][0] if name else source.path.stem)
        earlier = {i: self.out.merge_source_id(f, p) for i, f, p in
                   source.query("SELECT id, file, project FROM merge_source")}
        if self.first:
            guidelines = source.query("SELECT value FROM project_meta WHERE key = 'guidelines'")
            if guidelines:
                self.out.set_guidelines(guidelines[0][0])
            self.first = False
        refuse = lambda reason: refused(source, reason)  # noqa: E731
        names = {name for (name,) in source.query("SELECT name FROM annotator")}
        for name in names:
            self.annotator_inputs[name] = self.annotator_inputs.get(name, 0) + 1
        item.labels = source.query("SELECT count(*) FROM annotation n JOIN label l ON l.id = n.label_id")[0][0]
        order, origin = self.order, self.origins[self.order]

        def stage_keys() -> list[tuple]:
            """The input's attribution keys; the attributions it brings first (the output lacks them)."""
            with self.staging.input(source):
                fresh = self.staging.run(staging.ADD_KEYS, (order,))
                clash = self.staging.query(staging.KEY_CLASH, (order,))
                if clash:
                    raise refuse(f"attribution key {clash[0][0]} names attributions of two different documents")
                return self.staging.query(staging.NEW_ATTRIBUTIONS, (order,)) if fresh else []

        # Only an input whose annotators are an earlier input's can bring events already staged.
        overlap = bool(names & self.staged_names)
        self.staged_names |= names

        def stage_log() -> int:
            """The input's events (checked already, by _checked); how many were new."""
            with self.staging.input(source):
                for statement in staging.NAMES:
                    self.staging.run(statement, ())
                if overlap:
                    self.staging.run(staging.STAGING_IDENTITY, ())
                return self.staging.run(staging.event_rows(labels, earlier, overlap), (order, origin))

        fresh = self.staging.submit(stage_keys)
        self.logs.append((item, source.query("SELECT count(*) FROM event")[0][0], self.staging.submit(stage_log),
                          source, names))
        return lambda: self._add_documents(source, item, fresh)

    def _add_documents(self, source: UntrustedProject, item: InputReport, fresh: Future) -> None:
        refuse = lambda reason: refused(source, reason)  # noqa: E731
        targets = dict(source.query("SELECT id, text FROM target"))
        present = self.out.document_shas()
        # The attributions the output lacks (none, usually, after the first file): their spans are checked.
        by_document: dict[int, list[tuple]] = {}
        usual = codec.is_usual_json
        for document_id, key, n, *row in fresh.result():
            if not (usual(row[0], n) and usual(row[1], n) and usual(row[2], n)):
                spans = [codec.from_untrusted_json(value, n) for value in row[:3]]
                if None in spans:
                    raise refuse(f"attribution {key} has spans that are not offsets inside its document")
                row[:3] = [codec.to_json(x) for x in spans]
            by_document.setdefault(document_id, []).append((key, *row))
        copied, new = [], []
        sentences: dict[int, list[tuple[int, int]]] = {}
        if any(sha not in present for (sha,) in source.query("SELECT sha256 FROM document")):
            for document_id, start, end in source.rows('SELECT document_id, start, "end" FROM sentence '
                                                       "ORDER BY document_id, idx"):
                sentences.setdefault(document_id, []).append((start, end))
        for doc_id, external_id, title, text, sha, meta, source_file, target_id in source.query(
                "SELECT id, external_id, title, text, sha256, meta, source_file, target_id FROM document ORDER BY id"):
            if text_sha256(text) != sha:
                raise refuse(f"document {external_id!r} does not match its own text hash (the file was altered)")
            item.documents += 1
            item.documents_new += sha not in present
            seen = self.external_ids.setdefault(external_id, (sha, str(source.path)))
            if seen[0] != sha:
                self.report.same_id_different_text.append(
                    {"doc_id": external_id, "files": [seen[1], str(source.path)]})
            attributions = by_document.get(doc_id, ())
            if sha in present:
                if attributions:
                    out_id = self.out.document_id_by_sha(sha)
                    copied.extend((out_id, *row) for row in attributions)
                continue
            spans = sentences.get(doc_id, [])
            if any(not 0 <= a <= b <= len(text) for a, b in spans) or \
                    any(spans[i][0] < spans[i - 1][1] for i in range(1, len(spans))):
                raise refuse(f"document {external_id!r} has sentences outside its text or out of order")
            try:
                parsed = json.loads(meta)
            except (TypeError, ValueError, RecursionError):
                parsed = None
            if not isinstance(parsed, dict):
                raise refuse(f"document {external_id!r} has metadata that is not a JSON object")
            new.append(((external_id, title, text, sha, json.dumps(parsed, ensure_ascii=False), source_file,
                         targets.get(target_id), spans), doc_id))
            present.add(sha)
        try:
            ids = self.out.copy_documents([document for document, _ in new])
            for document, doc_id in new:
                copied.extend((ids[document[3]], *row) for row in by_document.get(doc_id, ()))
            item.attributions_new = self.out.copy_attributions(copied)
        except StanceLabelError as error:
            raise refuse(str(error)) from None
        for key, annotator in source.query(
                "SELECT a.key, u.name FROM attribution_author x JOIN attribution a ON a.id = x.attribution_id "
                "JOIN annotator u ON u.id = x.annotator_id"):
            self.out.add_author(key, annotator)

    def staged(self) -> None:
        """Wait for the staging thread (each input's count of new events); then stage the last labels
        of the annotators found in more than one input, to report where their files disagree."""
        for item, total, log, _, _ in self.logs:
            item.events_new = log.result()
            item.events_duplicate = total - item.events_new
        with self.staging.scratch():
            if self.staging.query("SELECT 1 FROM merge_event WHERE u_at IS NOT NULL LIMIT 1"):
                self.staging.run(staging.STAGING_IDENTITY, ())  # the copy finds undone events by their identity
        shared = {name for name, inputs in self.annotator_inputs.items() if inputs > 1}
        for item, _, _, source, names in self.logs:  # the staging thread is idle now
            if names & shared:
                with self.staging.input(source):
                    self.staging.run(staging.FINAL_LABELS, (item.path, json.dumps(sorted(names & shared))))

    def conflicts(self) -> None:
        """One annotator, one attribution, different labels in different files; with what the merge kept."""
        shared = sorted(name for name, inputs in self.annotator_inputs.items() if inputs > 1)
        found = staging.label_conflicts(self.out, shared) if shared else []  # one file per annotator: none
        kept = self.out.label_of_keys([(key, annotator) for key, annotator, _ in found]) if found else {}
        for key, annotator, labels in sorted(found):
            self.report.conflicts.append({
                "key": key, "annotator": annotator,
                "labels": [{"label": label, "updated_at": updated, "file": path} for updated, label, path in labels],
                "kept": kept.get((key, annotator))})


def merge(output: Path, inputs: list[Path], blank_nlp=None, replace: bool = False) -> MergeReport:
    """Merge project files and JSONL exports into a new project file at ``output``.

    An existing ``output`` is replaced only with ``replace``, and never when it is one
    of the inputs or open (a -wal file beside it): a merge changes no input.
    """
    if not inputs:
        raise StanceLabelError("nothing to merge: name the project files (and JSONL exports) to merge")
    paths = [Path(path) for path in inputs]
    for path in paths:
        if special_file(path):
            raise StanceLabelError(f"{path}: refused: it is {special_file(path)}, not a project file or JSONL "
                                   "export; nothing was merged")
    target = plan_output(output, Kind.PROJECT, reading=paths, reading_role="one of the files to merge",
                         replace=replace, replace_project=replace, force="--force")
    report = MergeReport(output=str(output))
    sweep_stale_folders()  # what merges killed earlier left in the temporary folder
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived tuples, no cycles: the collector would only slow the merge down
    merged = scratch = merger = None
    stopping = True
    try:
        with target.building() as temporary:
            scratch = Staging()
            merged = Project.open(temporary, create=True, name=Path(output).stem)
            merger = _Merger(merged, report, scratch)
            jsonl: list[tuple[Path, InputReport]] = []
            is_jsonl = [path.suffix.lower() in (".jsonl", ".ndjson") for path in paths]
            sources = opened([path for path, j in zip(paths, is_jsonl) if not j])
            with merged.transaction(), closing(sources):
                started: deque[Callable[[], None]] = deque()
                for path, j in zip(paths, is_jsonl):
                    if j:
                        item = InputReport(str(path), "jsonl")
                        jsonl.append((path, item))
                    else:
                        item = InputReport(str(path), "project")
                        started.append(merger.add_project(next(sources), item))
                        if len(started) > AHEAD:  # the staging thread has the next inputs' work meanwhile
                            started.popleft()()
                    report.inputs.append(item)
                while started:
                    started.popleft()()
                merger.staged()
            staging.attach(merged, scratch.path)
            staging.commit_staged_events(merged)
            merged.replay_events()
            merger.conflicts()
            staging.detach(merged)
            for path, item in jsonl:
                _merge_jsonl(merged, path, item, blank_nlp)
            merged.close()  # written without syncing (see staging.attach): building() syncs it
            merged = None
        stopping = False
    finally:
        if merged is not None:
            merged.close()
        if scratch is not None:
            scratch.close(stopping)  # after the work queued on its thread (cut short on an error)
        for source in merger.sources if merger is not None else ():
            source.close()
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
