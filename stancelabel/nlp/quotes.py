"""Finding quoted passages in text: curly, straight and doubled-apostrophe quotation marks."""

from __future__ import annotations

import re

# Opening and closing marks; straight " and '' (as some newswires write) open and close alike.
_MARKS = re.compile(r"“|”|\"|''|«|»|„")
_OPENERS = {"“": "”", "«": "»", "„": "“"}
_CLOSERS = {"”", "»"}


def quote_spans(text: str, limit: int = 4000) -> list[tuple[int, int]]:
    """Quoted passages as (start, end) offsets including their marks, in text order.

    A quote left open runs to the next closing mark within ``limit`` characters,
    or is dropped; nested or unbalanced marks never produce overlapping spans.
    """
    spans: list[tuple[int, int]] = []
    open_at: int | None = None
    open_mark = ""
    for match in _MARKS.finditer(text):
        mark, at = match.group(), match.start()
        if open_at is not None and at - open_at > limit:
            open_at = None
        if open_at is None:
            if mark in _CLOSERS:
                continue
            open_at, open_mark = at, mark
            continue
        closes = (mark == _OPENERS.get(open_mark)) or (open_mark in ('"', "''") and mark == open_mark) or (
            mark in _CLOSERS and open_mark not in ('"', "''"))
        if closes:
            spans.append((open_at, match.end()))
            open_at = None
        elif mark == open_mark and mark in _OPENERS:
            open_at = at  # a new opening mark before the old one closed: start again here
    return spans
