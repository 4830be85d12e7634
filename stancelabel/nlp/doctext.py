"""A Doc's text and sentences, built once per document while the detector works on it."""

from __future__ import annotations

import threading

import numpy as np
from spacy.attrs import SENT_START
from spacy.tokens import Doc, Span

_current = threading.local()


def _cached(doc: Doc) -> dict:
    cached = getattr(_current, "pair", None)
    if cached is None or cached[0] is not doc:
        cached = _current.pair = (doc, {})
    return cached[1]


def doc_text(doc: Doc) -> str:
    """The document's text, built once per detection run (``Doc.text`` joins every token anew)."""
    cache = _cached(doc)
    if "text" not in cache:
        cache["text"] = doc.text
    return cache["text"]


def sentence_numbers(doc: Doc) -> np.ndarray:
    """Each token's sentence number, from the sentence starts in one array (``Doc.sents`` makes a
    Token object of every word to find them)."""
    cache = _cached(doc)
    if "numbers" not in cache:
        starts = doc.to_array(SENT_START) == 1 if len(doc) else np.zeros(0, dtype=bool)
        if len(doc):
            starts[0] = True
        cache["numbers"] = np.cumsum(starts) - 1
    return cache["numbers"]


def sentences(doc: Doc) -> list[Span]:
    """The document's sentences, as ``Doc.sents`` gives them."""
    cache = _cached(doc)
    if "sentences" not in cache:
        numbers = sentence_numbers(doc)
        bounds = [*np.flatnonzero(np.diff(numbers, prepend=-1)).tolist(), len(doc)]
        cache["sentences"] = [doc[s:e] for s, e in zip(bounds, bounds[1:])]
    return cache["sentences"]
