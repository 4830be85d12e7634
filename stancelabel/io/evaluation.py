"""`stancelabel evaluate`: score the detector (or another BRAT folder) against gold BRAT annotations."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from stancelabel.core.errors import InputFileError
from stancelabel.core.model import SourceDocument
from stancelabel.io import brat
from stancelabel.io.importer import Progress
from stancelabel.nlp.pipeline import process
from stancelabel.nlp.scoring import Evaluation, score_document

if TYPE_CHECKING:
    from spacy.language import Language

Triple = tuple[tuple, tuple, tuple]


def _read(pair: brat.BratPair, ann: tuple[Path, str | None], errors: list[str]) -> SourceDocument | None:
    return brat.read_pair(brat.BratPair(pair.text, (ann,)), None, lambda _: None, errors)


def _triples(document: SourceDocument) -> list[Triple]:
    return [(a.source, a.cue, a.content) for a in document.attributions]


def gold_documents(gold_dir: Path, errors: list[str]) -> list[tuple[brat.BratPair, SourceDocument]]:
    """Each text of the folder with its gold annotations: the first .ann file in sorted order."""
    if not gold_dir.is_dir():
        raise InputFileError(gold_dir, "not a folder of BRAT files (NAME.txt with NAME_ANNOTATOR.ann)")
    out = []
    for pair in brat.find_pairs(gold_dir).pairs:
        if not pair.annotations:
            continue
        document = _read(pair, sorted(pair.annotations)[0], errors)
        if document is not None:
            out.append((pair, document))
    if not out:
        raise InputFileError(gold_dir, "no BRAT text (.txt) with annotations (.ann) found here")
    return out


def evaluate(
    gold_dir: Path,
    *,
    nlp: Language | None = None,
    pred_dir: Path | None = None,
    n_process: int = 1,
    progress: Callable[[Progress], None] | None = None,
) -> tuple[Evaluation, list[str]]:
    """Score predictions against the gold folder; returns the scores and per-file errors.

    Predictions are the detector's (``nlp`` with the detector) or, with
    ``pred_dir``, another BRAT folder: for each gold text, its first .ann file
    there that is not the gold file itself, so pointing ``pred_dir`` at the
    gold folder scores the second annotator against the first.
    """
    from stancelabel.nlp.detect import detected

    errors: list[str] = []
    gold = gold_documents(gold_dir, errors)
    evaluation = Evaluation()
    if pred_dir is not None:
        if not pred_dir.is_dir():
            raise InputFileError(pred_dir, "not a folder of BRAT files")
        predicted = {p.text.stem: p for p in brat.find_pairs(pred_dir).pairs}
        for done, (pair, document) in enumerate(gold, start=1):
            gold_ann = sorted(pair.annotations)[0][0]
            other = predicted.get(pair.text.stem)
            candidates = [a for a in sorted(other.annotations) if a[0].resolve() != gold_ann.resolve()] if other else []
            if not candidates:
                continue
            prediction = _read(other, candidates[0], errors)
            if prediction is None or prediction.text != document.text:
                continue
            score_document(evaluation, document.text, _triples(prediction), _triples(document))
            if progress:
                progress(Progress(done, len(gold), len(document.text.split())))
        return evaluation, errors
    if nlp is None:
        raise ValueError("evaluate needs a pipeline with the detector or a folder of predictions")
    texts = (document.text for _, document in gold)
    with closing(process(nlp, texts, n_process=n_process)) as stream:
        for done, doc in enumerate(stream, start=1):
            document = gold[done - 1][1]
            found = [(d.source, d.cue, d.content) for d in detected(doc)]
            score_document(evaluation, document.text, found, _triples(document))
            if progress:
                progress(Progress(done, len(gold), len(document.text.split())))
    return evaluation, errors


def format_evaluation(evaluation: Evaluation) -> str:
    """The scores as a small table for the terminal."""
    lines = [f"{evaluation.documents} documents",
             f"{'':<12}{'P':>7}{'R':>7}{'F1':>7}   {'matched':>8} {'predicted':>9} {'gold':>6}"]

    def row(name: str, scored) -> str:
        return (f"{name:<12}{scored.precision:>7.3f}{scored.recall:>7.3f}{scored.f1:>7.3f}   "
                f"{scored.matched:>8} {scored.predicted:>9} {scored.gold:>6}")

    lines.append(row("attribution", evaluation.attribution))
    for role in ("source", "cue", "content"):
        lines.append(row(f"{role} ~", evaluation.overlap[role]))
    for role in ("source", "cue", "content"):
        lines.append(row(f"{role} =", evaluation.exact[role]))
    lines.append("(~ overlap match, = exact match)")
    return "\n".join(lines)
