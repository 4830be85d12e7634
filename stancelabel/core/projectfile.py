"""A project file seen from outside: its 100-byte SQLite header, and the files SQLite keeps beside it.

The one parser of the header: opening a project, checking a file to merge and
refusing to overwrite a project with an export all read it here, before any
SQLite connection touches the file.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: The first 16 bytes of every SQLite database file.
MAGIC = b"SQLite format 3\x00"
#: ``PRAGMA application_id`` of every StanceLabel project: "STNC" in ASCII.
APPLICATION_ID = 0x53544E43
HEADER_BYTES = 100
#: What SQLite writes beside a database: the write-ahead log, its index, a rollback journal.
COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True, slots=True)
class Header:
    """What the first 100 bytes of an SQLite file say."""

    application_id: int
    #: ``PRAGMA user_version``: the schema version of a StanceLabel project
    user_version: int

    @property
    def is_project(self) -> bool:
        return self.application_id == APPLICATION_ID


def parse_header(data: bytes) -> Header | None:
    """The header of an SQLite file from its first bytes; None when they are not SQLite's."""
    if len(data) < HEADER_BYTES or data[:16] != MAGIC:
        return None
    return Header(application_id=int.from_bytes(data[68:72], "big", signed=True),
                  user_version=int.from_bytes(data[60:64], "big"))


def read_header(path: Path) -> Header | None:
    """The header of a regular file (None: not SQLite, or not a regular file); OSError when unreadable.

    Never opens anything but a regular file: a FIFO would block the read for ever.
    """
    if not stat.S_ISREG(os.stat(path).st_mode):
        return None
    with open(path, "rb") as handle:
        return parse_header(handle.read(HEADER_BYTES))


def is_project_file(path: Path) -> bool:
    """Whether ``path`` is a StanceLabel project (by its header); False for anything unreadable."""
    try:
        header = read_header(path)
    except OSError:
        return False
    return header is not None and header.is_project


def companions(path: Path) -> list[Path]:
    """The -wal, -shm and -journal names beside ``path`` (whether or not they exist)."""
    path = Path(path)
    return [path.with_name(path.name + suffix) for suffix in COMPANION_SUFFIXES]


def wal_of(path: Path) -> Path:
    """The write-ahead log SQLite keeps beside ``path``."""
    return companions(path)[0]


def is_sqlite_file(path: Path) -> bool:
    """Whether ``path`` is an SQLite database of any program (by its header); False for anything unreadable."""
    try:
        return read_header(path) is not None
    except OSError:
        return False


@contextlib.contextmanager
def no_new_companions(path: Path) -> Iterator[None]:
    """Remove, when the block fails, the -wal, -shm and -journal files it left beside ``path`` that were
    not there before: a project that could not be opened is left as it was found.

    Call it with every connection to the file closed by the time the error leaves the block.
    """
    present = existing_companions(path)
    try:
        yield
    except BaseException:
        remove_companions_since(path, present)
        raise


def existing_companions(path: Path) -> set[Path]:
    """The -wal, -shm and -journal files beside ``path`` now (for ``remove_companions_since``)."""
    return {companion for companion in companions(path) if os.path.lexists(companion)}


def remove_companions_since(path: Path, present: set[Path]) -> None:
    """Remove the companion files beside ``path`` that were not there when ``present`` was taken."""
    for companion in companions(path):
        if companion not in present:
            with contextlib.suppress(OSError):
                os.unlink(companion)
