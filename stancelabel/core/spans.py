"""The one span codec: role spans as the store, the event log, exports, keys and the detector write them.

A role's spans are half-open ``(start, end)`` character offsets. Stored in an
attribution row they are compact JSON text (``[[12,20],[31,40]]``); in event
values, JSON records and between processes, lists of ``[start, end]`` lists; in
keys and CSV cells, ``12-20;31-40``. Everything that writes or reads spans goes
through here, so the forms cannot drift apart.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: A half-open ``[start, end)`` range of document character offsets.
Span = tuple[int, int]
#: One role of an attribution: a list of spans, so discontinuous text fits.
Spans = tuple[Span, ...]

#: No span, as stored.
EMPTY_JSON = "[]"
#: One span as the store writes it (the usual case), numbers without leading zeros.
_ONE_SPAN = re.compile(r"\[\[(0|[1-9][0-9]{0,9}),(0|[1-9][0-9]{0,9})\]\]")


def normalize_spans(spans: Any) -> Spans:
    """Spans as sorted ``(start, end)`` int pairs: empty ones dropped, overlapping or touching ones merged.

    So the same stretch of text always gives the same spans, and the same key.
    """
    out: list[tuple[int, int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in spans):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


def spans_to_text(spans: Spans) -> str:
    """The compact ``start-end;start-end`` form used in keys and CSV cells."""
    return ";".join(f"{s}-{e}" for s, e in spans)


def to_json(spans: Spans) -> str:
    """Spans as the store writes them: compact JSON text."""
    return json.dumps([list(s) for s in spans], separators=(",", ":"))


def from_json(value: str) -> Spans:
    """Spans from stored JSON text. The usual forms (none, one span) are read without the JSON
    machinery, as they are on the export's hot path; anything else is parsed as JSON, so a value
    that is not spans raises ValueError or TypeError."""
    if value == EMPTY_JSON:
        return ()
    match = _ONE_SPAN.fullmatch(value)
    if match is not None:
        return ((int(match[1]), int(match[2])),)
    return from_lists(json.loads(value))


def to_lists(spans: Spans) -> list[list[int]]:
    """Spans as JSON values: a list of ``[start, end]`` lists (event values, export records)."""
    return [list(s) for s in spans]


def from_lists(value: Any) -> Spans:
    """Spans from a list of ``[start, end]`` pairs (JSON values, the detector's results between processes)."""
    return tuple((int(s), int(e)) for s, e in value)


def is_offset_list(value: object, length: int | None = None) -> bool:
    """Whether a JSON value is a list of ``[start, end]`` whole numbers with 0 <= start <= end
    (and end <= ``length`` when given): the shape spans must have to be read from another's file."""
    return isinstance(value, list) and all(
        isinstance(x, list) and len(x) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in x)
        and 0 <= x[0] <= x[1] and (length is None or x[1] <= length) for x in value)


def is_usual_json(value: str, length: int) -> bool:
    """No span, or exactly one ``[[start,end]]`` with 0 <= start < end <= length: stored JSON text with
    nothing to parse or normalise."""
    if value == EMPTY_JSON:
        return True
    match = _ONE_SPAN.fullmatch(value)
    return match is not None and int(match[1]) < int(match[2]) <= length


def from_untrusted_json(value: str, length: int) -> Spans | None:
    """Spans from JSON text of another's file, checked to lie inside a text of ``length`` and
    normalised; None if they are not such spans."""
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError, RecursionError):
        return None
    return normalize_spans(parsed) if is_offset_list(parsed, length) else None


def first_start(value: str) -> int:
    """The start of the first span in stored (compact, non-empty) JSON text, without parsing the rest."""
    return int(value[2:value.index(",")])


def sql_first_span_text(column: str, text: str = "d.text", limit: int | None = None) -> str:
    """SQL for the text of the first span in a column of stored spans (NULL when there is none):
    what the queue shows and searches, read by SQLite without a row coming back to Python;
    at most ``limit`` characters of it when given."""
    length = f"json_extract({column}, '$[0][1]') - json_extract({column}, '$[0][0]')"
    if limit is not None:
        length = f"min({length}, {int(limit)})"
    return f"substr({text}, json_extract({column}, '$[0][0]') + 1, {length})"
