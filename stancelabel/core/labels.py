"""Rules every label schema keeps, whoever edits it (the GUI's editor, a future CLI)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import Label
from stancelabel.core.names import for_terminal, name_problem, text_problem

#: Single keys the labelling window uses itself (its action table checks it uses no other); a label may
#: not take them, whoever edits the schema (the window's editor, `guidelines --set`, a merge).
RESERVED_KEYS = frozenset("JKNFESCTXUPG?[]/")

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def check_label_schema(labels: Sequence[Label], reserved_keys: Iterable[str] = ()) -> None:
    """Refuse a schema with blank or repeated names, clashing keys or bad colours.

    Keys compare case-insensitively, as a key press does; ``reserved_keys`` are
    the keys the labelling window already uses for something else.
    """
    if not labels:
        raise StanceLabelError("a label schema needs at least one label")
    reserved = {key.upper() for key in reserved_keys}
    names: dict[str, str] = {}
    keys: dict[str, str] = {}
    for label in labels:
        name = label.name
        if not name.strip():
            raise StanceLabelError("a label needs a name (one was empty)")
        problem = name_problem(name)
        if problem:
            raise StanceLabelError(f"label name {for_terminal(repr(name))} {problem}")
        problem = text_problem(label.description)
        if problem:
            raise StanceLabelError(f"label {for_terminal(repr(name))}: its description {problem}")
        folded = name.casefold()
        if folded in names:
            raise StanceLabelError(f"two labels are called {name!r}")
        names[folded] = name
        key = label.shortcut.strip().upper()
        if len(key) != 1 or not key.isprintable():
            raise StanceLabelError(f"label {name!r} needs a single-character key (got {label.shortcut!r})")
        if key.isdigit():
            raise StanceLabelError(f"label {name!r}: digit keys 1-9 already pick labels by position; "
                                   "choose a letter or a sign")
        if key in reserved:
            raise StanceLabelError(f"label {name!r}: key {key} is already used by the labelling window")
        if key in keys:
            raise StanceLabelError(f"labels {keys[key]!r} and {name!r} both use key {key}")
        keys[key] = name
        if not _COLOUR.match(label.colour):
            raise StanceLabelError(f"label {name!r}: colour {label.colour!r} is not of the form #rrggbb")


_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_MARKUP = re.compile(r"(\*\*|__|\*|_|`)")


def descriptions_from_guidelines(markdown: str, names: Iterable[str]) -> dict[str, str]:
    """The first paragraph under a heading that is a label's name, as plain text, per label.

    So a lead writes the guidelines once and each label's button shows its gist.
    """
    wanted = {name.casefold(): name for name in names}
    found: dict[str, str] = {}
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for index, line in enumerate(lines):
        heading = _HEADING.match(line)
        if not heading:
            continue
        name = wanted.get(_MARKUP.sub("", heading.group(2)).strip().casefold())
        if name is None or name in found:
            continue
        paragraph: list[str] = []
        for following in lines[index + 1:]:
            if _HEADING.match(following):
                break
            if not following.strip():
                if paragraph:
                    break
                continue
            paragraph.append(following.strip().lstrip(">").strip())
        text = " ".join(_MARKUP.sub("", " ".join(paragraph)).split())
        if text:
            found[name] = text
    return found
