"""Where attribution detection goes wrong: the scores and an error breakdown on a BRAT folder.

    .venv/bin/python benchmarks/detection_errors.py ../shared/data/polnear-dev --detector fast
    .venv/bin/python benchmarks/detection_errors.py ../shared/data/polnear-dev --detector accurate --json

Prints `stancelabel evaluate`'s table (overlap and exact F1 per role, attribution
F1) and sorts every gold attribution into one bin:

- found: a detected attribution has an overlapping cue and an overlapping source
  (or neither has one); then each role's exact boundary is checked;
- wrong source: the cue was found, the source is another or missing;
- missed cue: no detected cue overlaps the gold one, by the kind of its head
  word (verb, noun, adjective, preposition/phrase, adverb, punctuation, other).

and every detected attribution whose cue overlaps no gold cue into
false cues by kind. Without the folder (no ../shared), says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path

KINDS = {"VERB": "verb", "AUX": "verb", "NOUN": "noun", "PROPN": "noun", "ADJ": "adjective", "ADP": "phrase",
         "SCONJ": "phrase", "ADV": "adverb", "PUNCT": "punctuation"}


def kind_of(doc, spans) -> str:
    span = doc.char_span(spans[0][0], spans[-1][1], alignment_mode="expand")
    if span is None or not len(span):
        return "other"
    return KINDS.get(span.root.pos_, "other")


def breakdown(doc, text: str, predicted, gold, counts: Counter) -> None:
    from stancelabel.nlp.scoring import content_chars

    def alnum(spans):
        return frozenset(i for s, e in spans for i in range(s, e) if text[i].isalnum())

    p_cues = [content_chars(text, p[1]) for p in predicted]
    used: set[int] = set()
    for source, cue, content in gold:
        g_cue = content_chars(text, cue)
        if not g_cue:
            continue
        counts["gold"] += 1
        candidates = [i for i, c in enumerate(p_cues) if c & g_cue]
        if not candidates:
            counts[f"missed cue: {kind_of(doc, cue)}"] += 1
            continue
        g_source = content_chars(text, source)
        fitting = [i for i in candidates if (bool(content_chars(text, predicted[i][0]) & g_source)
                                             if g_source or predicted[i][0] else True)]
        if not fitting:
            counts["wrong source" if source else "source where gold has none"] += 1
            used.update(candidates[:1])
            continue
        best = max(fitting, key=lambda i: len(p_cues[i] & g_cue))
        used.add(best)
        counts["found"] += 1
        for role, (p_spans, g_spans) in zip(("source", "cue", "content"), zip(predicted[best], (source, cue, content))):
            if (p_spans or g_spans) and alnum(p_spans) != alnum(g_spans):
                counts[f"found, {role} boundary differs"] += 1
        if not content_chars(text, predicted[best][2]) & content_chars(text, content):
            counts["found, content elsewhere"] += 1
    g_cues = [content_chars(text, g[1]) for g in gold]
    for i, p in enumerate(predicted):
        if i not in used and not any(p_cues[i] & g for g in g_cues):
            counts[f"false cue: {kind_of(doc, p[1])}"] += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gold", type=Path)
    parser.add_argument("--detector", default="fast")
    parser.add_argument("--model", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.gold.is_dir():
        print(f"detection_errors: no folder {args.gold}; skipped")
        return 0
    from stancelabel.io.evaluation import format_evaluation, gold_documents
    from stancelabel.nlp.detect import detected
    from stancelabel.nlp.pipeline import load_pipeline, process
    from stancelabel.nlp.scoring import Evaluation, score_document

    nlp, info = load_pipeline(args.model, detect=True, detector=args.detector)
    gold = gold_documents(args.gold, [])
    evaluation, counts = Evaluation(), Counter()
    with closing(process(nlp, (d.text for _, d in gold))) as stream:
        for (_, document), doc in zip(gold, stream):
            predicted = [(d.source, d.cue, d.content) for d in detected(doc)]
            truth = [(a.source, a.cue, a.content) for a in document.attributions]
            score_document(evaluation, document.text, predicted, truth)
            breakdown(doc, document.text, predicted, truth, counts)
    if args.json:
        print(json.dumps({"detector": args.detector, "pipeline": info.name, "scores": evaluation.as_dict(),
                          "errors": dict(sorted(counts.items()))}, indent=2))
        return 0
    print(f"detector {args.detector}, pipeline {info.name} {info.version}, {args.gold}")
    print(format_evaluation(evaluation))
    print()
    total = counts["gold"]
    print(f"{'gold attributions (with a cue)':<40}{total:>6}")
    for key in sorted(counts, key=lambda k: (k.split(":")[0], -counts[k])):
        if key != "gold":
            share = f"{counts[key] / total:6.1%}" if not key.startswith("false") else ""
            print(f"  {key:<38}{counts[key]:>6} {share}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
