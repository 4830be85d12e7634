"""Finding attributions (source, cue, content) in parsed text, with a stance suggestion each.

Runs as the spaCy component ``stancelabel_attributions`` so that it works inside
``nlp.pipe`` worker processes; results are left on ``doc._.stancelabel_attributions``
as plain tuples (they cross process boundaries with the Doc).

With a trained pipeline the rules read the dependency parse, anchored on the
cues of the chosen detector: the cue classifier over the parse (nlp/cues.py,
``fast``), the transformer encoder's cues and sources (nlp/encoder.py,
``accurate``) or the cue lexicon (``rules``). With the blank fallback pipeline
they read only the lexicon, word order and quotation marks, and find fewer
attributions less exactly.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter

import numpy as np
from spacy.attrs import POS
from spacy.language import Language
from spacy.parts_of_speech import ADV, AUX, NOUN, VERB
from spacy.tokens import Doc, Span, Token

from stancelabel.core import spans as codec
from stancelabel.core.model import ImportedAttribution, Spans
from stancelabel.nlp.doctext import doc_text, sentences
from stancelabel.nlp.hints import PRONOUNS, Entities, source_hint
from stancelabel.nlp.lexicon import CueEntry, Lexicon, load_lexicon
from stancelabel.nlp.quotes import quote_spans
from stancelabel.nlp.stance import HEDGES, Suggestion, suggest

COMPONENT = "stancelabel_attributions"
EXTENSION = "stancelabel_attributions"
if not Doc.has_extension(EXTENSION):
    Doc.set_extension(EXTENSION, default=None)

#: Dependency labels of a cue's clausal complement (the content) in spaCy's English scheme.
_CLAUSE_DEPS = ("ccomp", "xcomp")
_OBJECT_DEPS = ("dobj", "obj")
_SUBJECT_DEPS = ("nsubj", "csubj")
_CLIMB_DEPS = ("xcomp", "conj", "advcl", "pcomp", "prep", "relcl", "acl")
_RELATIVE = {"who", "which", "that", "whom", "whose"}
_NOUN_CONTEXT = {"statement", "interview", "letter", "tweet", "post", "release", "speech", "email", "memo",
                 "op-ed", "editorial", "report", "briefing", "conference", "call", "message", "video"}
_SURFACE_SKIP = {"also", "then", "later", "previously", "repeatedly", "publicly", "has", "have", "had", "was",
                 "were", "is", "are", "been", "be", "will", "would", "once", "again", "recently", "not",
                 "n't", "never", "did", "does", "do", "reportedly", "allegedly", "still", "even"}
_DETERMINERS = {"the", "a", "an", "this", "these", "those", "that", "its", "their", "his", "her", "our", "my",
                "your", "such", "no", "any", "every", "each"}
_PASSIVE_AUX = {"was", "were", "is", "are", "been", "be", "being"}
_SURFACE_STOP = {"that", "and", "but", "which", "who", "when", "because", "while", "as", "if", "after", "before",
                 "since", "although", "though", "where", "whom", "whose", "what", "how", "why", "so", "or"}


#: What the detector finds: the store's own attribution type, without an annotator.
Detected = ImportedAttribution


def _as_tuple(item: Detected) -> tuple:
    """Plain lists and strings, which travel with the Doc between processes."""
    return (codec.to_lists(item.source), codec.to_lists(item.cue), codec.to_lists(item.content),
            item.source_hint, item.suggestion)


def _from_tuple(raw: Sequence) -> Detected:
    source, cue, content, hint, suggestion = raw
    spans = [codec.from_lists(role) for role in (source, cue, content)]
    return Detected(*spans, source_hint=hint, suggestion=suggestion)


def _label(suggestion: Suggestion | None) -> str | None:
    """What the store keeps of a suggestion: the label without a target (nlp/stance.py says why)."""
    return suggestion.label if suggestion else None


def detected(doc: Doc) -> list[Detected]:
    """The attributions the component left on a Doc (empty when it did not run), ready for the store."""
    return [_from_tuple(raw) for raw in (doc._.get(EXTENSION) or [])]


class AttributionDetector:
    """The spaCy component: lexicon and rules, anchored on the cues of the chosen detector.

    ``detector`` is ``fast`` (the cue classifier over the parse, nlp/cues.py),
    ``accurate`` (the transformer encoder, nlp/encoder.py) or ``rules`` (the
    lexicon and the parse alone). Without a parse only the surface rules run.
    """

    def __init__(self, lexicon_path: str | None = None, detector: str = "fast") -> None:
        self.lexicon_path = lexicon_path
        self.lexicon = load_lexicon(lexicon_path)
        self.detector = detector
        self.cue_model = None
        self.boundary_model = None
        if detector in ("fast", "accurate"):
            from stancelabel.nlp.boundaries import load_model as load_boundaries
            from stancelabel.nlp.cues import load_model

            self.cue_model = load_model()
            self.boundary_model = load_boundaries()

    @property
    def encoder(self):
        """The encoder, loaded on first use in each process (spaCy's workers each load their own)."""
        from stancelabel.nlp.encoder import shared_tagger

        return shared_tagger()

    def __call__(self, doc: Doc) -> Doc:
        parsed = doc.has_annotation("DEP")
        if parsed and self.detector == "accurate":
            found = detect_with_encoder(doc, self.lexicon, self.encoder, self.cue_model, self.boundary_model)
        elif parsed and self.cue_model is not None:
            from stancelabel.nlp.cues import Parsed

            p = Parsed(doc)
            found = detect_with_cues(doc, self.lexicon, [span for span, _ in self.cue_model.cues(doc, parsed=p)],
                                     boundaries=self.boundary_model, parsed=p)
        elif parsed:
            found = detect_parsed(doc, self.lexicon)
        else:
            found = detect_surface(doc, self.lexicon)
        nesting = self.detector == "rules" or not parsed
        doc._.set(EXTENSION, [_as_tuple(item) for item in _drop_nested(found, nesting, doc_text(doc))])
        return doc


@Language.factory(COMPONENT, default_config={"lexicon_path": None, "detector": "rules"})
def make_attribution_detector(nlp: Language, name: str, lexicon_path: str | None,
                              detector: str) -> AttributionDetector:
    return AttributionDetector(lexicon_path, detector)


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


def _trim_end(text: str, start: int, end: int) -> int:
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return end


def _drop_nested(found: list[Detected], nesting: bool = True, text: str | None = None) -> list[Detected]:
    """One attribution per report: the outermost of nested reports, and one of two with overlapping cues.

    With ``nesting`` an inner report that has a source of its own is kept ("the mayor said the
    engineers claimed ..."); without, as in PolNeAR (no cue of its 19,833 attributions lies in
    another's content), only the outer one is, except that an inner report with a source of its
    own in a trailing clause ("X claims ..., following US rumours that ...") ends the outer content
    at the comma before it and stays (given ``text``).
    """
    out = []
    for item in found:
        cue_start = item.cue[0][0] if item.cue else None
        outer = [other for other in found if other is not item and other.cue and cue_start is not None
                 and any(s <= cue_start < e for s, e in other.content)
                 and not any(s <= other.cue[0][0] < e for s, e in item.content)]
        if not outer or (nesting and item.source):
            out.append(item)
            continue
        if nesting or text is None or not item.source:
            continue
        start = min(item.source[0][0], cue_start)
        cuts = []
        for other in outer:
            at = next((s for s, e in other.content if s <= cue_start < e), None)
            comma = text.rfind(",", at, start) if at is not None else -1
            if comma <= at or text[comma:start].strip(" ,").count(" ") > 2:
                break
            cuts.append((other, comma))
        else:
            for other, comma in cuts:
                other.content = tuple(((s, _trim_end(text, s, comma)) if s <= comma < e else (s, e))
                                      for s, e in other.content)
            out.append(item)
    # the same cue found twice (a verb and its phrase), or two overlapping cues: keep the first
    unique: list[Detected] = []
    for item in out:
        if not any(s < e2 and s2 < e for s, e in item.cue for kept in unique for s2, e2 in kept.cue):
            unique.append(item)
    return unique


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
        out.append(Detected(source=(source_span,), cue=((first.idx, last.idx + len(last.text)),),
                            content=content,
                            suggestion=_label(suggest(doc, entry, None, content, None,
                                                         ((first.idx, last.idx + len(last.text)),)))))
    return out


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
            out.append(Detected(source=(source,), cue=((first.idx, last.idx + len(last.text)),),
                                content=content,
                                suggestion=_label(suggest(doc, entry, None, content, None,
                                                          ((first.idx, last.idx + len(last.text)),)))))
    return out


# -- with a trained role tagger: its cues and sources, the parse for the rest ---------------------------


#: Reporting verbs whose rule findings are kept where the tagger found no cue: on
#: PolNeAR this leaves F1 where it is and finds the plain reports annotators expect.
STRONG_CUES = frozenset(
    "say claim deny tell state announce insist confirm report add write argue accuse warn suggest "
    "acknowledge admit explain note qualify reject dismiss".split())


def detect_with_roles(doc: Doc, lexicon: Lexicon, cues: Sequence[tuple[int, int]],
                      sources: Sequence[tuple[int, int]],
                      keep_rules: bool | frozenset[str] = STRONG_CUES,
                      by_rules: list[Detected] | None = None, hints: bool = True) -> list[Detected]:
    """Attributions anchored on the tagger's cue spans; sources from the tagger where the parse agrees.

    Each tagged cue's head word is handed to the same rules as a lexicon verb
    for its content; its source is the tagged source span that the parse links
    to the cue (or, failing that, the nearest tagged source in the sentence).
    A tagged cue that is a lexicon phrase ("according to") takes the phrase rule.
    Rule findings whose cue the tagger did not tag are kept when ``keep_rules``
    is True, or when their cue is one of ``keep_rules`` (lemmas), a phrase or a noun.
    """
    text = doc_text(doc)
    quotes = quote_spans(text)
    if by_rules is None:
        by_rules = detect_parsed(doc, lexicon, hints=False)
    phrase_words = {entry.lemma for entry in lexicon.phrases}
    phrases = [item for item in by_rules if text[item.cue[0][0]:item.cue[0][1]].lower() in phrase_words]
    source_spans = [doc.char_span(s, e, alignment_mode="expand") for s, e in sources]
    source_spans = [s for s in source_spans if s is not None and len(s)]
    found: list[Detected] = []
    for start, end in cues:
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is None or not len(span):
            continue
        phrase = next((p for p in phrases if p.cue[0][0] < end and start < p.cue[0][1]), None)
        if phrase is not None:
            found.append(phrase)
            continue
        if span.text.lower() in phrase_words:
            continue  # "according to" with nobody named after it
        cue = span.root
        sent = cue.sent
        rule_source, _, content = _source_and_content(doc, cue, sent, quotes)
        if not content:
            after = _trim(doc, span.end, sent.end)
            before = _trim(doc, sent.start, span.start)
            content = (after,) if after else ((before,) if before else ())
        if not content:
            continue
        source = _pick_source(doc, cue, span, rule_source, source_spans, content)
        entry = _verb_entry(cue, lexicon) or lexicon.get("noun", cue.lemma_) or lexicon.get("phrase", span.text)
        found.append(Detected(source=source, cue=((span.start_char, span.end_char),), content=content,
                              suggestion=_label(suggest(doc, entry, _negated(cue), content, _hedged(cue),
                                                                ((span.start_char, span.end_char),)))))
    if keep_rules:
        tagged = [(s, e) for s, e in cues] + [p.cue[0] for p in found]
        for item in by_rules:
            if any(s < item.cue[0][1] and item.cue[0][0] < e for s, e in tagged):
                continue
            if keep_rules is True or _strong_cue(doc, item, keep_rules):
                found.append(item)
    found.sort(key=lambda d: d.cue[0][0])
    if hints:
        _add_hints(doc, found)
    return found


def detect_with_cues(doc: Doc, lexicon: Lexicon, cues: Sequence[tuple[int, int]],
                     sources: Sequence[tuple[int, int]] = (), boundaries=None, parsed=None) -> list[Detected]:
    """Attributions anchored on a classifier's cues; sources and contents from the parse.

    The lexicon's noun and adverb cues ("the minister's claim that", "allegedly") that the
    rules find where the classifier found no cue are kept: the classifier sees too few of
    them to learn them (on PolNeAR dev this adds 0.002 attribution F1). ``sources`` (the
    encoder's) are preferred where the parse links them to the cue. ``boundaries`` (the
    boundary model, nlp/boundaries.py) then moves each content's edges to PolNeAR's.
    """
    by_rules = detect_parsed(doc, lexicon, hints=False, verbs=False)
    found = detect_with_roles(doc, lexicon, cues, sources, keep_rules=False, by_rules=by_rules,
                              hints=False)  # given below, once the contents are final
    taken = [c for item in found for c in item.cue]
    for item in by_rules:
        if any(s < item.cue[0][1] and item.cue[0][0] < e for s, e in taken):
            continue
        span = doc.char_span(item.cue[0][0], item.cue[0][1], alignment_mode="expand")
        if span is not None and span.root.pos_ in ("NOUN", "ADV"):
            found.append(item)
    found.sort(key=lambda d: d.cue[0][0])
    if boundaries is not None:
        refine_contents(doc, found, boundaries, parsed)
    _add_hints(doc, found)
    return found


def boundary_items(doc: Doc, found: Sequence[Detected], bp) -> tuple[list, list, list[int]]:
    """The boundary model's view of each detection (nlp/boundaries.py): (items, other cues' tokens, index in
    ``found``) for the detections that have a cue and a content with a word in it."""
    import numpy as np

    from stancelabel.nlp.boundaries import Item

    starts = bp.p.starts
    words = bp.alnum

    def tokens(spans) -> tuple[int, int] | None:
        first = last = None
        for s, e in spans:
            lo = max(int(np.searchsorted(starts, s, side="right")) - 1, 0)
            hi = int(np.searchsorted(starts, e, side="left"))
            inside = np.flatnonzero(words[lo:hi]) + lo
            if len(inside):
                first = int(inside[0]) if first is None else min(first, int(inside[0]))
                last = int(inside[-1]) if last is None else max(last, int(inside[-1]))
        return (first, last) if first is not None else None

    items, where, cue_tokens = [], [], []
    for index, item in enumerate(found):
        cue = tokens(item.cue)
        rule = tokens(item.content)
        if cue is None or rule is None:
            continue
        span = doc[cue[0]:cue[1] + 1]
        items.append(Item(cue[0], cue[1], span.root.i, tokens(item.source[:1]) if item.source else None, rule))
        where.append(index)
        cue_tokens.append(np.arange(cue[0], cue[1] + 1))
    others = []
    for number in range(len(items)):
        rest = [c for k, c in enumerate(cue_tokens) if k != number]
        others.append(np.concatenate(rest) if rest else np.zeros(0, dtype=np.int64))
    return items, others, where


def refine_contents(doc: Doc, found: list[Detected], model, parsed=None) -> None:
    """Each content's first and last word as the boundary model chooses them, without the cue and the source
    where they fall inside; a content whose edges the model keeps is left as the rules made it."""
    from stancelabel.nlp.boundaries import BoundaryParse
    from stancelabel.nlp.cues import Parsed

    if not found:
        return
    p = parsed if parsed is not None else Parsed(doc)
    if not p.n:
        return
    bp = BoundaryParse(doc, p)
    items, others, where = boundary_items(doc, found, bp)
    text = doc_text(doc)
    quotes = quote_spans(text)
    for item, index, (first, last) in zip(items, where, model.choose(bp, items, others)):
        if (first, last) == (item.rule_first, item.rule_last):
            continue
        found[index].content = content_between(doc, text, quotes, item, first, last)


def content_between(doc: Doc, text: str, quotes: list[tuple[int, int]], item, first: int, last: int) -> Spans:
    """Words ``first`` to ``last`` as character spans, the cue and the source (and what lies between them) cut out."""
    cuts = [(item.cue_first, item.cue_last)]
    if item.source_first >= 0:
        cuts.append((item.source_first, item.source_last))
    cuts = [(a, b) for a, b in cuts if first <= a and b <= last]
    if len(cuts) == 2 and max(cuts[0][0], cuts[1][0]) - min(cuts[0][1], cuts[1][1]) <= 4:
        cuts = [(min(cuts[0][0], cuts[1][0]), max(cuts[0][1], cuts[1][1]))]
    if len(cuts) == 1 and first < cuts[0][0]:
        # '"…," he said on Monday. "…"': a content that runs on into the next sentences leaves out the
        # rest of the cue's sentence up to the next quotation mark
        sentence_end = doc[item.anchor].sent.end
        if last >= sentence_end:
            b = cuts[0][1]
            while b + 1 < sentence_end and not doc[b + 1].is_quote:
                b += 1
            cuts = [(cuts[0][0], b)]
    pieces, at = [], first
    for a, b in sorted(cuts):
        if a > at:
            pieces.append((at, a))
        at = max(at, b + 1)
    if at <= last:
        pieces.append((at, last + 1))
    spans = [span for span in (_trim(doc, a, b) for a, b in pieces) if span]
    return _merge(_quote_edges(text, spans, quotes))


def detect_with_encoder(doc: Doc, lexicon: Lexicon, encoder, cue_model, boundaries=None) -> list[Detected]:
    """Attributions from the encoder (nlp/encoder.py): its cue probability mixed with the cue
    classifier's, whose extent model then sets each cue's words; its sources where the parse agrees;
    the rules' contents, each widened to the encoder's content span that overlaps it, and then given
    PolNeAR's edges by the boundary model (nlp/boundaries.py; on a held-out tenth of the training split
    this order gave content exact F1 .656, against .650 with the model before the widening and .646
    without the widening)."""
    from stancelabel.nlp.cues import Parsed

    p = Parsed(doc)
    probabilities, tags = encoder.read(doc)
    if cue_model is not None:
        cues = [span for span, _ in cue_model.cues(doc, encoder.cue_threshold, probabilities[:, 0],
                                                      encoder.cue_weight, parsed=p)]
    else:
        cues = tags["cue"]
    found = detect_with_cues(doc, lexicon, cues, _trim_function_words(doc, tags["source"]))
    for item in found:
        item.content = _snap(item.content, tags["content"])
    if boundaries is not None:
        refine_contents(doc, found, boundaries, p)
    return found


def _snap(spans: Spans, model_spans: Sequence[tuple[int, int]]) -> Spans:
    """Each span widened to cover the model's spans that overlap it."""
    out = []
    for start, end in spans:
        overlapping = [(s, e) for s, e in model_spans if s < end and start < e]
        out.append((min([start, *(s for s, _ in overlapping)]), max([end, *(e for _, e in overlapping)])))
    return _merge(out)


def _trim_function_words(doc: Doc, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Model spans without a trailing determiner, preposition or punctuation ("Moscow at the")."""
    out = []
    for start, end in spans:
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is None:
            continue
        last = span.end
        while last > span.start and (doc[last - 1].pos_ in ("DET", "ADP", "PUNCT", "CCONJ") or doc[last - 1].is_space):
            last -= 1
        if last > span.start:
            out.append((doc[span.start].idx, doc[last - 1].idx + len(doc[last - 1].text)))
    return out


def _strong_cue(doc: Doc, item: Detected, lemmas: frozenset[str]) -> bool:
    """A rule finding worth keeping without the tagger: a strong reporting verb, a phrase or a noun cue."""
    span = doc.char_span(item.cue[0][0], item.cue[0][1], alignment_mode="expand")
    if span is None:
        return False
    return span.root.lemma_.lower() in lemmas or len(span) > 1 or span.root.pos_ == "NOUN"


def _pick_source(doc: Doc, cue: Token, cue_span: Span, rule_source: Token | None, tagged: list[Span],
                 content: Spans) -> Spans:
    in_sentence = [s for s in tagged if s.sent == cue.sent and not any(a < s.end_char and s.start_char < b
                                                                       for a, b in content)]
    if rule_source is not None:
        parsed = _source_span(rule_source, cue, [])
        subtree = set(range(rule_source.left_edge.i, rule_source.right_edge.i + 1))
        for span in in_sentence:
            if any(t.i in subtree for t in span):
                if parsed and parsed[0] <= span.start_char and span.end_char <= parsed[1]:
                    return (parsed,)  # the parse's noun phrase keeps appositions the tagger cut off
                return ((span.start_char, span.end_char),)
        return (parsed,) if parsed else ()
    if in_sentence:
        nearest = min(in_sentence, key=lambda s: min(abs(s.start - cue_span.end), abs(cue_span.start - s.end)))
        return ((nearest.start_char, nearest.end_char),)
    return ()
