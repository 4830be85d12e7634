"""Opening project files that come from other people, as data and nothing more.

A project file is an SQLite database, and a database can carry triggers, views
and virtual tables that run code when it is queried. A file to merge is
therefore checked before any query touches it: its header (SQLite, our
application id, this schema version), its size, then a private copy of it (so
the sender's file is never written, not even a -shm file) is opened read-only
with ``trusted_schema=OFF``, must pass ``quick_check``, and must have exactly
the schema this version writes: no extra table, view, trigger or index.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from stancelabel.core.errors import ProjectFileError
from stancelabel.core.projectfile import read_header, wal_of
from stancelabel.core.tempfiles import private_folder
from stancelabel.store import schema

#: The largest project file a merge accepts.
MAX_FILE_BYTES = 4 << 30
#: The most events (or attributions) one input may hold: a merge keeps an input's events in memory,
#: about 0.9 KB each, so this caps one input at a few GB.
MAX_ROWS = 5_000_000


@lru_cache(maxsize=1)
def expected_schema() -> frozenset[tuple[str, str, str, str | None]]:
    """(type, name, table, sql) of every schema object a current project file has."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for migration in schema.MIGRATIONS:
            migration(conn)
        return frozenset(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema").fetchall())
    finally:
        conn.close()


def _refuse(path: Path, reason: str) -> ProjectFileError:
    # SQLite's reports (quick_check's above all) can run over many lines: one line, and not too long.
    lines = [line.strip() for line in reason.splitlines() if line.strip() and not line.strip().startswith("***")]
    reason = "; ".join(lines)
    if len(reason) > 200:
        reason = reason[:200].rstrip() + " …"
    return ProjectFileError(path, f"refused: {reason}; nothing was merged")


def check_header(path: Path) -> None:
    """Refuse, from its first 100 bytes and its size, a file that cannot be a current project."""
    try:
        if not path.exists():
            raise _refuse(path, "no such file")
        if not path.is_file():  # before opening: a FIFO would block the read forever
            raise _refuse(path, "not a regular file")
        size = path.stat().st_size
        header = read_header(path)
    except OSError as error:
        raise _refuse(path, f"cannot read the file ({error.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise _refuse(path, f"the file is larger than {MAX_FILE_BYTES >> 30} GiB")
    if header is None:
        raise _refuse(path, "not a StanceLabel project (not an SQLite database)")
    if not header.is_project:
        raise _refuse(path, "not a StanceLabel project (an SQLite database of another program)")
    version, current = header.user_version, len(schema.MIGRATIONS)
    if version > current:
        raise _refuse(path, f"written by a newer StanceLabel (schema version {version}, this one writes "
                            f"{current}); merge with that version")
    if version < current:
        raise _refuse(path, f"schema version {version}, older than this StanceLabel's {current}; open it once "
                            "with this version (which upgrades it, keeping a backup), then merge")


class UntrustedProject:
    """A private, read-only, checked copy of someone else's project file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        check_header(self.path)
        self._folder = private_folder("merge")
        copy = self._folder / "input.stance"
        try:
            shutil.copyfile(self.path, copy)
            wal = wal_of(self.path)
            if wal.is_file():  # changes not yet checkpointed into the main file
                if wal.stat().st_size > MAX_FILE_BYTES:
                    raise _refuse(self.path, f"its -wal file is larger than {MAX_FILE_BYTES >> 30} GiB")
                shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        except OSError as error:
            self.close()
            raise _refuse(self.path, f"cannot copy it ({error.strerror})") from None
        except BaseException:
            self.close()
            raise
        self.uri = f"{copy.as_uri()}?mode=ro"
        try:
            # Opened and checked on a worker thread while another input is merged, then read on the main one.
            self.conn = sqlite3.connect(self.uri, uri=True, check_same_thread=False)
            self.conn.execute("PRAGMA trusted_schema = OFF")
            self.conn.execute("PRAGMA query_only = ON")
            self.conn.execute("PRAGMA cell_size_check = ON")
            check = self.conn.execute("PRAGMA quick_check").fetchall()
            if check != [("ok",)]:
                raise _refuse(self.path, f"damaged ({check[0][0]})")
            found = frozenset(self.conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema").fetchall())
        except (sqlite3.DatabaseError, UnicodeDecodeError) as error:
            self.close()
            raise _refuse(self.path, f"damaged or not a database ({error})") from None
        except ProjectFileError:
            self.close()
            raise
        extra = sorted(found - expected_schema())
        missing = sorted(expected_schema() - found)
        if extra or missing:
            self.close()
            what = f"an extra {extra[0][0]} {extra[0][1]!r}" if extra else f"no {missing[0][0]} {missing[0][1]!r}"
            raise _refuse(self.path, f"its schema is not one this StanceLabel writes ({what})")
        # Only now, with every table known to be ours, is counting rows safe (a view could run for ever).
        for table in ("event", "attribution", "annotation"):
            rows = self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            if rows > MAX_ROWS:
                self.close()
                raise _refuse(self.path, f"more than {MAX_ROWS:,} rows in {table} ({rows:,}); split the project first")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except (sqlite3.DatabaseError, UnicodeDecodeError) as error:
            raise _refuse(self.path, f"damaged ({error})") from None

    def attach(self, conn: sqlite3.Connection, name: str) -> None:
        """Attach the checked private copy, read-only, to a scratch connection of the caller's (one opened
        with ``uri=True`` and ``trusted_schema=OFF``; never a project's), to copy rows out of it in SQL."""
        try:
            conn.execute(f"ATTACH DATABASE ? AS {name}", (self.uri,))
        except (sqlite3.DatabaseError, UnicodeDecodeError) as error:
            raise _refuse(self.path, f"damaged ({error})") from None

    def rows(self, sql: str, params: tuple = ()) -> Iterator[tuple]:
        """The rows of a query, streamed; a damaged page met on the way is refused like in ``query``."""
        try:
            yield from self.conn.execute(sql, params)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as error:
            raise _refuse(self.path, f"damaged ({error})") from None

    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()
            self.conn = None
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> UntrustedProject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
