"""Score the rules alone and the rules anchored on a trained cue/source tagger, on held-out articles.

    python training/evaluate_tagger.py ../shared/data/polnear-train training/output/model-best

The held-out articles are the ones training/prepare.py set aside (same --dev
and --seed). The tagger is not part of the product yet: this script is how a
trained tagger is judged before it is wired into the detector.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import spacy
from spacy.tokens import Doc, Span, Token

from stancelabel.io.evaluation import format_evaluation, gold_documents
from stancelabel.nlp.detect import (
    Detected,
    _content_spans,
    _content_tokens,
    _drop_nested,
    _find_source,
    _hedged,
    _negated,
    _source_span,
    _text,
    _trim,
    _verb_entry,
    detect_parsed,
    source_hint,
    suggest,
)
from stancelabel.nlp.lexicon import Lexicon, load_lexicon
from stancelabel.nlp.pipeline import load_pipeline
from stancelabel.nlp.quotes import quote_spans
from stancelabel.nlp.scoring import Evaluation, score_document
from stancelabel.core.model import Spans




def detect_with_roles(doc: Doc, lexicon: Lexicon, cues: Sequence[tuple[int, int]],
                      sources: Sequence[tuple[int, int]], keep_rules: bool = True) -> list[Detected]:
    """Attributions anchored on the tagger's cue spans; sources from the tagger where the parse agrees.

    Each tagged cue's head word is handed to the same rules as a lexicon verb
    for its content; its source is the tagged source span that the parse links
    to the cue (or, failing that, the nearest tagged source in the sentence).
    Rule findings whose cue the tagger did not tag are kept when ``keep_rules``.
    """
    quotes = quote_spans(_text(doc))
    source_spans = [doc.char_span(s, e, alignment_mode="expand") for s, e in sources]
    source_spans = [s for s in source_spans if s is not None and len(s)]
    found: list[Detected] = []
    for start, end in cues:
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is None or not len(span):
            continue
        cue = span.root
        sent = cue.sent
        content_tokens, governing = _content_tokens(cue)
        rule_source = _find_source(cue)
        if rule_source is not None and rule_source in content_tokens:
            rule_source = None
        content = _content_spans(doc, cue, content_tokens, governing, sent, quotes,
                                 [rule_source] if rule_source is not None else [])
        if not content:
            after = _trim(doc, span.end, sent.end)
            before = _trim(doc, sent.start, span.start)
            content = (after,) if after else ((before,) if before else ())
        if not content:
            continue
        source = _pick_source(doc, cue, span, rule_source, source_spans, content)
        entry = _verb_entry(cue, lexicon) or lexicon.get("noun", cue.lemma_) or lexicon.get("phrase", span.text)
        found.append(Detected(source=source, cue=((span.start_char, span.end_char),), content=content,
                              suggestion=suggest(doc, entry, _negated(cue), content, _hedged(cue))))
    if keep_rules:
        tagged = [(s, e) for s, e in cues]
        for item in detect_parsed(doc, lexicon):
            if not any(s < item.cue[0][1] and item.cue[0][0] < e for s, e in tagged):
                found.append(item)
    found.sort(key=lambda d: d.cue[0][0])
    for index, item in enumerate(found):
        if item.source:
            item.source_hint = source_hint(doc, item.source, [x.source for x in found[:index] if x.source])
    return found


def _pick_source(doc: Doc, cue: Token, cue_span: Span, rule_source: Token | None, tagged: list[Span],
                 content: Spans) -> Spans:
    in_sentence = [s for s in tagged if s.sent == cue.sent and not any(a < s.end_char and s.start_char < b
                                                                       for a, b in content)]
    if rule_source is not None:
        subtree = set(range(rule_source.left_edge.i, rule_source.right_edge.i + 1))
        for span in in_sentence:
            if any(t.i in subtree for t in span):
                return ((span.start_char, span.end_char),)
        span = _source_span(rule_source, cue, [])
        return (span,) if span else ()
    if in_sentence:
        nearest = min(in_sentence, key=lambda s: min(abs(s.start - cue_span.end), abs(cue_span.start - s.end)))
        return ((nearest.start_char, nearest.end_char),)
    return ()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("brat", type=Path)
    parser.add_argument("model", type=Path, help="a trained tagger (spacy train output, model-best)")
    parser.add_argument("--dev", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    gold = gold_documents(args.brat, [])
    order = list(range(len(gold)))
    random.Random(args.seed).shuffle(order)
    held_out = sorted(order[: round(len(gold) * args.dev)])
    nlp, _ = load_pipeline(None)
    tagger = spacy.load(args.model)
    lexicon = load_lexicon()
    rules, anchored = Evaluation(), Evaluation()
    for index in held_out:
        document = gold[index][1]
        doc = nlp(document.text)
        tagged = tagger(document.text)
        cues = [(e.start_char, e.end_char) for e in tagged.ents if e.label_ == "CUE"]
        sources = [(e.start_char, e.end_char) for e in tagged.ents if e.label_ == "SOURCE"]
        triples = [(a.source, a.cue, a.content) for a in document.attributions]
        found = _drop_nested(detect_parsed(doc, lexicon))
        score_document(rules, doc.text, [(d.source, d.cue, d.content) for d in found], triples)
        found = _drop_nested(detect_with_roles(doc, lexicon, cues, sources, keep_rules=False))
        score_document(anchored, doc.text, [(d.source, d.cue, d.content) for d in found], triples)
    print("rules alone\n" + format_evaluation(rules))
    print("\nanchored on the tagger's cues\n" + format_evaluation(anchored))
    return 0


if __name__ == "__main__":
    sys.exit(main())
