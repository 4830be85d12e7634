"""The local side of a sync: a project file's events in the server's terms, and pulled events written back.

Events travel with names, not row ids (labels by name, attributions by key, annotators by name), and
are recognised by the identity ``merge`` uses: time, annotator, attribution, kind, value and previous
value. Pulled events are inserted in one SQLite transaction with the cursor that says they arrived,
tagged with the server as their origin (``event.source_id``, the merge provenance), and the current
state of what they touch is recomputed as ``Project.replay_events`` computes it: per annotator and
attribution the latest label, note and flag, per attribution the latest spans, status and gold
decision, "latest" by event time, so the later of two labels wins whichever arrived first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import normalize_target, text_sha256
from stancelabel.core.names import check_text, clean_name, latest_acceptable_time, name_problem, text_problem
from stancelabel.server.schema import EVENT_KINDS
from stancelabel.store.connection import COPY_CACHE_KB, indexes_rebuilt
from stancelabel.store.project import Project, utc_now

#: project_meta keys a synced file keeps (no secrets: the connection string has no password).
SERVER = "server"
PUSHED_EVENT = "server_pushed_event"      # the last local event id pushed
PULLED_EVENT = "server_pulled_event"      # the last server event seq pulled
PUSHED_ATTRIBUTION = "server_pushed_attribution"
PULLED_ATTRIBUTION = "server_pulled_attribution"
PULLED_AUTHORS = "server_pulled_authors"  # how many author rows the server had when last read
PUSHED_DOCUMENT = "server_pushed_document"  # the last local document id pushed ('' unknown: ask the server)
SEEN_DOCUMENTS = "server_seen_documents"    # how many documents (of the share) the server had when last read
TO_FILL = "server_documents_to_fill"        # pulled documents whose earlier attributions and events may be due
GUIDELINES = "server_guidelines"            # the guidelines the file and the server last agreed on

_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def working_copy_annotator(project: Project) -> str | None:
    """Whose working copy of a shared project this file is (``join`` records it), or None: the window
    labels a working copy as that annotator only, since the server takes no other name from their role."""
    raw = project.get_setting("server_annotator") if project.get_setting(SERVER) else None
    if not raw:
        return None
    try:
        return clean_name(raw, "annotator name")
    except StanceLabelError:
        return None


def identity(at: str, annotator: str, key: str, kind: str, value: Any, previous: Any) -> str:
    """An event's identity on the server: merge's (at, annotator, attribution key, kind, value, previous)."""
    text = json.dumps([at, annotator, key, kind, value, previous], ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _named(kind: str, text: str | None, names: dict[int, str]) -> Any:
    """A stored JSON value with label ids replaced by label names (a label since removed: null)."""
    value = json.loads(text) if text is not None else None
    if kind == "label":
        return names.get(value) if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "gold" and isinstance(value, dict):
        value = dict(value)
        value["label"] = names.get(value.get("label"))
    return value


def _local(kind: str, value: Any, ids: dict[str, int]) -> str:
    """A server value as this file stores it (label names back to this file's label ids)."""
    if kind == "label":
        value = ids.get(value) if isinstance(value, str) else None
    elif kind == "gold" and isinstance(value, dict):
        value = dict(value)
        value["label"] = ids.get(value.get("label"))
    return json.dumps(value)


@dataclass
class ServerEvent:
    """An event as the server holds it."""

    ident: str
    at: str
    annotator: str
    key: str
    kind: str
    value: str      # JSON with label names
    previous: str
    undoes: str | None
    target: str | None

    def row(self) -> tuple:
        return (self.ident, self.at, self.annotator, self.key, self.kind, self.value, self.previous, self.undoes,
                self.target)


def _label_names(conn: sqlite3.Connection) -> dict[int, str]:
    return dict(conn.execute("SELECT id, name FROM label").fetchall())


def local_events(project: Project, after: int, *, skip_source: int | None, annotator: str | None = None,
                 limit: int = 5000) -> tuple[list[ServerEvent], int]:
    """The file's events after id ``after`` in the server's terms, oldest first, leaving out those that
    came from the server (``skip_source``) and, for an annotator, everyone else's; and the last id read."""
    with project.reading() as conn:  # one consistent reading, no write lock: the window's saver goes on
        names = _label_names(conn)
        rows = conn.execute(
            "SELECT e.id, e.source_id, e.at, u.name, a.key, e.kind, e.value, e.previous, t.text, "
            "x.at, xu.name, xa.key, x.kind, x.value, x.previous "
            "FROM event e JOIN annotator u ON u.id = e.annotator_id JOIN attribution a ON a.id = e.attribution_id "
            "LEFT JOIN target t ON t.id = e.target_id LEFT JOIN event x ON x.id = e.undoes "
            "LEFT JOIN annotator xu ON xu.id = x.annotator_id LEFT JOIN attribution xa ON xa.id = x.attribution_id "
            "WHERE e.id > ? ORDER BY e.id LIMIT ?", (after, limit)).fetchall()
    out, last = [], after
    # (kind, value, previous) -> both named, and as JSON text: a batch of labels holds a handful
    seen: dict[tuple[str, str | None, str | None], tuple[Any, Any, str, str]] = {}
    for (event_id, source_id, at, who, key, kind, value, previous, target, x_at, x_who, x_key, x_kind, x_value,
         x_previous) in rows:
        last = event_id
        if kind not in EVENT_KINDS or (annotator is not None and who != annotator) or \
                (skip_source is not None and source_id == skip_source):
            continue
        undoes = identity(x_at, x_who, x_key, x_kind, _named(x_kind, x_value, names),
                          _named(x_kind, x_previous, names)) if x_at else None
        named = seen.get((kind, value, previous))
        if named is None:
            v, p = _named(kind, value, names), _named(kind, previous, names)
            named = seen[kind, value, previous] = (v, p, json.dumps(v, ensure_ascii=False),
                                                   json.dumps(p, ensure_ascii=False))
        out.append(ServerEvent(identity(at, who, key, kind, named[0], named[1]), at, who, key, kind, named[2],
                               named[3], undoes, target))
    return out, last


def local_attributions(project: Project, after: int) -> tuple[list[tuple], list[tuple], int]:
    """Attributions with ids after ``after`` as server rows (key, sha256, source, cue, content, origin,
    hint, suggestion, status, created at), their authors (key, annotator), and the last id read."""
    with project.reading() as conn:
        rows = conn.execute(
            "SELECT a.id, a.key, d.sha256, a.source, a.cue, a.content, a.origin, a.source_hint, a.suggestion, "
            "a.status, a.created_at FROM attribution a JOIN document d ON d.id = a.document_id WHERE a.id > ? "
            "ORDER BY a.id", (after,)).fetchall()
        authors = conn.execute(
            "SELECT a.key, u.name FROM attribution_author x JOIN attribution a ON a.id = x.attribution_id "
            "JOIN annotator u ON u.id = x.annotator_id WHERE a.id > ?", (after,)).fetchall()
    last = rows[-1][0] if rows else after
    return [r[1:] for r in rows], authors, last


def documents_after(project: Project, after: int, limit: int, leave_out: set[str] = frozenset()) \
        -> tuple[list[tuple], int]:
    """The documents with ids after ``after`` (at most ``limit``, -1: all) as server rows, leaving out
    the hashes in ``leave_out``, and the last id read (``after`` when there is none)."""
    with project.reading() as conn:
        documents = conn.execute(
            "SELECT d.id, d.sha256, d.external_id, d.title, d.text, d.meta, d.source_file, t.text "
            "FROM document d LEFT JOIN target t ON t.id = d.target_id WHERE d.id > ? ORDER BY d.id LIMIT ?",
            (after, limit)).fetchall()
        if not documents:
            return [], after
        last = documents[-1][0]
        sentences: dict[int, list[list[int]]] = {}
        for document_id, start, end in conn.execute('SELECT document_id, start, "end" FROM sentence WHERE '
                                                    "document_id > ? AND document_id <= ? ORDER BY document_id, idx",
                                                    (after, last)):
            sentences.setdefault(document_id, []).append([start, end])
    return [(sha, external_id, title, text, json.dumps(json.loads(meta), ensure_ascii=False), source_file,
             target, json.dumps(sentences.get(document_id, [])))
            for document_id, sha, external_id, title, text, meta, source_file, target in documents
            if sha not in leave_out], last


def checked_documents(rows: Iterable[tuple], refused: list[str]) -> list[tuple]:
    """Server documents (external id, title, text, sha256, meta, source file, target, sentences as JSON) as
    ``Project.copy_documents`` takes them; one this version cannot store, or whose text does not have the
    hash it is named by, is left out with a line in ``refused``."""
    from stancelabel.store.documents import check_document

    out = []
    for external_id, title, text, sha, meta, source_file, target, sentences in rows:
        try:
            check_document(external_id, title, text, json.loads(meta))
            if text_sha256(text) != sha:
                raise ValueError("its text does not have the hash it is named by")
            spans = [(int(a), int(b)) for a, b in json.loads(sentences)]
        except (StanceLabelError, TypeError, ValueError) as error:
            refused.append(f"document {external_id!r} ({str(sha)[:12]}): {error}")
            continue
        out.append((external_id, title, text, sha, meta, source_file, target, spans))
    return out


def add_documents(project: Project, rows: Sequence[tuple], refused: list[str]) -> list[str]:
    """Server documents (external id, title, text, sha256, meta, source file, target, sentences as JSON)
    the file lacks, in one transaction with their hashes noted in ``TO_FILL`` (their attributions and
    events already pulled past are fetched for them next, see sync's ``fill_documents``); returns the
    hashes added. A document this version cannot store is left out with a line in ``refused``."""
    with project.transaction() as conn:
        present = {r[0] for r in conn.execute("SELECT sha256 FROM json_each(?) j JOIN document d ON d.sha256 = "
                                              "j.value", (json.dumps([r[3] for r in rows]),))}
        fresh = []
        for row in checked_documents([r for r in rows if r[3] not in present], refused):
            if row[3] not in present:  # the same document twice in the rows
                present.add(row[3])
                fresh.append(row)
        if fresh:
            project.copy_documents(fresh)
            waiting = conn.execute("SELECT value FROM project_meta WHERE key = ?", (TO_FILL,)).fetchone()
            _set(conn, TO_FILL, json.dumps(sorted({*json.loads(waiting[0] if waiting and waiting[0] else "[]"),
                                                   *(x[3] for x in fresh)})))
    return [x[3] for x in fresh]


def add_authors(project: Project, rows: Sequence[tuple[str, str]], seen: int) -> int:
    """Who proposed which attribution (key, annotator), for the attributions this copy holds, in one
    transaction with ``seen`` (the server's row count read); returns how many were new here."""
    fine = set()
    for name in {name for _, name in rows}:
        try:
            if clean_name(name, "annotator name") == name:
                fine.add(name)
        except StanceLabelError:
            pass  # not a name this version stores (as a merge leaves out such an author)
    rows = [row for row in rows if row[1] in fine]
    with project.transaction() as conn:
        before = conn.total_changes
        conn.execute("INSERT OR IGNORE INTO annotator (name, created_at) SELECT DISTINCT j.value ->> 1, ? "
                     "FROM json_each(?) j JOIN attribution a ON a.key = j.value ->> 0",
                     (utc_now(), json.dumps(rows)))
        added = conn.total_changes - before
        conn.execute("INSERT OR IGNORE INTO attribution_author (attribution_id, annotator_id) "
                     "SELECT a.id, u.id FROM json_each(?) j JOIN attribution a ON a.key = j.value ->> 0 "
                     "JOIN annotator u ON u.name = j.value ->> 1", (json.dumps(rows),))
        added = conn.total_changes - before - added
        _set(conn, PULLED_AUTHORS, seen)
    return added


def waiting(project: Project, source: str) -> int:
    """How many of the file's events the server has not had yet: those after the push cursor that did
    not come from it (``source``: its merge-source project name, ``server:SCHEMA``)."""
    with project.reading() as conn:
        after = conn.execute("SELECT value FROM project_meta WHERE key = ?", (PUSHED_EVENT,)).fetchone()
        return conn.execute("SELECT count(*) FROM event WHERE id > ? AND source_id IS NOT "
                            "(SELECT max(id) FROM merge_source WHERE project = ?)",
                            (int(after[0]) if after else 0, source)).fetchone()[0]


def last_ids(project: Project) -> tuple[int, int]:
    """The highest event and attribution ids of the file."""
    with project.reading() as conn:
        return (conn.execute("SELECT coalesce(max(id), 0) FROM event").fetchone()[0],
                conn.execute("SELECT coalesce(max(id), 0) FROM attribution").fetchone()[0])


# -- pulling --------------------------------------------------------------------------------------


@dataclass
class Pulled:
    events: int = 0
    already: int = 0
    elsewhere: int = 0          # events of attributions this copy does not hold (another share)
    refused: list[str] = field(default_factory=list)


_VALUE_OK = {
    "label": lambda v: v is None or isinstance(v, str),
    "note": lambda v: v is None or (isinstance(v, str) and text_problem(v) is None),
    "flag": lambda v: v is None or isinstance(v, bool),
    "status": lambda v: v in (None, "active", "rejected", "withdrawn"),
    "span": lambda v: v is None or (isinstance(v, dict) and v.get("origin") in ("auto", "imported", "manual")
                                    and all(_spans_ok(v.get(r)) for r in ("source", "cue", "content"))),
    "gold": lambda v: v is None or (isinstance(v, dict) and isinstance(v.get("note", ""), str)
                                    and (v.get("label") is None or isinstance(v.get("label"), str))),
}


def _problem(event: ServerEvent, latest: str) -> tuple[str | None, Any, Any]:
    """Why an event from the server cannot go into a project file (None: it can), and its value and
    previous value read."""
    if event.kind not in EVENT_KINDS:
        return f"has an unknown kind {event.kind!r}", None, None
    if not _TIME.match(event.at) or event.at > latest:
        return f"has the time {event.at!r}, not a valid time or more than a day ahead", None, None
    if _bad_name(event.annotator):
        return "names an annotator whose name is not printable text", None, None
    try:
        value, previous = json.loads(event.value), json.loads(event.previous)
    except (TypeError, ValueError, RecursionError):
        return "holds a value that is not JSON", None, None
    ok = _VALUE_OK[event.kind]
    if not (ok(value) and ok(previous)) or (event.kind in ("status", "span") and value is None):
        return f"holds a {event.kind} value this version cannot read", value, previous
    return None, value, previous


def _bad_name(name: str) -> bool:
    """An annotator's name no project file may hold (as ``Project.add_annotator`` checks it): refused
    with its event, rather than stopping the sync at that event every time."""
    return bool(text_problem(name) or not name.strip() or name_problem(name.strip()))


def _spans_ok(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(x, list) and len(x) == 2 and all(isinstance(n, int) and not isinstance(n, bool) for n in x)
        and 0 <= x[0] <= x[1] for x in value)


def _id(conn: sqlite3.Connection, table: str, column: str, value: str) -> int:
    row = conn.execute(f"SELECT id FROM {table} WHERE {column} = ?", (value,)).fetchone()
    if row:
        return row[0]
    return conn.execute(f"INSERT INTO {table} ({column}, created_at) VALUES (?, ?)", (value, utc_now())).lastrowid


def _checked(event: ServerEvent, ids: dict[str, int]) -> tuple[str | None, Any, str, str]:
    """What an event's kind, value and previous value allow: why it cannot go into the file (None: it
    can, as far as they go; its time and annotator are checked apart), the value read, and the value and
    previous value as the file stores them. The same for every event with the same three."""
    problem, value, previous = _problem(replace(event, at=_SOME_TIME, annotator="x"), _SOME_TIME)
    if problem is None and event.kind == "note" and value:
        try:
            check_text(value, "the note")
        except StanceLabelError as error:
            problem = str(error)
    if problem is not None:
        return problem, value, "", ""
    return None, value, _local(event.kind, value, ids), _local(event.kind, previous, ids)


_SOME_TIME = "2000-01-01T00:00:00Z"


class Fresh:
    """What a pull into a file being made (join) keeps from batch to batch: nobody else writes the file
    until it is complete, so its attributions are read once, and the (attribution, time) of every event
    it holds is remembered as one bit of a hash, so that a batch asks the file only about the moments it
    may hold already (a bit set: few) rather than probing the log for every pulled event."""

    BITS = 1 << 26  # 8 MB: about 1.5% of moments asked about in vain at a million events

    def __init__(self) -> None:
        self.attributions: dict[str, tuple[int, int]] | None = None
        self.bits = bytearray(self.BITS >> 3)

    def start(self, conn: sqlite3.Connection) -> dict[str, tuple[int, int]]:
        """The file's attributions, key -> (id, document id); on the first batch, the file's events noted."""
        if self.attributions is None:
            self.attributions = {key: (attribution_id, document_id) for key, attribution_id, document_id in
                                 conn.execute("SELECT key, id, document_id FROM attribution")}
            self.hold(conn.execute("SELECT attribution_id, at FROM event"))
        return self.attributions

    def hold(self, moments: Iterable[tuple[int, str]]) -> None:
        bits, mask = self.bits, self.BITS - 1
        for moment in moments:
            h = hash(moment) & mask
            bits[h >> 3] |= 1 << (h & 7)

    def may_hold(self, moment: tuple[int, str]) -> bool:
        h = hash(moment) & (self.BITS - 1)
        return bool(self.bits[h >> 3] & (1 << (h & 7)))


@contextmanager
def building(project: Project) -> Iterator[Fresh]:
    """A pull into a file being made (join), which nobody reads until it is complete and which is
    thrown away if the join fails: written as a merge writes its output (a rollback journal in memory,
    no syncing: ``target.building()`` syncs the finished file), and the event log's indexes built once
    at the end, as the merge does, but ``event_by_attribution``, which each batch needs (the file's
    events at a pulled one's moment, the earlier events an undo names). As in the merge, foreign keys
    are not checked row by row meanwhile: ``apply_events`` writes only ids it found in the file or
    gave itself (attributions, annotators and targets looked up, undone events in ``known``)."""
    conn = project.connection
    conn.execute("PRAGMA journal_mode = MEMORY")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA foreign_keys = OFF")
    with indexes_rebuilt(conn, "event", keep=("event_by_attribution",)):
        yield Fresh()
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")


def apply_events(project: Project, events: Sequence[ServerEvent], source_id: int, cursor: tuple[str, int],
                 report: Pulled, *, annotations: bool = True, fresh: Fresh | None = None) -> None:
    """Insert pulled events not yet in the file and recompute what they touch, with the pull cursor,
    in one transaction: interrupted, nothing of it is there and the next pull brings it again.

    Set-based, a few queries a batch whatever its size: the attributions in one, the file's events
    that could be the same as a pulled one (same attribution and time; identity is checked on those
    only) in one, and the touched annotations recomputed in one statement (``annotations`` False: left
    to ``recompute_annotations`` once at the end, for a file nobody reads until it is complete)."""
    latest = latest_acceptable_time()
    with project.transaction() as conn:
        ids = {name: i for i, name in _label_names(conn).items()}
        names = {i: name for name, i in ids.items()}
        attributions: dict[str, tuple[int, int]] = fresh.start(conn) if fresh is not None else {
            key: (attribution_id, document_id) for key, attribution_id, document_id in conn.execute(
                "SELECT a.key, a.id, a.document_id FROM json_each(?) j JOIN attribution a ON a.key = j.value",
                (json.dumps(sorted({e.key for e in events})),))}  # key -> (attribution id, document id)
        # the lengths of the documents of span events only: length() reads a document's whole text
        lengths: dict[int, int] = dict(conn.execute(
            "SELECT id, length(text) FROM document WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted({attributions[e.key][1] for e in events
                                if e.kind == "span" and e.key in attributions})),))) if any(
            e.kind == "span" for e in events) else {}
        # the file's events with the attribution and time of a pulled one: the only ones it can already have
        moments = {(attributions[e.key][0], e.at) for e in events if e.key in attributions}
        if fresh is not None:
            moments = {moment for moment in moments if fresh.may_hold(moment)}
        keys = {attributions[e.key][0]: e.key for e in events if e.key in attributions} if moments else {}
        known: dict[str, int] = {}  # identity -> event id
        for event_id, attribution_id, who, at, kind, value, previous in conn.execute(
                "SELECT e.id, e.attribution_id, u.name, e.at, e.kind, e.value, e.previous FROM json_each(?) j "
                "JOIN event e ON e.attribution_id = j.value ->> 0 AND e.at = j.value ->> 1 "
                "JOIN annotator u ON u.id = e.annotator_id", (json.dumps(sorted(moments)),)):
            known[identity(at, who, keys[attribution_id], kind, _named(kind, value, names),
                           _named(kind, previous, names))] = event_id
        annotators: dict[str, int] = {}
        bad_names: dict[str, bool] = {}  # annotator name -> refused (checked once a batch)
        # (kind, value, previous) -> the check and the stored values: a batch holds few distinct ones
        values: dict[tuple[str, str, str], tuple[str | None, Any, str, str]] = {}
        targets: dict[str, int] = {}
        searched: set[tuple[int, int]] = set()
        touched_pairs: set[tuple[int, int]] = set()
        touched: set[int] = set()
        next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM event").fetchone()[0]
        rows = []  # ids given here (the write lock is held): an undo may name an event of the same batch
        match_time = _TIME.match
        for event in events:
            if event.key not in attributions:
                report.elsewhere += 1
                continue
            kind, at, who = event.kind, event.at, event.annotator
            seen = values.get((kind, event.value, event.previous))
            if seen is None:
                seen = values[kind, event.value, event.previous] = _checked(event, ids)
            problem, value, stored_value, stored_previous = seen
            if kind in EVENT_KINDS:  # the time and the annotator, as _problem checks them, after the kind
                if not match_time(at) or at > latest:
                    problem = f"has the time {at!r}, not a valid time or more than a day ahead"
                else:
                    bad = bad_names.get(who)
                    if bad is None:
                        bad = bad_names[who] = _bad_name(who)
                    if bad:
                        problem = "names an annotator whose name is not printable text"
            if problem is None and kind == "span":
                length = lengths[attributions[event.key][1]]
                if any(end > length for role in ("source", "cue", "content") for _, end in value[role]):
                    problem = "has spans outside its document"
            if problem is not None:
                report.refused.append(f"event {event.ident} by {event.annotator!r} {problem}")
                continue
            if event.ident in known:
                report.already += 1
                continue
            attribution_id = attributions[event.key][0]
            if event.annotator not in annotators:
                project.add_annotator(event.annotator)  # checks the name
                annotators[event.annotator] = conn.execute(
                    "SELECT id FROM annotator WHERE name = ?", (event.annotator.strip(),)).fetchone()[0]
            annotator_id = annotators[event.annotator]
            pair = (attribution_id, annotator_id)
            if event.undoes and event.undoes not in known and pair not in searched:
                # an undo of an older event (rare): that annotator's events on it, identified
                searched.add(pair)
                for i, x_at, x_kind, v, p in conn.execute("SELECT id, at, kind, value, previous FROM event "
                                                          "WHERE attribution_id = ? AND annotator_id = ?", pair):
                    known.setdefault(identity(x_at, event.annotator, event.key, x_kind, _named(x_kind, v, names),
                                              _named(x_kind, p, names)), i)
            target_id = None
            target = normalize_target(event.target) if event.kind == "label" else None
            if target is not None and text_problem(target) is None and len(target) <= 1000:
                if target not in targets:
                    targets[target] = _id(conn, "target", "text", target)
                target_id = targets[target]
            undoes = known.get(event.undoes) if event.undoes else None
            rows.append((next_id, event.at, annotator_id, attribution_id, event.kind, stored_value, stored_previous,
                         undoes, target_id, source_id))
            known[event.ident] = next_id
            next_id += 1
            report.events += 1
            if event.kind in ("label", "note", "flag"):
                touched_pairs.add(pair)
            else:
                touched.add(attribution_id)
        conn.executemany("INSERT INTO event (id, at, annotator_id, attribution_id, kind, value, previous, undoes, "
                         "target_id, source_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        if fresh is not None:
            fresh.hold((row[3], row[1]) for row in rows)
        if annotations:
            _recompute_annotations(conn, touched_pairs)
        for attribution_id in touched:
            _recompute_attribution(conn, attribution_id)
        _set(conn, cursor[0], cursor[1])


def _set(conn: sqlite3.Connection, key: str, value: Any) -> None:
    conn.execute("INSERT INTO project_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                 "value = excluded.value", (key, str(value)))


def recompute_annotations(project: Project) -> None:
    """Every annotation from the event log, in one transaction (after pulls that left them out)."""
    conn = project.connection
    cache, threads = conn.execute("PRAGMA cache_size").fetchone()[0], conn.execute("PRAGMA threads").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = -{COPY_CACHE_KB}")  # ranking every event is a sort: room for it
    conn.execute(f"PRAGMA threads = {min(os.cpu_count() or 1, 4)}")
    try:
        with project.transaction() as conn, indexes_rebuilt(conn, "annotation"):
            _recompute_annotations(conn, None)
    finally:
        conn.execute(f"PRAGMA cache_size = {cache}")
        conn.execute(f"PRAGMA threads = {threads}")


def _recompute_annotations(conn: sqlite3.Connection, pairs: set[tuple[int, int]] | None) -> None:
    """Annotators' labels, notes and flags on attributions, (attribution, annotator) pairs (None:
    all): the latest of each by time (then by id), as ``replay_events`` computes them, in one statement."""
    if pairs is not None and not pairs:
        return
    touched = json.dumps(sorted(pairs)) if pairs is not None else None
    if touched is None:
        conn.execute("DELETE FROM annotation")
    else:
        conn.execute("DELETE FROM annotation WHERE (attribution_id, annotator_id) IN "
                     "(SELECT value ->> 0, value ->> 1 FROM json_each(?))", (touched,))
    events = ("event e NOT INDEXED" if touched is None else  # the whole log: read in its order, then sorted
              "json_each(?) j JOIN event e ON e.attribution_id = j.value ->> 0 AND e.annotator_id = j.value ->> 1")
    conn.execute(f"""
        WITH ranked AS (
            SELECT e.attribution_id, e.annotator_id, e.kind, e.value, e.target_id, e.at,
                   row_number() OVER (PARTITION BY e.attribution_id, e.annotator_id, e.kind
                                      ORDER BY e.at DESC, e.id DESC) AS n
            FROM {events}
            WHERE e.kind IN ('label', 'note', 'flag')),
        latest AS (
            SELECT attribution_id, annotator_id, min(at) AS first, max(at) AS last,
                   max(CASE WHEN kind = 'label' AND n = 1 THEN value END) AS label,
                   max(CASE WHEN kind = 'label' AND n = 1 THEN target_id END) AS target_id,
                   max(CASE WHEN kind = 'note' AND n = 1 THEN value END) AS note,
                   max(CASE WHEN kind = 'flag' AND n = 1 THEN value END) AS flag
            FROM ranked GROUP BY attribution_id, annotator_id)
        INSERT INTO annotation (attribution_id, annotator_id, label_id, note, flagged, created_at, updated_at,
                                target_id)
        SELECT l.attribution_id, l.annotator_id, label.id, coalesce(json_extract(l.note, '$'), ''),
               coalesce(l.flag = 'true', 0), l.first, l.last, l.target_id
        FROM latest l LEFT JOIN label ON l.label IS NOT NULL AND l.label != 'null'
                                         AND label.id = CAST(l.label AS INTEGER)""", (touched,) if touched else ())


def _recompute_attribution(conn: sqlite3.Connection, attribution_id: int) -> None:
    """An attribution's spans, status and gold label: the latest event of each, by time."""
    def latest(kind: str) -> tuple | None:
        return conn.execute("SELECT value, annotator_id, at FROM event WHERE attribution_id = ? AND kind = ? "
                            "ORDER BY at DESC, id DESC LIMIT 1", (attribution_id, kind)).fetchone()

    span = latest("span")
    if span:
        value = json.loads(span[0])
        anchor = (value["cue"] or value["content"] or value["source"] or [[None]])[0][0]
        conn.execute("UPDATE attribution SET source = ?, cue = ?, content = ?, origin = ? WHERE id = ?",
                     (_spans(value["source"]), _spans(value["cue"]), _spans(value["content"]), value["origin"],
                      attribution_id))
        conn.execute("UPDATE attribution SET sentence_index = (SELECT idx FROM sentence s WHERE s.document_id = "
                     'attribution.document_id AND s.start <= ? AND ? < s."end") WHERE id = ?',
                     (anchor, anchor, attribution_id))
    status = latest("status")
    if status:
        conn.execute("UPDATE attribution SET status = ? WHERE id = ?", (json.loads(status[0]), attribution_id))
    gold = conn.execute("SELECT value, annotator_id, at FROM event WHERE attribution_id = ? AND kind = 'gold' "
                        "AND json_extract(value, '$.label') IS NOT NULL ORDER BY at DESC, id DESC LIMIT 1",
                        (attribution_id,)).fetchone()
    if gold:
        value = json.loads(gold[0])
        conn.execute(
            "INSERT INTO gold (attribution_id, label_id, adjudicator_id, note, decided_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (attribution_id) DO UPDATE SET label_id = excluded.label_id, adjudicator_id = "
            "excluded.adjudicator_id, note = excluded.note, decided_at = excluded.decided_at",
            (attribution_id, value["label"], gold[1], value.get("note", ""), gold[2]))


def _spans(value: Iterable) -> str:
    return json.dumps([[int(a), int(b)] for a, b in sorted(value)], separators=(",", ":"))


def add_attributions(project: Project, rows: Sequence[tuple], cursor: tuple[str, int],
                     pushed_up_to: int | None) -> int:
    """Server attributions (key, sha256, source, cue, content, origin, hint, suggestion, status) of this
    copy's documents that it lacks, with the pull cursor, in one transaction; returns how many.

    ``pushed_up_to``: the push cursor, moved past the new rows when nothing local waited before them."""
    with project.transaction() as conn:
        before = conn.execute("SELECT coalesce(max(id), 0) FROM attribution").fetchone()[0]
        present = {r[0] for r in conn.execute("SELECT key FROM attribution")} if rows else set()
        documents: dict[str, int | None] = {}
        fresh, rejected = [], []
        for key, sha, source, cue, content, origin, hint, suggestion, status in rows:
            if key in present:
                continue
            if sha not in documents:
                documents[sha] = project.document_id_by_sha(sha)
            if documents[sha] is None:
                continue
            fresh.append((documents[sha], key, source, cue, content, origin, hint, suggestion))
            if status in ("rejected", "withdrawn"):
                rejected.append((status, key))
        added = project.copy_attributions(fresh) if fresh else 0
        conn.executemany("UPDATE attribution SET status = ? WHERE key = ?", rejected)
        _set(conn, cursor[0], cursor[1])
        if pushed_up_to is not None and pushed_up_to >= before:
            _set(conn, PUSHED_ATTRIBUTION, conn.execute("SELECT coalesce(max(id), 0) FROM attribution").fetchone()[0])
    return added
