"""Stance suggestions for detected attributions: from the cue, its negation and hedges, and the question asked.

The question on screen decides the rules. Without a target the annotator labels
the speaker's stance toward the content, so only the cue speaks: its own
polarity, a negation of the cue ("did not say") and a hedge on it ("allegedly
said"); nothing inside the content can flip it ("X claims it has never ...":
asserts). With a target, the content is read against the target, so a negated
or hedged content turns an asserting cue into denies or qualifies.

The project file keeps one suggestion per attribution, the one without a target
(it belongs to the attribution, not to a document's current target), and no
reason: ``shown`` derives the reason, and the suggestion under a target, from
the text when the window shows it, so a target set later (G) is followed at once.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from stancelabel.core.model import Spans

if TYPE_CHECKING:
    from spacy.tokens import Doc

    from stancelabel.core.model import Attribution
    from stancelabel.nlp.lexicon import CueEntry

#: Words that hedge a cue as its auxiliary or adverb in the parse (nlp/detect.py).
HEDGES = {"may", "might", "could", "perhaps", "possibly", "probably", "likely", "unlikely", "reportedly",
          "allegedly", "apparently", "seemingly", "unclear", "unconfirmed", "uncertain", "suggest", "suggests",
          "appear", "appears", "seem", "seems", "if", "unless", "some", "partly", "partially"}
#: Phrases that qualify rather than deny, checked before plain negation.
HEDGE_PHRASES = ("not yet", "no proof", "no evidence", "not clear", "not certain", "not necessarily",
                 "not entirely", "too early", "no sign")
NEGATIONS = {"not", "n't", "never", "no", "neither", "nor", "nothing", "nobody", "none", "nowhere", "cannot"}
#: Words that negate a cue in front of it ("did not say", "never claimed", "didn't deny").
CUE_NEGATIONS = {"not", "n't", "never", "cannot"}
#: Hedges that qualify a cue in front of it ("may have said", "allegedly told", "reportedly denied").
CUE_HEDGES = {"may", "might", "could", "perhaps", "possibly", "probably", "likely", "reportedly", "allegedly",
              "apparently", "seemingly", "supposedly", "purportedly"}

_WORDS = re.compile(r"\w+(?=n['’]t\b)|n['’]t\b|\w+")
#: Words a cue span may start with that the reason leaves out ("has not denied" -> *denied*).
_CUE_LEAD = CUE_NEGATIONS | CUE_HEDGES | {"did", "does", "do", "has", "have", "had", "was", "were", "is", "are",
                                          "will", "would", "be", "been", "also", "then", "publicly", "yet"}
#: How far in front of a cue its negation or hedge may stand: "had not yet publicly said".
_CUE_REACH = 4


class Suggestion(NamedTuple):
    """A stance suggestion (never anybody's label) and why, in a few words: "cue *claims*: asserts"."""

    label: str
    reason: str


def _word(token: str) -> str:
    return "not" if token.replace("’", "'") == "n't" else token


def suggest(doc: Doc, entry: CueEntry | None, negation: str | bool | None, content: Spans,
            hedge: str | bool | None, cue: Spans = ()) -> Suggestion | None:
    """The suggestion for a detected cue without a target: the speaker's stance toward the content.

    ``negation`` and ``hedge`` are the words that negate or hedge the cue (True when the word is not
    known), ``cue`` its spans (for the reason); ``content`` is not read: nothing in it changes the
    stance toward it.

    - an asserting cue that is negated (did not say, never claimed) denies;
    - any other negated cue (did not deny, never questioned) qualifies;
    - a hedged asserting cue (allegedly said, may have said) qualifies;
    - otherwise the cue's own stance from the lexicon.

    ``shown`` gives the suggestion under a target, where the content is read too.
    """
    from stancelabel.nlp.doctext import doc_text

    base = entry.stance if entry else None
    if base is None:
        return None
    cue_text = cue_words(doc_text(doc), cue) or entry.lemma
    negation = _word(negation.lower()) if isinstance(negation, str) else ("not" if negation else None)
    hedge = hedge.lower() if isinstance(hedge, str) else ("hedge" if hedge else None)
    return _for_content(base, cue_text, negation, hedge)


def _for_content(base: str, cue_text: str, negation: str | None, hedge: str | None) -> Suggestion:
    if negation:
        label = "denies" if base == "asserts" else "qualifies"
        return Suggestion(label, f"{negation} + *{cue_text}*: {label}")
    if hedge and base == "asserts":
        return Suggestion("qualifies", f"hedge *{hedge}*: qualifies")
    return Suggestion(base, f"cue *{cue_text}*: {base}")


def _for_target(without: Suggestion, cue_text: str, negation: str | None, content_text: str,
                content_tokens: list[str]) -> Suggestion:
    """The suggestion under a target, from the one without and the content's words (the rules the
    detector has always used): a negated cue qualifies; a hedged asserting cue qualifies; an
    asserting cue whose content holds a hedge phrase (not yet, no proof) qualifies, and one whose
    content is negated (never, not, no) denies; otherwise the cue's own stance."""
    if negation:
        return Suggestion("qualifies", f"{negation} + *{cue_text}*: qualifies")
    if without.label != "asserts":
        return without
    words = content_text.lower()
    phrase = next((p for p in HEDGE_PHRASES if p in words), None)
    if phrase:
        return Suggestion("qualifies", f"content *{phrase}*: qualifies")
    negating = next((t for t in content_tokens[:25] if t in NEGATIONS), None)
    if negating:
        return Suggestion("denies", f"content *{_word(negating)}*: denies")
    return without


def cue_words(text: str, cue: Spans) -> str:
    """The cue as a reason names it: its words without a leading auxiliary, negation or hedge."""
    words = " ".join(text[s:e] for s, e in cue).split()
    while len(words) > 1 and all(_word(w) in _CUE_LEAD for w in _WORDS.findall(words[0].lower()) or ["?"]):
        words.pop(0)
    return " ".join(words)


def cue_modifiers(text: str, cue: Spans) -> tuple[str | None, str | None]:
    """The negation and the hedge of a cue: in its span or among the few words in front of it, up to a
    clause boundary ("did not say", "has never claimed", "may have told")."""
    start = cue[0][0]
    clause = re.split(r"[,;:.!?()\"“”\[\]—–]", text[max(0, start - 60):start])[-1]
    words = [w.lower() for w in _WORDS.findall(clause)][-_CUE_REACH:]
    words += [w.lower() for s, e in cue for w in _WORDS.findall(text[s:e])]
    negation = next((_word(w) for w in reversed(words) if w.replace("’", "'") in CUE_NEGATIONS), None)
    hedge = next((w for w in reversed(words) if w in CUE_HEDGES), None)
    return negation, hedge


def shown(attribution: Attribution, text: str, target: str | None) -> Suggestion | None:
    """The suggestion the window shows for a stored attribution and its document's current target.

    The stored suggestion is the one without a target; its reason and the suggestion under a target are
    read off the text: the negation or hedge of the cue and the content's words.
    """
    stored = attribution.suggestion
    if not stored or not attribution.cue:
        return None
    cue_text = cue_words(text, attribution.cue)
    if stored not in ("asserts", "denies", "qualifies"):  # a label of the project's own schema: nothing to derive
        return Suggestion(stored, f"cue *{cue_text}*: {stored}")
    negation, hedge = cue_modifiers(text, attribution.cue)
    if negation and stored != "asserts":
        without = Suggestion(stored, f"{negation} + *{cue_text}*: {stored}")
    elif hedge and stored == "qualifies":
        without = Suggestion(stored, f"hedge *{hedge}*: {stored}")
    else:  # a negation or hedge the parse did not take as the cue's ("not only did she say") is left out
        negation = None
        without = Suggestion(stored, f"cue *{cue_text}*: {stored}")
    if not target:
        return without
    content_text = " ".join(text[s:e] for s, e in attribution.content)
    tokens = [_word(w.lower()) for w in _WORDS.findall(content_text)]
    return _for_target(without, cue_text, negation, content_text, tokens)
