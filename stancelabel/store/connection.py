"""The connection to one project file: opening, creating, migrating, backups, transactions, errors.

``Database`` owns the SQLite connection; the store's parts (documents, attributions,
events, queries) are handed one and do all their SQL through it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from stancelabel import __version__
from stancelabel.core.errors import ProjectFileError, StanceLabelError
from stancelabel.core.filenames import name_max
from stancelabel.core.inputs import special_file
from stancelabel.core.model import Label
from stancelabel.core.outputs import Kind, check_not_companion, plan_output
from stancelabel.core.projectfile import HEADER_BYTES, companions, parse_header, wal_of
from stancelabel.store import schema

#: How long a write waits for another process holding the file before giving up.
BUSY_TIMEOUT_MS = 5000
#: Page cache (KiB) while copying event logs: a merge of millions of events otherwise waits on I/O.
COPY_CACHE_KB = 256 * 1024


def utc_now() -> str:
    """ISO 8601 UTC with microseconds, the time format of every stored timestamp."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_labels() -> list[Label]:
    """The label schema a new project starts with (resources/labels.json)."""
    raw = json.loads(resources.files("stancelabel.resources").joinpath("labels.json").read_text("utf-8"))
    return [
        Label(name=x["name"], shortcut=x["shortcut"], colour=x["colour"],
              description=x.get("description", ""), position=i)
        for i, x in enumerate(raw["labels"])
    ]


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


def explain(path: Path, error: sqlite3.Error | UnicodeDecodeError) -> ProjectFileError:
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
        raise explain(path, error) from None
    return conn


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
    room = name_max(path.parent) - len("-journal")
    if len(os.fsencode(path.name)) > room:
        raise ProjectFileError(path, f"the name is too long for this file system ({len(os.fsencode(path.name))} "
                               f"bytes; a project needs room for SQLite's -journal beside it, so the limit is {room})")
    for companion in companions(path):
        kind = special_file(companion)
        if kind is not None or companion.is_dir():
            raise ProjectFileError(path, f"{companion.name} beside it is {kind or 'a folder'}, not SQLite's own "
                                   "file; move it away")


def inspect(path: Path) -> tuple[int, int]:
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
            raise explain(path, error) from None
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


@contextmanager
def indexes_rebuilt(conn: sqlite3.Connection, table: str, keep: Sequence[str] = ()) -> Iterator[None]:
    """A table's indexes (but those named in ``keep``) dropped while many rows go in, and built again
    from their own SQL after: sorting a million entries once is cheaper than inserting them one by one."""
    indexes = [(name, sql) for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,)).fetchall() if name not in keep]
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    yield
    for _, sql in indexes:
        conn.execute(sql)


def initial_rows(conn: sqlite3.Connection, name: str) -> None:
    """The rows a new project starts with: its name, when and by what it was made, the default labels."""
    now = utc_now()
    conn.executemany(
        "INSERT INTO project_meta (key, value) VALUES (?, ?)",
        [("name", name), ("created_at", now), ("created_with", __version__)],
    )
    conn.executemany(
        "INSERT INTO label (name, shortcut, colour, description, position) VALUES (?, ?, ?, ?, ?)",
        [(x.name, x.shortcut, x.colour, x.description, x.position) for x in default_labels()],
    )


class Database:
    """Owns the connection to one project file; every read and write of the store's parts goes through it."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self._depth = 0
        #: Where ``open`` copied the file before upgrading it, if it did.
        self.backup_path: Path | None = None
        self._identity = _file_identity(path)

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False, name: str | None = None,
             readonly: bool = False) -> Database:
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
        version = inspect(path)[1]
        if version == 0:
            raise ProjectFileError(path, "not a StanceLabel project (an incomplete file: its creation never finished)")
        if readonly:
            db = cls(path, _connect_readonly(path))
            db._check_tables()
            return db
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        except DATABASE_ERRORS as error:
            raise explain(path, error) from None
        db = cls(path, conn)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if version < len(schema.MIGRATIONS):
                db.backup_path = db._backup_before_migration(version)
            db._configure()
            db._migrate(version)
            db._check_tables()
        except DATABASE_ERRORS as error:
            conn.close()
            raise explain(path, error) from None
        except BaseException:
            conn.close()
            raise
        return db

    @classmethod
    def _create(cls, path: Path, name: str) -> Database:
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
            db = cls(path, conn)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            with db.transaction() as c:
                c.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
                for migration in schema.MIGRATIONS:
                    migration(c)
                c.execute(f"PRAGMA user_version = {len(schema.MIGRATIONS)}")
                initial_rows(c, name)
            db._configure()  # WAL only once the file is complete
        except BaseException as error:
            if conn is not None:
                conn.close()
            for leftover in (path, *companions(path)):
                leftover.unlink(missing_ok=True)  # ours: the file was created exclusively above
            if isinstance(error, DATABASE_ERRORS):
                raise explain(path, error) from None
            raise
        return db

    def _check_tables(self) -> None:
        present = {r[0] for r in self.query("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        missing = sorted(schema.TABLES - present)
        if missing:
            raise ProjectFileError(self.path, f"damaged or incomplete project file (missing table {missing[0]})")

    def _configure(self) -> None:
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA trusted_schema = OFF")
            _add_functions(self.conn)
        except DATABASE_ERRORS as error:
            raise explain(self.path, error) from None
        if mode.lower() != "wal":
            raise ProjectFileError(self.path, f"cannot switch the project file to WAL mode (got {mode})")

    def _backup_before_migration(self, version: int) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
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
                self.conn.execute("VACUUM INTO ?", (str(partial),))
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
        self.conn.execute("PRAGMA foreign_keys = OFF")
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
            self.conn.execute("PRAGMA foreign_keys = ON")

    def set_busy_timeout(self, milliseconds: int) -> None:
        """How long a write waits for another connection's lock before failing as "locked"."""
        self.conn.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")

    def close(self) -> None:
        """Close the connection; WAL content is checkpointed into the main file."""
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None  # type: ignore[assignment]

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def durable_at_end(self) -> Iterator[None]:
        """Commits inside are not each forced to disk (WAL with ``synchronous=NORMAL``); the first
        commit after the block is, and with it every one before (it syncs the whole log).

        For a long run of transactions that can be run again, such as an import (it resumes where it
        stopped): a crash of the program loses none of them, a power loss or system crash only the
        last ones, never the file's consistency. Labels and every other change a person makes stay
        one forced commit each."""
        self.conn.execute("PRAGMA synchronous = NORMAL")
        try:
            yield
        finally:
            if self.conn is not None:
                self.conn.execute("PRAGMA synchronous = FULL")

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
            self.conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT sp{depth}")
        except DATABASE_ERRORS as error:
            raise explain(self.path, error) from None
        self._depth += 1
        try:
            yield self.conn
        except BaseException as error:
            self._depth -= 1
            self._rollback(depth)
            if isinstance(error, DATABASE_ERRORS) and depth == 0:
                raise explain(self.path, error) from error
            raise
        self._depth -= 1
        try:
            self.conn.execute("COMMIT" if depth == 0 else f"RELEASE sp{depth}")
        except DATABASE_ERRORS as error:
            self._rollback(depth)
            raise explain(self.path, error) from None

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """One consistent reading (a snapshot) without the write lock: a writer on another connection
        (the window's saver) goes on while it lasts. Inside a transaction it is that transaction."""
        if self._depth > 0:
            yield self.conn
            return
        try:
            self.conn.execute("BEGIN DEFERRED")
        except DATABASE_ERRORS as error:
            raise explain(self.path, error) from None
        self._depth += 1
        try:
            yield self.conn
        finally:
            self._depth -= 1
            if self.conn.in_transaction:
                try:
                    self.conn.execute("COMMIT")  # ends the reading; it wrote nothing
                except DATABASE_ERRORS:
                    self._rollback(0)

    def _rollback(self, depth: int) -> None:
        try:
            if depth == 0:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
            else:
                self.conn.execute(f"ROLLBACK TO sp{depth}")
                self.conn.execute(f"RELEASE sp{depth}")
        except sqlite3.Error:
            pass  # the connection already rolled back (e.g. after SQLITE_FULL)

    @contextmanager
    def stored_values(self) -> Iterator[None]:
        """Rows turned into values: one that is not what StanceLabel writes (a damaged page that SQLite
        still reads) is reported as damage of the file, in one line, not as a failure of the code."""
        try:
            yield
        except (TypeError, ValueError, AttributeError, IndexError, RecursionError) as error:
            raise ProjectFileError(self.path, "the project file is damaged (a stored value is not what "
                                   f"StanceLabel writes: {type(error).__name__})") from None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except DATABASE_ERRORS as error:
            raise explain(self.path, error) from None

    # -- settings --------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return self.query("PRAGMA user_version")[0][0]

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        rows = self.query("SELECT value FROM project_meta WHERE key = ?", (key,))
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

