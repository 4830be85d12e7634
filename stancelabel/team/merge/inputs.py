"""The inputs of a merge: each opened as a checked private copy, its rows checked where SQLite's own
checks cannot reach (names, event times and values, references between rows), the next ones opened
on a worker thread while the caller merges this one."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from stancelabel.core import spans as codec
from stancelabel.core.errors import StanceLabelError
from stancelabel.core.names import for_terminal, latest_acceptable_time, name_problem, text_problem
from stancelabel.team.untrusted import UntrustedProject


def _bad_json_text(value: str) -> bool:
    """Whether a JSON string value holds text no export can carry (U+0000, an unpaired surrogate)."""
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError, RecursionError):
        return True
    return isinstance(parsed, str) and text_problem(parsed) is not None



def _check_event(kind: str, value: str, length: int) -> bool:
    """Whether an event's JSON value has the shape its kind needs (and names things that exist)."""
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError, RecursionError):
        return False
    if kind == "label":  # a label id no longer in the schema may stay in the history
        return parsed is None or (isinstance(parsed, int) and not isinstance(parsed, bool))
    if kind == "note":
        return isinstance(parsed, str) or parsed is None
    if kind == "flag":
        return isinstance(parsed, bool) or parsed is None
    if kind == "status":
        return parsed in ("active", "rejected", "withdrawn")
    if kind == "span":
        return (isinstance(parsed, dict) and parsed.get("origin") in ("auto", "imported", "manual")
                and all(codec.is_offset_list(parsed.get(role), length) for role in ("source", "cue", "content")))
    if kind == "gold":
        return (isinstance(parsed, dict) and isinstance(parsed.get("label"), int)
                and not isinstance(parsed.get("label"), bool) and isinstance(parsed.get("note", ""), str)
                and text_problem(parsed.get("note", "")) is None)
    return False


_DIGITS = "[0-9][0-9]"
#: An event time as the store writes it: ISO 8601 in UTC, whole seconds or up to nine decimals.
_TIME_OK = (
    f"(e.at GLOB '{_DIGITS}{_DIGITS}-{_DIGITS}-{_DIGITS}T{_DIGITS}:{_DIGITS}:{_DIGITS}Z' "
    f"OR (e.at GLOB '{_DIGITS}{_DIGITS}-{_DIGITS}-{_DIGITS}T{_DIGITS}:{_DIGITS}:{_DIGITS}.[0-9]*Z' "
    "AND length(e.at) <= 30 AND NOT substr(e.at, 21, length(e.at) - 21) GLOB '*[^0-9]*'))"
)


def _json_type(column: str) -> str:
    return f"(CASE WHEN json_valid({column}) THEN json_type({column}) END)"


#: The value and previous value of an event have the shape its kind needs (span and gold
#: events, which name offsets and labels, are checked in Python, one by one).
_VALUE_OK = (
    "coalesce(CASE e.kind "
    f"WHEN 'label' THEN (e.value = 'null' OR {_json_type('e.value')} = 'integer') "
    f"AND (e.previous = 'null' OR {_json_type('e.previous')} = 'integer') "
    f"WHEN 'note' THEN {_json_type('e.value')} IN ('text', 'null') AND {_json_type('e.previous')} IN ('text', 'null') "
    "WHEN 'flag' THEN e.value IN ('true', 'false', 'null') AND e.previous IN ('true', 'false', 'null') "
    """WHEN 'status' THEN e.value IN ('"active"', '"rejected"', '"withdrawn"') """
    """AND e.previous IN ('null', '"active"', '"rejected"', '"withdrawn"') """
    "WHEN 'span' THEN 1 WHEN 'gold' THEN 1 ELSE 0 END, 0)"
)

#: The first event of an input that is not fit to merge, with the reason.
_EVENT_PROBLEM = f"""
    SELECT id, problem FROM (
        SELECT e.id, CASE
            WHEN a.id IS NULL OR u.id IS NULL THEN 'names an attribution or annotator that is not in the file'
            WHEN NOT {_TIME_OK} THEN 'has no valid time (ISO 8601 UTC)'
            WHEN strftime('%Y-%m-%dT%H:%M:%S', julianday(substr(e.at, 1, 19))) IS NOT substr(e.at, 1, 19)
                THEN 'has the time ' || e.at || ', which is not a real date and time'
            WHEN e.at > ?1 THEN 'is dated ' || e.at || ', more than a day after this computer''s clock (was it '
                                || 'written on a machine whose clock is wrong?)'
            WHEN e.kind = 'note' AND (instr(e.value, '\\u') AND sl_bad_text(e.value)
                                      OR instr(e.previous, '\\u') AND sl_bad_text(e.previous))
                THEN 'holds a note with U+0000 or an unpaired surrogate, which no export can carry'
            WHEN NOT {_VALUE_OK} THEN 'has a value of the wrong shape'
            WHEN e.undoes IS NOT NULL AND x.id IS NULL THEN 'undoes an event that is not in the file'
        END AS problem
        FROM event e LEFT JOIN attribution a ON a.id = e.attribution_id
        LEFT JOIN annotator u ON u.id = e.annotator_id LEFT JOIN event x ON x.id = e.undoes)
    WHERE problem IS NOT NULL ORDER BY id LIMIT 1"""


def refused(source: UntrustedProject, reason: str) -> StanceLabelError:
    return StanceLabelError(f"{source.path}: refused: {reason}; nothing was merged")


def _checked(path: Path) -> UntrustedProject:
    """An input opened as a checked private copy, its rows checked where SQLite's own checks cannot reach:
    names, event times and values, references between rows."""
    source = UntrustedProject(path)
    try:
        refuse = lambda reason: refused(source, reason)  # noqa: E731
        for (name,) in source.query("SELECT name FROM annotator"):
            problem = name_problem(name)
            if problem:
                raise refuse(f"annotator name {for_terminal(repr(name))} {problem}")
        source.conn.create_function("sl_bad_text", 1, _bad_json_text, deterministic=True)
        problem = source.query(_EVENT_PROBLEM, (latest_acceptable_time(),))
        if problem:
            raise refuse(f"event {problem[0][0]} {problem[0][1]}")
        for event_id, kind, value, previous, length in source.rows(
                "SELECT e.id, e.kind, e.value, e.previous, length(d.text) FROM event e "
                "JOIN attribution a ON a.id = e.attribution_id JOIN document d ON d.id = a.document_id "
                "WHERE e.kind IN ('span', 'gold')"):
            if not _check_event(kind, value, length) or not (previous == "null" or _check_event(kind, previous,
                                                                                                 length)):
                raise refuse(f"event {event_id} ({kind}) has a value of the wrong shape")
        orphan = source.query("SELECT key FROM attribution WHERE document_id NOT IN (SELECT id FROM document) "
                              "LIMIT 1")
        if orphan:
            raise refuse(f"attribution {orphan[0][0]} belongs to no document in the file")
    except BaseException:
        source.close()
        raise
    return source


#: How many inputs are opened and checked ahead of the one being merged (each is a private copy on disk).
AHEAD = 4


def opened(paths: list[Path]) -> Iterator[UntrustedProject]:
    """Each input checked and opened in turn, the next ones on a worker thread while the caller merges this one
    (SQLite leaves Python's lock while it reads, so the threads share the machine's cores). The caller closes
    each input it was given."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="merge-input") as pool:
        upcoming = deque(pool.submit(_checked, path) for path in paths[:AHEAD])
        try:
            for index in range(len(paths)):
                source = upcoming.popleft().result()
                if index + AHEAD < len(paths):
                    upcoming.append(pool.submit(_checked, paths[index + AHEAD]))
                yield source  # the caller closes it
        finally:
            for future in upcoming:  # stopped early: the copies being opened are thrown away too
                if not future.cancel():
                    try:
                        future.result().close()
                    except BaseException:  # noqa: BLE001 - the error that stopped the merge is the one to report
                        pass
