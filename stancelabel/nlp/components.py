"""spaCy components registered by StanceLabel."""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

LINE_BREAKS = "stancelabel_line_breaks"


@Language.component(LINE_BREAKS)
def line_breaks(doc: Doc) -> Doc:
    """Start a sentence after every line break.

    News exports put a headline or a paragraph on a line of its own, and the
    statistical parser would otherwise join a headline to the first paragraph.
    Placed before the parser (which keeps boundaries set earlier) or after a
    rule-based sentencizer. Hard-wrapped text should be unwrapped before import.
    """
    for token in doc[:-1]:
        if token.is_space and "\n" in token.text:
            doc[token.i + 1].is_sent_start = True
    return doc
