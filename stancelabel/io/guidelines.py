"""Setting a project's annotation guidelines: one implementation for the command line and the window.

A section headed with a label's name (``## denies``) also becomes that label's
description, shown on its button; the schema is checked as every schema change
is, including the keys the labelling window keeps for itself.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.inputs import check_input_file, read_stdin_bytes
from stancelabel.core.labels import RESERVED_KEYS, descriptions_from_guidelines
from stancelabel.io.textfile import decode, normalize_newlines, read_bytes
from stancelabel.store.project import MAX_GUIDELINES_CHARS, Project

#: Bytes read at most: UTF-8 takes at most four per character.
MAX_GUIDELINES_BYTES = 4 * MAX_GUIDELINES_CHARS


def read_guidelines(named: str) -> str:
    """Markdown from a file, or from standard input for ``-``, read with a bound; refused in one line."""
    if named == "-":
        markdown, _ = decode(Path("<stdin>"), read_stdin_bytes(MAX_GUIDELINES_BYTES, "guidelines"))
    else:
        path = Path(named)
        check_input_file(path, "guidelines")
        if path.stat().st_size > MAX_GUIDELINES_BYTES:
            raise StanceLabelError(f"{path}: longer than {MAX_GUIDELINES_BYTES:,} bytes; the guidelines were not "
                                   "changed")
        markdown, _ = decode(path, read_bytes(path))
    if not markdown.strip():
        raise StanceLabelError(f"{named}: the file is empty; the guidelines were not changed")
    return normalize_newlines(markdown)


def set_guidelines(project: Project, markdown: str) -> list[str]:
    """Replace the guidelines, and the descriptions of the labels that have a section; in one transaction.
    Returns the labels whose description was taken from the guidelines."""
    labels = project.labels()
    found = descriptions_from_guidelines(markdown, [label.name for label in labels])
    with project.transaction():
        project.set_guidelines(markdown)
        if found:
            project.save_labels([replace(x, description=found.get(x.name, x.description)) for x in labels],
                                RESERVED_KEYS)
    return list(found)
