"""File names made from document ids and annotator names: safe, unique and within the file system's limit."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

#: The longest file name (in bytes) assumed where the file system does not say.
DEFAULT_NAME_MAX = 255


def name_max(folder: Path) -> int:
    """The longest file name, in bytes, the file system of ``folder`` takes."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return DEFAULT_NAME_MAX


def shorten(name: str, max_bytes: int) -> str:
    """``name`` cut to at most ``max_bytes`` of UTF-8 with a hash of the whole, so two long names stay apart."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= max_bytes:
        return name
    digest = hashlib.sha256(raw).hexdigest()[:10]
    keep = raw[:max(0, max_bytes - len(digest) - 1)].decode("utf-8", "ignore")
    return f"{keep}-{digest}"


#: What a file name made from a name keeps: letters and digits of any script, "_", "." and "-".
UNSAFE_FILE_CHARS = re.compile(r"[^\w.-]+")


def file_name_part(name: str, unsafe: re.Pattern[str], empty: str) -> str:
    """A readable file-name form of a name (what ``unsafe`` matches becomes "-"); a name that had to change
    gets a short hash of itself, so two names that change alike still differ."""
    safe = unsafe.sub("-", name).strip("-.") or empty
    if safe != name:
        safe += "-" + hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:6]
    return safe


class UniqueNames:
    """File names handed out once each, deterministically: compared case-insensitively (as macOS and
    Windows file systems do) and kept within the file system's limit."""

    def __init__(self, max_bytes: int = DEFAULT_NAME_MAX) -> None:
        self.max_bytes = max_bytes
        self._taken: dict[str, str] = {}

    def take(self, stem: str, suffix: str, owner: str) -> str:
        """A name ``STEM[-HASH]SUFFIX`` for ``owner`` (the same owner gets the same name back)."""
        room = self.max_bytes - len(suffix.encode("utf-8"))
        candidate = shorten(stem, room) + suffix
        attempt = 0
        while self._taken.get(candidate.casefold(), owner) != owner:
            attempt += 1
            digest = hashlib.sha256(f"{owner}\x00{attempt}".encode("utf-8", "surrogateescape")).hexdigest()[:8]
            candidate = shorten(stem, room - len(digest) - 1) + f"-{digest}" + suffix
        self._taken[candidate.casefold()] = owner
        return candidate
