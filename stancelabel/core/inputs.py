"""Paths given as inputs: only regular files (and folders where one is asked for) are opened.

A FIFO blocks an ``open`` until someone writes to it, a device can be read for
ever and a socket cannot be opened at all; each is refused, naming the path,
before anything opens it. Standard input is read with a bound.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from stancelabel.core.errors import InputFileError, StanceLabelError

_KINDS = ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def kind_of(mode: int) -> str:
    """What a file is, in a few words, from its ``st_mode``."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def special_file(path: Path) -> str | None:
    """What ``path`` is when it exists and is neither a regular file nor a folder (symlinks followed)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None  # missing or unusable: the caller's own open says why
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return kind_of(mode)


def check_input_file(path: Path, what: str = "input") -> None:
    """Refuse, before it is opened, an input that is a FIFO, socket or device (or a folder)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputFileError(path, "no such file") from None
    except (OSError, ValueError) as error:
        raise InputFileError(path, f"cannot use this path ({getattr(error, 'strerror', None) or error})") from None
    if not stat.S_ISREG(mode):
        raise InputFileError(path, f"is {kind_of(mode)}, not a file; give the {what} as a regular file")


def read_stdin_bytes(limit: int, what: str, stream: BinaryIO | None = None) -> bytes:
    """Standard input, refused once it is longer than ``limit`` bytes (without reading on for ever)."""
    stream = stream if stream is not None else sys.stdin.buffer
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise StanceLabelError(f"<stdin>: {what} longer than {limit:,} bytes; nothing was changed")
    return data
