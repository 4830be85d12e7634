"""Scoring detected attributions against gold ones: overlap and exact match, per role and whole."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from stancelabel.core.model import ROLES, Spans


class Scored:
    """Precision, recall and F1 from counts."""

    def __init__(self, matched: int = 0, predicted: int = 0, gold: int = 0) -> None:
        self.matched, self.predicted, self.gold = matched, predicted, gold

    def add(self, matched: int, predicted: int, gold: int) -> None:
        self.matched += matched
        self.predicted += predicted
        self.gold += gold

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1,
                "matched": self.matched, "predicted": self.predicted, "gold": self.gold}


@dataclass(slots=True)
class Evaluation:
    """Scores of a whole run: per role under overlap and exact match, and per attribution."""

    documents: int = 0
    overlap: dict[str, Scored] = field(default_factory=lambda: {r: Scored() for r in ROLES})
    exact: dict[str, Scored] = field(default_factory=lambda: {r: Scored() for r in ROLES})
    attribution: Scored = field(default_factory=Scored)

    def as_dict(self) -> dict:
        return {
            "documents": self.documents,
            "attribution": self.attribution.as_dict(),
            "overlap": {r: s.as_dict() for r, s in self.overlap.items()},
            "exact": {r: s.as_dict() for r, s in self.exact.items()},
        }


def _is_content(char: str) -> bool:
    return not char.isspace() and not unicodedata.category(char).startswith("P")


def content_chars(text: str, spans: Spans) -> frozenset[int]:
    """Offsets a span covers that are neither white space nor punctuation."""
    return frozenset(i for s, e in spans for i in range(s, e) if _is_content(text[i]))


def _alnum_chars(text: str, spans: Spans) -> frozenset[int]:
    return frozenset(i for s, e in spans for i in range(s, e) if text[i].isalnum())


def _pair_greedily(candidates: list[tuple[int, int, int]]) -> int:
    """How many one-to-one pairs (i, j) there are, taking candidates (-weight, i, j) best first."""
    used_p: set[int] = set()
    used_g: set[int] = set()
    for _, i, j in sorted(candidates):
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
    return len(used_p)


def greedy_matches(predicted: Sequence[frozenset[int]], gold: Sequence[frozenset[int]]) -> int:
    """How many one-to-one pairs share characters, the largest overlaps paired first."""
    return _pair_greedily([(-len(p & g), i, j) for i, p in enumerate(predicted) for j, g in enumerate(gold)
                           if p & g])


def _exact_matches(predicted: Sequence[frozenset[int]], gold: Sequence[frozenset[int]]) -> int:
    remaining = list(gold)
    matched = 0
    for p in predicted:
        if p in remaining:
            remaining.remove(p)
            matched += 1
    return matched


def score_document(
    evaluation: Evaluation,
    text: str,
    predicted: Sequence[tuple[Spans, Spans, Spans]],
    gold: Sequence[tuple[Spans, Spans, Spans]],
) -> None:
    """Add one document's (source, cue, content) triples to the running scores."""
    evaluation.documents += 1
    for index, role in enumerate(ROLES):
        p_sets = [content_chars(text, a[index]) for a in predicted]
        g_sets = [content_chars(text, a[index]) for a in gold]
        p_sets, g_sets = [s for s in p_sets if s], [s for s in g_sets if s]
        evaluation.overlap[role].add(greedy_matches(p_sets, g_sets), len(p_sets), len(g_sets))
        p_exact = [s for s in (_alnum_chars(text, a[index]) for a in predicted) if s]
        g_exact = [s for s in (_alnum_chars(text, a[index]) for a in gold) if s]
        evaluation.exact[role].add(_exact_matches(p_exact, g_exact), len(p_exact), len(g_exact))
    evaluation.attribution.add(_attribution_matches(text, predicted, gold), len(predicted), len(gold))


def _attribution_matches(text: str, predicted, gold) -> int:
    """One-to-one pairs whose cues overlap and whose sources overlap or are both absent."""
    p_cues = [content_chars(text, a[1]) for a in predicted]
    g_cues = [content_chars(text, a[1]) for a in gold]
    p_sources = [content_chars(text, a[0]) for a in predicted]
    g_sources = [content_chars(text, a[0]) for a in gold]
    candidates = []
    for i in range(len(predicted)):
        for j in range(len(gold)):
            cue = len(p_cues[i] & g_cues[j])
            if not cue:
                continue
            if p_sources[i] or g_sources[j]:
                source = len(p_sources[i] & g_sources[j])
                if not source:
                    continue
            else:
                source = 0
            candidates.append((-(cue + source), i, j))
    return _pair_greedily(candidates)
