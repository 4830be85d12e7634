"""Stance suggestions for detected attributions: from the cue's hint, negation and hedges."""

from __future__ import annotations

from spacy.tokens import Doc

from stancelabel.core.model import Spans
from stancelabel.nlp.doctext import doc_text
from stancelabel.nlp.lexicon import CueEntry

#: Words in a content that make an asserting report a qualified one.
HEDGES = {"may", "might", "could", "perhaps", "possibly", "probably", "likely", "unlikely", "reportedly",
          "allegedly", "apparently", "seemingly", "unclear", "unconfirmed", "uncertain", "suggest", "suggests",
          "appear", "appears", "seem", "seems", "if", "unless", "some", "partly", "partially"}
#: Phrases that qualify rather than deny, checked before plain negation.
HEDGE_PHRASES = ("not yet", "no proof", "no evidence", "not clear", "not certain", "not necessarily",
                 "not entirely", "too early", "no sign")
NEGATIONS = {"not", "n't", "never", "no", "neither", "nor", "nothing", "nobody", "none", "nowhere", "cannot"}


def suggest(doc: Doc, entry: CueEntry | None, cue_negated: bool, content: Spans, hedged_cue: bool) -> str | None:
    """A stance suggestion from the cue's hint, negation and hedges; never anybody's label.

    - a negated cue (did not deny, would not confirm) qualifies;
    - a hedged cue (reportedly said, may have said, seems) qualifies;
    - an asserting cue whose content holds a hedge phrase (not yet, no proof) qualifies;
    - an asserting cue whose content is negated (never, not, no) denies;
    - otherwise the cue's own hint.
    """
    base = entry.stance if entry else None
    if base is None:
        return None
    if cue_negated:
        return "qualifies"
    if hedged_cue and base == "asserts":
        return "qualifies"
    if base != "asserts":
        return base
    words = " ".join(doc_text(doc)[s:e] for s, e in content).lower()
    if any(phrase in words for phrase in HEDGE_PHRASES):
        return "qualifies"
    tokens = [t.lower_ for t in doc.char_span(content[0][0], content[-1][1], alignment_mode="expand") or []]
    if any(t in NEGATIONS for t in tokens[:25]):
        return "denies"
    return base
