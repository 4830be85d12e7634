"""Rules every label schema keeps, whoever edits it (the GUI's editor, a future CLI)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import Label

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
        name = label.name.strip()
        if not name:
            raise StanceLabelError("a label needs a name (one was empty)")
        if name != label.name or any(ch in name for ch in "\n\r\t"):
            raise StanceLabelError(f"label name {label.name!r} has leading, trailing or control whitespace")
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
