"""Attributions without a parse (the blank fallback pipeline): the lexicon, word order and quotation marks.

Fewer attributions, less exactly, than the parse rules (nlp/rules.py) find; used only where no
trained English pipeline is installed.
"""

from __future__ import annotations

from spacy.tokens import Doc, Span, Token

from stancelabel.core.model import Spans
from stancelabel.nlp.doctext import doc_text
from stancelabel.nlp.hints import PRONOUNS, source_hint
from stancelabel.nlp.lexicon import CueEntry, Lexicon
from stancelabel.nlp.quotes import quote_spans
from stancelabel.nlp.rules import Detected, _inside, _label, _merge, _phrase_matches, _trim, phrase_attribution
from stancelabel.nlp.stance import suggest

_SURFACE_SKIP = {"also", "then", "later", "previously", "repeatedly", "publicly", "has", "have", "had", "was",
                 "were", "is", "are", "been", "be", "will", "would", "once", "again", "recently", "not",
                 "n't", "never", "did", "does", "do", "reportedly", "allegedly", "still", "even"}
_DETERMINERS = {"the", "a", "an", "this", "these", "those", "that", "its", "their", "his", "her", "our", "my",
                "your", "such", "no", "any", "every", "each"}
_PASSIVE_AUX = {"was", "were", "is", "are", "been", "be", "being"}
_SURFACE_STOP = {"that", "and", "but", "which", "who", "when", "because", "while", "as", "if", "after", "before",
                 "since", "although", "though", "where", "whom", "whose", "what", "how", "why", "so", "or"}

# -- blank pipelines: lexicon, word order and quotation marks ------------------------------------------


def detect_surface(doc: Doc, lexicon: Lexicon) -> list[Detected]:
    """Attributions without a parse: a lexicon verb form, a nearby name or pronoun, quotes or the clause."""
    quotes = quote_spans(doc_text(doc))
    found: list[Detected] = []
    for sent in doc.sents:
        taken: set[int] = set()
        found.extend(_according_to_surface(doc, sent, lexicon, taken))
        for token in sent:
            if token.i in taken or token.is_punct or not token.is_alpha or _inside(quotes, token.idx):
                continue
            if not _surface_verb_position(doc, sent, token):
                continue
            entry = lexicon.verb_from_form(token.text)
            if entry is None:
                continue
            item = _surface_cue(doc, sent, token, entry, quotes)
            if item is not None:
                found.append(item)
    return found


def _surface_verb_position(doc: Doc, sent: Span, token: Token) -> bool:
    """Whether a word can be a verb cue by its position: not a name, noun, compound or gerund phrase."""
    if token.is_title or token.is_upper:
        return False  # sentence-initial words, names and headline capitals ("State Department")
    previous = doc[token.i - 1] if token.i > sent.start else None
    following = doc[token.i + 1] if token.i + 1 < sent.end else None
    if previous is not None and previous.lower_ in _DETERMINERS | {"-"}:
        return False  # "the reports", "its statement"
    if following is not None and following.text in ("-", "–") or (
            previous is not None and previous.text in ("-", "–")):
        return False  # "state-run"
    if token.lower_.endswith("ing") and previous is not None and previous.lower_ in (
            "by", "after", "while", "before", "in", "when", "without", "for"):
        return False  # "by saying": the speaker is the subject of another verb
    return True


def _passive_agent(doc: Doc, sent: Span, cue: Token) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """"X was denied by Y": (source Y, content X) when the cue is a passive with a by-phrase."""
    if cue.i - 1 < sent.start or doc[cue.i - 1].lower_ not in _PASSIVE_AUX:
        return None
    if cue.i + 1 >= sent.end or doc[cue.i + 1].lower_ != "by":
        return None
    end = cue.i + 2
    while end < sent.end and not doc[end].is_punct and doc[end].lower_ not in _SURFACE_STOP | {"at", "on", "in"}:
        end += 1
    source = _trim(doc, cue.i + 2, end)
    content = _trim(doc, sent.start, cue.i - 1)
    return (source, content) if source and content else None


def _surface_source(sent: Span, cue: Token) -> tuple[int, int] | None:
    """The words before the cue back to a clause boundary, or a name or pronoun right after it."""
    doc = cue.doc
    i = cue.i - 1
    while i >= sent.start and (doc[i].lower_ in _SURFACE_SKIP or doc[i].lower_.endswith("ly")
                               or (doc[i].lower_ == "to" and i - 1 >= sent.start)):
        if doc[i].lower_ == "to":
            i -= 1  # "sought to qualify": the speaker is before the governing verb
        i -= 1
    end = i + 1
    start = end
    while i >= sent.start and not doc[i].is_punct and doc[i].lower_ not in _SURFACE_STOP and end - i <= 8:
        start = i
        i -= 1
    if start < end and (doc[end - 1].is_title or doc[end - 1].lower_ in PRONOUNS or doc[end - 1].is_alpha):
        return _trim(doc, start, end)
    # inversion: '"...," said Maria Okafor'
    j = cue.i + 1
    names = []
    while j < sent.end and (doc[j].is_title or (names and doc[j].lower_ in ("of", "the"))):
        names.append(doc[j])
        j += 1
    if names:
        return _trim(doc, names[0].i, names[-1].i + 1)
    if cue.i + 1 < sent.end and doc[cue.i + 1].lower_ in PRONOUNS:
        return _trim(doc, cue.i + 1, cue.i + 2)
    return None


def _surface_cue(doc: Doc, sent: Span, cue: Token, entry: CueEntry, quotes: list[tuple[int, int]]) -> Detected | None:
    passive = _passive_agent(doc, sent, cue)
    if passive:
        source, content_span = passive
        return Detected(source=(source,), cue=((cue.idx, cue.idx + len(cue.text)),), content=(content_span,),
                        source_hint=source_hint(doc, (source,)),
                        suggestion=_label(suggest(doc, entry, None, (content_span,), None,
                                                 ((cue.idx, cue.idx + len(cue.text)),))))
    source = _surface_source(sent, cue)
    sentence_quotes = [q for q in quotes if sent.start_char <= q[0] < sent.end_char]
    content: list[tuple[int, int]] = []
    if sentence_quotes:
        content = sentence_quotes
    else:
        nxt = cue.i + 1
        if nxt < sent.end and doc[nxt].lower_ in ("that", ":"):
            nxt += 1
        after = _trim(doc, nxt, sent.end)
        if source and after and source[0] >= after[0]:
            after = _trim(doc, doc.char_span(source[1], source[1] + 1, alignment_mode="expand").end, sent.end) \
                if doc.char_span(source[1], source[1] + 1, alignment_mode="expand") is not None else None
        before = _trim(doc, sent.start, cue.i - (1 if source is None else 0))
        if after and (not source or after[0] >= source[1] or after[1] <= source[0]):
            content = [after]
        elif before and source and before[1] <= source[0]:
            content = [before]
    if not content and sent.text.rstrip().endswith(":"):
        following = [q for q in quotes if q[0] >= sent.end_char and q[0] - sent.end_char < 5]
        content = following[:1]
    if not content:
        return None
    merged = _merge(content)
    source_spans: Spans = (source,) if source else ()
    if source_spans and any(s < source[1] and source[0] < e for s, e in merged):
        source_spans = ()
    negated = next((doc[i].text for i in range(max(sent.start, cue.i - 2), cue.i)
                    if doc[i].lower_ in ("not", "n't", "never")), None)
    return Detected(source=source_spans, cue=((cue.idx, cue.idx + len(cue.text)),), content=merged,
                    source_hint=source_hint(doc, source_spans) if source_spans else None,
                    suggestion=_label(suggest(doc, entry, negated, merged, None,
                                              ((cue.idx, cue.idx + len(cue.text)),))))


def _according_to_surface(doc: Doc, sent: Span, lexicon: Lexicon, taken: set[int]) -> list[Detected]:
    """Phrase cues without a parse: the source runs to the next punctuation mark."""
    out = []
    for entry, first, last in _phrase_matches(sent, lexicon):
        j = last.i + 1
        while j < sent.end and not doc[j].is_punct:
            j += 1
        source = _trim(doc, last.i + 1, j)
        content = tuple(s for s in (_trim(doc, sent.start, first.i), _trim(doc, j, sent.end)) if s)
        if source and content:
            taken.update(range(first.i, j))
            out.append(phrase_attribution(doc, entry, first, last, source, content))
    return out
