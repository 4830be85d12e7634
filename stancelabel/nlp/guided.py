"""The guided detectors: cues chosen by a model, sources and contents from the parse rules.

``detect_with_cues`` anchors the rules (nlp/rules.py) on the cue classifier's cues (``fast``,
nlp/cues.py); ``detect_with_encoder`` mixes in the encoder's cue probabilities, sources and content
spans (``accurate``, nlp/encoder.py). Both then move each content's edges to PolNeAR's with the
boundary model (nlp/boundaries.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from spacy.tokens import Doc, Span, Token

from stancelabel.core.model import Spans
from stancelabel.nlp.doctext import doc_text
from stancelabel.nlp.lexicon import Lexicon
from stancelabel.nlp.quotes import quote_spans
from stancelabel.nlp.rules import (
    Detected,
    _add_hints,
    _hedged,
    _label,
    _merge,
    _negated,
    _quote_edges,
    _source_and_content,
    _source_span,
    _trim,
    _verb_entry,
    detect_parsed,
)
from stancelabel.nlp.stance import suggest

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
