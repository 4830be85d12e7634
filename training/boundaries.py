"""Train the content boundary model (stancelabel/nlp/boundaries.py) on PolNeAR's training split.

    python training/boundaries.py training/corpus/train resources/models/boundaries.npz

Reads the parsed cache of training/corpus.py and runs the fast detector without
the boundary model. Each detection that matches a gold attribution (cue
overlapping, source overlapping or both absent) is one example: its candidate
words are labelled by the gold content's first and last word (letters and
digits, as the exact score compares). Two scikit-learn logistic regressions
(start, end) over hashed features, seed 13.

Settings were chosen on a held-out slice of the training split (``--held-out``:
every tenth article, by a fixed shuffle): it prints content exact F1 of the
whole fast detector there with and without the model, then fits on all
articles and writes the weights.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import load  # noqa: E402

from stancelabel.nlp.boundaries import BoundaryModel, BoundaryParse, candidates, features  # noqa: E402

BITS = 17
SEED = 13
C_START = 0.25
C_END = 0.25
HELD_OUT_EVERY = 10


def _alnum_edges(text: str, spans) -> tuple[int, int] | None:
    chars = [i for s, e in spans for i in range(s, e) if text[i].isalnum()]
    return (chars[0], chars[-1]) if chars else None


def matches(text: str, found, gold) -> dict[int, tuple]:
    """Index in ``found`` -> the gold triple it matches (cue overlaps; sources overlap or both are absent)."""
    from stancelabel.nlp.scoring import content_chars

    p_cues = [content_chars(text, d.cue) for d in found]
    p_sources = [content_chars(text, d.source) for d in found]
    out: dict[int, tuple] = {}
    for g in gold:
        g_cue = content_chars(text, g[1])
        if not g_cue:
            continue
        g_source = content_chars(text, g[0])
        fitting = [i for i, c in enumerate(p_cues) if c & g_cue and i not in out
                   and ((p_sources[i] & g_source) if (g_source or p_sources[i]) else True)]
        if fitting:
            out[max(fitting, key=lambda i: len(p_cues[i] & g_cue))] = g
    return out


def examples(cache, lexicon, cue_model, mask: int):
    """Sparse start and end matrices with their labels, over the detections that match a gold attribution."""
    from stancelabel.nlp.cues import Parsed
    from stancelabel.nlp.guided import boundary_items, detect_with_cues

    sx, sy, ex, ey = [], [], [], []
    for doc, _name, gold in cache:
        p = Parsed(doc)
        if not p.n:
            continue
        found = detect_with_cues(doc, lexicon, [span for span, _ in cue_model.cues(doc, parsed=p)])
        text = doc.text
        matched = matches(text, found, gold)
        bp = BoundaryParse(doc, p)
        items, others, where = boundary_items(doc, found, bp)
        keep = [k for k, index in enumerate(where) if index in matched]
        if not keep:
            continue
        items = [items[k] for k in keep]
        others = [others[k] for k in keep]
        edges = []
        for k in keep:
            e = _alnum_edges(text, matched[where[k]][2])
            if e is None:
                edges.append((-1, -1))
                continue
            edges.append((int(np.searchsorted(p.starts, e[0], side="right")) - 1,
                          int(np.searchsorted(p.starts, e[1], side="right")) - 1))
        edges = np.array(edges, dtype=np.int64)
        si, st, ei, et = candidates(bp, items, others)
        for pair_item, tokens, end, xs, ys in ((si, st, False, sx, sy), (ei, et, True, ex, ey)):
            gold_token = edges[pair_item, 1 if end else 0]
            # examples whose gold edge is not among the candidates teach nothing about choosing among them
            reachable = np.zeros(len(items), dtype=bool)
            reachable[pair_item[tokens == gold_token]] = True
            ok = reachable[pair_item]
            rows, hashes = features(bp, items, pair_item, tokens, end)
            cols = (hashes & np.uint64(mask)).astype(np.int64)
            x = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(tokens), mask + 1))
            xs.append(x[ok])
            ys.append((tokens == gold_token)[ok])
    return sp.vstack(sx).tocsr(), np.concatenate(sy), sp.vstack(ex).tocsr(), np.concatenate(ey)


def fit(x, y, c: float) -> tuple[np.ndarray, float]:
    model = LogisticRegression(C=c, solver="liblinear", max_iter=300, random_state=SEED)
    model.fit(x, y)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def train(cache, lexicon, cue_model, c_start: float = C_START, c_end: float = C_END) -> BoundaryModel:
    mask = (1 << BITS) - 1
    sx, sy, ex, ey = examples(cache, lexicon, cue_model, mask)
    print(f"  start: {sx.shape[0]} candidates, {int(sy.sum())} gold; end: {ex.shape[0]} candidates, "
          f"{int(ey.sum())} gold", flush=True)
    start, start_bias = fit(sx, sy, c_start)
    end, end_bias = fit(ex, ey, c_end)
    return BoundaryModel(start, start_bias, end, end_bias)


def evaluate(cache, lexicon, cue_model, boundaries):
    from stancelabel.nlp.cues import Parsed
    from stancelabel.nlp.detect import _drop_nested
    from stancelabel.nlp.guided import detect_with_cues
    from stancelabel.nlp.scoring import Evaluation, score_document

    evaluation = Evaluation()
    for doc, _name, gold in cache:
        p = Parsed(doc)
        cues = [span for span, _ in cue_model.cues(doc, parsed=p)] if p.n else []
        found = detect_with_cues(doc, lexicon, cues, boundaries=boundaries, parsed=p)
        found = _drop_nested(found, nesting=False, text=doc.text)
        score_document(evaluation, doc.text, [(d.source, d.cue, d.content) for d in found], gold)
    return evaluation


def describe(label: str, evaluation) -> str:
    e = evaluation
    return (f"{label:<24} attribution {e.attribution.f1:.3f}  exact source {e.exact['source'].f1:.3f}  "
            f"cue {e.exact['cue'].f1:.3f}  content {e.exact['content'].f1:.3f}  "
            f"(content ~ {e.overlap['content'].f1:.3f})")


def split(cache):
    order = list(range(len(cache)))
    random.Random(SEED).shuffle(order)
    held = set(order[::HELD_OUT_EVERY])
    return [d for i, d in enumerate(cache) if i not in held], [d for i, d in enumerate(cache) if i in held]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("output", type=Path, help="the weights' file (.npz); - with --held-out: write nothing")
    parser.add_argument("--held-out", action="store_true",
                        help="first fit on nine tenths and score the tenth held out, with and without the model")
    parser.add_argument("--c", type=float, nargs=2, default=(C_START, C_END), metavar=("START", "END"))
    args = parser.parse_args(argv)
    import spacy

    from stancelabel.nlp.cues import load_model
    from stancelabel.nlp.lexicon import load_lexicon

    started = time.time()
    nlp = spacy.blank("en")
    cache = load(args.train, nlp.vocab)
    lexicon, cue_model = load_lexicon(), load_model()
    if args.held_out:
        fitting, held = split(cache)
        print(f"held out: {len(held)} of {len(cache)} articles", flush=True)
        model = train(fitting, lexicon, cue_model, *args.c)
        print(describe("rules' contents", evaluate(held, lexicon, cue_model, None)))
        print(describe("boundary model", evaluate(held, lexicon, cue_model, model)), flush=True)
    if str(args.output) == "-":
        return 0
    model = train(cache, lexicon, cue_model, *args.c)
    model.to_disk(args.output)
    print(f"written to {args.output} ({args.output.stat().st_size // 1024} KB, {time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
