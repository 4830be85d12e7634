"""A Doc's text, built once per document while the detector works on it."""

from __future__ import annotations

import threading

from spacy.tokens import Doc

_current = threading.local()


def doc_text(doc: Doc) -> str:
    """The document's text, built once per detection run (``Doc.text`` joins every token anew)."""
    cached = getattr(_current, "pair", None)
    if cached is None or cached[0] is not doc:
        cached = _current.pair = (doc, doc.text)
    return cached[1]
