"""Temporary files and folders named for the process that writes them.

Exports and merges write beside their target under ``.NAME.PID.….partial`` and
rename into place when complete; a merge keeps private copies in
``stancelabel-KIND-PID-…`` folders of the system's temporary directory. A process
that is killed cannot remove them; the next one to write the same target (or the
next merge) removes those of processes that are gone, and nothing else.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

#: Private folders of a merge in the system's temporary folder, with the owning process's id.
_PRIVATE = re.compile(r"^stancelabel-(?:merge|staging)-(\d+)-")


#: The most bytes of the target's name a partial file's name repeats (the rest is a hash), so the
#: partial name fits the file system wherever the target's own name does.
_NAME_BYTES = 120


def _short_name(target: Path) -> str:
    name = Path(target).name
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= _NAME_BYTES:
        return name
    return raw[:_NAME_BYTES - 11].decode("utf-8", "ignore") + "-" + hashlib.sha256(raw).hexdigest()[:10]


def partial_prefix(target: Path) -> str:
    """The name prefix of this process's partial files for ``target`` (for tempfile's ``prefix``)."""
    return f".{_short_name(target)}.{os.getpid()}."


def process_gone(pid: int) -> bool:
    """Whether no process has this id (one of another user's counts as there)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError, OverflowError):
        return False
    return False


def remove_stale(folder: Path, pattern: re.Pattern[str]) -> int:
    """Remove the entries of ``folder`` whose name matches ``pattern`` (group 1: a process id) and whose
    process is gone; returns how many went."""
    removed = 0
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return 0
    for entry in entries:
        match = pattern.match(entry.name)
        if not match or entry.is_symlink() or not process_gone(int(match[1])):
            continue
        try:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        except OSError:
            continue  # not ours to remove, or gone already
    return removed


def sweep_partials(target: Path) -> int:
    """Remove what killed writers of ``target`` left beside it."""
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    return remove_stale(folder, re.compile(rf"^\.{re.escape(_short_name(target))}\.(\d+)\..*\.partial$"))


def private_folder(kind: str) -> Path:
    """A new folder in the system's temporary folder only this user can read, named for this process."""
    folder = Path(tempfile.mkdtemp(prefix=f"stancelabel-{kind}-{os.getpid()}-"))
    os.chmod(folder, 0o700)
    return folder


def sweep_stale_folders() -> int:
    """Remove the private folders of merges whose process is gone (killed, crashed); returns how many."""
    return remove_stale(Path(tempfile.gettempdir()), _PRIVATE)
