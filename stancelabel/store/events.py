"""The event log: every change an annotator makes is an event, recorded and applied in one transaction.

Labels, notes, flags, span edits, status changes and gold decisions are appended to
the log and applied to the current state (``annotation``, ``attribution``, ``gold``);
undo and redo are events too. The current state can be rebuilt from the log alone.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from typing import Any

from stancelabel.core import spans as codec
from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import ROLES, Change, ImportedAttribution, LabelRecord, normalize_spans
from stancelabel.core.names import check_text, latest_acceptable_time, time_problem
from stancelabel.store.attributions import Attributions, check_spans, sentence_of
from stancelabel.store.connection import Database, indexes_rebuilt, utc_now
from stancelabel.store.vocabulary import Vocabulary

#: ``_record``'s default: a label takes the target its document has now.
_DOCUMENT_TARGET = object()
_ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


class Events:
    """Records, applies, undoes and replays events."""

    def __init__(self, db: Database, vocabulary: Vocabulary, attributions: Attributions) -> None:
        self.db = db
        self.vocabulary = vocabulary
        self.attributions = attributions
        self._history_cache: dict[int, tuple[int, list[int], list[int]]] = {}

    # -- annotations and attributions --------------------------------------------------------

    def set_label(self, attribution_id: int, annotator: str, label: str | None) -> None:
        """Give (or with None, clear) an annotator's label; durable when this returns.

        Giving the label an attribution already has records nothing, unless the
        document's target changed since: then the label is given anew under it.
        """
        with self.db.transaction() as conn:
            label_id = self.vocabulary.label_id(conn, label)
            self._record(conn, attribution_id, annotator, "label", label_id, skip_unchanged=True)

    def set_note(self, attribution_id: int, annotator: str, note: str) -> None:
        with self.db.transaction() as conn:
            self._record(conn, attribution_id, annotator, "note", note, skip_unchanged=True)

    def set_flag(self, attribution_id: int, annotator: str, flagged: bool) -> None:
        with self.db.transaction() as conn:
            self._record(conn, attribution_id, annotator, "flag", bool(flagged), skip_unchanged=True)

    def set_spans(self, attribution_id: int, annotator: str, *, source: Any = None, cue: Any = None,
                  content: Any = None) -> None:
        """Replace one or more role spans of an attribution; it becomes manual, keeps its key and labels.

        The key stays what it was, so the same attribution in other copies of the
        project (with other annotators' labels) still meets this one in a merge.
        """
        with self.db.transaction() as conn:
            current = self._current(conn, attribution_id, -1, "span")
            length = conn.execute(
                "SELECT length(d.text) FROM attribution a JOIN document d ON d.id = a.document_id WHERE a.id = ?",
                (attribution_id,),
            ).fetchone()[0]
            new = dict(current)
            for role, spans in (("source", source), ("cue", cue), ("content", content)):
                if spans is not None:
                    new[role] = codec.to_lists(check_spans(spans, length))
            if not new["cue"] and not new["content"]:
                raise StanceLabelError("an attribution needs a cue or a content span")
            new["origin"] = "manual"
            if new == current:
                return
            self._record(conn, attribution_id, annotator, "span", new)
            self.attributions.record_author(conn, attribution_id, annotator)

    def set_status(self, attribution_id: int, annotator: str, status: str) -> None:
        """``rejected`` marks "not an attribution": out of the queue, kept as a negative example."""
        if status not in ("active", "rejected"):
            raise StanceLabelError(f"unknown attribution status {status!r}")
        with self.db.transaction() as conn:
            if self._current(conn, attribution_id, -1, "status") != status:
                self._record(conn, attribution_id, annotator, "status", status)

    def add_attribution(self, document_id: int, annotator: str, *, source: Any = (), cue: Any = (),
                        content: Any = ()) -> int:
        """An attribution the detector missed, added by hand (origin manual); returns its id.

        If the same spans are already there it is reused (and made active again).
        """
        with self.db.transaction() as conn:
            row = conn.execute("SELECT sha256, length(text) FROM document WHERE id = ?", (document_id,)).fetchone()
            if row is None:
                raise StanceLabelError(f"no document with id {document_id} in this project")
            sha, length = row
            spans = [check_spans(x, length) for x in (source, cue, content)]
            item = ImportedAttribution(*spans, annotator=annotator.strip())
            attribution_id, created = self.attributions.add(conn, document_id, sha, item, "manual")
            if created:  # made active by the event below, so that undoing it withdraws the attribution
                conn.execute("UPDATE attribution SET status = 'withdrawn' WHERE id = ?", (attribution_id,))
            if self._current(conn, attribution_id, -1, "status") != "active":
                self._record(conn, attribution_id, annotator, "status", "active")
            return attribution_id

    _COLUMN = {"label": "label_id", "note": "note", "flag": "flagged"}
    _EMPTY: dict[str, Any] = {"label": None, "note": "", "flag": False}

    def _current(self, conn: sqlite3.Connection, attribution_id: int, annotator_id: int, kind: str) -> Any:
        """The value an event of this kind would replace."""
        if kind in ("span", "status"):
            row = conn.execute("SELECT source, cue, content, origin, status FROM attribution WHERE id = ?",
                               (attribution_id,)).fetchone()
            if row is None:
                raise StanceLabelError(f"no attribution with id {attribution_id} in this project")
            if kind == "status":
                return row[4]
            current = {role: codec.to_lists(codec.from_json(value)) for role, value in zip(ROLES, row[:3])}
            return {**current, "origin": row[3]}
        row = conn.execute(
            f"SELECT {self._COLUMN[kind]} FROM annotation WHERE attribution_id = ? AND annotator_id = ?",
            (attribution_id, annotator_id),
        ).fetchone()
        if row is None:
            return self._EMPTY[kind]
        return bool(row[0]) if kind == "flag" else row[0]

    def _record(self, conn: sqlite3.Connection, attribution_id: int, annotator: str, kind: str, value: Any,
                undoes: int | None = None, skip_unchanged: bool = False, at: str | None = None,
                target_id: int | None | object = _DOCUMENT_TARGET) -> bool:
        """Append an event and apply it; False when ``skip_unchanged`` found nothing to change."""
        annotator_id = self.vocabulary.annotator_id(conn, annotator)
        if conn.execute("SELECT 1 FROM attribution WHERE id = ?", (attribution_id,)).fetchone() is None:
            raise StanceLabelError(f"no attribution with id {attribution_id} in this project")
        if kind == "note" and value:
            check_text(value, "the note")
        previous = self._current(conn, attribution_id, annotator_id, kind)
        now = at or utc_now()
        if kind != "label":
            target_id = None
        elif target_id is _DOCUMENT_TARGET:  # the target in force when the label is given stays with it
            target_id = conn.execute(
                "SELECT d.target_id FROM attribution a JOIN document d ON d.id = a.document_id WHERE a.id = ?",
                (attribution_id,),
            ).fetchone()[0]
        if skip_unchanged and value == previous:
            if kind != "label":
                return False
            row = conn.execute("SELECT target_id FROM annotation WHERE attribution_id = ? AND annotator_id = ?",
                               (attribution_id, annotator_id)).fetchone()
            if row is not None and row[0] == target_id:
                return False
        conn.execute(
            "INSERT INTO event (at, annotator_id, attribution_id, kind, value, previous, undoes, target_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (now, annotator_id, attribution_id, kind, json.dumps(value), json.dumps(previous), undoes, target_id),
        )
        self._apply(conn, attribution_id, annotator_id, kind, value, now, target_id)
        return True

    def _apply(self, conn: sqlite3.Connection, attribution_id: int, annotator_id: int, kind: str,
               value: Any, at: str, target_id: int | None = None) -> None:
        if kind == "span":
            source, cue, content = (normalize_spans(value[role]) for role in ("source", "cue", "content"))
            doc_id = conn.execute("SELECT document_id FROM attribution WHERE id = ?", (attribution_id,)).fetchone()[0]
            conn.execute(
                "UPDATE attribution SET source = ?, cue = ?, content = ?, origin = ?, sentence_index = ? WHERE id = ?",
                (codec.to_json(source), codec.to_json(cue), codec.to_json(content), value["origin"],
                 sentence_of(conn, doc_id, cue or content or source), attribution_id),
            )
            return
        if kind == "status":
            conn.execute("UPDATE attribution SET status = ? WHERE id = ?", (value, attribution_id))
            return
        column = self._COLUMN[kind]
        if value is None:
            value = self._EMPTY[kind]  # files from before undo stored "nothing yet" as null
        stored = int(value) if kind == "flag" else value
        target = ", target_id = excluded.target_id" if kind == "label" else ""
        conn.execute(
            f"INSERT INTO annotation (attribution_id, annotator_id, {column}, created_at, updated_at, target_id) "
            f"VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (attribution_id, annotator_id) "
            f"DO UPDATE SET {column} = excluded.{column}, updated_at = excluded.updated_at{target}",
            (attribution_id, annotator_id, stored, at, at, target_id),
        )

    # -- undo and redo ---------------------------------------------------------------------

    def _history(self, conn: sqlite3.Connection, annotator_id: int) -> tuple[list[int], list[int]]:
        """(done, undone): the annotator's events that undo and redo would revert next, in order.

        Replays the log: a plain event clears the redo stack; an event that undoes the
        top of ``done`` moves it to ``undone``; one that undoes the top of ``undone`` is a redo.
        """
        # Replayed once per connection, then only the events added since: an undo after a
        # day of labelling must not re-read the whole day.
        last, done, undone = self._history_cache.get(annotator_id, (0, [], []))
        done, undone = list(done), list(undone)
        for event_id, undoes in conn.execute(
            "SELECT id, undoes FROM event WHERE annotator_id = ? AND id > ? "
            "AND kind IN ('label', 'note', 'flag', 'span', 'status') ORDER BY id", (annotator_id, last)
        ):
            last = event_id
            if undoes is None:
                done.append(event_id)
                undone.clear()
            elif done and done[-1] == undoes:
                done.pop()
                undone.append(event_id)
            elif undone and undone[-1] == undoes:
                undone.pop()
                done.append(event_id)
        self._history_cache[annotator_id] = (last, done, undone)
        return list(done), list(undone)

    def undo(self, annotator: str) -> Change | None:
        """Revert the annotator's latest change still in force; None when there is none."""
        return self._revert(annotator, redo=False)

    def redo(self, annotator: str) -> Change | None:
        """Re-apply the change the latest undo reverted; None when there is none."""
        return self._revert(annotator, redo=True)

    def _revert(self, annotator: str, redo: bool) -> Change | None:
        with self.db.transaction() as conn:
            annotator_id = self.vocabulary.annotator_id(conn, annotator)
            done, undone = self._history(conn, annotator_id)
            stack = undone if redo else done
            if not stack:
                return None
            target = stack[-1]
            attribution_id, kind, set_to, previous = conn.execute(
                "SELECT attribution_id, kind, value, previous FROM event WHERE id = ?", (target,)
            ).fetchone()
            if kind in ("span", "status") and self._current(conn, attribution_id, -1, kind) != json.loads(set_to):
                # Spans and status are shared: someone changed them since, and undo must not wipe that out.
                raise StanceLabelError(f"cannot {'redo' if redo else 'undo'} this {kind} change: the attribution "
                                       "was changed again since (by another annotator, or in another copy)")
            value = json.loads(previous)
            if value is None and kind in ("note", "flag"):
                value = self._EMPTY[kind]  # files from before undo stored "nothing yet" as null
            if kind == "label" and value is not None and conn.execute(
                "SELECT 1 FROM label WHERE id = ?", (value,)
            ).fetchone() is None:
                raise StanceLabelError("cannot undo this label change: the label it would restore "
                                       "was removed from the schema")
            self._record(conn, attribution_id, annotator, kind, value, undoes=target)
            replaced = json.loads(set_to)

            def name(label_id: Any) -> Any:
                if kind != "label" or label_id is None:
                    return label_id
                row = conn.execute("SELECT name FROM label WHERE id = ?", (label_id,)).fetchone()
                return row[0] if row else None

            return Change(attribution_id, kind, name(value), name(replaced))

    def rebuild_annotations(self) -> None:
        """Recompute the current annotations from the event log alone (recovery, audit)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM annotation")
            events = conn.execute(
                "SELECT attribution_id, annotator_id, kind, value, at, target_id FROM event "
                "WHERE kind IN ('label', 'note', 'flag') ORDER BY id"
            )
            for attribution_id, annotator_id, kind, value, at, target_id in events.fetchall():
                self._apply(conn, attribution_id, annotator_id, kind, json.loads(value), at, target_id)

    def import_labels(self, records: Iterable[LabelRecord]) -> tuple[int, int]:
        """Labels read from a file (this tool's export, labelled JSONL, BRAT), with their own times.

        Each goes through the event log like a label given here, keeping its time and
        the target it was given under. An annotator's label that is newer here than in
        the file is kept (the later wins). Returns (labels written, labels kept as they were).
        """
        written = kept = 0
        latest = latest_acceptable_time()
        with self.db.transaction() as conn:
            for record in records:
                where = f"{record.where}: " if record.where else ""
                row = conn.execute("SELECT id FROM attribution WHERE key = ?", (record.key,)).fetchone()
                if row is None:
                    raise StanceLabelError(f"{where}no attribution with key {record.key} in this project")
                attribution_id = row[0]
                try:
                    label_id = self.vocabulary.label_id(conn, record.label)
                except StanceLabelError as error:
                    raise StanceLabelError(f"{where}{error}") from None
                annotator_id = self.vocabulary.annotator_id(conn, record.annotator)
                for stamp in (record.created_at, record.updated_at):
                    if stamp is not None and not _ISO_UTC.match(stamp):
                        raise StanceLabelError(f"{where}time {stamp!r} is not ISO 8601 UTC "
                                               "(like 2026-11-27T16:21:37.123456Z)")
                    problem = time_problem(stamp, latest) if stamp is not None else None
                    if problem:
                        raise StanceLabelError(f"{where}the label {problem}")
                at = record.updated_at or utc_now()
                current = conn.execute("SELECT updated_at FROM annotation WHERE attribution_id = ? "
                                       "AND annotator_id = ?", (attribution_id, annotator_id)).fetchone()
                if current is not None and current[0] > at:
                    kept += 1
                    continue
                target_id = self.vocabulary.target_id(conn, record.target) if record.target_known else _DOCUMENT_TARGET
                changed = [self._record(conn, attribution_id, record.annotator, kind, value, skip_unchanged=True,
                                        at=at, target_id=target_id)
                           for kind, value in (("label", label_id), ("note", record.note), ("flag", record.flagged))]
                if record.created_at:
                    conn.execute("UPDATE annotation SET created_at = min(created_at, ?), updated_at = ? "
                                 "WHERE attribution_id = ? AND annotator_id = ?",
                                 (record.created_at, at, attribution_id, annotator_id))
                written += any(changed)
        return written, kept

    def set_gold(self, attribution_id: int, adjudicator: str, label: str, note: str = "") -> None:
        """The adjudicated label of an attribution, by ``adjudicator``; in the event log as a ``gold`` event."""
        check_text(note, "the gold label's note")
        with self.db.transaction() as conn:
            label_id = self.vocabulary.label_id(conn, label)
            adjudicator_id = self.vocabulary.annotator_id(conn, adjudicator)
            row = conn.execute("SELECT label_id, note FROM gold WHERE attribution_id = ?",
                               (attribution_id,)).fetchone()
            previous = {"label": row[0], "note": row[1]} if row else None
            value = {"label": label_id, "note": note}
            if previous == value:
                return
            now = utc_now()
            conn.execute("INSERT INTO event (at, annotator_id, attribution_id, kind, value, previous) "
                         "VALUES (?, ?, ?, 'gold', ?, ?)",
                         (now, adjudicator_id, attribution_id, json.dumps(value), json.dumps(previous)))
            conn.execute("INSERT INTO gold (attribution_id, label_id, adjudicator_id, note, decided_at) "
                         "VALUES (?, ?, ?, ?, ?) ON CONFLICT (attribution_id) DO UPDATE SET label_id = "
                         "excluded.label_id, adjudicator_id = excluded.adjudicator_id, note = excluded.note, "
                         "decided_at = excluded.decided_at", (attribution_id, label_id, adjudicator_id, note, now))

    def replay_events(self) -> None:
        """The current state from the event log alone, in the order of the events' times:
        annotations (set-based: the latest label, note and flag of each annotator on each
        attribution), then attribution spans and status, and gold labels, event by event.

        The log's ids must follow its times, as a merge writes them (``commit_staged_events``):
        the latest event of a kind is then the one with the highest id, which SQLite finds
        walking the log's index once instead of ranking every event."""
        with self.db.transaction() as conn, indexes_rebuilt(conn, "annotation"):
            conn.execute("DELETE FROM annotation")
            conn.execute("""
                WITH latest AS (
                    SELECT attribution_id, annotator_id,
                           max(CASE WHEN kind = 'label' THEN id END) AS label_event,
                           max(CASE WHEN kind = 'note' THEN id END) AS note_event,
                           max(CASE WHEN kind = 'flag' THEN id END) AS flag_event,
                           min(at) AS first, max(at) AS last
                    FROM event WHERE kind IN ('label', 'note', 'flag') GROUP BY attribution_id, annotator_id)
                INSERT INTO annotation (attribution_id, annotator_id, label_id, note, flagged, created_at, updated_at,
                                        target_id)
                SELECT l.attribution_id, l.annotator_id, label.id, coalesce(json_extract(n.value, '$'), ''),
                       coalesce(f.value = 'true', 0), l.first, l.last, e.target_id
                FROM latest l LEFT JOIN event e ON e.id = l.label_event
                LEFT JOIN label ON e.value != 'null' AND label.id = CAST(e.value AS INTEGER)
                LEFT JOIN event n ON n.id = l.note_event LEFT JOIN event f ON f.id = l.flag_event""")
            events = conn.execute(
                "SELECT attribution_id, annotator_id, kind, value, at, target_id FROM event "
                "WHERE kind IN ('span', 'status', 'gold') ORDER BY at, id"
            ).fetchall()
            for attribution_id, annotator_id, kind, value, at, target_id in events:
                value = json.loads(value)
                if kind == "gold":
                    if value.get("label") is None:
                        continue  # a decision naming a label since removed: the next one stands
                    conn.execute(
                        "INSERT INTO gold (attribution_id, label_id, adjudicator_id, note, decided_at) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (attribution_id) DO UPDATE SET label_id = "
                        "excluded.label_id, adjudicator_id = excluded.adjudicator_id, note = excluded.note, "
                        "decided_at = excluded.decided_at",
                        (attribution_id, value["label"], annotator_id, value.get("note", ""), at))
                else:
                    self._apply(conn, attribution_id, annotator_id, kind, value, at, target_id)

    def merge_source_id(self, file: str, project: str) -> int:
        """The id of a merged file's provenance row (made on first use)."""
        with self.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO merge_source (file, project) VALUES (?, ?)", (file, project))
            return conn.execute("SELECT id FROM merge_source WHERE file = ? AND project = ?",
                                (file, project)).fetchone()[0]
