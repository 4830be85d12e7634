"""Copy the tagger of a training run into the package: resources/models/roles.

    python training/export_tagger.py training/output/model-best

Only the NER component is kept (with its own small tok2vec); the frozen English
components it was trained beside stay behind, since the host pipeline has them.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import spacy

TARGET = Path(__file__).resolve().parents[1] / "resources" / "models" / "roles"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__)
        return 2
    trained = spacy.load(args[0])
    nlp = spacy.blank("en")
    nlp.add_pipe("ner", source=trained)
    if TARGET.exists():
        shutil.rmtree(TARGET)
    nlp.to_disk(TARGET)
    print(f"tagger written to {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
