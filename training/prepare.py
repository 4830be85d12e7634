"""Training data for the cue and source tagger: BRAT folders -> spaCy DocBins, split by article.

    python training/prepare.py ../shared/data/polnear-train training/corpus [--dev 0.1] [--seed 13]

Each article's first annotator (in sorted order, as `stancelabel evaluate` takes
gold) gives the CUE and SOURCE spans, trimmed of edge punctuation and white
space; overlapping spans keep the longest. Texts are only tokenised: the
training config's frozen components add tags and lemmas themselves.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import spacy
from spacy.tokens import Doc, DocBin
from spacy.util import filter_spans

from stancelabel.io.evaluation import gold_documents


def role_spans(doc: Doc, triples) -> list:
    spans = []
    for source, cue, _content in triples:
        for label, role in (("CUE", cue), ("SOURCE", source)):
            for start, end in role:
                span = doc.char_span(start, end, label=label, alignment_mode="expand")
                if span is None:
                    continue
                first, last = span.start, span.end
                while first < last and (doc[first].is_space or doc[first].is_punct):
                    first += 1
                while last > first and (doc[last - 1].is_space or doc[last - 1].is_punct):
                    last -= 1
                if last > first:
                    spans.append(doc[first:last].char_span(0, len(doc[first:last].text), label=label)
                                 or Doc.char_span(doc, doc[first].idx, doc[last - 1].idx + len(doc[last - 1]), label))
    return filter_spans(spans)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("brat", type=Path, help="BRAT folder (NAME.txt + NAME_ANNOTATOR.ann, or text/ + attributions/)")
    parser.add_argument("output", type=Path, help="folder for train.spacy and dev.spacy")
    parser.add_argument("--dev", type=float, default=0.1, help="share of articles held out for evaluation")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)

    errors: list[str] = []
    gold = gold_documents(args.brat, errors)
    nlp = spacy.blank("en")
    order = list(range(len(gold)))
    random.Random(args.seed).shuffle(order)
    dev_ids = set(order[: round(len(gold) * args.dev)])
    train, dev = DocBin(), DocBin()
    for index, (_pair, document) in enumerate(gold):
        doc = nlp.make_doc(document.text)
        doc.set_ents(role_spans(doc, [(a.source, a.cue, a.content) for a in document.attributions]),
                     default="outside")
        (dev if index in dev_ids else train).add(doc)
    args.output.mkdir(parents=True, exist_ok=True)
    train.to_disk(args.output / "train.spacy")
    dev.to_disk(args.output / "dev.spacy")
    print(f"{len(gold) - len(dev_ids)} training and {len(dev_ids)} held-out articles in {args.output}; "
          f"{len(errors)} file(s) refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
