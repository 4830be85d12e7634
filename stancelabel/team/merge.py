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
import shutil
import sqlite3
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stancelabel.core.errors import InputFileError, StanceLabelError
from stancelabel.core.inputs import special_file
from stancelabel.core.names import for_terminal, latest_acceptable_time, name_problem, text_problem
from stancelabel.core.outputs import Kind, plan_output
from stancelabel.core.tempfiles import private_folder, sweep_stale_folders
from stancelabel.core.model import Label, Spans, normalize_spans, text_sha256
from stancelabel.store.project import COPY_CACHE_KB, Project
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




def _bad_json_text(value: str) -> bool:
    """Whether a JSON string value holds text no export can carry (U+0000, an unpaired surrogate)."""
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError, RecursionError):
        return True
    return isinstance(parsed, str) and text_problem(parsed) is not None


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
                and not isinstance(parsed.get("label"), bool) and isinstance(parsed.get("note", ""), str)
                and text_problem(parsed.get("note", "")) is None)
    return False


_DIGITS = "[0-9][0-9]"
#: An event time as the store writes it: ISO 8601 in UTC, whole seconds or up to nine decimals.
_TIME_OK = (
    f"(e.at GLOB '{_DIGITS}{_DIGITS}-{_DIGITS}-{_DIGITS}T{_DIGITS}:{_DIGITS}:{_DIGITS}Z' "
    f"OR (e.at GLOB '{_DIGITS}{_DIGITS}-{_DIGITS}-{_DIGITS}T{_DIGITS}:{_DIGITS}:{_DIGITS}.[0-9]*Z' "
    "AND length(e.at) <= 30 AND NOT substr(e.at, 21, length(e.at) - 21) GLOB '*[^0-9]*'))"
)


def _json_type(column: str) -> str:
    return f"(CASE WHEN json_valid({column}) THEN json_type({column}) END)"


#: The value and previous value of an event have the shape its kind needs (span and gold
#: events, which name offsets and labels, are checked in Python, one by one).
_VALUE_OK = (
    "coalesce(CASE e.kind "
    f"WHEN 'label' THEN (e.value = 'null' OR {_json_type('e.value')} = 'integer') "
    f"AND (e.previous = 'null' OR {_json_type('e.previous')} = 'integer') "
    f"WHEN 'note' THEN {_json_type('e.value')} IN ('text', 'null') AND {_json_type('e.previous')} IN ('text', 'null') "
    "WHEN 'flag' THEN e.value IN ('true', 'false', 'null') AND e.previous IN ('true', 'false', 'null') "
    """WHEN 'status' THEN e.value IN ('"active"', '"rejected"') AND e.previous IN ('null', '"active"', '"rejected"') """
    "WHEN 'span' THEN 1 WHEN 'gold' THEN 1 ELSE 0 END, 0)"
)

#: The first event of an input that is not fit to merge, with the reason.
_EVENT_PROBLEM = f"""
    SELECT id, problem FROM (
        SELECT e.id, CASE
            WHEN a.id IS NULL OR u.id IS NULL THEN 'names an attribution or annotator that is not in the file'
            WHEN NOT {_TIME_OK} THEN 'has no valid time (ISO 8601 UTC)'
            WHEN strftime('%Y-%m-%dT%H:%M:%S', julianday(substr(e.at, 1, 19))) IS NOT substr(e.at, 1, 19)
                THEN 'has the time ' || e.at || ', which is not a real date and time'
            WHEN e.at > ?1 THEN 'is dated ' || e.at || ', more than a day after this computer''s clock (was it '
                                || 'written on a machine whose clock is wrong?)'
            WHEN e.kind = 'note' AND (instr(e.value, '\\u') AND sl_bad_text(e.value)
                                      OR instr(e.previous, '\\u') AND sl_bad_text(e.previous))
                THEN 'holds a note with U+0000 or an unpaired surrogate, which no export can carry'
            WHEN NOT {_VALUE_OK} THEN 'has a value of the wrong shape'
            WHEN e.undoes IS NOT NULL AND x.id IS NULL THEN 'undoes an event that is not in the file'
        END AS problem
        FROM event e LEFT JOIN attribution a ON a.id = e.attribution_id
        LEFT JOIN annotator u ON u.id = e.annotator_id LEFT JOIN event x ON x.id = e.undoes)
    WHERE problem IS NOT NULL ORDER BY id LIMIT 1"""


def _mapped(value: str, kind: str) -> str:
    """SQL for an event value (JSON text) with the input's label ids turned into the output's (``lmap``)."""
    return (f"CASE WHEN {kind} = 'label' AND {value} != 'null' THEN "
            f"coalesce((SELECT CAST(out AS TEXT) FROM lmap WHERE id = CAST({value} AS INTEGER)), 'null') "
            f"WHEN {kind} = 'gold' AND json_extract({value}, '$.label') IS NOT NULL THEN "
            f"json_set({value}, '$.label', (SELECT out FROM lmap WHERE id = json_extract({value}, '$.label'))) "
            f"ELSE {value} END")


def _values(pairs: dict[int, int | None]) -> str:
    """A VALUES list of integer pairs (ids from integer columns), never empty."""
    rows = [f"({int(a)}, {'NULL' if b is None else int(b)})" for a, b in pairs.items()]
    return ", ".join(rows) or "(NULL, NULL)"


def _event_rows(labels: dict[int, int | None], earlier: dict[int, int | None], dedupe: bool) -> str:
    """SQL staging every event of an input (attached as ``input``) in the scratch (Project.STAGING_SCHEMA):
    label ids mapped through ``labels``, merge sources through ``earlier``; with ``dedupe``, events
    already staged from an earlier input are left out. Parameters: the input's number, its source id."""
    return (f"INSERT INTO merge_event WITH lmap(id, out) AS (VALUES {_values(labels)}), "
            f"smap(id, out) AS (VALUES {_values(earlier)}) {_EVENT_SELECT} "
            f"WHERE {_NOT_STAGED if dedupe else 'true'} ORDER BY e.id")


_EVENT_SELECT = f"""
    SELECT e.at, u.name, a.key, e.kind, {_mapped('e.value', 'e.kind')}, ?1, e.id, {_mapped('e.previous', 'e.kind')},
           x.at, xu.name, xa.key, x.kind, {_mapped('x.value', 'x.kind')}, {_mapped('x.previous', 'x.kind')},
           t.text, coalesce(s.out, ?2)
    FROM input.event e JOIN input.attribution a ON a.id = e.attribution_id
    JOIN input.annotator u ON u.id = e.annotator_id
    LEFT JOIN input.target t ON t.id = e.target_id LEFT JOIN smap s ON s.id = e.source_id
    LEFT JOIN input.event x ON x.id = e.undoes LEFT JOIN input.attribution xa ON xa.id = x.attribution_id
    LEFT JOIN input.annotator xu ON xu.id = x.annotator_id"""

#: The event is not staged yet (from an earlier input): merging a file already in, or twice, adds nothing.
_NOT_STAGED = f"""NOT EXISTS (
    SELECT 1 FROM merge_event m WHERE m.at = e.at AND m.annotator = u.name AND m.key = a.key AND m.kind = e.kind
    AND m.value = {_mapped('e.value', 'e.kind')} AND m.previous = {_mapped('e.previous', 'e.kind')})"""

#: The annotators with events in an input, and its target texts.
_NAMES = (
    "INSERT OR IGNORE INTO merge_name SELECT name FROM input.annotator u "
    "WHERE EXISTS (SELECT 1 FROM input.event e WHERE e.annotator_id = u.id)",
    "INSERT OR IGNORE INTO merge_text SELECT text FROM input.target",
)

#: Each (attribution, annotator)'s last label in an input, when it names a label, for the annotators
#: named (a JSON list): those of more than one input, whose labels may disagree between files.
_FINAL_LABELS = """
    INSERT INTO merge_label SELECT a.key, u.name, l.name, e.at, ?1 FROM input.event e
    JOIN (SELECT max(id) AS id FROM input.event WHERE kind = 'label' GROUP BY attribution_id, annotator_id) m ON m.id = e.id
    JOIN input.attribution a ON a.id = e.attribution_id JOIN input.annotator u ON u.id = e.annotator_id
    JOIN input.label l ON e.value != 'null' AND l.id = CAST(e.value AS INTEGER)
    WHERE u.name IN (SELECT value FROM json_each(?2))"""


#: One span as the store writes it (the usual case), numbers without leading zeros.
_ONE_SPAN = re.compile(r"\[\[(0|[1-9][0-9]{0,9}),(0|[1-9][0-9]{0,9})\]\]")


def _usual_spans(value: str, length: int) -> bool:
    """No span, or exactly one ``[[start,end]]`` with 0 <= start < end <= length: nothing to parse or normalise."""
    if value == "[]":
        return True
    match = _ONE_SPAN.fullmatch(value)
    return match is not None and int(match[1]) < int(match[2]) <= length


#: The input's attribution keys, each with its document's text hash, into the scratch (see
#: Project.STAGING_SCHEMA); a key met before that names another document is marked.
_ADD_KEYS = """
    INSERT INTO merge_key (key, sha, ord)
    SELECT a.key, d.sha256, ?1 FROM input.attribution a JOIN input.document d ON d.id = a.document_id WHERE true
    ON CONFLICT (key) DO UPDATE SET clash = excluded.ord WHERE sha != excluded.sha"""

_KEY_CLASH = "SELECT key FROM merge_key WHERE clash = ?1 LIMIT 1"

#: The attributions this input brought first (so not yet in the output), with their text's length.
_NEW_ATTRIBUTIONS = """
    WITH d AS MATERIALIZED (SELECT id, length(text) AS n FROM input.document)
    SELECT a.document_id, a.key, d.n, a.source, a.cue, a.content, a.origin, a.source_hint, a.suggestion
    FROM merge_key k JOIN input.attribution a ON a.key = k.key JOIN d ON d.id = a.document_id
    WHERE k.ord = ?1 ORDER BY a.id"""


def _parsed_spans(values: list[str], length: int) -> list[Spans] | None:
    """Spans (JSON text) parsed, checked to lie inside a text of ``length`` and normalised; None if they do not."""
    try:
        parsed = [json.loads(x) for x in values]
    except (TypeError, ValueError, RecursionError):
        return None
    if not all(_check_spans(x, length) for x in parsed):
        return None
    return [normalize_spans(x) for x in parsed]


def _spans_json(spans: Spans) -> str:
    return json.dumps([list(s) for s in spans], separators=(",", ":"))


def _refused(source: UntrustedProject, reason: str) -> StanceLabelError:
    return StanceLabelError(f"{source.path}: refused: {reason}; nothing was merged")


def _checked(path: Path) -> UntrustedProject:
    """An input opened as a checked private copy, its rows checked where SQLite's own checks cannot reach:
    names, event times and values, references between rows."""
    source = UntrustedProject(path)
    try:
        refuse = lambda reason: _refused(source, reason)  # noqa: E731
        for (name,) in source.query("SELECT name FROM annotator"):
            problem = name_problem(name)
            if problem:
                raise refuse(f"annotator name {for_terminal(repr(name))} {problem}")
        source.conn.create_function("sl_bad_text", 1, _bad_json_text, deterministic=True)
        problem = source.query(_EVENT_PROBLEM, (latest_acceptable_time(),))
        if problem:
            raise refuse(f"event {problem[0][0]} {problem[0][1]}")
        for event_id, kind, value, previous, length in source.rows(
                "SELECT e.id, e.kind, e.value, e.previous, length(d.text) FROM event e "
                "JOIN attribution a ON a.id = e.attribution_id JOIN document d ON d.id = a.document_id "
                "WHERE e.kind IN ('span', 'gold')"):
            if not _check_event(kind, value, length) or not (previous == "null" or _check_event(kind, previous,
                                                                                                 length)):
                raise refuse(f"event {event_id} ({kind}) has a value of the wrong shape")
        orphan = source.query("SELECT key FROM attribution WHERE document_id NOT IN (SELECT id FROM document) "
                              "LIMIT 1")
        if orphan:
            raise refuse(f"attribution {orphan[0][0]} belongs to no document in the file")
    except BaseException:
        source.close()
        raise
    return source


#: How many inputs are opened and checked ahead of the one being merged (each is a private copy on disk).
AHEAD = 4


def _opened(paths: list[Path]) -> Iterator[UntrustedProject]:
    """Each input checked and opened in turn, the next ones on a worker thread while the caller merges this one
    (SQLite leaves Python's lock while it reads, so the threads share the machine's cores). The caller closes
    each input it was given."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="merge-input") as pool:
        upcoming = deque(pool.submit(_checked, path) for path in paths[:AHEAD])
        try:
            for index in range(len(paths)):
                source = upcoming.popleft().result()
                if index + AHEAD < len(paths):
                    upcoming.append(pool.submit(_checked, paths[index + AHEAD]))
                yield source  # the caller closes it
        finally:
            for future in upcoming:  # stopped early: the copies being opened are thrown away too
                if not future.cancel():
                    try:
                        future.result().close()
                    except BaseException:  # noqa: S110 - the error that stopped the merge is the one to report
                        pass


class _Staging:
    """A scratch database (in a private folder) where the inputs' event logs are staged, SQL to SQL.

    Each input's checked private copy is attached here read-only, never to the output; the
    output attaches this scratch, which holds only rows in tables of our own making.
    """

    def __init__(self) -> None:
        self.folder = private_folder("staging")
        self.path = self.folder / "staging.sqlite"
        # Used only from its own thread, one statement after another, while the main thread writes the output.
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="merge-staging")
        self.conn = sqlite3.connect(self.path, uri=True, isolation_level=None, check_same_thread=False)
        for pragma in ("trusted_schema = OFF", "journal_mode = OFF", "synchronous = OFF",
                       f"cache_size = -{COPY_CACHE_KB}", f"threads = {min(os.cpu_count() or 1, 4)}"):
            self.conn.execute(f"PRAGMA {pragma}")
        for statement in Project.STAGING_SCHEMA:
            self.conn.execute(statement)

    def submit(self, work: Callable[[], Any]) -> Future:
        """Run ``work`` on the staging thread, after the work submitted before it."""
        return self.pool.submit(work)

    @contextmanager
    def input(self, source: UntrustedProject) -> Iterator[None]:
        """The input attached while the block runs; SQLite failures in it become one line naming the
        input (damage quick_check did not reach) or the scratch folder (full, unwritable)."""
        source.attach(self.conn, "input")
        try:
            yield
        except (sqlite3.DatabaseError, UnicodeDecodeError) as error:
            code = getattr(error, "sqlite_errorcode", 0) & 0xFF
            if isinstance(error, UnicodeDecodeError) or code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
                raise _refused(source, f"damaged ({error})") from None
            raise self._failed(error) from None
        finally:
            self.conn.execute("DETACH DATABASE input")

    @contextmanager
    def scratch(self) -> Iterator[None]:
        """Work on the scratch database alone: its failures (a full temporary disk) name its folder."""
        try:
            yield
        except sqlite3.DatabaseError as error:
            raise self._failed(error) from None

    def _failed(self, error: sqlite3.Error) -> StanceLabelError:
        reason = ("the disk is full" if getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL
                  else str(error))
        return StanceLabelError(f"{self.folder}: the merge's scratch space failed ({reason}; it is in the "
                                "system's temporary folder, TMPDIR); nothing was merged")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.conn.execute(sql, params).fetchall()

    def run(self, sql: str, params: tuple) -> int:
        """One statement copying rows from the attached input; how many rows it wrote."""
        self.conn.execute("BEGIN")
        try:
            count = self.conn.execute(sql, params).rowcount
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return count

    def close(self, stopping: bool = False) -> None:
        """Close, after the work queued on its thread; when ``stopping`` (an error, Ctrl+C) a statement
        still running is interrupted rather than waited for."""
        if stopping:
            self.conn.interrupt()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.conn.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class _Merger:
    def __init__(self, output: Project, report: MergeReport, staging: _Staging) -> None:
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
                raise _refused(source, str(error)) from None
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
                    raise _refused(source, str(error)) from None
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
        refuse = lambda reason: _refused(source, reason)  # noqa: E731
        names = {name for (name,) in source.query("SELECT name FROM annotator")}
        for name in names:
            self.annotator_inputs[name] = self.annotator_inputs.get(name, 0) + 1
        item.labels = source.query("SELECT count(*) FROM annotation n JOIN label l ON l.id = n.label_id")[0][0]
        order, origin = self.order, self.origins[self.order]

        def stage_keys() -> list[tuple]:
            """The input's attribution keys; the attributions it brings first (the output lacks them)."""
            with self.staging.input(source):
                fresh = self.staging.run(_ADD_KEYS, (order,))
                clash = self.staging.query(_KEY_CLASH, (order,))
                if clash:
                    raise refuse(f"attribution key {clash[0][0]} names attributions of two different documents")
                return self.staging.query(_NEW_ATTRIBUTIONS, (order,)) if fresh else []

        # Only an input whose annotators are an earlier input's can bring events already staged.
        overlap = bool(names & self.staged_names)
        self.staged_names |= names

        def stage_log() -> int:
            """The input's events (checked already, by _checked); how many were new."""
            with self.staging.input(source):
                for statement in _NAMES:
                    self.staging.run(statement, ())
                if overlap:
                    self.staging.run(Project.STAGING_IDENTITY, ())
                return self.staging.run(_event_rows(labels, earlier, overlap), (order, origin))

        fresh = self.staging.submit(stage_keys)
        self.logs.append((item, source.query("SELECT count(*) FROM event")[0][0], self.staging.submit(stage_log),
                          source, names))
        return lambda: self._add_documents(source, item, fresh)

    def _add_documents(self, source: UntrustedProject, item: InputReport, fresh: Future) -> None:
        refuse = lambda reason: _refused(source, reason)  # noqa: E731
        targets = dict(source.query("SELECT id, text FROM target"))
        present = self.out.document_shas()
        # The attributions the output lacks (none, usually, after the first file): their spans are checked.
        by_document: dict[int, list[tuple]] = {}
        for document_id, key, n, *row in fresh.result():
            if not (_usual_spans(row[0], n) and _usual_spans(row[1], n) and _usual_spans(row[2], n)):
                spans = _parsed_spans(row[:3], n)
                if spans is None:
                    raise refuse(f"attribution {key} has spans that are not offsets inside its document")
                row[:3] = [_spans_json(x) for x in spans]
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
                self.staging.run(Project.STAGING_IDENTITY, ())  # the copy finds undone events by their identity
        shared = {name for name, inputs in self.annotator_inputs.items() if inputs > 1}
        for item, _, _, source, names in self.logs:  # the staging thread is idle now
            if names & shared:
                with self.staging.input(source):
                    self.staging.run(_FINAL_LABELS, (item.path, json.dumps(sorted(names & shared))))

    def conflicts(self) -> None:
        """One annotator, one attribution, different labels in different files; with what the merge kept."""
        shared = sorted(name for name, inputs in self.annotator_inputs.items() if inputs > 1)
        found = self.out.staged_label_conflicts(shared) if shared else []  # one file per annotator: none
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
                         replace=replace, replace_project=replace)
    report = MergeReport(output=str(output))
    sweep_stale_folders()  # what merges killed earlier left in the temporary folder
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived tuples, no cycles: the collector would only slow the merge down
    merged = staging = merger = None
    stopping = True
    try:
        with target.building() as temporary:
            staging = _Staging()
            merged = Project.open(temporary, create=True, name=Path(output).stem)
            merger = _Merger(merged, report, staging)
            jsonl: list[tuple[Path, InputReport]] = []
            is_jsonl = [path.suffix.lower() in (".jsonl", ".ndjson") for path in paths]
            sources = _opened([path for path, j in zip(paths, is_jsonl) if not j])
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
            merged.attach_staging(staging.path)
            merged.commit_staged_events()
            merged.replay_events()
            merger.conflicts()
            merged.detach_staging()
            for path, item in jsonl:
                _merge_jsonl(merged, path, item, blank_nlp)
            merged.close()  # written without syncing (see Project.attach_staging): building() syncs it
            merged = None
        stopping = False
    finally:
        if merged is not None:
            merged.close()
        if staging is not None:
            staging.close(stopping)  # after the work queued on its thread (cut short on an error)
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
