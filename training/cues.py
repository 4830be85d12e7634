"""Train the fast detector's cue classifier (anchor and extent models) and choose its threshold.

    python training/cues.py training/corpus/train training/corpus/dev resources/models/cues.npz

Reads the parsed caches of training/corpus.py. Both models are scikit-learn
logistic regressions over hashed parse features (stancelabel/nlp/cues.py);
the anchor threshold is the one that gives the best attribution F1 of the
whole detector on the held-out articles (the second cache), which are used for
nothing else. The seed and settings are the constants below.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import load  # noqa: E402

from stancelabel.nlp.cues import CueModel, Parsed, anchor_features, extent_features, extent_pairs  # noqa: E402

BITS = 20
SEED = 13
C_ANCHOR = 0.3
C_EXTENT = 1.0
CANDIDATE_POS = ["VERB", "AUX", "NOUN", "ADP", "ADJ"]
THRESHOLDS = [0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55]


def gold_cues(doc, triples) -> list[tuple[int, int, int]]:
    """(first token, last token, anchor token) of each distinct gold cue; the anchor is the span's syntactic root."""
    out = set()
    for _source, cue, _content in triples:
        if not cue:
            continue
        span = doc.char_span(cue[0][0], cue[-1][1], alignment_mode="expand")
        if span is None or not len(span):
            continue
        tokens = [t for t in span if not (t.is_space or t.is_punct)]
        if not tokens:
            continue
        inside = {t.i for t in tokens}
        roots = [t for t in tokens if t.head.i not in inside or t.head.i == t.i]
        out.add((tokens[0].i, tokens[-1].i, roots[0].i))
    return sorted(out)


def matrix(rows: np.ndarray, hashes: np.ndarray, n: int, mask: int) -> sp.csr_matrix:
    cols = (hashes & np.uint64(mask)).astype(np.int64)
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, mask + 1))


def datasets(cache, candidate_ids_of, mask: int):
    anchor_x, anchor_y, extent_x, extent_y = [], [], [], []
    for doc, _name, triples in cache:
        p = Parsed(doc)
        if not p.n:
            continue
        cues = gold_cues(doc, triples)
        positive = np.zeros(p.n, dtype=bool)
        positive[[a for _, _, a in cues]] = True
        candidates = np.isin(p.pos, candidate_ids_of(doc)) & ~p.space & ~p.punct
        rows, hashes = anchor_features(p)
        x = matrix(rows, hashes, p.n, mask)[candidates]
        anchor_x.append(x)
        anchor_y.append(positive[candidates])
        if cues:
            anchors = np.array([a for _, _, a in cues])
            a, t = extent_pairs(p, anchors)
            span_of = {anchor: (first, last) for first, last, anchor in cues}
            inside = np.array([span_of[x][0] <= y <= span_of[x][1] for x, y in zip(a.tolist(), t.tolist())], dtype=bool)
            rows, hashes = extent_features(p, a, t)
            extent_x.append(matrix(rows, hashes, len(a), mask))
            extent_y.append(inside)
    return sp.vstack(anchor_x).tocsr(), np.concatenate(anchor_y), sp.vstack(extent_x).tocsr(), np.concatenate(extent_y)


def fit(x, y, c: float) -> tuple[np.ndarray, float]:
    model = LogisticRegression(C=c, solver="liblinear", max_iter=200, random_state=SEED)
    model.fit(x, y)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def evaluate(model: CueModel, cache, thresholds):
    """Attribution-level scores of the whole fast detector at each threshold."""
    from stancelabel.nlp.detect import _drop_nested
    from stancelabel.nlp.guided import detect_with_cues
    from stancelabel.nlp.lexicon import load_lexicon
    from stancelabel.nlp.scoring import Evaluation, score_document

    lexicon = load_lexicon()
    out = {}
    for threshold in thresholds:
        evaluation = Evaluation()
        for doc, _name, triples in cache:
            cues = [span for span, _ in model.cues(doc, threshold)]
            found = _drop_nested(detect_with_cues(doc, lexicon, cues), nesting=False, text=doc.text)
            score_document(evaluation, doc.text, [(d.source, d.cue, d.content) for d in found], triples)
        out[threshold] = evaluation
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("dev", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    import spacy


    nlp = spacy.blank("en")
    mask = (1 << BITS) - 1
    started = time.time()
    train = load(args.train, nlp.vocab)
    dev = load(args.dev, nlp.vocab)
    ids = np.array([nlp.vocab.strings.add(p) for p in CANDIDATE_POS], dtype=np.uint64)
    ax, ay, ex, ey = datasets(train, lambda doc: ids, mask)
    print(f"anchor: {ax.shape[0]} candidates, {int(ay.sum())} cues; extent: {ex.shape[0]} pairs "
          f"({time.time() - started:.0f} s)", flush=True)
    anchor, anchor_bias = fit(ax, ay, C_ANCHOR)
    extent, extent_bias = fit(ex, ey, C_EXTENT)
    print(f"fitted ({time.time() - started:.0f} s)", flush=True)
    model = CueModel(anchor, anchor_bias, extent, extent_bias, 0.5, CANDIDATE_POS)
    results = evaluate(model, dev, THRESHOLDS)
    for threshold, evaluation in results.items():
        print(f"threshold {threshold:.2f}: attribution F1 {evaluation.attribution.f1:.3f}  "
              f"cue ~ {evaluation.overlap['cue'].f1:.3f}  cue = {evaluation.exact['cue'].f1:.3f}", flush=True)
    best = max(results, key=lambda t: results[t].attribution.f1)
    model.threshold = best
    model.to_disk(args.output)
    print(f"threshold {best} written with the model to {args.output} ({time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
