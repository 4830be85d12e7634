"""The parse rules: a cue word's source and content from the dependency parse, and the lexicon's cues.

``detect_parsed`` is the ``rules`` detector on its own; the guided detectors (nlp/guided.py) hand it
their cue words and keep its source and content rules. Each finding is a ``Detected``, the store's
own attribution type without an annotator.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter

import numpy as np
from spacy.attrs import POS
from spacy.parts_of_speech import ADV, AUX, NOUN, VERB
from spacy.tokens import Doc, Span, Token

from stancelabel.core.model import ImportedAttribution, Spans
from stancelabel.nlp.doctext import doc_text, sentences
from stancelabel.nlp.hints import Entities, source_hint
from stancelabel.nlp.lexicon import CueEntry, Lexicon
from stancelabel.nlp.quotes import quote_spans
from stancelabel.nlp.stance import HEDGES, Suggestion, suggest

#: Dependency labels of a cue's clausal complement (the content) in spaCy's English scheme.
_CLAUSE_DEPS = ("ccomp", "xcomp")
_OBJECT_DEPS = ("dobj", "obj")
_SUBJECT_DEPS = ("nsubj", "csubj")
_CLIMB_DEPS = ("xcomp", "conj", "advcl", "pcomp", "prep", "relcl", "acl")
_RELATIVE = {"who", "which", "that", "whom", "whose"}
_NOUN_CONTEXT = {"statement", "interview", "letter", "tweet", "post", "release", "speech", "email", "memo",
                 "op-ed", "editorial", "report", "briefing", "conference", "call", "message", "video"}



#: What the detector finds: the store's own attribution type, without an annotator.
Detected = ImportedAttribution


def _label(suggestion: Suggestion | None) -> str | None:
    """What the store keeps of a suggestion: the label without a target (nlp/stance.py says why)."""
    return suggestion.label if suggestion else None


# -- spans and small helpers --------------------------------------------------------------------


def _trim(doc: Doc, start: int, end: int, keep_quotes: bool = False) -> tuple[int, int] | None:
    """Token range [start, end) as character offsets without edge punctuation and space."""
    while start < end and (doc[start].is_space or
                           (doc[start].is_punct and not (keep_quotes and doc[start].is_quote))):
        start += 1
    while end > start and (doc[end - 1].is_space
                           or (doc[end - 1].is_punct and not (keep_quotes and doc[end - 1].is_quote))):
        end -= 1
    if end <= start:
        return None
    return doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text)


def _subtree_span(token: Token, exclude: Iterable[Token] = ()) -> tuple[int, int] | None:
    """The character span of a token's subtree, cut short before any excluded token."""
    start, end = token.left_edge.i, token.right_edge.i + 1
    for other in exclude:
        if start <= other.i < end:
            if other.i < token.i:
                start = max(start, other.right_edge.i + 1 if other.right_edge.i < token.i else other.i + 1)
            else:
                end = min(end, other.left_edge.i if other.left_edge.i > token.i else other.i)
    return _trim(token.doc, start, end)


def _enclosing_quote(quotes: list[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    for q_start, q_end in quotes:
        if q_start <= start and end <= q_end:
            return q_start, q_end
    return None


def _inside(quotes: list[tuple[int, int]], at: int) -> bool:
    """Whether ``at`` lies within one of ``quotes`` (quote_spans': in text order, not overlapping)."""
    i = bisect_left(quotes, at, key=itemgetter(0)) - 1
    return i >= 0 and at < quotes[i][1]


def _negated(token: Token) -> str | None:
    """The word that negates a cue ("not", "n't", "never"), if any."""
    return next((child.text for child in token.children if child.dep_ == "neg" or child.lower_ in ("never",)), None)



# -- trained pipelines: the dependency parse ------------------------------------------------------


def _subject(token: Token) -> Token | None:
    for child in token.children:
        if child.dep_ in _SUBJECT_DEPS:
            return child
    return None


def _agent(token: Token) -> Token | None:
    for child in token.children:
        if child.dep_ == "agent":
            for grandchild in child.children:
                if grandchild.dep_ == "pobj":
                    return grandchild
    return None


def _find_source(cue: Token) -> Token | None:
    """Who speaks: a possessive (of a noun cue), the agent of a passive, the subject, or the
    subject of a governing verb."""
    if cue.pos_ == "NOUN":
        possessive = next((c for c in cue.children if c.dep_ == "poss"), None)
        if possessive is not None:
            return possessive
    agent = _agent(cue)
    if agent is not None:
        return agent
    token: Token | None = cue
    for _ in range(4):
        subject = _subject(token)
        if subject is not None:
            return subject  # a relative pronoun ("who said") is the source in PolNeAR, not its antecedent
        if token.dep_ in ("relcl", "acl") and token.head.pos_ in ("NOUN", "PROPN", "PRON"):
            return token.head
        if token.dep_ not in _CLIMB_DEPS or token.head is token:
            return None
        token = token.head
    return None


def _source_span(source: Token, cue: Token, content_tokens: Sequence[Token]) -> tuple[int, int] | None:
    """The source's noun phrase: a relative clause's head, or the subtree without cue and content;
    a possessive keeps its "'s" ("the minister's claim" -> "the minister's"), as PolNeAR's sources
    before a noun cue do (161 of 164 in the training split)."""
    if source is cue.head and cue.dep_ in ("relcl", "acl"):
        return _trim(source.doc, source.left_edge.i, source.i + 1)
    return _subtree_span(source, exclude=[cue, *content_tokens])


def _content_tokens(cue: Token) -> tuple[list[Token], bool]:
    """The token(s) whose subtrees hold the content, and whether the content is the governing clause."""
    clauses = [c for c in cue.children if c.dep_ in _CLAUSE_DEPS]
    if clauses:
        # "urged his supporters to monitor polling places": PolNeAR's content is the object and its infinitive
        objects = [c for c in cue.children if c.dep_ in _OBJECT_DEPS and c.i < clauses[0].i]
        if objects and clauses[0].dep_ == "xcomp":
            return [*objects, *clauses], False
        return clauses, False
    if cue.dep_ in ("parataxis", "ccomp") and cue.head.pos_ in ("VERB", "AUX") and cue.head.i < cue.i:
        return [cue.head], True  # "The plan, he said, is dead." / "The plan is dead, he said."
    objects = [c for c in cue.children if c.dep_ in _OBJECT_DEPS]
    if objects:
        return objects, False
    passive = [c for c in cue.children if c.dep_ in ("nsubjpass", "csubjpass")]
    if passive and _agent(cue) is not None:
        return passive, False
    for child in cue.children:
        if child.dep_ == "prep" and child.lower_ in ("of", "about", "on", "for", "to", "that"):
            objects = [g for g in child.children if g.dep_ in ("pobj", "pcomp")]
            if objects:
                return objects, False
    return [], False


def _content_spans(doc: Doc, cue: Token, content_tokens: list[Token], governing: bool, sent: Span,
                   quotes: list[tuple[int, int]], exclude: list[Token]) -> Spans:
    spans: list[tuple[int, int]] = []
    if governing:
        head = content_tokens[0]
        span = _subtree_span(head, exclude=[cue, *exclude])
        if span:
            spans.append(span)
    else:
        for token in content_tokens:
            span = _subtree_span(token, exclude=[cue, *exclude])
            if span:
                spans.append(span)
    cue_at = cue.idx
    widened: list[tuple[int, int]] = []
    for start, end in spans:
        quote = _enclosing_quote(quotes, start, end)
        widened.append(quote if quote and not quote[0] <= cue_at < quote[1] else (start, end))
    spans = widened
    if not _inside(quotes, cue_at):
        sentence_quotes = [q for q in quotes if sent.start_char <= q[0] < sent.end_char]
        if not spans and sentence_quotes:
            spans = list(sentence_quotes)
        elif spans:
            # a quote split around the cue: "...," he said, "..." is one discontinuous content
            after = [q for q in sentence_quotes if q[0] > cue_at and not any(s <= q[0] < e for s, e in spans)]
            before_cue = any(e <= cue_at for _, e in spans)
            if after and before_cue and doc_text(doc)[after[0][0] - 3:after[0][0]].strip(" ,:") == "" or (
                    after and before_cue and len(doc_text(doc)[cue_at:after[0][0]]) < 40):
                spans.append(after[0])
    if not spans and sent[-1].text == ":" or (not spans and sent.text.rstrip().endswith(":")):
        following = [q for q in quotes if q[0] >= sent.end_char and q[0] - sent.end_char < 5]
        if following:
            spans = [following[0]]
    return _merge(_quote_edges(doc_text(doc), spans, quotes))


def _quote_edges(text: str, spans: Iterable[tuple[int, int]], quotes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A content that starts or ends inside a quotation takes the quotation marks (and the punctuation
    before the closing mark) when only punctuation or space lies between: '“true.”', not '“true'."""
    out = []
    for start, end in spans:
        for q_start, q_end in quotes:
            if q_start < start < q_end and not text[q_start + 1:start].strip(" ,.;:'\"“”‘’"):
                start = q_start
            if q_start < end < q_end and not text[end:q_end - 1].strip(" ,.;:!?'\"“”‘’"):
                end = q_end
        out.append((start, end))
    return out


def _merge(spans: Iterable[tuple[int, int]]) -> Spans:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


def _cue_span(cue: Token) -> tuple[int, int]:
    """The cue word, with its particle ("pointed out") and a following "in a statement"."""
    doc = cue.doc
    end_token = cue
    for child in cue.children:
        if child.dep_ == "prt" and child.i == end_token.i + 1:
            end_token = child
    for child in cue.children:
        if child.dep_ == "prep" and child.lower_ == "in" and child.i == end_token.i + 1:
            for pobj in child.children:
                if pobj.dep_ == "pobj" and pobj.lemma_.lower() in _NOUN_CONTEXT and pobj.i - child.i <= 3:
                    end_token = pobj
    last = doc[end_token.i]
    return cue.idx, last.idx + len(last.text)


def _hedged(cue: Token) -> str | None:
    """The word that hedges a cue ("may have said", "reportedly told"), if any."""
    return next((c.text for c in cue.children if c.lower_ in HEDGES and c.dep_ in ("aux", "advmod")), None)


def detect_parsed(doc: Doc, lexicon: Lexicon, *, hints: bool = True, verbs: bool = True) -> list[Detected]:
    """Attributions from the dependency parse: verb, noun and phrase cues (and pronoun hints).

    ``verbs`` False leaves out the verb cues (those of words the tagger calls verbs): what a cue
    classifier decides, so detect_with_cues asks the rules for the rest only."""
    quotes = quote_spans(doc_text(doc))
    found: list[Detected] = []
    # the words that can be cues, picked from one array rather than word by word
    pos = doc.to_array(POS) if len(doc) else np.zeros(0, dtype=np.uint64)
    kinds = [NOUN, ADV, VERB, AUX] if verbs else [NOUN, ADV]
    candidates = np.flatnonzero(np.isin(pos, kinds))
    for sent in sentences(doc):
        taken: set[int] = set()
        found.extend(_according_to(doc, sent, lexicon, taken))
        first, last = np.searchsorted(candidates, [sent.start, sent.end])
        for i in candidates[first:last].tolist():
            token = doc[i]
            if i in taken or _inside(quotes, token.idx):
                continue  # a report inside a quotation belongs to the quoted speaker's words
            if token.pos_ in ("VERB", "AUX") or (token.pos_ == "NOUN" and token.tag_.startswith("VB")):
                item = _verb_cue(doc, token, sent, lexicon, quotes)
            elif token.pos_ == "NOUN":
                item = _noun_cue(doc, token, lexicon, quotes, sent)
            elif token.pos_ == "ADV":
                item = _adverb_cue(doc, token, lexicon)
            else:
                item = None
            if item is not None:
                found.append(item)
    if hints:
        _add_hints(doc, found)
    return found


def _add_hints(doc: Doc, found: list[Detected]) -> None:
    """Each found source's hint (hints.py), given the sources found before it; the rules' candidates
    get none before this, as the hint depends on the final list."""
    entities = Entities(doc)
    for index, item in enumerate(found):
        if item.source:
            item.source_hint = source_hint(doc, item.source, [x.source for x in found[:index] if x.source],
                                           item.content, entities)


def _verb_entry(token: Token, lexicon: Lexicon) -> CueEntry | None:
    lemma = token.lemma_.lower()
    for child in token.children:
        if child.dep_ == "prt":
            phrasal = lexicon.get("verb", f"{lemma} {child.lower_}")
            if phrasal:
                return phrasal
    return lexicon.get("verb", lemma)


def _source_and_content(doc: Doc, cue: Token, sent: Span, quotes: list[tuple[int, int]]
                        ) -> tuple[Token | None, list[Token], Spans]:
    """The source token, the content tokens and the content spans the parse gives a cue word."""
    content_tokens, governing = _content_tokens(cue)
    source_token = _find_source(cue)
    if source_token is not None and source_token in content_tokens:
        source_token = None
    content = _content_spans(doc, cue, content_tokens, governing, sent, quotes,
                             [source_token] if source_token is not None else [])
    return source_token, content_tokens, content


def _verb_cue(doc: Doc, token: Token, sent: Span, lexicon: Lexicon, quotes: list[tuple[int, int]]) -> Detected | None:
    entry = _verb_entry(token, lexicon)
    if entry is None:
        return None
    source_token, content_tokens, content = _source_and_content(doc, token, sent, quotes)
    if not content:
        return None
    source_span = _source_span(source_token, token, content_tokens) if source_token is not None else None
    source: Spans = (source_span,) if source_span else ()
    if source and any(s < source[0][1] and source[0][0] < e for s, e in content):
        source = ()
    return Detected(source=source, cue=(_cue_span(token),), content=content,
                    suggestion=_label(suggest(doc, entry, _negated(token), content, _hedged(token),
                                              (_cue_span(token),))))


def _noun_cue(doc: Doc, token: Token, lexicon: Lexicon, quotes: list[tuple[int, int]], sent: Span) -> Detected | None:
    entry = lexicon.get("noun", token.lemma_)
    if entry is None:
        return None
    source_token = next((c for c in token.children if c.dep_ == "poss"), None)
    if source_token is None:
        for child in token.children:
            if child.dep_ == "prep" and child.lower_ in ("by", "from"):
                source_token = next((g for g in child.children if g.dep_ == "pobj"), None)
    if source_token is None:  # "US rumours that ...", "White House claims that ...", also when misparsed
        before = doc[token.i - 1] if token.i > token.sent.start else None
        if before is not None and (before.dep_ == "compound" or before.ent_type_ in ("GPE", "ORG", "NORP", "PERSON")) \
                and before.pos_ == "PROPN":
            source_token = before
    content_tokens = [c for c in token.children if c.dep_ in ("acl", "ccomp", "relcl") and
                      any(g.lower_ == "that" and g.dep_ == "mark" for g in c.children)]
    if not content_tokens:
        for child in token.children:
            if child.dep_ == "prep" and child.lower_ in ("of", "about", "on", "that"):
                content_tokens = [g for g in child.children if g.dep_ in ("pobj", "pcomp")]
    if not content_tokens or (source_token is None and entry.lemma not in ("claim", "allegation", "denial")):
        return None
    content = _merge(span for span in (_subtree_span(t, exclude=[token]) for t in content_tokens) if span)
    if not content:
        return None
    source_span = _source_span(source_token, token, []) if source_token is not None else None
    source: Spans = (source_span,) if source_span else ()
    return Detected(source=source, cue=((token.idx, token.idx + len(token.text)),), content=content,
                    suggestion=_label(suggest(doc, entry, _negated(token), content, None,
                                                 ((token.idx, token.idx + len(token.text)),))))


def _adverb_cue(doc: Doc, token: Token, lexicon: Lexicon) -> Detected | None:
    entry = lexicon.get("adverb", token.lower_)
    if entry is None or token.head is token:
        return None
    content = _subtree_span(token.head, exclude=[token])
    if not content:
        return None
    return Detected(source=(), cue=((token.idx, token.idx + len(token.text)),), content=(content,),
                    suggestion=entry.stance)


def _phrase_matches(sent: Span, lexicon: Lexicon) -> Iterator[tuple[CueEntry, Token, Token]]:
    """(entry, first word, last word) of each lexicon phrase in the sentence, longest phrases first."""
    if not lexicon.phrase_pattern.search(doc_text(sent.doc)[sent.start_char:sent.end_char].lower()):
        return  # none there (most sentences): spare the word-by-word scan
    words = [t.lower_ for t in sent]
    for entry in lexicon.phrases:
        parts = entry.lemma.split()
        for i in range(len(words) - len(parts) + 1):
            if words[i:i + len(parts)] == parts:
                yield entry, sent[i], sent[i + len(parts) - 1]


def _according_to(doc: Doc, sent: Span, lexicon: Lexicon, taken: set[int]) -> list[Detected]:
    """Phrase cues such as "according to X": X is the source, the rest of the sentence the content."""
    out = []
    for entry, first, last in _phrase_matches(sent, lexicon):
        objects = [c for c in last.children if c.dep_ == "pobj"] or [
            t for t in doc[last.i + 1:min(last.i + 2, sent.end)] if not t.is_punct]
        if not objects:
            continue
        obj = objects[0]
        source_end = max(obj.right_edge.i, obj.i) + 1
        source_span = _trim(doc, last.i + 1, source_end)
        before = _trim(doc, sent.start, first.i)
        after = _trim(doc, source_end, sent.end)
        content = tuple(s for s in (before, after) if s)
        if not content or not source_span:
            continue
        taken.update(range(first.i, source_end))
        out.append(phrase_attribution(doc, entry, first, last, source_span, content))
    return out


def phrase_attribution(doc: Doc, entry: CueEntry, first: Token, last: Token, source: tuple[int, int],
                       content: Spans) -> Detected:
    """The attribution of a phrase cue ("according to") from its first to its last word."""
    cue = ((first.idx, last.idx + len(last.text)),)
    return Detected(source=(source,), cue=cue, content=content,
                    suggestion=_label(suggest(doc, entry, None, content, None, cue)))
