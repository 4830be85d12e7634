"""One rule for the names and values the tool accepts, whichever door they come through.

Annotator and label names are printable Unicode (no-break and other spaces
included) without control or format characters, line separators or surrounding
white space. Texts (documents, notes, targets, metadata) may hold any character
but U+0000 and unpaired surrogates, which no file format or tool downstream
carries. Numbers are finite; event times lie no further ahead than a day of
clock skew. Every importer, the schema editor, label import, merge, split and
the window check with these functions, so what one accepts all accept, and every
export writes it back exactly. Names printed to a terminal go through
``for_terminal``, so a hostile file cannot send escape sequences to it.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from stancelabel.core.errors import StanceLabelError

#: The longest annotator or label name accepted.
MAX_NAME_CHARS = 100
#: Unicode categories refused in names: control, format, surrogate, line and paragraph separators.
_REFUSED_IN_NAMES = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
#: Escaped when printed to a terminal: the above, and C1 controls (U+0080-U+009F are Cc too).
_ESCAPED_FOR_TERMINAL = _REFUSED_IN_NAMES
#: How far ahead of this machine's clock an event time may be (clock skew between machines).
FUTURE_SLACK = timedelta(days=1)


def describe(char: str) -> str:
    """``U+001B`` with the character's Unicode name where it has one."""
    name = unicodedata.name(char, "")
    if not name and unicodedata.category(char) == "Cc":
        name = {"\x00": "NULL", "\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE"}.get(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be an annotator's or label's name as it stands; None when it can."""
    if not isinstance(name, str):
        return f"must be text, not {type(name).__name__}"
    if not name.strip():
        return "is empty"
    if name != name.strip():
        return "starts or ends with white space"
    if len(name) > MAX_NAME_CHARS:
        return f"is longer than {MAX_NAME_CHARS} characters"
    for char in name:
        if unicodedata.category(char) in _REFUSED_IN_NAMES:
            return f"holds the character {describe(char)}, which names may not hold"
    return None


def clean_name(name: object, what: str = "name") -> str:
    """A name as stored: surrounding white space removed, then checked; StanceLabelError naming the problem.

    ``what`` says whose name it is ("annotator name", "label name").
    """
    stripped = name.strip() if isinstance(name, str) else name
    problem = name_problem(stripped)
    if problem is not None:
        raise StanceLabelError(f"{what} {for_terminal(repr(name))} {problem}")
    return stripped  # type: ignore[return-value]


def text_problem(text: str) -> str | None:
    """Why a text (document, note, target, metadata value) cannot be stored; None when it can."""
    if "\x00" in text:
        return f"holds the character {describe(chr(0))}, which no export format can carry"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"holds an unpaired surrogate {describe(text[error.start])} (not valid Unicode)"
    return None


def check_text(text: str, what: str = "text") -> str:
    problem = text_problem(text)
    if problem is not None:
        raise StanceLabelError(f"{what} {problem}")
    return text


def value_problem(value: Any, depth: int = 0) -> str | None:
    """Why a JSON value (a document's metadata) cannot be stored: non-finite numbers, bad text."""
    if depth > 64:
        return "is nested too deeply"
    if isinstance(value, float) and not math.isfinite(value):
        return f"holds the number {value!r}, which JSON cannot carry (only finite numbers)"
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, dict):
        for key, item in value.items():
            problem = value_problem(key, depth + 1) or value_problem(item, depth + 1)
            if problem is not None:
                return problem
    elif isinstance(value, list):
        for item in value:
            problem = value_problem(item, depth + 1)
            if problem is not None:
                return problem
    return None


def latest_acceptable_time(now: datetime | None = None) -> str:
    """The latest event time accepted from a file, in the stored format (ISO 8601 UTC): now plus a day."""
    now = now or datetime.now(UTC)
    return (now + FUTURE_SLACK).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def time_problem(stamp: str, latest: str | None = None) -> str | None:
    """Why an event time from a file cannot be taken: more than a day ahead of this machine's clock.

    Times are compared as the stored ISO 8601 strings (``...Z``), which sort as times do.
    """
    latest = latest or latest_acceptable_time()
    try:  # the digits in place are not enough: 2020-13-45T99:99:99Z is no time
        datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return f"has the time {stamp}, which is not a real date and time"
    if stamp > latest:
        return (f"has the time {stamp}, more than a day after this computer's clock; was it written on a "
                "machine whose clock is wrong?")
    return None


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def for_terminal(text: str, keep: str = "") -> str:
    """``text`` with control and format characters escaped (``\\x1b``, ``\\n``, ``\\u202e``), safe to print;
    the characters in ``keep`` (a tab that aligns a report) stay as they are."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(_escaped(c) if unicodedata.category(c) in _ESCAPED_FOR_TERMINAL and c not in keep else c
                   for c in text)


def _json_escaped(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_for_terminal(text: str) -> str:
    """JSON text (as ``json.dumps`` writes it) with the characters ``for_terminal`` escapes written as
    ``\\uXXXX`` escapes: the same JSON value, safe to print. Its own line breaks and indents stay."""
    if text.isascii() and all(c.isprintable() or c == "\n" for c in text):
        return text
    return "".join(_json_escaped(c) if c != "\n" and unicodedata.category(c) in _ESCAPED_FOR_TERMINAL else c
                   for c in text)
