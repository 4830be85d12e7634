"""What attribution detection costs next to the parse, measured batch by batch in one process.

    .venv/bin/python benchmarks/detector_cost.py --docs 200 --detect fast

`import_speed.py` times whole runs of bare spaCy and of the import one after the
other; on a shared machine their speed drifts by more than the detector costs
between one run and the next. Here each batch of 16 texts is parsed (the
pipeline without the detector: the bare side) and the detector then runs on the
same Docs at once, so both sides see the same machine: the ratio is the
detector's cost relative to the parse, with the drift cancelled. The script
also prints the import/bare ratio that cost implies at one process once storing
(``--outside``, the share `import_speed.py` measures within its runs) is added.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "polnear-train" / "text"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=200, help="number of .txt files, first in name order")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of .txt files (PolNeAR's)")
    parser.add_argument("--detect", choices=("fast", "accurate", "rules"), default="fast")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the documents; the median counts")
    parser.add_argument("--outside", type=float, default=0.018,
                        help="storing's share of the import at one process (import_speed.py's 'outside parse')")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"detector_cost: no folder {args.data}; skipped")
        return 0
    from stancelabel.nlp.pipeline import load_pipeline

    nlp, info = load_pipeline(None, detect=True, detector=args.detect)
    detector = nlp.get_pipe("stancelabel_attributions")
    texts = [p.read_text(encoding="utf-8") for p in sorted(args.data.glob("*.txt"))[: args.docs]]
    batches = [texts[i:i + 16] for i in range(0, len(texts), 16)]
    print(f"detector {args.detect} on {len(texts)} documents, pipeline {info.name} {info.version}")
    with nlp.select_pipes(disable=["stancelabel_attributions"]):
        list(nlp.pipe(batches[0]))  # warm-up
    shares = []
    for run in range(1, args.repeat + 1):
        parse = detect = 0.0
        for batch in batches:
            start = time.perf_counter()
            with nlp.select_pipes(disable=["stancelabel_attributions"]):
                docs = list(nlp.pipe(batch, batch_size=16))
            middle = time.perf_counter()
            for doc in docs:
                detector(doc)
            end = time.perf_counter()
            parse, detect = parse + middle - start, detect + end - middle
        shares.append(detect / parse)
        print(f"  pass {run}: parse {parse:6.2f} s, detection {detect:5.2f} s = {detect / parse:6.2%} of the parse")
    share = statistics.median(shares)
    print(f"median: detection costs {share:.2%} of the parse")
    implied = 1 / (1 + share + args.outside)
    print(f"implied import/bare at one process, with storing at {args.outside:.1%}: {implied:.3f} "
          f"(goal >= 0.90: {'PASS' if implied >= 0.90 else 'MISS'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
