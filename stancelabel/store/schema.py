"""Schema of the project file, as an ordered list of migrations gated by user_version."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from stancelabel.core.projectfile import APPLICATION_ID  # noqa: F401 (the schema's id, defined with the header)

_V1 = """
CREATE TABLE project_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE import_run (
    id               INTEGER PRIMARY KEY,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    paths            TEXT NOT NULL,          -- JSON list of what was named on the command line
    format           TEXT NOT NULL,
    pipeline_name    TEXT NOT NULL,
    pipeline_version TEXT NOT NULL,
    documents        INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE document (
    id          INTEGER PRIMARY KEY,
    external_id TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL,
    sha256      TEXT NOT NULL UNIQUE,
    meta        TEXT NOT NULL DEFAULT '{}',   -- JSON object
    source_file TEXT NOT NULL DEFAULT '',
    import_id   INTEGER REFERENCES import_run(id),
    imported_at TEXT NOT NULL
) STRICT;

CREATE TABLE sentence (
    document_id INTEGER NOT NULL REFERENCES document(id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    start       INTEGER NOT NULL,
    "end"       INTEGER NOT NULL,
    PRIMARY KEY (document_id, idx),
    CHECK (0 <= start AND start <= "end")
) STRICT, WITHOUT ROWID;

CREATE TABLE annotator (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE attribution (
    id             INTEGER PRIMARY KEY,
    document_id    INTEGER NOT NULL REFERENCES document(id) ON DELETE CASCADE,
    sentence_index INTEGER,                -- the sentence that holds the cue
    key            TEXT NOT NULL UNIQUE,   -- hash of document sha256 and role spans
    source         TEXT NOT NULL,          -- JSON [[start, end], ...] document offsets
    cue            TEXT NOT NULL,
    content        TEXT NOT NULL,
    origin         TEXT NOT NULL CHECK (origin IN ('auto', 'imported', 'manual')),
    source_hint    TEXT,
    suggestion     TEXT,
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'rejected')),
    created_at     TEXT NOT NULL
) STRICT;
CREATE INDEX attribution_by_document ON attribution (document_id, sentence_index);

-- Who proposed an attribution: the annotator of an imported BRAT file, or
-- the author of a manual one. Several annotators may propose the same spans.
CREATE TABLE attribution_author (
    attribution_id INTEGER NOT NULL REFERENCES attribution(id) ON DELETE CASCADE,
    annotator_id   INTEGER NOT NULL REFERENCES annotator(id),
    PRIMARY KEY (attribution_id, annotator_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE label (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    shortcut    TEXT NOT NULL,
    colour      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL
) STRICT;

-- The current state; a function of the event log (see Project.rebuild_annotations).
CREATE TABLE annotation (
    attribution_id INTEGER NOT NULL REFERENCES attribution(id) ON DELETE CASCADE,
    annotator_id   INTEGER NOT NULL REFERENCES annotator(id),
    label_id       INTEGER REFERENCES label(id),
    note           TEXT NOT NULL DEFAULT '',
    flagged        INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (attribution_id, annotator_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX annotation_by_annotator ON annotation (annotator_id, label_id);

-- Append-only: one row per change. kind: label | note | flag | span | status | gold.
CREATE TABLE event (
    id             INTEGER PRIMARY KEY,
    at             TEXT NOT NULL,
    annotator_id   INTEGER REFERENCES annotator(id),
    attribution_id INTEGER NOT NULL REFERENCES attribution(id),  -- history keeps its attribution
    kind           TEXT NOT NULL,
    value          TEXT,                   -- JSON: the new value
    previous       TEXT                    -- JSON: the value it replaced
) STRICT;
CREATE INDEX event_by_attribution ON event (attribution_id, annotator_id);
CREATE TRIGGER event_no_update BEFORE UPDATE ON event
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER event_no_delete BEFORE DELETE ON event
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

CREATE TABLE gold (
    attribution_id INTEGER PRIMARY KEY REFERENCES attribution(id) ON DELETE CASCADE,
    label_id       INTEGER NOT NULL REFERENCES label(id),
    adjudicator_id INTEGER NOT NULL REFERENCES annotator(id),
    note           TEXT NOT NULL DEFAULT '',
    decided_at     TEXT NOT NULL
) STRICT;
"""


def _v1(conn: sqlite3.Connection) -> None:
    """The first schema: documents, sentences, attributions, labels and the event log."""
    for statement in _split_script(_V1):
        conn.execute(statement)


def _split_script(script: str) -> list[str]:
    # executescript() would COMMIT the migration's transaction; run statements one by one.
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if s]


_V2 = """
-- Undo and redo live in the event log: an event that reverts event X has undoes = X
-- (a redo reverts an undo), so the undo history survives restarts and travels with the file.
ALTER TABLE event ADD COLUMN undoes INTEGER REFERENCES event(id);
CREATE INDEX event_by_annotator ON event (annotator_id, id);

-- The labelling queue walks active attributions in reading order.
CREATE INDEX attribution_queue ON attribution (status, document_id, sentence_index);
"""


def _v2(conn: sqlite3.Connection) -> None:
    """Undo history in the event log, and an index for the labelling queue."""
    for statement in _split_script(_V2):
        conn.execute(statement)


_V3 = """
-- Target claims: what a stance is about ("North Korea supplies weapons to Russia").
-- A document has zero or one; a label keeps the target in force when it was given.
CREATE TABLE target (
    id         INTEGER PRIMARY KEY,
    text       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
) STRICT;
ALTER TABLE document ADD COLUMN target_id INTEGER REFERENCES target(id);
ALTER TABLE annotation ADD COLUMN target_id INTEGER REFERENCES target(id);
ALTER TABLE event ADD COLUMN target_id INTEGER REFERENCES target(id);
CREATE INDEX document_by_target ON document (target_id);
"""


def _v3(conn: sqlite3.Connection) -> None:
    """Target claims per document, remembered with each label; the project's guidelines."""
    for statement in _split_script(_V3):
        conn.execute(statement)
    conn.execute("INSERT OR IGNORE INTO project_meta (key, value) VALUES ('guidelines', ?)", (default_guidelines(),))


def default_guidelines() -> str:
    """The annotation guidelines a project starts with (resources/guidelines.md)."""
    from importlib import resources

    return resources.files("stancelabel.resources").joinpath("guidelines.md").read_text("utf-8")


_V4 = """
-- Where a merged event came from: the file and the project it was merged from.
CREATE TABLE merge_source (
    id      INTEGER PRIMARY KEY,
    file    TEXT NOT NULL,
    project TEXT NOT NULL,
    UNIQUE (file, project)
) STRICT;
ALTER TABLE event ADD COLUMN source_id INTEGER REFERENCES merge_source(id);
"""


def _v4(conn: sqlite3.Connection) -> None:
    """The provenance of merged events."""
    for statement in _split_script(_V4):
        conn.execute(statement)


_OLD_STATUS = "CHECK (status IN ('active', 'rejected'))"
_NEW_STATUS = "CHECK (status IN ('active', 'rejected', 'withdrawn'))"


def _v5(conn: sqlite3.Connection) -> None:
    """Status ``withdrawn``: an attribution added by hand whose adding was undone. It leaves the queue,
    the counts and every export; its events stay in the log as history.

    SQLite cannot change a CHECK constraint in place: the table is rebuilt (the migration runs with
    foreign keys off, so the rows that refer to attributions are left as they are), its indexes
    made again.
    """
    sql = conn.execute("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'attribution'").fetchone()[0]
    if _OLD_STATUS not in sql or not sql.startswith("CREATE TABLE attribution ("):
        raise sqlite3.DatabaseError("the attribution table is not as version 4 made it")
    indexes = [r[0] for r in conn.execute(
        "SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'attribution' AND sql IS NOT NULL")]
    conn.execute(sql.replace(_OLD_STATUS, _NEW_STATUS).replace("CREATE TABLE attribution (",
                                                                "CREATE TABLE attribution_v5 (", 1))
    conn.execute("INSERT INTO attribution_v5 SELECT * FROM attribution")
    conn.execute("DROP TABLE attribution")
    conn.execute("ALTER TABLE attribution_v5 RENAME TO attribution")
    for index in indexes:
        conn.execute(index)


#: Tables every project of the current version has.
TABLES = frozenset({"project_meta", "import_run", "document", "sentence", "annotator", "attribution",
                    "attribution_author", "label", "annotation", "event", "gold", "target",
                    "merge_source"})

#: Migration ``i`` brings a file from ``user_version`` ``i`` to ``i + 1``.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4, _v5]
