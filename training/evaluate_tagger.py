"""Score the rules alone and the rules anchored on a trained cue/source tagger, on held-out articles.

    python training/evaluate_tagger.py ../shared/data/polnear-train training/output/model-best

The held-out articles are the ones training/prepare.py set aside (same --dev
and --seed). This is how a newly trained tagger is judged before it replaces the one shipped in
resources/models/roles (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path


from stancelabel.io.evaluation import format_evaluation, gold_documents
from stancelabel.nlp.detect import _drop_nested, detect_parsed, detect_with_roles
from stancelabel.nlp.lexicon import load_lexicon
from stancelabel.nlp.pipeline import load_pipeline
from stancelabel.nlp.roles import add_role_tagger, tagged_roles
from stancelabel.nlp.scoring import Evaluation, score_document




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
    nlp, _ = load_pipeline(None)  # without the detector (and the shipped tagger)
    with_tagger, _ = load_pipeline(None)
    if not add_role_tagger(with_tagger, args.model):
        raise SystemExit(f"{args.model}: cannot run in {with_tagger.meta.get('name')} (needs tags and lemmas)")
    lexicon = load_lexicon()
    rules, anchored = Evaluation(), Evaluation()
    for index in held_out:
        document = gold[index][1]
        doc = nlp(document.text)
        cues, sources = tagged_roles(with_tagger(document.text))
        triples = [(a.source, a.cue, a.content) for a in document.attributions]
        found = _drop_nested(detect_parsed(doc, lexicon))
        score_document(rules, doc.text, [(d.source, d.cue, d.content) for d in found], triples)
        found = _drop_nested(detect_with_roles(doc, lexicon, cues, sources))
        score_document(anchored, doc.text, [(d.source, d.cue, d.content) for d in found], triples)
    print("rules alone\n" + format_evaluation(rules))
    print("\nanchored on the tagger's cues\n" + format_evaluation(anchored))
    return 0


if __name__ == "__main__":
    sys.exit(main())
