"""Reading text files defensively: binary refusal, UTF-8 with line-numbered errors, BOM, newlines."""

from __future__ import annotations

import re
from pathlib import Path

from stancelabel.core.errors import InputFileError

BOM = b"\xef\xbb\xbf"
#: Input files larger than this are refused rather than read into memory.
MAX_FILE_BYTES = 512 * 1024 * 1024
#: Longest document text accepted (spaCy's own default limit for one Doc).
MAX_DOCUMENT_CHARS = 1_000_000
#: Longest run of characters without white space in a document (the longest URLs are a few hundred).
MAX_WORD_CHARS = 5_000
_LONG_RUN = re.compile(rf"\S{{{MAX_WORD_CHARS + 1},}}")


def read_bytes(path: Path) -> bytes:
    """A file's bytes, or an InputFileError saying why it cannot be read."""
    try:
        if not path.exists():
            raise InputFileError(path, "no such file" + (" (a link to nothing)" if path.is_symlink() else ""))
        if not path.is_file():
            raise InputFileError(path, "not a regular file (a device, pipe or socket)")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            limit = MAX_FILE_BYTES // 2**20
            raise InputFileError(path, f"file too large ({size // 2**20} MiB; the limit is {limit} MiB)")
        return path.read_bytes()
    except IsADirectoryError:
        raise InputFileError(path, "is a folder, not a file") from None
    except OSError as error:
        raise InputFileError(path, f"cannot read the file ({error.strerror or error})") from None


def decode(path: Path, data: bytes) -> tuple[str, bool]:
    """Decode UTF-8 text; returns (text without BOM, whether a BOM was there).

    Binary files (NUL bytes) and undecodable bytes are refused with the line
    they occur on.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(path, "UTF-16 text; save the file as UTF-8 and import it again", line=1)
    nul = data.find(b"\x00")
    if nul != -1:
        raise InputFileError(path, "binary file (contains NUL bytes), not text", line=data.count(b"\n", 0, nul) + 1)
    had_bom = data.startswith(BOM)
    body = data[len(BOM):] if had_bom else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body.count(b"\n", 0, error.start) + 1
        byte = body[error.start:error.start + 1].hex()
        raise InputFileError(
            path, f"not valid UTF-8 (byte 0x{byte}); save the file as UTF-8 and import it again", line=line
        ) from None
    return text, had_bom


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF, so offsets mean the same on every platform."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def document_text(text: str) -> str:
    """A document's text as every door stores it: newlines normalised, a leading U+FEFF (a byte order mark
    that travelled inside a string) removed, as it is from a file, so the text is the same through BRAT."""
    return normalize_newlines(text.lstrip("\ufeff"))


def newline_map(text: str) -> tuple[str, list[int]]:
    """Normalise newlines and map every offset of the original text into the result.

    ``mapping[i]`` is the length of what ``text[:i]`` becomes, so a span
    ``(s, e)`` of the original is ``(mapping[s], mapping[e])`` afterwards.
    """
    mapping = [0] * (len(text) + 1)
    out = 0
    for i, char in enumerate(text):
        mapping[i] = out
        if not (char == "\r" and text[i + 1:i + 2] == "\n"):
            out += 1
    mapping[len(text)] = out
    return normalize_newlines(text), mapping


def check_length(path: Path, text: str, line: int | None = None) -> None:
    """Refuse a document too long to process as one, or holding a 'word' no reader reads (a data blob):
    spaCy's tokenizer takes time quadratic in a token's length (300,000 characters: minutes)."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise InputFileError(path, f"text too long ({len(text):,} characters; the limit is "
                             f"{MAX_DOCUMENT_CHARS:,}): split it into several documents", line=line)
    if len(text) > MAX_WORD_CHARS:
        run = _LONG_RUN.search(text)
        if run is not None:
            longest = len(run.group())
            where = line if line is not None else text.count("\n", 0, run.start()) + 1
            raise InputFileError(path, f"holds {longest:,} characters without a space (the limit is "
                                 f"{MAX_WORD_CHARS:,}): data, not text to annotate", line=where)


def read_text(path: Path) -> str:
    """A plain text document: decoded, BOM removed, newlines normalised."""
    text, _ = decode(path, read_bytes(path))
    check_length(path, text)
    return normalize_newlines(text)
