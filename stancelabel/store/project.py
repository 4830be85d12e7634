"""The Project class: one SQLite project file, its connection and its queries."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from stancelabel import __version__
from stancelabel.core.errors import ProjectFileError, StanceLabelError
from stancelabel.core.inputs import special_file
from stancelabel.core.labels import check_label_schema
from stancelabel.core.outputs import Kind, check_not_companion, plan_output
from stancelabel.core.projectfile import HEADER_BYTES, companions, parse_header, wal_of
from stancelabel.core.names import check_text, clean_name, latest_acceptable_time, text_problem, time_problem, \
    value_problem
from stancelabel.core.model import (
    Annotation,
    Attribution,
    Change,
    Document,
    DocumentSummary,
    ImportedAttribution,
    Label,
    LabelRecord,
    QueueFilter,
    QueueItem,
    Sentence,
    SourceDocument,
    Spans,
    attribution_key,
    normalize_spans,
    normalize_target,
)
from stancelabel.store import schema
from stancelabel.store.schema import default_guidelines

#: ``_record``'s default: a label takes the target its document has now.
_DOCUMENT_TARGET = object()
MAX_TARGET_CHARS = 1000
MAX_GUIDELINES_CHARS = 1_000_000
#: How long a write waits for another process holding the file before giving up.
#: Page cache (KiB) while copying event logs: a merge of millions of events otherwise waits on I/O.
COPY_CACHE_KB = 256 * 1024
BUSY_TIMEOUT_MS = 5000


def check_document(external_id: str, title: str, text: str, meta: Any) -> None:
    """Refuse a document whose text, id, title or metadata cannot travel through every export."""
    for what, value in (("text", text), ("id", external_id), ("title", title)):
        problem = text_problem(value) if isinstance(value, str) else f"must be text, not {type(value).__name__}"
        if problem:
            raise StanceLabelError(f"document {external_id!r}: its {what} {problem}")
    problem = value_problem(meta)
    if problem:
        raise StanceLabelError(f"document {external_id!r}: its metadata {problem}")


def utc_now() -> str:
    """ISO 8601 UTC with microseconds, the time format of every stored timestamp."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_labels() -> list[Label]:
    """The label schema a new project starts with (resources/labels.json)."""
    raw = json.loads(resources.files("stancelabel.resources").joinpath("labels.json").read_text("utf-8"))
    return [
        Label(name=x["name"], shortcut=x["shortcut"], colour=x["colour"],
              description=x.get("description", ""), position=i)
        for i, x in enumerate(raw["labels"])
    ]


_KEY = re.compile(r"^[0-9a-f]{32}$")
_ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def _spans_json(spans: Spans) -> str:
    return json.dumps([list(s) for s in spans], separators=(",", ":"))


def _spans_from_json(value: str) -> Spans:
    return tuple((int(s), int(e)) for s, e in json.loads(value))


#: Why a write to a project file that was moved or deleted under an open window is refused (retriable).
MOVED_WHILE_OPEN = ("the project file was moved, renamed or deleted while it was open; put it back, or open it "
                    "from its new place (unsaved changes are kept until then)")


def _file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``; None when there is none (or it is not a plain file)."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    return (status.st_dev, status.st_ino)


#: What reading or writing a project file can raise: SQLite's errors, and a damaged file's bytes
#: that are not the UTF-8 its text must be (Python's sqlite3 raises that while decoding).
DATABASE_ERRORS = (sqlite3.Error, UnicodeDecodeError)


def _explain(path: Path, error: sqlite3.Error | UnicodeDecodeError) -> ProjectFileError:
    """Turn an SQLite failure into one line a person can act on."""
    if isinstance(error, UnicodeDecodeError) or "Could not decode to UTF-8" in str(error):
        return ProjectFileError(path, "the project file is damaged (it holds text that is not UTF-8)")
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    messages = {
        sqlite3.SQLITE_BUSY: "the project file is locked by another program; close it there and try again",
        sqlite3.SQLITE_LOCKED: "the project file is locked by another program; close it there and try again",
        sqlite3.SQLITE_FULL: "the disk is full (or the file reached its size limit); free some space and try again",
        sqlite3.SQLITE_READONLY: "the project file or its folder is read-only; nothing was saved",
        sqlite3.SQLITE_CORRUPT: "the project file is damaged (database disk image is malformed)",
        sqlite3.SQLITE_NOTADB: "not a StanceLabel project (not an SQLite database)",
        sqlite3.SQLITE_IOERR: f"input/output error on the project file ({error})",
        sqlite3.SQLITE_CANTOPEN: "cannot open the project file (missing folder or no permission)",
    }
    retriable = code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY,
                         sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN)
    return ProjectFileError(path, messages.get(code, f"database error: {error}"), retriable=retriable)


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that writes nothing, not even -wal or -shm files.

    A project open for writing elsewhere always has its -wal file; without one
    the file is at rest and is read as immutable, which works in read-only folders.
    """
    wal = wal_of(path)
    mode = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _add_functions(conn)
    except DATABASE_ERRORS as error:
        raise _explain(path, error) from None
    return conn


_ANNOTATION_COLUMNS = "n.attribution_id, a.name, l.name, n.note, n.flagged, n.created_at, n.updated_at, t.text"
_ANNOTATION_JOINS = ("annotation n JOIN annotator a ON a.id = n.annotator_id LEFT JOIN label l ON l.id = n.label_id "
                     "LEFT JOIN target t ON t.id = n.target_id")


def _annotation(row: tuple) -> Annotation:
    return Annotation(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7])


def _contains(haystack: str | None, folded_needle: str) -> bool:
    return haystack is not None and folded_needle in haystack.casefold()


def _add_functions(conn: sqlite3.Connection) -> None:
    """SQL functions the queries use: ``sl_contains`` is a Unicode-aware case-insensitive ``instr``."""
    conn.create_function("sl_contains", 2, _contains, deterministic=True)


def check_project_path(path: Path) -> None:
    """Refuse a project path (or a -wal, -shm or -journal beside it) that is a FIFO, socket or device,
    before anything opens it: a FIFO would block the open for ever."""
    kind = special_file(path)
    if kind is not None:
        raise ProjectFileError(path, f"is {kind}, not a project file")
    for companion in companions(path):
        kind = special_file(companion)
        if kind is not None or companion.is_dir():
            raise ProjectFileError(path, f"{companion.name} beside it is {kind or 'a folder'}, not SQLite's own "
                                   "file; move it away")


def _inspect(path: Path) -> tuple[int, int]:
    """Read (application_id, user_version) without changing the file, or refuse it.

    A cleanly closed project has no WAL, and the header holds both numbers, so
    they are read as bytes and not even SQLite touches the file. With a WAL left
    beside it (a crash, or the file open elsewhere) SQLite reads it read-only.
    """
    wal = wal_of(path)
    has_wal = wal.exists() and wal.stat().st_size > 0
    try:
        with path.open("rb") as handle:
            data = handle.read(HEADER_BYTES)
    except OSError as error:
        raise ProjectFileError(path, f"cannot read the file ({error.strerror})") from None
    if not data and not has_wal:
        raise ProjectFileError(path, "not a StanceLabel project (the file is empty)")
    header = parse_header(data)
    if data and header is None:
        raise ProjectFileError(path, "not a StanceLabel project (not an SQLite database)")
    if has_wal:
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                version = conn.execute("PRAGMA user_version").fetchone()[0]
            finally:
                conn.close()
        except DATABASE_ERRORS as error:
            raise _explain(path, error) from None
    else:
        assert header is not None
        app_id, version = header.application_id, header.user_version
    if app_id != schema.APPLICATION_ID:
        raise ProjectFileError(path, "not a StanceLabel project (an SQLite database of another program)")
    latest = len(schema.MIGRATIONS)
    if version > latest:
        raise ProjectFileError(
            path,
            f"written by a newer StanceLabel (schema version {version}; this version reads up to "
            f"{latest}); update StanceLabel to open it",
        )
    return app_id, version


class Project:
    """Owns the connection to one project file; every read and write goes through it.

    Rows become dataclasses here, so nothing above this layer sees ``sqlite3.Row``.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._depth = 0
        self.backup_path: Path | None = None
        self._history_cache: dict[int, tuple[int, list[int], list[int]]] = {}
        self._identity = _file_identity(path)

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False, name: str | None = None,
             readonly: bool = False) -> Project:
        """Open a project file, creating it when asked, migrating an older one.

        A file that is not ours, or is from a newer version, is refused before
        anything is written to it; an older one is backed up before it is changed.
        ``readonly`` opens without writing anything (also in read-only folders).
        """
        path = Path(path)
        try:
            existed, is_dir = path.exists(), path.is_dir()
        except OSError as error:
            raise ProjectFileError(path, f"cannot use this path ({error.strerror})") from None
        if is_dir:
            raise ProjectFileError(path, "is a folder, not a project file")
        check_project_path(path)
        if not existed:
            if not create or readonly:
                raise ProjectFileError(path, "no such project file")
            return cls._create(path, name or path.stem)
        version = _inspect(path)[1]
        if version == 0:
            raise ProjectFileError(path, "not a StanceLabel project (an incomplete file: its creation never finished)")
        if readonly:
            project = cls(path, _connect_readonly(path))
            project._check_tables()
            return project
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        except DATABASE_ERRORS as error:
            raise _explain(path, error) from None
        project = cls(path, conn)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if version < len(schema.MIGRATIONS):
                project.backup_path = project._backup_before_migration(version)
            project._configure()
            project._migrate(version)
            project._check_tables()
        except DATABASE_ERRORS as error:
            conn.close()
            raise _explain(path, error) from None
        except BaseException:
            conn.close()
            raise
        return project

    @classmethod
    def _create(cls, path: Path, name: str) -> Project:
        """A new project file, written in one transaction: it is complete or it is not there."""
        try:
            check_not_companion(path)  # X.stance-wal would be taken for X.stance's own log
        except StanceLabelError as error:
            raise ProjectFileError(path, str(error).removeprefix(f"{path}: ")) from None
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            return cls.open(path)  # created by someone else a moment ago
        except OSError as error:
            raise ProjectFileError(path, f"cannot create the project file ({error.strerror})") from None
        conn = None
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            project = cls(path, conn)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            with project.transaction() as c:
                c.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
                for migration in schema.MIGRATIONS:
                    migration(c)
                c.execute(f"PRAGMA user_version = {len(schema.MIGRATIONS)}")
                project._initial_rows(c, name)
            project._configure()  # WAL only once the file is complete
        except BaseException as error:
            if conn is not None:
                conn.close()
            for leftover in (path, *companions(path)):
                leftover.unlink(missing_ok=True)  # ours: the file was created exclusively above
            if isinstance(error, DATABASE_ERRORS):
                raise _explain(path, error) from None
            raise
        return project

    def _check_tables(self) -> None:
        present = {r[0] for r in self._query("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        missing = sorted(schema.TABLES - present)
        if missing:
            raise ProjectFileError(self.path, f"damaged or incomplete project file (missing table {missing[0]})")

    def _configure(self) -> None:
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA trusted_schema = OFF")
            _add_functions(self._conn)
        except DATABASE_ERRORS as error:
            raise _explain(self.path, error) from None
        if mode.lower() != "wal":
            raise ProjectFileError(self.path, f"cannot switch the project file to WAL mode (got {mode})")

    def _backup_before_migration(self, version: int) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        name = f"{self.path.name}.v{version}-{stamp}"
        backup = self.path.with_name(f"{name}.bak")
        for n in range(2, 100):  # two upgrades in one second (another copy of the file): the next free name
            if not (backup.exists() or backup.is_symlink()):
                break
            backup = self.path.with_name(f"{name}-{n}.bak")
        # Written under a temporary name, synced, then renamed (the output policy): a crash part-way
        # never leaves something that looks like a backup but is not a whole one.
        try:
            output = plan_output(backup, Kind.PROJECT, reading=[self.path], reading_role="the project being upgraded",
                                 replace=False)
            with output.building() as partial:
                self._conn.execute("VACUUM INTO ?", (str(partial),))
        except (*DATABASE_ERRORS, StanceLabelError) as error:
            raise ProjectFileError(
                self.path, f"cannot back up the project before upgrading it ({error}); nothing was changed"
            ) from None
        return backup

    def _migrate(self, version: int) -> None:
        """Each migration in its own transaction, with foreign keys checked at its end.

        Foreign key enforcement is off meanwhile, as SQLite's table rebuilds need.
        """
        if version >= len(schema.MIGRATIONS):
            return
        self._conn.execute("PRAGMA foreign_keys = OFF")
        try:
            for target, migration in enumerate(schema.MIGRATIONS[version:], start=version + 1):
                try:
                    with self.transaction() as conn:
                        if conn.execute("PRAGMA user_version").fetchone()[0] >= target:
                            continue  # another process upgraded the file meanwhile
                        migration(conn)
                        if conn.execute("PRAGMA foreign_key_check").fetchone():
                            raise sqlite3.IntegrityError("foreign key check failed")
                        conn.execute(f"PRAGMA user_version = {target}")
                except (*DATABASE_ERRORS, ProjectFileError) as error:
                    reason = error.message if isinstance(error, ProjectFileError) else str(error)
                    raise ProjectFileError(
                        self.path, f"upgrading to schema version {target} failed ({reason}); nothing was changed"
                    ) from None
        finally:
            self._conn.execute("PRAGMA foreign_keys = ON")

    @staticmethod
    def _initial_rows(conn: sqlite3.Connection, name: str) -> None:
        now = utc_now()
        conn.executemany(
            "INSERT INTO project_meta (key, value) VALUES (?, ?)",
            [("name", name), ("created_at", now), ("created_with", __version__)],
        )
        conn.executemany(
            "INSERT INTO label (name, shortcut, colour, description, position) VALUES (?, ?, ?, ?, ?)",
            [(x.name, x.shortcut, x.colour, x.description, x.position) for x in default_labels()],
        )

    def set_busy_timeout(self, milliseconds: int) -> None:
        """How long a write waits for another connection's lock before failing as "locked"."""
        self._conn.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")

    def close(self) -> None:
        """Close the connection; WAL content is checkpointed into the main file."""
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One durable transaction; nested calls become savepoints.

        SQLite failures leave as ProjectFileError with a readable reason, after
        the transaction (or savepoint) was rolled back, so nothing half-done stays.
        """
        depth = self._depth
        if depth == 0 and self._identity is not None and _file_identity(self.path) != self._identity:
            # SQLite would go on writing to the old file (deleted, or under its new name without its
            # WAL): saved changes there are lost to the next opening. Refuse until it is back.
            raise ProjectFileError(self.path, MOVED_WHILE_OPEN, retriable=True)
        try:
            self._conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT sp{depth}")
        except DATABASE_ERRORS as error:
            raise _explain(self.path, error) from None
        self._depth += 1
        try:
            yield self._conn
        except BaseException as error:
            self._depth -= 1
            self._rollback(depth)
            if isinstance(error, DATABASE_ERRORS) and depth == 0:
                raise _explain(self.path, error) from error
            raise
        self._depth -= 1
        try:
            self._conn.execute("COMMIT" if depth == 0 else f"RELEASE sp{depth}")
        except DATABASE_ERRORS as error:
            self._rollback(depth)
            raise _explain(self.path, error) from None

    def _rollback(self, depth: int) -> None:
        try:
            if depth == 0:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
            else:
                self._conn.execute(f"ROLLBACK TO sp{depth}")
                self._conn.execute(f"RELEASE sp{depth}")
        except sqlite3.Error:
            pass  # the connection already rolled back (e.g. after SQLITE_FULL)

    @contextmanager
    def _stored_values(self) -> Iterator[None]:
        """Rows turned into values: one that is not what StanceLabel writes (a damaged page that SQLite
        still reads) is reported as damage of the file, in one line, not as a failure of the code."""
        try:
            yield
        except (TypeError, ValueError, AttributeError, IndexError, RecursionError) as error:
            raise ProjectFileError(self.path, "the project file is damaged (a stored value is not what "
                                   f"StanceLabel writes: {type(error).__name__})") from None

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except DATABASE_ERRORS as error:
            raise _explain(self.path, error) from None

    # -- settings --------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return self._query("PRAGMA user_version")[0][0]

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        rows = self._query("SELECT value FROM project_meta WHERE key = ?", (key,))
        return rows[0][0] if rows else default

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO project_meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    @property
    def name(self) -> str:
        return self.get_setting("name", self.path.stem) or self.path.stem

    # -- imports and documents -------------------------------------------------------------

    def begin_import(self, paths: Iterable[str], fmt: str, pipeline_name: str, pipeline_version: str) -> int:
        """Record an import run; its pipeline is how this project's sentences were made."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO import_run (started_at, paths, format, pipeline_name, pipeline_version) "
                "VALUES (?, ?, ?, ?, ?)",
                (utc_now(), json.dumps(list(paths)), fmt, pipeline_name, pipeline_version),
            )
            return int(cur.lastrowid)

    def finish_import(self, import_id: int) -> int:
        """Close an import run; returns how many documents it stored."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE import_run SET finished_at = ?, "
                "documents = (SELECT count(*) FROM document WHERE import_id = ?) WHERE id = ?",
                (utc_now(), import_id, import_id),
            )
            return conn.execute("SELECT documents FROM import_run WHERE id = ?", (import_id,)).fetchone()[0]

    def imports(self) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT id, started_at, finished_at, paths, format, pipeline_name, pipeline_version, "
            "(SELECT count(*) FROM document WHERE import_id = import_run.id) FROM import_run ORDER BY id"
        )
        keys = ("id", "started_at", "finished_at", "paths", "format", "pipeline_name", "pipeline_version", "documents")
        out = [dict(zip(keys, row)) for row in rows]
        with self._stored_values():
            for item in out:
                item["paths"] = json.loads(item["paths"])
        return out

    def document_id_by_sha(self, sha256: str) -> int | None:
        rows = self._query("SELECT id FROM document WHERE sha256 = ?", (sha256,))
        return rows[0][0] if rows else None

    def document_shas(self) -> set[str]:
        return {row[0] for row in self._query("SELECT sha256 FROM document")}

    def add_document(
        self,
        source: SourceDocument,
        sentences: Sequence[tuple[int, int]],
        *,
        import_id: int | None = None,
        attributions: Iterable[tuple[ImportedAttribution, str]] = (),
    ) -> tuple[int, int]:
        """Store a document with its sentences and attributions in one transaction.

        ``attributions`` pairs each attribution with its origin. A document whose
        text is already in the project is not stored again, and only attributions
        not yet there are added. Returns (document id, attributions added).
        """
        sha = source.sha256
        check_document(source.external_id, source.title, source.text, source.meta)
        with self.transaction() as conn:
            existing = conn.execute("SELECT id FROM document WHERE sha256 = ?", (sha,)).fetchone()
            target_id = self._target_id(conn, source.target)
            if existing:
                doc_id = existing[0]
                if target_id is not None:  # a target for a document that has none yet
                    conn.execute("UPDATE document SET target_id = ? WHERE id = ? AND target_id IS NULL",
                                 (target_id, doc_id))
            else:
                doc_id = conn.execute(
                    "INSERT INTO document (external_id, title, text, sha256, meta, source_file, import_id, "
                    "imported_at, target_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (source.external_id, source.title, source.text, sha,
                     json.dumps(source.meta, ensure_ascii=False), source.source_file, import_id, utc_now(),
                     target_id),
                ).lastrowid
                conn.executemany(
                    'INSERT INTO sentence (document_id, idx, start, "end") VALUES (?, ?, ?, ?)',
                    [(doc_id, i, s, e) for i, (s, e) in enumerate(sentences)],
                )
            for name in source.annotators:
                self._annotator_id(conn, name)
            added = sum(self._add_attribution(conn, doc_id, sha, item, origin)[1]
                        for item, origin in attributions)
        return int(doc_id), added

    def _add_attribution(
        self, conn: sqlite3.Connection, doc_id: int, sha: str, item: ImportedAttribution, origin: str
    ) -> tuple[int, bool]:
        """Insert an attribution unless its key is there; returns (id, whether it is new)."""
        source, cue, content = (normalize_spans(x) for x in (item.source, item.cue, item.content))
        if not cue and not content:
            raise StanceLabelError("an attribution needs a cue or a content span")
        origin = item.origin or origin
        if origin not in ("auto", "imported", "manual"):
            raise StanceLabelError(f"unknown attribution origin {origin!r} (auto, imported or manual)")
        if item.key is not None:  # the identity it has in other copies of the project
            if not _KEY.match(item.key):
                raise StanceLabelError(f"attribution key {item.key!r} is not 32 hexadecimal digits")
            key = item.key
        else:
            key = attribution_key(sha, source, cue, content)
        row = conn.execute("SELECT id, source, cue, content FROM attribution WHERE key = ?", (key,)).fetchone()
        if row and item.key is None and origin == "manual" and \
                tuple(map(_spans_from_json, row[1:])) != (source, cue, content):
            # The key belongs to an attribution edited since: this one is new, with a key of its own.
            key = hashlib.sha256(f"{key}|edited|{row[0]}".encode("ascii")).hexdigest()[:32]
            row = conn.execute("SELECT id FROM attribution WHERE key = ?", (key,)).fetchone()
        if row:
            attribution_id, created = row[0], False
        else:
            created = True
            attribution_id = conn.execute(
                "INSERT INTO attribution (document_id, sentence_index, key, source, cue, content, origin, "
                "source_hint, suggestion, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (doc_id, self._sentence_of(conn, doc_id, cue or content or source), key, _spans_json(source),
                 _spans_json(cue), _spans_json(content), origin, item.source_hint, item.suggestion, utc_now()),
            ).lastrowid
        if item.annotator:
            self._add_author(conn, int(attribution_id), item.annotator)
        return int(attribution_id), created

    def copy_documents(self, documents: Sequence[tuple]) -> dict[str, int]:
        """Documents from another copy of the project (a merge), not yet here, many at once:
        (external id, title, text, sha256 of the text, meta as a JSON object's text, source file,
        target text, sentences as (start, end) pairs). Returns {sha256: document id}."""
        now, ids, sentences = utc_now(), {}, []
        with self.transaction() as conn:
            for external_id, title, text, sha, meta, source_file, target, spans in documents:
                check_document(external_id, title, text, json.loads(meta))
                ids[sha] = doc_id = conn.execute(
                    "INSERT INTO document (external_id, title, text, sha256, meta, source_file, imported_at, "
                    "target_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (external_id, title, text, sha, meta, source_file, now, self._target_id(conn, target))).lastrowid
                sentences.extend((doc_id, i, start, end) for i, (start, end) in enumerate(spans))
            conn.executemany('INSERT INTO sentence (document_id, idx, start, "end") VALUES (?, ?, ?, ?)', sentences)
        return ids

    def copy_attributions(self, rows: Sequence[tuple]) -> int:
        """Attributions from another copy of the project (a merge), many at once: (document id, key,
        source, cue, content as normalised JSON spans, origin, source hint, suggestion). Keys must be
        new here; the sentence is found from the spans. Returns how many were added."""
        now = utc_now()

        def checked() -> Iterator[tuple]:
            for document_id, key, source, cue, content, origin, hint, suggestion in rows:
                if not _KEY.match(key):
                    raise StanceLabelError(f"attribution key {key!r} is not 32 hexadecimal digits")
                if origin not in ("auto", "imported", "manual"):
                    raise StanceLabelError(f"unknown attribution origin {origin!r} (auto, imported or manual)")
                anchor = cue if cue != "[]" else content
                if anchor == "[]":
                    raise StanceLabelError(f"attribution {key} needs a cue or a content span")
                yield document_id, int(anchor[2:anchor.index(",")]), key, source, cue, content, origin, hint, \
                    suggestion, now
        with self.transaction() as conn:
            first = conn.execute("SELECT 1 FROM attribution LIMIT 1").fetchone() is None
            with self._indexes_rebuilt(conn, "attribution") if first else contextlib.nullcontext():
                return max(conn.executemany(
                    "INSERT INTO attribution (document_id, sentence_index, key, source, cue, content, origin, "
                    "source_hint, suggestion, created_at) VALUES (?1, (SELECT idx FROM sentence WHERE document_id = ?1 "
                    'AND start <= ?2 AND ?2 < "end"), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)', checked()).rowcount, 0)

    def last_document_id(self) -> int:
        """The highest document id (0 for none): documents stored later have higher ones."""
        return self._query("SELECT coalesce(max(id), 0) FROM document")[0][0]

    def add_attributions(self, document_id: int, items: Iterable[ImportedAttribution], origin: str = "imported") -> int:
        """Attributions for a document already stored (matched by key); returns how many are new."""
        with self.transaction() as conn:
            row = conn.execute("SELECT sha256, length(text) FROM document WHERE id = ?", (document_id,)).fetchone()
            if row is None:
                raise StanceLabelError(f"no document with id {document_id} in this project")
            added = 0
            for item in items:
                for spans in (item.source, item.cue, item.content):
                    self._check_spans(spans, row[1])
                added += self._add_attribution(conn, document_id, row[0], item, origin)[1]
            return added

    def document_count(self) -> int:
        return self._query("SELECT count(*) FROM document")[0][0]

    def document_summaries(self, offset: int = 0, limit: int = -1, annotator: str | None = None,
                           after_id: int | None = None) -> list[DocumentSummary]:
        """Documents in import order, a page at a time, with their counts.

        ``labelled`` counts attributions labelled by ``annotator``, or by anyone
        when it is None. ``after_id`` pages by key (cheap at any depth) instead of by offset.
        """
        who, params = ("AND n.annotator_id = ?", [self._known_annotator_id(annotator)]) if annotator else ("", [])
        where = ""
        if after_id is not None:
            where, offset = "WHERE d.id > ?", 0
            params.append(after_id)
        rows = self._query(
            "SELECT d.id, d.external_id, d.title, "
            "(SELECT count(*) FROM sentence s WHERE s.document_id = d.id), "
            "(SELECT count(*) FROM attribution a WHERE a.document_id = d.id AND a.status = 'active'), "
            "(SELECT count(*) FROM attribution a WHERE a.document_id = d.id AND a.status = 'active' "
            " AND EXISTS (SELECT 1 FROM annotation n WHERE n.attribution_id = a.id AND n.label_id IS NOT NULL "
            f" {who})) "
            f"FROM document d {where} ORDER BY d.id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [DocumentSummary(*row) for row in rows]

    def document_ids(self, *, without_auto_attributions: bool = False) -> list[int]:
        """Ids of all documents in import order, or of those with no automatic attributions yet."""
        where = (" WHERE NOT EXISTS (SELECT 1 FROM attribution a WHERE a.document_id = d.id AND a.origin = 'auto')"
                 if without_auto_attributions else "")
        return [r[0] for r in self._query(f"SELECT d.id FROM document d{where} ORDER BY d.id")]

    def remove_untouched_auto_attributions(self) -> int:
        """Delete automatic attributions nobody has labelled, noted, flagged or edited; returns how many."""
        with self.transaction() as conn:
            return conn.execute(
                "DELETE FROM attribution WHERE origin = 'auto' "
                "AND NOT EXISTS (SELECT 1 FROM event e WHERE e.attribution_id = attribution.id) "
                "AND NOT EXISTS (SELECT 1 FROM annotation n WHERE n.attribution_id = attribution.id) "
                "AND NOT EXISTS (SELECT 1 FROM gold g WHERE g.attribution_id = attribution.id)"
            ).rowcount

    def document(self, document_id: int) -> Document:
        rows = self._query(
            "SELECT d.id, d.external_id, d.title, d.text, d.sha256, d.meta, d.source_file, d.imported_at, t.text "
            "FROM document d LEFT JOIN target t ON t.id = d.target_id WHERE d.id = ?",
            (document_id,),
        )
        if not rows:
            raise KeyError(document_id)
        row = rows[0]
        with self._stored_values():
            return Document(*row[:5], json.loads(row[5]), *row[6:])

    # -- targets and guidelines ------------------------------------------------------------

    @staticmethod
    def _target_id(conn: sqlite3.Connection, text: str | None) -> int | None:
        text = normalize_target(text)
        if text is None:
            return None
        check_text(text, "target claim")
        if len(text) > MAX_TARGET_CHARS:
            raise StanceLabelError(f"a target claim may have at most {MAX_TARGET_CHARS} characters "
                                   f"(this one has {len(text)})")
        row = conn.execute("SELECT id FROM target WHERE text = ?", (text,)).fetchone()
        if row:
            return int(row[0])
        return int(conn.execute("INSERT INTO target (text, created_at) VALUES (?, ?)", (text, utc_now())).lastrowid)

    def targets(self) -> list[tuple[str, int]]:
        """The project's target claims, with how many documents have each, most used first."""
        return [(r[0], r[1]) for r in self._query(
            "SELECT t.text, (SELECT count(*) FROM document d WHERE d.target_id = t.id) AS n FROM target t "
            "ORDER BY n DESC, t.text")]

    def document_target(self, document_id: int) -> str | None:
        rows = self._query("SELECT t.text FROM document d JOIN target t ON t.id = d.target_id WHERE d.id = ?",
                           (document_id,))
        return rows[0][0] if rows else None

    def set_document_target(self, document_id: int, text: str | None) -> None:
        """Give a document its target claim (None or blank: no target). Labels already given keep theirs."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM document WHERE id = ?", (document_id,)).fetchone() is None:
                raise StanceLabelError(f"no document with id {document_id} in this project")
            conn.execute("UPDATE document SET target_id = ? WHERE id = ?", (self._target_id(conn, text), document_id))

    def guidelines(self) -> str:
        """The project's annotation guidelines (Markdown)."""
        return self.get_setting("guidelines") or default_guidelines()

    def set_guidelines(self, markdown: str) -> None:
        check_text(markdown, "the guidelines")
        if len(markdown) > MAX_GUIDELINES_CHARS:
            raise StanceLabelError(f"guidelines may have at most {MAX_GUIDELINES_CHARS:,} characters "
                                   f"(these have {len(markdown):,})")
        self.set_setting("guidelines", markdown)

    def sentences(self, document_id: int) -> list[Sentence]:
        rows = self._query(
            'SELECT document_id, idx, start, "end" FROM sentence WHERE document_id = ? ORDER BY idx',
            (document_id,),
        )
        return [Sentence(*row) for row in rows]

    def attributions(self, document_id: int) -> list[Attribution]:
        rows = self._query(
            "SELECT id, document_id, sentence_index, key, source, cue, content, origin, source_hint, "
            "suggestion, status FROM attribution WHERE document_id = ? ORDER BY sentence_index, id",
            (document_id,),
        )
        with self._stored_values():
            return [
                Attribution(r[0], r[1], r[2], r[3], _spans_from_json(r[4]), _spans_from_json(r[5]),
                            _spans_from_json(r[6]), r[7], r[8], r[9], r[10])
                for r in rows
            ]

    def attribution_authors(self, attribution_id: int) -> list[str]:
        rows = self._query(
            "SELECT n.name FROM attribution_author x JOIN annotator n ON n.id = x.annotator_id "
            "WHERE x.attribution_id = ? ORDER BY n.name",
            (attribution_id,),
        )
        return [r[0] for r in rows]

    def attribution(self, attribution_id: int) -> Attribution:
        rows = self._query(
            "SELECT id, document_id, sentence_index, key, source, cue, content, origin, source_hint, "
            "suggestion, status FROM attribution WHERE id = ?",
            (attribution_id,),
        )
        if not rows:
            raise KeyError(attribution_id)
        r = rows[0]
        with self._stored_values():
            return Attribution(r[0], r[1], r[2], r[3], _spans_from_json(r[4]), _spans_from_json(r[5]),
                               _spans_from_json(r[6]), r[7], r[8], r[9], r[10])

    # -- the labelling queue ---------------------------------------------------------------

    def queue_ids(self, annotator: str, queue: QueueFilter = QueueFilter(),  # noqa: B008
                  after: int | None = None, limit: int = -1, after_document: int | None = None) -> array:
        """Ids of the active attributions the filter keeps, in reading order (document, sentence).

        An ``array`` of 8-byte ints: a million of them take 8 MB and one query.
        ``after`` starts after that attribution in reading order (with ``limit``:
        "the next one that..."); ``after_document`` keeps documents added after that one.
        """
        if queue.show not in QueueFilter.SHOW:
            raise StanceLabelError(f"unknown queue filter {queue.show!r} (one of {', '.join(QueueFilter.SHOW)})")
        me = self._known_annotator_id(annotator)
        where, params = ["a.status = 'active'"], []
        source = "attribution a"
        if queue.show == "unlabelled":
            where.append("NOT EXISTS (SELECT 1 FROM annotation n WHERE n.attribution_id = a.id "
                         "AND n.annotator_id = ? AND n.label_id IS NOT NULL)")
            params.append(me)
        elif queue.show in ("flagged", "label"):
            # Few rows match: start from the annotator's own annotations (indexed), not from every attribution.
            source = "annotation n JOIN attribution a ON a.id = n.attribution_id"
            where.insert(0, "n.annotator_id = ?")
            params.append(me)
            if queue.show == "flagged":
                where.append("n.flagged = 1")
            else:
                rows = self._query("SELECT id FROM label WHERE name = ?", (queue.label,))
                where.append("n.label_id = ?")
                params.append(rows[0][0] if rows else -1)
        elif queue.show in ("disputed", "multiple"):
            how = "count(DISTINCT n.label_id)" if queue.show == "disputed" else "count(*)"
            where.append(f"(SELECT {how} FROM annotation n WHERE n.attribution_id = a.id "
                         "AND n.label_id IS NOT NULL) >= 2")
        if queue.document_id is not None:
            where.append("a.document_id = ?")
            params.append(queue.document_id)
        if after_document is not None:
            where.append("a.document_id > ?")
            params.append(after_document)
        if after is not None:
            where.append("(a.document_id, coalesce(a.sentence_index, -1), a.id) > "
                         "(SELECT document_id, coalesce(sentence_index, -1), id FROM attribution WHERE id = ?)")
            params.append(after)
        joins = ""
        if queue.speaker.strip() or queue.search.strip():
            joins += " JOIN document d ON d.id = a.document_id"
        if queue.speaker.strip():
            where.append("(sl_contains(substr(d.text, json_extract(a.source, '$[0][0]') + 1, "
                         "json_extract(a.source, '$[0][1]') - json_extract(a.source, '$[0][0]')), ?) "
                         "OR sl_contains(a.source_hint, ?))")
            params += [queue.speaker.strip().casefold()] * 2
        if queue.search.strip():
            joins += " JOIN sentence s ON s.document_id = a.document_id AND s.idx = a.sentence_index"
            where.append('sl_contains(substr(d.text, s.start + 1, s."end" - s.start), ?)')
            params.append(queue.search.strip().casefold())
        sql = (f"SELECT a.id FROM {source}{joins} WHERE {' AND '.join(where)} "
               "ORDER BY a.document_id, a.sentence_index, a.id LIMIT ?")
        params.append(limit)
        ids = array("q")
        try:
            cursor = self._conn.execute(sql, params)
            while rows := cursor.fetchmany(65536):
                ids.extend(row[0] for row in rows)
        except DATABASE_ERRORS as error:
            raise _explain(self.path, error) from None
        return ids

    def queue_items(self, ids: Sequence[int], annotator: str, gold: bool = False) -> list[QueueItem]:
        """The list rows of these attributions, in the order given (at most a page of them).

        ``label`` is the annotator's, or with ``gold`` the adjudicated label.
        """
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        if gold:
            rows = self._query(
                "SELECT a.id, a.document_id, d.external_id, a.sentence_index, "
                "substr(d.text, json_extract(a.source, '$[0][0]') + 1, "
                "       json_extract(a.source, '$[0][1]') - json_extract(a.source, '$[0][0]')), "
                "substr(d.text, json_extract(a.cue, '$[0][0]') + 1, "
                "       json_extract(a.cue, '$[0][1]') - json_extract(a.cue, '$[0][0]')), l.name, 0 "
                "FROM attribution a JOIN document d ON d.id = a.document_id "
                "LEFT JOIN gold g ON g.attribution_id = a.id "
                f"LEFT JOIN label l ON l.id = g.label_id WHERE a.id IN ({marks})", tuple(ids))
            by_id = {r[0]: QueueItem(r[0], r[1], r[2], r[3], r[4] or "", r[5] or "", r[6], False) for r in rows}
            return [by_id[i] for i in ids if i in by_id]
        rows = self._query(
            "SELECT a.id, a.document_id, d.external_id, a.sentence_index, "
            "substr(d.text, json_extract(a.source, '$[0][0]') + 1, "
            "       json_extract(a.source, '$[0][1]') - json_extract(a.source, '$[0][0]')), "
            "substr(d.text, json_extract(a.cue, '$[0][0]') + 1, "
            "       json_extract(a.cue, '$[0][1]') - json_extract(a.cue, '$[0][0]')), "
            "l.name, coalesce(n.flagged, 0) "
            "FROM attribution a JOIN document d ON d.id = a.document_id "
            "LEFT JOIN annotation n ON n.attribution_id = a.id AND n.annotator_id = ? "
            f"LEFT JOIN label l ON l.id = n.label_id WHERE a.id IN ({marks})",
            (self._known_annotator_id(annotator), *ids),
        )
        by_id = {r[0]: QueueItem(r[0], r[1], r[2], r[3], str(r[4] or ""), str(r[5] or ""), r[6], bool(r[7]))
                 for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def progress(self, annotator: str) -> tuple[int, int]:
        """(labelled by this annotator, all active attributions)."""
        row = self._query(
            "SELECT (SELECT count(*) FROM annotation n JOIN attribution a ON a.id = n.attribution_id "
            "        WHERE n.annotator_id = ? AND n.label_id IS NOT NULL AND a.status = 'active'), "
            "(SELECT count(*) FROM attribution WHERE status = 'active')",
            (self._known_annotator_id(annotator),),
        )[0]
        return row[0], row[1]

    # -- labels and annotators -------------------------------------------------------------

    def labels(self) -> list[Label]:
        rows = self._query("SELECT name, shortcut, colour, description, position, id FROM label ORDER BY position")
        return [Label(*row) for row in rows]

    def label_usage(self) -> dict[str, int]:
        """How many attributions carry each label now (anyone's label, or gold)."""
        rows = self._query(
            "SELECT l.name, (SELECT count(*) FROM annotation n WHERE n.label_id = l.id) "
            "+ (SELECT count(*) FROM gold g WHERE g.label_id = l.id) FROM label l ORDER BY l.position"
        )
        return dict(rows)

    def save_labels(self, labels: Sequence[Label], reserved_keys: Iterable[str] = ()) -> None:
        """Replace the label schema: labels with an id are updated (a rename keeps what was
        given), those without are added, and missing ones removed unless something carries them.
        """
        check_label_schema(labels, reserved_keys)
        with self.transaction() as conn:
            existing = {row[0]: row[1] for row in conn.execute("SELECT id, name FROM label")}
            kept = {label.id for label in labels if label.id is not None}
            unknown = kept - existing.keys()
            if unknown:
                raise StanceLabelError(f"label id {min(unknown)} is not in this project (reload the schema)")
            for label_id in sorted(existing.keys() - kept):
                used = conn.execute(
                    "SELECT (SELECT count(*) FROM annotation WHERE label_id = ?) "
                    "+ (SELECT count(*) FROM gold WHERE label_id = ?)", (label_id, label_id)
                ).fetchone()[0]
                if used:
                    raise StanceLabelError(
                        f"cannot remove label {existing[label_id]!r}: {used} attribution(s) carry it; "
                        "relabel them first"
                    )
                conn.execute("DELETE FROM label WHERE id = ?", (label_id,))
            # Park the names first, so that swapping two names does not trip the UNIQUE constraint.
            conn.execute("UPDATE label SET name = char(1) || id")
            renamed = [(label.name, existing[label.id]) for label in labels
                       if label.id is not None and existing[label.id] != label.name]
            for new_name, old_name in renamed:  # suggestions name labels: they follow a rename
                conn.execute("UPDATE attribution SET suggestion = ? WHERE suggestion = ?", (new_name, old_name))
            for position, label in enumerate(labels):
                values = (label.name, label.shortcut.strip().upper(), label.colour, label.description, position)
                if label.id is None:
                    # Never reuse the id of a removed label: the event log still names it by id.
                    next_id = 1 + conn.execute(
                        "SELECT max(coalesce((SELECT max(id) FROM label), 0), "
                        "coalesce((SELECT max(CAST(value AS INTEGER)) FROM event WHERE kind = 'label'), 0), "
                        "coalesce((SELECT max(CAST(previous AS INTEGER)) FROM event WHERE kind = 'label'), 0), "
                        "coalesce((SELECT max(json_extract(value, '$.label')) FROM event WHERE kind = 'gold'), 0), "
                        "coalesce((SELECT max(json_extract(previous, '$.label')) FROM event WHERE kind = 'gold' "
                        "AND previous != 'null'), 0))"
                    ).fetchone()[0]
                    conn.execute("INSERT INTO label (id, name, shortcut, colour, description, position) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", (next_id, *values))
                else:
                    conn.execute("UPDATE label SET name = ?, shortcut = ?, colour = ?, description = ?, "
                                 "position = ? WHERE id = ?", (*values, label.id))

    def annotators(self) -> list[str]:
        return [r[0] for r in self._query("SELECT name FROM annotator ORDER BY name")]

    def add_annotator(self, name: str) -> None:
        with self.transaction() as conn:
            self._annotator_id(conn, name)

    @staticmethod
    def _annotator_id(conn: sqlite3.Connection, name: str) -> int:
        name = clean_name(name, "annotator name")
        row = conn.execute("SELECT id FROM annotator WHERE name = ?", (name,)).fetchone()
        if row:
            return int(row[0])
        return int(conn.execute("INSERT INTO annotator (name, created_at) VALUES (?, ?)", (name, utc_now())).lastrowid)

    def _known_annotator_id(self, name: str) -> int:
        """The annotator's id, or -1 (matches nothing) for a name never stored."""
        rows = self._query("SELECT id FROM annotator WHERE name = ?", (name.strip(),))
        return rows[0][0] if rows else -1

    def _label_id(self, conn: sqlite3.Connection, name: str | None) -> int | None:
        if name is None:
            return None
        row = conn.execute("SELECT id FROM label WHERE name = ?", (name,)).fetchone()
        if not row:
            known = ", ".join(x.name for x in self.labels())
            raise StanceLabelError(f"unknown label {name!r} (this project's labels: {known})")
        return int(row[0])

    # -- annotations and the event log -----------------------------------------------------

    def set_label(self, attribution_id: int, annotator: str, label: str | None) -> None:
        """Give (or with None, clear) an annotator's label; durable when this returns.

        Giving the label an attribution already has records nothing, unless the
        document's target changed since: then the label is given anew under it.
        """
        with self.transaction() as conn:
            label_id = self._label_id(conn, label)
            self._record(conn, attribution_id, annotator, "label", label_id, skip_unchanged=True)

    def set_note(self, attribution_id: int, annotator: str, note: str) -> None:
        with self.transaction() as conn:
            self._record(conn, attribution_id, annotator, "note", note, skip_unchanged=True)

    def set_flag(self, attribution_id: int, annotator: str, flagged: bool) -> None:
        with self.transaction() as conn:
            self._record(conn, attribution_id, annotator, "flag", bool(flagged), skip_unchanged=True)

    def set_spans(self, attribution_id: int, annotator: str, *, source: Any = None, cue: Any = None,
                  content: Any = None) -> None:
        """Replace one or more role spans of an attribution; it becomes manual, keeps its key and labels.

        The key stays what it was, so the same attribution in other copies of the
        project (with other annotators' labels) still meets this one in a merge.
        """
        with self.transaction() as conn:
            current = self._current(conn, attribution_id, -1, "span")
            length = conn.execute(
                "SELECT length(d.text) FROM attribution a JOIN document d ON d.id = a.document_id WHERE a.id = ?",
                (attribution_id,),
            ).fetchone()[0]
            new = dict(current)
            for role, spans in (("source", source), ("cue", cue), ("content", content)):
                if spans is not None:
                    new[role] = [list(x) for x in self._check_spans(spans, length)]
            if not new["cue"] and not new["content"]:
                raise StanceLabelError("an attribution needs a cue or a content span")
            new["origin"] = "manual"
            if new == current:
                return
            self._record(conn, attribution_id, annotator, "span", new)
            self._add_author(conn, attribution_id, annotator)

    def set_status(self, attribution_id: int, annotator: str, status: str) -> None:
        """``rejected`` marks "not an attribution": out of the queue, kept as a negative example."""
        if status not in ("active", "rejected"):
            raise StanceLabelError(f"unknown attribution status {status!r}")
        with self.transaction() as conn:
            if self._current(conn, attribution_id, -1, "status") != status:
                self._record(conn, attribution_id, annotator, "status", status)

    def add_attribution(self, document_id: int, annotator: str, *, source: Any = (), cue: Any = (),
                        content: Any = ()) -> int:
        """An attribution the detector missed, added by hand (origin manual); returns its id.

        If the same spans are already there it is reused (and made active again).
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT sha256, length(text) FROM document WHERE id = ?", (document_id,)).fetchone()
            if row is None:
                raise StanceLabelError(f"no document with id {document_id} in this project")
            sha, length = row
            spans = [self._check_spans(x, length) for x in (source, cue, content)]
            item = ImportedAttribution(*spans, annotator=annotator.strip())
            attribution_id, created = self._add_attribution(conn, document_id, sha, item, "manual")
            if created:
                conn.execute("UPDATE attribution SET status = 'rejected' WHERE id = ?", (attribution_id,))
            if self._current(conn, attribution_id, -1, "status") != "active":
                self._record(conn, attribution_id, annotator, "status", "active")
            return attribution_id

    @staticmethod
    def _check_spans(spans: Any, length: int) -> Spans:
        out = normalize_spans(spans)
        for start, end in out:
            if start < 0 or end > length:
                raise StanceLabelError(f"span {start}-{end} lies outside the document (0-{length})")
        return out

    def _add_author(self, conn: sqlite3.Connection, attribution_id: int, annotator: str) -> None:
        conn.execute("INSERT OR IGNORE INTO attribution_author (attribution_id, annotator_id) VALUES (?, ?)",
                     (attribution_id, self._annotator_id(conn, annotator)))

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
            return {"source": json.loads(row[0]), "cue": json.loads(row[1]), "content": json.loads(row[2]),
                    "origin": row[3]}
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
        annotator_id = self._annotator_id(conn, annotator)
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
                (_spans_json(source), _spans_json(cue), _spans_json(content), value["origin"],
                 self._sentence_of(conn, doc_id, cue or content or source), attribution_id),
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

    @staticmethod
    def _sentence_of(conn: sqlite3.Connection, document_id: int, spans: Spans) -> int | None:
        if not spans:
            return None
        anchor = spans[0][0]
        row = conn.execute('SELECT idx FROM sentence WHERE document_id = ? AND start <= ? AND ? < "end"',
                           (document_id, anchor, anchor)).fetchone()
        return row[0] if row else None

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

    def can_undo(self, annotator: str) -> tuple[bool, bool]:
        """Whether (undo, redo) have anything to do for this annotator."""
        annotator_id = self._known_annotator_id(annotator)
        done, undone = self._history(self._conn, annotator_id)
        return bool(done), bool(undone)

    def undo(self, annotator: str) -> Change | None:
        """Revert the annotator's latest change still in force; None when there is none."""
        return self._revert(annotator, redo=False)

    def redo(self, annotator: str) -> Change | None:
        """Re-apply the change the latest undo reverted; None when there is none."""
        return self._revert(annotator, redo=True)

    def _revert(self, annotator: str, redo: bool) -> Change | None:
        with self.transaction() as conn:
            annotator_id = self._annotator_id(conn, annotator)
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
            if kind == "label" and value is not None:
                value = conn.execute("SELECT name FROM label WHERE id = ?", (value,)).fetchone()[0]
            return Change(attribution_id, kind, value)

    def rebuild_annotations(self) -> None:
        """Recompute the current annotations from the event log alone (recovery, audit)."""
        with self.transaction() as conn:
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
        with self.transaction() as conn:
            for record in records:
                where = f"{record.where}: " if record.where else ""
                row = conn.execute("SELECT id FROM attribution WHERE key = ?", (record.key,)).fetchone()
                if row is None:
                    raise StanceLabelError(f"{where}no attribution with key {record.key} in this project")
                attribution_id = row[0]
                try:
                    label_id = self._label_id(conn, record.label)
                except StanceLabelError as error:
                    raise StanceLabelError(f"{where}{error}") from None
                annotator_id = self._annotator_id(conn, record.annotator)
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
                target_id = self._target_id(conn, record.target) if record.target_known else _DOCUMENT_TARGET
                changed = [self._record(conn, attribution_id, record.annotator, kind, value, skip_unchanged=True,
                                        at=at, target_id=target_id)
                           for kind, value in (("label", label_id), ("note", record.note), ("flag", record.flagged))]
                if record.created_at:
                    conn.execute("UPDATE annotation SET created_at = min(created_at, ?), updated_at = ? "
                                 "WHERE attribution_id = ? AND annotator_id = ?",
                                 (record.created_at, at, attribution_id, annotator_id))
                written += any(changed)
        return written, kept

    def labels_by_item(self, by_target: bool = False) -> dict[Any, dict[str, str]]:
        """Every annotator's current label of each active attribution: {attribution id: {annotator: label}}.

        With ``by_target`` the keys are (target text or None, attribution id): a label
        belongs to the target it was given under.
        """
        rows = self._query(
            "SELECT n.attribution_id, u.name, l.name, t.text FROM annotation n "
            "JOIN attribution a ON a.id = n.attribution_id JOIN annotator u ON u.id = n.annotator_id "
            "JOIN label l ON l.id = n.label_id LEFT JOIN target t ON t.id = n.target_id "
            "WHERE a.status = 'active' ORDER BY n.attribution_id"
        )
        items: dict[Any, dict[str, str]] = {}
        for attribution_id, annotator, label, target in rows:
            items.setdefault((target, attribution_id) if by_target else attribution_id, {})[annotator] = label
        return items

    def label_columns(self) -> tuple[Any, Any, Any, dict[int, str], dict[int, str]]:
        """Every current label of an active attribution as three NumPy columns (attribution id,
        annotator id, label id), with the annotators' and labels' names by id. For agreement over
        millions of labels: SQLite joins the ids into text and NumPy parses it, with no Python
        object per label."""
        import numpy

        items, annotators, labels = self._query(
            "SELECT group_concat(n.attribution_id), group_concat(n.annotator_id), group_concat(n.label_id) "
            "FROM annotation n JOIN attribution a ON a.id = n.attribution_id "
            "WHERE a.status = 'active' AND n.label_id IS NOT NULL")[0]
        columns = [numpy.fromstring(text or "", dtype=numpy.int64, sep=",") for text in (items, annotators, labels)]
        return (*columns, dict(self._query("SELECT id, name FROM annotator")),
                dict(self._query("SELECT id, name FROM label")))

    def authored_attributions(self) -> dict[str, dict[int, list[tuple[Spans, Spans, Spans]]]]:
        """Each annotator's own attributions (BRAT files they brought, ones they added or edited), by document."""
        out: dict[str, dict[int, list[tuple[Spans, Spans, Spans]]]] = {}
        for name, document_id, source, cue, content in self._query(
                "SELECT u.name, a.document_id, a.source, a.cue, a.content FROM attribution_author x "
                "JOIN attribution a ON a.id = x.attribution_id JOIN annotator u ON u.id = x.annotator_id "
                "WHERE a.status = 'active' ORDER BY u.name, a.document_id, a.id"):
            out.setdefault(name, {}).setdefault(document_id, []).append(
                (_spans_from_json(source), _spans_from_json(cue), _spans_from_json(content)))
        return out

    def set_gold(self, attribution_id: int, adjudicator: str, label: str, note: str = "") -> None:
        """The adjudicated label of an attribution, by ``adjudicator``; in the event log as a ``gold`` event."""
        check_text(note, "the gold label's note")
        with self.transaction() as conn:
            label_id = self._label_id(conn, label)
            adjudicator_id = self._annotator_id(conn, adjudicator)
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

    def gold_of(self, attribution_id: int) -> tuple[str, str, str] | None:
        """(label, adjudicator, note) of one attribution's gold label, if it has one."""
        rows = self._query("SELECT l.name, u.name, g.note FROM gold g JOIN label l ON l.id = g.label_id "
                           "JOIN annotator u ON u.id = g.adjudicator_id WHERE g.attribution_id = ?", (attribution_id,))
        return rows[0] if rows else None

    def gold(self) -> dict[int, tuple[str, str]]:
        """{attribution id: (label, adjudicator)} of every gold label."""
        rows = self._query("SELECT g.attribution_id, l.name, u.name FROM gold g JOIN label l ON l.id = g.label_id "
                           "JOIN annotator u ON u.id = g.adjudicator_id")
        return {r[0]: (r[1], r[2]) for r in rows}

    # -- merging -----------------------------------------------------------------------------

    def attribution_id(self, key: str) -> int:
        rows = self._query("SELECT id FROM attribution WHERE key = ?", (key,))
        if not rows:
            raise StanceLabelError(f"no attribution with key {key} in this project")
        return rows[0][0]

    def attribution_ids_by_key(self) -> dict[str, int]:
        return dict(self._query("SELECT key, id FROM attribution"))

    def add_author(self, attribution_key: str, annotator: str) -> None:
        """Record who proposed an attribution (merging files keeps each attribution's authors)."""
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM attribution WHERE key = ?", (attribution_key,)).fetchone()
            if row is None:
                raise StanceLabelError(f"no attribution with key {attribution_key} in this project")
            self._add_author(conn, row[0], annotator)

    def label_of_keys(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        """The current label of (attribution key, annotator) pairs."""
        rows = self._query("SELECT a.key, u.name, l.name FROM annotation n JOIN attribution a ON a.id = "
                           "n.attribution_id JOIN annotator u ON u.id = n.annotator_id LEFT JOIN label l "
                           "ON l.id = n.label_id")
        wanted = set(pairs)
        return {(k, a): label for k, a, label in rows if (k, a) in wanted}

    def next_event_id(self) -> int:
        return self._query("SELECT coalesce(max(id), 0) + 1 FROM event")[0][0]

    def merge_source_id(self, file: str, project: str) -> int:
        """The id of a merged file's provenance row (made on first use)."""
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO merge_source (file, project) VALUES (?, ?)", (file, project))
            return conn.execute("SELECT id FROM merge_source WHERE file = ? AND project = ?",
                                (file, project)).fetchone()[0]

    # -- copying event logs (merge) ---------------------------------------------------------
    #
    # A merge stages every input's events in a scratch database of its own (SQL to SQL from a
    # checked private copy of the input; see team/merge.py), with duplicates recognised by a
    # unique index as they arrive. The scratch, never an input, is attached here, and the whole
    # log inserted in time order by one statement: the cost per event stays in SQLite's C code.

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

    STAGING_IDENTITY = "CREATE INDEX IF NOT EXISTS merge_event_identity ON merge_event (at, annotator, key, kind, value, previous)"

    def attach_staging(self, path: Path) -> None:
        """Attach a merge's scratch database (outside any transaction) as ``staging``.

        Until ``detach_staging``, foreign keys are not checked row by row: the copy and the
        replay write only ids they found by joining the rows they refer to. Only for a file
        that is not yet anyone's (a merge's output before its rename): see the journal below."""
        conn = self._conn
        # Room for the log's indexes while a million events go in (pages are taken as needed).
        conn.execute(f"PRAGMA main.cache_size = -{COPY_CACHE_KB}")
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(f"PRAGMA threads = {min(os.cpu_count() or 1, 4)}")  # sorting a million rows in parallel
        # A merge builds a new file that is renamed into place only once complete (and synced by the
        # caller): written once through a rollback journal, not twice through the WAL.
        conn.execute("PRAGMA journal_mode = MEMORY")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("ATTACH DATABASE ? AS staging", (str(path),))

    def detach_staging(self) -> None:
        """Detach the scratch database; checks, journal and syncing as ``open`` sets them."""
        conn = self._conn
        conn.execute("DETACH DATABASE staging")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")

    def staged_label_conflicts(self, annotators: Sequence[str]) -> list[tuple[str, str, list[tuple[str, str, str]]]]:
        """(key, annotator, [(at, label, file), ...]) where inputs gave one of these annotators' items different
        labels."""
        rows = self._query(
            "WITH m AS (SELECT * FROM staging.merge_label WHERE annotator IN (SELECT value FROM json_each(?))) "
            "SELECT m.key, m.annotator, m.at, m.label, m.file FROM m JOIN (SELECT key, annotator FROM m "
            "GROUP BY key, annotator HAVING count(DISTINCT label) > 1) c "
            "ON c.key = m.key AND c.annotator = m.annotator ORDER BY m.key, m.annotator, m.at, m.label, m.file",
            (json.dumps(list(annotators)),))
        found: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        for key, annotator, at, label, file in rows:
            found.setdefault((key, annotator), []).append((at, label, file))
        return [(key, annotator, labels) for (key, annotator), labels in found.items()]

    @contextmanager
    def _indexes_rebuilt(self, conn: sqlite3.Connection, table: str) -> Iterator[None]:
        """A table's indexes dropped while many rows go in, and built again from their own SQL after:
        sorting a million entries once is cheaper than inserting them one by one."""
        indexes = conn.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? "
                               "AND sql IS NOT NULL", (table,)).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        yield
        for _, sql in indexes:
            conn.execute(sql)

    def commit_staged_events(self) -> int:
        """Insert the staged events into the log in time order (at, input, id in the input), with ids
        after the last one there, undo references mapped to the new ids; returns how many."""
        with self.transaction() as conn, self._indexes_rebuilt(conn, "event"):
            for (name,) in conn.execute("SELECT name FROM staging.merge_name").fetchall():
                self._annotator_id(conn, name)
            conn.execute("DROP TABLE IF EXISTS temp.merge_target")
            conn.execute("CREATE TEMP TABLE merge_target (text TEXT PRIMARY KEY, id INTEGER)")
            conn.executemany("INSERT INTO merge_target VALUES (?, ?)", [
                (text, self._target_id(conn, text))
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

    def event_sources(self) -> dict[int, tuple[str, str]]:
        """{event id: (file, project)} of the events a merge brought in."""
        return {r[0]: (r[1], r[2]) for r in self._query(
            "SELECT e.id, m.file, m.project FROM event e JOIN merge_source m ON m.id = e.source_id")}

    def replay_events(self) -> None:
        """The current state from the event log alone, in the order of the events' times:
        annotations (set-based: the latest label, note and flag of each annotator on each
        attribution), then attribution spans and status, and gold labels, event by event.

        The log's ids must follow its times, as a merge writes them (``commit_staged_events``):
        the latest event of a kind is then the one with the highest id, which SQLite finds
        walking the log's index once instead of ranking every event."""
        with self.transaction() as conn, self._indexes_rebuilt(conn, "annotation"):
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

    # -- export ----------------------------------------------------------------------------

    _LABEL_ROW = (
        "SELECT a.id, a.key, a.document_id, a.sentence_index, a.source, a.cue, a.content, a.origin, a.source_hint, "
        "a.suggestion, a.status, a.created_at, {who}, {label}, {note}, {flagged}, {created}, {updated}, {target} "
    )

    def label_rows(self, *, annotators: Sequence[str] = (), gold: bool = False, everything: bool = False,
                   labels: Sequence[str] = (), flagged: bool = False) -> Iterator[tuple]:
        """Every label to export, in reading order, streamed (memory flat in the number of rows).

        A row: attribution id, key, document id, sentence index, source, cue and content
        (JSON spans), origin, source hint, suggestion, status, attribution created at,
        annotator, label, note, flagged, created at, updated at, target. An annotator's row
        is there when they gave a label, a flag or a note; ``gold`` gives the adjudicated
        labels instead; ``everything`` adds rejected attributions and, once each, those
        nobody labelled (annotator and label null).
        """
        params: list[Any] = []
        where = []
        if gold:
            sql = (self._LABEL_ROW.format(who="u.name", label="l.name", note="g.note", flagged="0",
                                          created="g.decided_at", updated="g.decided_at", target="dt.text")
                   + "FROM gold g JOIN attribution a ON a.id = g.attribution_id "
                   "JOIN annotator u ON u.id = g.adjudicator_id JOIN label l ON l.id = g.label_id "
                   "JOIN document d ON d.id = a.document_id LEFT JOIN target dt ON dt.id = d.target_id")
            if flagged:
                where.append("0")
        else:
            sql = (self._LABEL_ROW.format(who="u.name", label="l.name", note="n.note", flagged="n.flagged",
                                          created="n.created_at", updated="n.updated_at",
                                          target="coalesce(nt.text, dt.text)")
                   + "FROM annotation n JOIN attribution a ON a.id = n.attribution_id "
                   "JOIN annotator u ON u.id = n.annotator_id LEFT JOIN label l ON l.id = n.label_id "
                   "LEFT JOIN target nt ON nt.id = n.target_id "
                   "JOIN document d ON d.id = a.document_id LEFT JOIN target dt ON dt.id = d.target_id")
            where.append("(n.label_id IS NOT NULL OR n.flagged = 1 OR n.note != '')")
            if annotators:
                where.append(f"u.name IN ({','.join('?' * len(annotators))})")
                params += annotators
            if flagged:
                where.append("n.flagged = 1")
        if labels:
            where.append(f"l.name IN ({','.join('?' * len(labels))})")
            params += labels
        if not everything:
            where.append("a.status = 'active'")
        sql += (" WHERE " + " AND ".join(where)) if where else ""
        if everything and not labels and not flagged:
            if gold:
                nobody = "SELECT 1 FROM gold g WHERE g.attribution_id = a.id"
            else:
                nobody = ("SELECT 1 FROM annotation n JOIN annotator u ON u.id = n.annotator_id "
                          "WHERE n.attribution_id = a.id AND (n.label_id IS NOT NULL OR n.flagged = 1 OR n.note != '')")
                if annotators:
                    nobody += f" AND u.name IN ({','.join('?' * len(annotators))})"
                    params += annotators
            sql += (" UNION ALL " + self._LABEL_ROW.format(who="NULL", label="NULL", note="''", flagged="0",
                                                           created="a.created_at", updated="a.created_at",
                                                           target="dt.text")
                    + "FROM attribution a JOIN document d ON d.id = a.document_id "
                    f"LEFT JOIN target dt ON dt.id = d.target_id WHERE NOT EXISTS ({nobody})")
        sql = f"SELECT * FROM ({sql}) ORDER BY 3, 4, 1, 13"
        try:
            cursor = self._conn.execute(sql, params)
            while rows := cursor.fetchmany(4096):
                yield from rows
        except DATABASE_ERRORS as error:
            raise _explain(self.path, error) from None

    def annotation(self, attribution_id: int, annotator: str) -> Annotation | None:
        """One annotator's current label, note and flag on an attribution (None if never touched)."""
        rows = self._query(
            f"SELECT {_ANNOTATION_COLUMNS} FROM {_ANNOTATION_JOINS} WHERE n.attribution_id = ? AND a.name = ?",
            (attribution_id, annotator.strip()),
        )
        return _annotation(rows[0]) if rows else None

    def annotations(self, attribution_id: int | None = None) -> list[Annotation]:
        where, params = ("WHERE n.attribution_id = ?", (attribution_id,)) if attribution_id is not None else ("", ())
        rows = self._query(
            f"SELECT {_ANNOTATION_COLUMNS} FROM {_ANNOTATION_JOINS} {where} ORDER BY n.attribution_id, a.name",
            params,
        )
        return [_annotation(r) for r in rows]

    def event_count(self) -> int:
        return self._query("SELECT count(*) FROM event")[0][0]

    # -- statistics ------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts for `stancelabel stats`: totals and breakdowns by origin, annotator and label."""
        with self._stored_values():
            return self._stats()

    def _stats(self) -> dict[str, Any]:
        one = lambda sql: self._query(sql)[0][0]  # noqa: E731
        return {
            "project": self.name,
            "schema_version": self.schema_version,
            "documents": one("SELECT count(*) FROM document"),
            "sentences": one("SELECT count(*) FROM sentence"),
            "attributions": one("SELECT count(*) FROM attribution WHERE status = 'active'"),
            "rejected_attributions": one("SELECT count(*) FROM attribution WHERE status = 'rejected'"),
            "labels": one("SELECT count(*) FROM annotation WHERE label_id IS NOT NULL"),
            "gold": one("SELECT count(*) FROM gold"),
            "targets": one("SELECT count(*) FROM target"),
            "assignment": json.loads(self.get_setting("assignment") or "null"),
            "split": {k: v for k, v in json.loads(self.get_setting("split") or "{}").items()
                      if k in ("annotators", "overlap", "seed", "created_at", "files")} or None,
            "documents_with_target": one("SELECT count(*) FROM document WHERE target_id IS NOT NULL"),
            "by_origin": dict(self._query(
                "SELECT origin, count(*) FROM attribution WHERE status = 'active' GROUP BY origin ORDER BY origin")),
            "by_annotator": dict(self._query(
                "SELECT a.name, count(n.label_id) FROM annotator a LEFT JOIN annotation n "
                "ON n.annotator_id = a.id GROUP BY a.id ORDER BY a.name")),
            "by_label": dict(self._query(
                "SELECT l.name, count(n.label_id) FROM label l LEFT JOIN annotation n ON n.label_id = l.id "
                "GROUP BY l.id ORDER BY l.position")),
            "imports": [
                {k: item[k] for k in ("started_at", "format", "pipeline_name", "pipeline_version", "documents")}
                for item in self.imports()
            ],
        }
