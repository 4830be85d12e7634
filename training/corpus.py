"""PolNeAR folders parsed once by the spaCy pipeline and cached, with their gold attributions.

    python training/corpus.py ../shared/data/polnear-train training/corpus/train
    python training/corpus.py ../shared/data/polnear-dev training/corpus/dev

Writes DIR.spacy (the parsed Docs, without any detector) and DIR.gold.json (per
document: the text's name and the first annotator's (source, cue, content)
spans, as `stancelabel evaluate` takes gold). Training and evaluation scripts
read these instead of parsing 900 articles again for every experiment.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from spacy.tokens import Doc, DocBin

from stancelabel.io.evaluation import gold_documents
from stancelabel.nlp.pipeline import load_pipeline, process

Triple = tuple[list, list, list]


def cache(brat: Path, out: Path, model: str | None = None, n_process: int = 1) -> None:
    gold = gold_documents(brat, [])
    nlp, info = load_pipeline(model)
    docs = DocBin(store_user_data=False)
    records = []
    for (pair, document), doc in zip(gold, process(nlp, (d.text for _, d in gold), n_process=n_process)):
        docs.add(doc)
        records.append({"name": pair.text.stem,
                        "attributions": [[[list(s) for s in a.source], [list(s) for s in a.cue],
                                          [list(s) for s in a.content]] for a in document.attributions]})
    out.parent.mkdir(parents=True, exist_ok=True)
    docs.to_disk(out.with_suffix(".spacy"))
    meta = {"pipeline": f"{info.name} {info.version}", "documents": records}
    out.with_suffix(".gold.json").write_text(json.dumps(meta), "utf-8")


def load(prefix: Path, vocab=None) -> list[tuple[Doc, str, list[Triple]]]:
    """(Doc, name, gold triples) per document of a cache written by ``cache``."""
    import spacy

    if vocab is None:
        vocab = spacy.blank("en").vocab
    docs = list(DocBin().from_disk(prefix.with_suffix(".spacy")).get_docs(vocab))
    meta = json.loads(prefix.with_suffix(".gold.json").read_text("utf-8"))
    out = []
    for doc, record in zip(docs, meta["documents"], strict=True):
        triples = [tuple(tuple(tuple(s) for s in role) for role in a) for a in record["attributions"]]
        out.append((doc, record["name"], triples))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("brat", type=Path)
    parser.add_argument("out", type=Path, help="path prefix: writes PREFIX.spacy and PREFIX.gold.json")
    parser.add_argument("--model", default=None)
    parser.add_argument("--n-process", type=int, default=1)
    args = parser.parse_args(argv)
    cache(args.brat, args.out, args.model, args.n_process)
    print(f"cached {args.brat} in {args.out}.spacy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
