"""The merge's staging: every SQL statement that copies event logs, in one place.

A merge stages every input's events in a scratch database of its own (SQL to SQL from a
checked private copy of the input; see inputs.py), with duplicates recognised by a
unique index as they arrive. The scratch, never an input, is attached to the output,
and the whole log inserted in time order by one statement: the cost per event stays in
SQLite's C code.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.tempfiles import private_folder
from stancelabel.store.connection import COPY_CACHE_KB, DATABASE_ERRORS, explain, indexes_rebuilt
from stancelabel.store.project import Project
from stancelabel.team.merge.inputs import refused
from stancelabel.team.untrusted import UntrustedProject

#: The scratch database's tables: events in this file's label ids (rows checked before they are
#: staged), each with the identity of the event it undoes (if any), and the last labels per
#: (attribution, annotator) of annotators found in several inputs. An event's identity is
#: (at, annotator, key, kind, value, previous); ``STAGING_IDENTITY`` indexes it once an input's events may
#: already be there (its annotators are an earlier input's) or an undo must be found.
STAGING_SCHEMA = (
    "CREATE TABLE merge_event (at TEXT, annotator TEXT, key TEXT, "
    "kind TEXT, value TEXT, ord INTEGER, "
    "old_id INTEGER, previous TEXT, u_at TEXT, u_annotator TEXT, u_key TEXT, u_kind TEXT, u_value TEXT, "
    "u_previous TEXT, "
    "target TEXT, source_id INTEGER)",
    "CREATE TABLE merge_label (key TEXT, annotator TEXT, label TEXT, at TEXT, file TEXT)",
    # The annotators and target texts the staged events name (small: looked up once each).
    "CREATE TABLE merge_name (name TEXT PRIMARY KEY) WITHOUT ROWID",
    "CREATE TABLE merge_text (text TEXT PRIMARY KEY) WITHOUT ROWID",
    # Every attribution key met, with its document's text hash, the input that brought it first
    # and any later input that named another document with it.
    "CREATE TABLE merge_key (key TEXT PRIMARY KEY, sha TEXT NOT NULL, ord INTEGER NOT NULL, clash INTEGER) "
    "WITHOUT ROWID",
)

STAGING_IDENTITY = ("CREATE INDEX IF NOT EXISTS merge_event_identity "
                    "ON merge_event (at, annotator, key, kind, value, previous)")


def attach(project: Project, path: Path) -> None:
    """Attach a merge's scratch database to its output (outside any transaction) as ``staging``.

    Until ``detach``, foreign keys are not checked row by row: the copy and the
    replay write only ids they found by joining the rows they refer to. Only for a file
    that is not yet anyone's (a merge's output before its rename): see the journal below."""
    conn = project.connection
    # Room for the log's indexes while a million events go in (pages are taken as needed).
    conn.execute(f"PRAGMA main.cache_size = -{COPY_CACHE_KB}")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute(f"PRAGMA threads = {min(os.cpu_count() or 1, 4)}")  # sorting a million rows in parallel
    # A merge builds a new file that is renamed into place only once complete (and synced by the
    # caller): written once through a rollback journal, not twice through the WAL.
    conn.execute("PRAGMA journal_mode = MEMORY")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("ATTACH DATABASE ? AS staging", (str(path),))



def detach(project: Project) -> None:
    """Detach the scratch database; checks, journal and syncing as ``Project.open`` sets them."""
    conn = project.connection
    conn.execute("DETACH DATABASE staging")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")


def label_conflicts(project: Project, annotators: Sequence[str]) -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    """(key, annotator, [(at, label, file), ...]) where inputs gave one of these annotators' items different
    labels (the scratch attached to the output)."""
    rows = _query(
        project,
        "WITH m AS (SELECT * FROM staging.merge_label WHERE annotator IN (SELECT value FROM json_each(?))) "
        "SELECT m.key, m.annotator, m.at, m.label, m.file FROM m JOIN (SELECT key, annotator FROM m "
        "GROUP BY key, annotator HAVING count(DISTINCT label) > 1) c "
        "ON c.key = m.key AND c.annotator = m.annotator ORDER BY m.key, m.annotator, m.at, m.label, m.file",
        (json.dumps(list(annotators)),))
    found: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for key, annotator, at, label, file in rows:
        found.setdefault((key, annotator), []).append((at, label, file))
    return [(key, annotator, labels) for (key, annotator), labels in found.items()]


def commit_staged_events(project: Project) -> int:
    """Insert the staged events into the output's log in time order (at, input, id in the input), with ids
    after the last one there, undo references mapped to the new ids; returns how many."""
    with project.transaction() as conn, indexes_rebuilt(conn, "event"):
        for (name,) in conn.execute("SELECT name FROM staging.merge_name").fetchall():
            project.add_annotator(name)
        conn.execute("DROP TABLE IF EXISTS temp.merge_target")
        conn.execute("CREATE TEMP TABLE merge_target (text TEXT PRIMARY KEY, id INTEGER)")
        conn.executemany("INSERT INTO merge_target VALUES (?, ?)", [
            (text, project.add_target(text))
            for (text,) in conn.execute("SELECT text FROM staging.merge_text").fetchall()])
        base = conn.execute("SELECT coalesce(max(id), 0) FROM event").fetchone()[0]
        conn.execute("DROP TABLE IF EXISTS temp.merge_order")
        conn.execute("CREATE TEMP TABLE merge_order (pos INTEGER PRIMARY KEY, event INTEGER NOT NULL)")
        conn.execute("INSERT INTO merge_order (event) SELECT rowid FROM staging.merge_event "
                     "ORDER BY at, ord, old_id")
        undoes = "NULL"
        if conn.execute("SELECT 1 FROM staging.merge_event WHERE u_at IS NOT NULL LIMIT 1").fetchone():
            conn.execute("CREATE INDEX temp.merge_order_event ON merge_order (event)")
            undoes = ("(SELECT o2.pos FROM staging.merge_event k JOIN merge_order o2 ON o2.event = k.rowid "
                      "WHERE k.at = e.u_at AND k.annotator = e.u_annotator AND k.key = e.u_key "
                      "AND k.kind = e.u_kind AND k.value = e.u_value AND k.previous = e.u_previous) + ?1")
        cursor = conn.execute(
            "INSERT INTO event (id, at, annotator_id, attribution_id, kind, value, previous, undoes, target_id, "
            f"source_id) SELECT o.pos + ?1, e.at, u.id, a.id, e.kind, e.value, e.previous, {undoes}, "
            "CASE WHEN e.kind = 'label' THEN t.id END, e.source_id "
            "FROM merge_order o JOIN staging.merge_event e ON e.rowid = o.event "
            "JOIN annotator u ON u.name = e.annotator JOIN attribution a ON a.key = e.key "
            "LEFT JOIN merge_target t ON t.text = e.target ORDER BY o.pos", (base,))
        copied = cursor.rowcount
        staged = conn.execute("SELECT count(*) FROM staging.merge_event").fetchone()[0]
        if copied != staged:
            raise StanceLabelError(f"{staged - copied} merged event(s) name an attribution not in the project")
        for table in ("merge_order", "merge_target"):
            conn.execute(f"DROP TABLE temp.{table}")
        return copied


def _query(project: Project, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    try:
        return project.connection.execute(sql, params).fetchall()
    except DATABASE_ERRORS as error:
        raise explain(project.path, error) from None


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


def event_rows(labels: dict[int, int | None], earlier: dict[int, int | None], dedupe: bool) -> str:
    """SQL staging every event of an input (attached as ``input``) in the scratch (STAGING_SCHEMA):
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
NAMES = (
    "INSERT OR IGNORE INTO merge_name SELECT name FROM input.annotator u "
    "WHERE EXISTS (SELECT 1 FROM input.event e WHERE e.annotator_id = u.id)",
    "INSERT OR IGNORE INTO merge_text SELECT text FROM input.target",
)

#: Each (attribution, annotator)'s last label in an input, when it names a label, for the annotators
#: named (a JSON list): those of more than one input, whose labels may disagree between files.
FINAL_LABELS = """
    INSERT INTO merge_label SELECT a.key, u.name, l.name, e.at, ?1 FROM input.event e
    JOIN (SELECT max(id) AS id FROM input.event WHERE kind = 'label' GROUP BY attribution_id, annotator_id) m
    ON m.id = e.id
    JOIN input.attribution a ON a.id = e.attribution_id JOIN input.annotator u ON u.id = e.annotator_id
    JOIN input.label l ON e.value != 'null' AND l.id = CAST(e.value AS INTEGER)
    WHERE u.name IN (SELECT value FROM json_each(?2))"""



#: The input's attribution keys, each with its document's text hash, into the scratch (see
#: STAGING_SCHEMA); a key met before that names another document is marked.
ADD_KEYS = """
    INSERT INTO merge_key (key, sha, ord)
    SELECT a.key, d.sha256, ?1 FROM input.attribution a JOIN input.document d ON d.id = a.document_id WHERE true
    ON CONFLICT (key) DO UPDATE SET clash = excluded.ord WHERE sha != excluded.sha"""

KEY_CLASH = "SELECT key FROM merge_key WHERE clash = ?1 LIMIT 1"

#: The attributions this input brought first (so not yet in the output), with their text's length.
NEW_ATTRIBUTIONS = """
    WITH d AS MATERIALIZED (SELECT id, length(text) AS n FROM input.document)
    SELECT a.document_id, a.key, d.n, a.source, a.cue, a.content, a.origin, a.source_hint, a.suggestion
    FROM merge_key k JOIN input.attribution a ON a.key = k.key JOIN d ON d.id = a.document_id
    WHERE k.ord = ?1 ORDER BY a.id"""



class Staging:
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
        for statement in STAGING_SCHEMA:
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
                raise refused(source, f"damaged ({error})") from None
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
