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
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import normalize_target
from stancelabel.core.names import check_text, latest_acceptable_time, text_problem
from stancelabel.server.schema import EVENT_KINDS
from stancelabel.store.project import Project, utc_now

#: project_meta keys a synced file keeps (no secrets: the connection string has no password).
SERVER = "server"
PUSHED_EVENT = "server_pushed_event"      # the last local event id pushed
PULLED_EVENT = "server_pulled_event"      # the last server event seq pulled
PUSHED_ATTRIBUTION = "server_pushed_attribution"
PULLED_ATTRIBUTION = "server_pulled_attribution"

_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


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
    with project.transaction() as conn:  # one consistent reading
        names = _label_names(conn)
        rows = conn.execute(
            "SELECT e.id, e.source_id, e.at, u.name, a.key, e.kind, e.value, e.previous, t.text, "
            "x.at, xu.name, xa.key, x.kind, x.value, x.previous "
            "FROM event e JOIN annotator u ON u.id = e.annotator_id JOIN attribution a ON a.id = e.attribution_id "
            "LEFT JOIN target t ON t.id = e.target_id LEFT JOIN event x ON x.id = e.undoes "
            "LEFT JOIN annotator xu ON xu.id = x.annotator_id LEFT JOIN attribution xa ON xa.id = x.attribution_id "
            "WHERE e.id > ? ORDER BY e.id LIMIT ?", (after, limit)).fetchall()
    out, last = [], after
    for (event_id, source_id, at, who, key, kind, value, previous, target, x_at, x_who, x_key, x_kind, x_value,
         x_previous) in rows:
        last = event_id
        if kind not in EVENT_KINDS or (annotator is not None and who != annotator) or \
                (skip_source is not None and source_id == skip_source):
            continue
        undoes = identity(x_at, x_who, x_key, x_kind, _named(x_kind, x_value, names),
                          _named(x_kind, x_previous, names)) if x_at else None
        out.append(_server_event(at, who, key, kind, _named(kind, value, names), _named(kind, previous, names),
                                 target, undoes))
    return out, last


def _server_event(at: str, annotator: str, key: str, kind: str, value: Any, previous: Any, target: str | None,
                  undoes: str | None) -> ServerEvent:
    return ServerEvent(identity(at, annotator, key, kind, value, previous), at, annotator, key, kind,
                       json.dumps(value, ensure_ascii=False), json.dumps(previous, ensure_ascii=False), undoes,
                       target)


def local_attributions(project: Project, after: int) -> tuple[list[tuple], list[tuple], int]:
    """Attributions with ids after ``after`` as server rows (key, sha256, source, cue, content, origin,
    hint, suggestion, status, created at), their authors (key, annotator), and the last id read."""
    with project.transaction() as conn:
        rows = conn.execute(
            "SELECT a.id, a.key, d.sha256, a.source, a.cue, a.content, a.origin, a.source_hint, a.suggestion, "
            "a.status, a.created_at FROM attribution a JOIN document d ON d.id = a.document_id WHERE a.id > ? "
            "ORDER BY a.id", (after,)).fetchall()
        authors = conn.execute(
            "SELECT a.key, u.name FROM attribution_author x JOIN attribution a ON a.id = x.attribution_id "
            "JOIN annotator u ON u.id = x.annotator_id WHERE a.id > ?", (after,)).fetchall()
    last = rows[-1][0] if rows else after
    return [r[1:] for r in rows], authors, last


def last_ids(project: Project) -> tuple[int, int]:
    """The highest event and attribution ids of the file."""
    with project.transaction() as conn:
        return (conn.execute("SELECT coalesce(max(id), 0) FROM event").fetchone()[0],
                conn.execute("SELECT coalesce(max(id), 0) FROM attribution").fetchone()[0])


# -- pulling --------------------------------------------------------------------------------------


@dataclass
class Pulled:
    events: int = 0
    already: int = 0
    elsewhere: int = 0          # events of attributions this copy does not hold (another share)
    refused: list[str] = field(default_factory=list)


def _problem(event: ServerEvent, latest: str) -> str | None:
    """Why an event from the server cannot go into a project file (None: it can)."""
    if event.kind not in EVENT_KINDS:
        return f"has an unknown kind {event.kind!r}"
    if not _TIME.match(event.at) or event.at > latest:
        return f"has the time {event.at!r}, not a valid time or more than a day ahead"
    if text_problem(event.annotator) or not event.annotator.strip():
        return "names an annotator whose name is not printable text"
    try:
        value, previous = json.loads(event.value), json.loads(event.previous)
    except (TypeError, ValueError, RecursionError):
        return "holds a value that is not JSON"
    for v in (value, previous):
        ok = {
            "label": v is None or isinstance(v, str),
            "note": v is None or (isinstance(v, str) and text_problem(v) is None),
            "flag": v is None or isinstance(v, bool),
            "status": v in (None, "active", "rejected", "withdrawn"),
            "span": v is None or (isinstance(v, dict) and v.get("origin") in ("auto", "imported", "manual")
                                  and all(_spans_ok(v.get(r)) for r in ("source", "cue", "content"))),
            "gold": v is None or (isinstance(v, dict) and isinstance(v.get("note", ""), str)
                                  and (v.get("label") is None or isinstance(v.get("label"), str))),
        }[event.kind]
        if not ok:
            return f"holds a {event.kind} value this version cannot read"
    if event.kind == "status" and value is None:
        return "holds a status value this version cannot read"
    return None


def _spans_ok(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(x, list) and len(x) == 2 and all(isinstance(n, int) and not isinstance(n, bool) for n in x)
        and 0 <= x[0] <= x[1] for x in value)


def _id(conn: sqlite3.Connection, table: str, column: str, value: str) -> int:
    row = conn.execute(f"SELECT id FROM {table} WHERE {column} = ?", (value,)).fetchone()
    if row:
        return row[0]
    return conn.execute(f"INSERT INTO {table} ({column}, created_at) VALUES (?, ?)", (value, utc_now())).lastrowid


def apply_events(project: Project, events: Sequence[ServerEvent], source_id: int, cursor: tuple[str, int],
                 report: Pulled) -> None:
    """Insert pulled events not yet in the file and recompute what they touch, with the pull cursor,
    in one transaction: interrupted, nothing of it is there and the next pull brings it again."""
    latest = latest_acceptable_time()
    with project.transaction() as conn:
        ids = {name: i for i, name in _label_names(conn).items()}
        names = {i: name for name, i in ids.items()}
        attributions: dict[str, tuple[int, int]] = {}
        for key in {e.key for e in events}:
            row = conn.execute("SELECT a.id, length(d.text) FROM attribution a JOIN document d "
                               "ON d.id = a.document_id WHERE a.key = ?", (key,)).fetchone()
            if row:
                attributions[key] = row
        known: dict[tuple[int, int], dict[str, int]] = {}  # (attribution, annotator) -> {ident: event id}
        annotators: dict[str, int] = {}
        touched_pairs: set[tuple[int, int]] = set()
        touched: set[int] = set()
        for event in events:
            if event.key not in attributions:
                report.elsewhere += 1
                continue
            problem = _problem(event, latest)
            if problem is None and event.kind == "span":
                length = attributions[event.key][1]
                if any(end > length for role in ("source", "cue", "content")
                       for _, end in json.loads(event.value)[role]):
                    problem = "has spans outside its document"
            if problem is None and event.kind == "note" and json.loads(event.value):
                try:
                    check_text(json.loads(event.value), "the note")
                except StanceLabelError as error:
                    problem = str(error)
            if problem is not None:
                report.refused.append(f"event {event.ident} by {event.annotator!r} {problem}")
                continue
            attribution_id = attributions[event.key][0]
            if event.annotator not in annotators:
                project.add_annotator(event.annotator)  # checks the name
                annotators[event.annotator] = conn.execute(
                    "SELECT id FROM annotator WHERE name = ?", (event.annotator.strip(),)).fetchone()[0]
            annotator_id = annotators[event.annotator]
            pair = (attribution_id, annotator_id)
            if pair not in known:
                known[pair] = {identity(at, event.annotator, event.key, kind, _named(kind, v, names),
                                        _named(kind, p, names)): i
                               for i, at, kind, v, p in conn.execute(
                                   "SELECT id, at, kind, value, previous FROM event WHERE attribution_id = ? "
                                   "AND annotator_id = ?", pair)}
            if event.ident in known[pair]:
                report.already += 1
                continue
            value, previous = json.loads(event.value), json.loads(event.previous)
            target_id = None
            target = normalize_target(event.target) if event.kind == "label" else None
            if target is not None and text_problem(target) is None and len(target) <= 1000:
                target_id = _id(conn, "target", "text", target)
            undoes = known[pair].get(event.undoes) if event.undoes else None
            event_id = conn.execute(
                "INSERT INTO event (at, annotator_id, attribution_id, kind, value, previous, undoes, target_id, "
                "source_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event.at, annotator_id, attribution_id, event.kind, _local(event.kind, value, ids),
                 _local(event.kind, previous, ids), undoes, target_id, source_id)).lastrowid
            known[pair][event.ident] = event_id
            report.events += 1
            if event.kind in ("label", "note", "flag"):
                touched_pairs.add(pair)
            else:
                touched.add(attribution_id)
        for pair in touched_pairs:
            _recompute_annotation(conn, *pair)
        for attribution_id in touched:
            _recompute_attribution(conn, attribution_id)
        _set(conn, cursor[0], cursor[1])


def _set(conn: sqlite3.Connection, key: str, value: Any) -> None:
    conn.execute("INSERT INTO project_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                 "value = excluded.value", (key, str(value)))


def _recompute_annotation(conn: sqlite3.Connection, attribution_id: int, annotator_id: int) -> None:
    """One annotator's label, note and flag on one attribution: the latest of each, by time."""
    latest = {}
    for kind in ("label", "note", "flag"):
        latest[kind] = conn.execute(
            "SELECT value, target_id FROM event WHERE attribution_id = ? AND annotator_id = ? AND kind = ? "
            "ORDER BY at DESC, id DESC LIMIT 1", (attribution_id, annotator_id, kind)).fetchone()
    first, last = conn.execute(
        "SELECT min(at), max(at) FROM event WHERE attribution_id = ? AND annotator_id = ? "
        "AND kind IN ('label', 'note', 'flag')", (attribution_id, annotator_id)).fetchone()
    conn.execute("DELETE FROM annotation WHERE attribution_id = ? AND annotator_id = ?", (attribution_id, annotator_id))
    if first is None:
        return
    label = json.loads(latest["label"][0]) if latest["label"] else None
    if label is not None and conn.execute("SELECT 1 FROM label WHERE id = ?", (label,)).fetchone() is None:
        label = None
    note = (json.loads(latest["note"][0]) or "") if latest["note"] else ""
    flagged = bool(json.loads(latest["flag"][0])) if latest["flag"] else False
    conn.execute(
        "INSERT INTO annotation (attribution_id, annotator_id, label_id, note, flagged, created_at, updated_at, "
        "target_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (attribution_id, annotator_id, label, note, int(flagged), first, last,
         latest["label"][1] if latest["label"] else None))


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
