"""Where the fast detector's content boundaries differ from PolNeAR's, on a parsed cache.

    python training/boundary_errors.py training/corpus/train [--detector fast]

For every gold attribution the detector found (its cue overlaps and its source
overlaps or both have none, as benchmarks/detection_errors.py counts them), the
content is compared as the exact score compares it (letters and digits only):
which edge is wrong (start, end, an inner gap), in which direction (the
detector's content too long or too short there), by how many words, and what
the words in between are (a complementiser, a conjunction, a trailing "…, he
said", another sentence, the cue itself). Prints the tables the breakdown in
docs/benchmarks.md is built from.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import load  # noqa: E402

_TRAILING_CUES = {"said", "says", "added", "told", "according", "wrote", "noted", "explained", "argued", "asked",
                  "continued", "insisted", "stated", "tweeted", "claimed", "say"}
_SUBORDINATORS = {"because", "when", "while", "if", "as", "after", "before", "since", "although", "though",
                  "unless", "until", "so", "which", "who", "where", "whether"}


def detect(doc, lexicon, cue_model, detector: str = "fast", boundaries=None):
    from stancelabel.nlp.detect import _drop_nested
    from stancelabel.nlp.guided import detect_with_cues
    from stancelabel.nlp.rules import detect_parsed

    if detector == "rules":
        found = detect_parsed(doc, lexicon, hints=False)
    else:
        found = detect_with_cues(doc, lexicon, [span for span, _ in cue_model.cues(doc)], boundaries=boundaries)
    return _drop_nested(found, nesting=False, text=doc.text)


def matched_pairs(text, predicted, gold):
    """(predicted, gold) triples of the gold attributions the detector found, as detection_errors counts them."""
    from stancelabel.nlp.scoring import content_chars

    p_cues = [content_chars(text, p[1]) for p in predicted]
    out = []
    for g in gold:
        g_cue = content_chars(text, g[1])
        if not g_cue:
            continue
        candidates = [i for i, c in enumerate(p_cues) if c & g_cue]
        g_source = content_chars(text, g[0])
        fitting = [i for i in candidates if (bool(content_chars(text, predicted[i][0]) & g_source)
                                             if g_source or predicted[i][0] else True)]
        if fitting:
            best = max(fitting, key=lambda i: len(p_cues[i] & g_cue))
            out.append((predicted[best], g))
    return out


def alnum(text, spans) -> list[int]:
    return sorted(i for s, e in spans for i in range(s, e) if text[i].isalnum())


def words_between(doc, a: int, b: int) -> list:
    """Non-punctuation, non-space tokens whose first character lies in [a, b)."""
    span = doc.char_span(a, b, alignment_mode="expand") if b > a else None
    if span is None:
        return []
    return [t for t in span if not (t.is_space or t.is_punct) and a <= t.idx + len(t.text) - 1 and t.idx < b]


def size(n: int) -> str:
    return "1" if n == 1 else "2" if n == 2 else "3-5" if n <= 5 else "6-10" if n <= 10 else "11-30" if n <= 30 \
        else ">30"


def classify_edge(side: str, longer: bool, words, cue_chars, sent_bounds) -> str:
    """A short name for what the differing words at one edge are."""
    if not words:
        return "punctuation only"
    lowers = [t.lower_ for t in words]
    if sent_bounds is not None and any(not (sent_bounds[0] <= t.idx < sent_bounds[1]) for t in words):
        return "other sentence(s)"
    if any(cue_chars[0] <= t.idx < cue_chars[1] for t in words):
        return "across the cue (content on both sides of it)"
    inner = words[0] if side == "end" else words[-1]  # the differing word next to the shared part
    if side == "start":
        if lowers[-1] in ("that", "whether", "if", "to", "how", "what", "why", "for", "as") and len(words) == 1:
            return f"complementiser/marker '{lowers[-1]}'"
        if lowers[-1] in ("that", "whether", "if") and len(words) <= 3:
            return "complementiser with words before it"
    if any(w in _TRAILING_CUES for w in lowers) and len(words) <= 8:
        return "a report inside ('…, X said')"
    if inner.lower_ in ("and", "but", "or", "nor") or inner.dep_ in ("cc", "conj"):
        return "conjunct (and/but …)"
    if inner.lower_ in _SUBORDINATORS or inner.dep_ in ("advcl", "mark", "relcl"):
        return "subordinate/relative clause"
    if inner.dep_ in ("prep", "pobj", "npadvmod", "agent") or inner.pos_ == "ADP":
        return "prepositional/adverbial phrase"
    if inner.dep_ in ("nsubj", "nsubjpass", "expl") or inner.pos_ in ("DET",) or inner.dep_ == "det":
        return "subject / noun phrase"
    return f"other ({inner.dep_})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cache", type=Path)
    parser.add_argument("--detector", default="fast")
    parser.add_argument("--examples", type=int, default=0, help="print this many examples per category")
    parser.add_argument("--boundaries", type=Path, default=None,
                        help="a boundary model (.npz) to apply; default none: the rules' contents")
    parser.add_argument("--held-out", action="store_true",
                        help="only the tenth of the articles training/boundaries.py holds out")
    args = parser.parse_args(argv)
    import spacy

    from stancelabel.nlp.cues import load_model
    from stancelabel.nlp.lexicon import load_lexicon

    nlp = spacy.blank("en")
    lexicon, cue_model = load_lexicon(), load_model()
    counts: Counter = Counter()
    edges: Counter = Counter()
    sizes: Counter = Counter()
    examples: dict[str, list[str]] = {}
    from boundaries import split

    from stancelabel.nlp.boundaries import BoundaryModel

    boundaries = BoundaryModel.from_disk(args.boundaries) if args.boundaries else None
    cache = load(args.cache, nlp.vocab)
    if args.held_out:
        cache = split(cache)[1]
    for doc, _name, gold in cache:
        text = doc.text
        predicted = [(d.source, d.cue, d.content)
                     for d in detect(doc, lexicon, cue_model, args.detector, boundaries)]
        for p, g in matched_pairs(text, predicted, gold):
            counts["found"] += 1
            pa, ga = alnum(text, p[2]), alnum(text, g[2])
            if pa == ga:
                counts["content exact"] += 1
                continue
            counts["content differs"] += 1
            if not pa:
                counts["· no content"] += 1
                continue
            if not set(pa) & set(ga):
                counts["· content elsewhere (no overlap)"] += 1
                continue
            cue_chars = (g[1][0][0], g[1][-1][1])
            cue_span = doc.char_span(*cue_chars, alignment_mode="expand")
            sent_bounds = (cue_span.sent.start_char, cue_span.sent.end_char) if cue_span is not None else None
            if sent_bounds and (ga[0] < sent_bounds[0] or ga[-1] >= sent_bounds[1]):
                counts["· gold content crosses the cue's sentence"] += 1
            wrong = []
            for side, pe, ge in (("start", pa[0], ga[0]), ("end", pa[-1], ga[-1])):
                if pe == ge:
                    continue
                wrong.append(side)
                longer = pe < ge if side == "start" else pe > ge
                # the characters in one content and not the other at this edge
                a, b = (min(pe, ge), max(pe, ge)) if side == "start" else (min(pe, ge) + 1, max(pe, ge) + 1)
                words = words_between(doc, a, b)
                kind = classify_edge(side, longer, words, cue_chars, sent_bounds)
                key = f"{side} {'too long' if longer else 'too short'}: {kind}"
                edges[key] += 1
                sizes[f"{side} {'too long' if longer else 'too short'}: {size(max(1, len(words)))} words"] += 1
                if args.examples and len(examples.setdefault(key, [])) < args.examples:
                    examples[key].append(f"    P: {' … '.join(text[s:e] for s, e in p[2])[:200]!r}\n"
                                         f"    G: {' … '.join(text[s:e] for s, e in g[2])[:200]!r}")
            if not wrong:
                wrong = ["inner only (a gap: discontinuous content)"]
                gap_p, gap_g = len(p[2]) > 1, len(g[2]) > 1
                edges[f"inner: predicted {'gap' if gap_p else 'no gap'}, gold {'gap' if gap_g else 'no gap'}"] += 1
            counts["· " + " and ".join(wrong) + " wrong"] += 1
    print(f"detector {args.detector}, {args.cache}")
    for key, value in counts.items():
        print(f"{key:<50}{value:>7}")
    print("\nedges (an attribution may count at both edges):")
    for key, value in sorted(edges.items(), key=lambda kv: (kv[0].split(":")[0], -kv[1])):
        print(f"  {key:<70}{value:>6}")
        for example in examples.get(key, []):
            print(example)
    print("\nhow far:")
    for key, value in sorted(sizes.items()):
        print(f"  {key:<50}{value:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
