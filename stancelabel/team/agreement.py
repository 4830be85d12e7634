"""Inter-annotator agreement on stance labels.

Data: items (attributions) by annotators, each cell a label or missing. Only
items labelled by at least two of the annotators considered count. Every
coefficient is computed from counts in plain Python, so figures are exact and
the same as the reference implementations the tests check them against
(scikit-learn's Cohen's kappa, statsmodels' Fleiss' kappa, the krippendorff
package, Krippendorff's own worked example).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy

#: One item's labels: annotator -> label (annotators who did not label it are absent).
Ratings = Mapping[str, str]


@dataclass
class PairAgreement:
    a: str
    b: str
    n: int
    observed: float | None
    cohen_kappa: float | None
    confusion: dict[str, dict[str, int]]


@dataclass
class Agreement:
    items: int
    annotators: list[str]
    labels: list[str]
    observed_agreement: float | None
    krippendorff_alpha: float | None
    fleiss_kappa: float | None
    fleiss_items: int
    gwet_ac1: float | None
    specific_agreement: dict[str, float | None]
    label_counts: dict[str, dict[str, int]]
    pairs: list[PairAgreement] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "items": self.items, "annotators": self.annotators, "labels": self.labels,
            "observed_agreement": self.observed_agreement, "krippendorff_alpha": self.krippendorff_alpha,
            "fleiss_kappa": self.fleiss_kappa, "fleiss_items": self.fleiss_items, "gwet_ac1": self.gwet_ac1,
            "specific_agreement": self.specific_agreement, "label_counts": self.label_counts,
            "pairs": [vars(pair) for pair in self.pairs],
        }


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two annotators over the items both labelled; None when chance agreement is total."""
    n = len(pairs)
    if not n:
        return None
    observed = sum(1 for x, y in pairs if x == y) / n
    first, second = Counter(x for x, _ in pairs), Counter(y for _, y in pairs)
    expected = sum(first[k] * second[k] for k in first) / (n * n)
    return _ratio(observed - expected, 1 - expected) if expected != 1 else None


def fleiss_kappa(table: Sequence[Mapping[str, int]]) -> float | None:
    """Fleiss' kappa of items each rated by the same number of raters (category -> count per item)."""
    if not table:
        return None
    raters = sum(table[0].values())
    if raters < 2 or any(sum(row.values()) != raters for row in table):
        return None
    n_items = len(table)
    p_items = [(sum(c * c for c in row.values()) - raters) / (raters * (raters - 1)) for row in table]
    p_bar = sum(p_items) / n_items
    totals: Counter[str] = Counter()
    for row in table:
        totals.update(row)
    p_e = sum((count / (n_items * raters)) ** 2 for count in totals.values())
    return _ratio(p_bar - p_e, 1 - p_e) if p_e != 1 else None


def krippendorff_alpha(units: Sequence[Sequence[str]]) -> float | None:
    """Krippendorff's alpha for nominal data; each unit lists the values it received (missing left out)."""
    coincidences: Counter[tuple[str, str]] = Counter()
    for values in units:
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_k - 1) if c == k else n_c * n_k
                coincidences[(c, k)] += pairs / (m - 1)
    n_c: Counter[str] = Counter()
    for (c, _), value in coincidences.items():
        n_c[c] += value
    n = sum(n_c.values())
    if n <= 1:
        return None
    observed = sum(v for (c, k), v in coincidences.items() if c != k)
    expected = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k)
    if not expected:
        return None
    return 1 - (n - 1) * observed / expected


def gwet_ac1(units: Sequence[Sequence[str]], categories: Sequence[str]) -> float | None:
    """Gwet's AC1 for any number of raters with missing ratings (Gwet 2008, eq. for r_i raters per item)."""
    q = len(categories)
    rated = [values for values in units if values]
    multi = [values for values in rated if len(values) >= 2]
    if q < 2 or not multi:
        return None
    p_a = sum(sum(c * (c - 1) for c in Counter(values).values()) / (len(values) * (len(values) - 1))
              for values in multi) / len(multi)
    pi = {k: sum(Counter(values)[k] / len(values) for values in rated) / len(rated) for k in categories}
    p_e = sum(p * (1 - p) for p in pi.values()) / (q - 1)
    return _ratio(p_a - p_e, 1 - p_e) if p_e != 1 else None


def specific_agreement(units: Sequence[Sequence[str]], categories: Sequence[str]) -> dict[str, float | None]:
    """Per label: of the pairs in which one annotator chose it, the share in which the other did too."""
    out = {}
    for k in categories:
        agreeing = possible = 0
        for values in units:
            m = len(values)
            if m < 2:
                continue
            n_k = values.count(k)
            agreeing += n_k * (n_k - 1)
            possible += n_k * (m - 1)
        out[k] = _ratio(agreeing, possible)
    return out


def agreement(items: Mapping[Any, Ratings], annotators: Sequence[str] | None = None,
              labels: Sequence[str] | None = None) -> Agreement:
    """Every figure for these items, over the given annotators (default: everyone who labelled).

    Vectorised over an items x annotators matrix of label codes: a million labels by
    ten annotators take well under a second. The formulas are those of the functions above.
    """
    chosen = sorted(set(annotators)) if annotators else sorted({a for ratings in items.values() for a in ratings})
    column = {name: j for j, name in enumerate(chosen)}
    rows = [ratings for ratings in items.values() if sum(1 for a in ratings if a in column) >= 2]
    categories = list(labels) if labels else sorted({v for r in rows for a, v in r.items() if a in column})
    code = {label: k for k, label in enumerate(categories)}
    for r in rows:
        for a, v in r.items():
            if a in column and v not in code:
                code[v] = len(categories)
                categories.append(v)
    matrix = numpy.full((len(rows), len(chosen)), -1, dtype=numpy.int64)
    for i, ratings in enumerate(rows):
        for a, v in ratings.items():
            j = column.get(a)
            if j is not None:
                matrix[i, j] = code[v]
    return _figures(matrix, chosen, categories)


def agreement_of_columns(item_ids: numpy.ndarray, annotator_ids: numpy.ndarray, label_ids: numpy.ndarray,
                         annotator_names: Mapping[int, str], label_names: Mapping[int, str],
                         annotators: Sequence[str] | None = None, labels: Sequence[str] | None = None) -> Agreement:
    """``agreement`` over labels given as three columns of ids (one row per label, as
    ``Project.label_columns`` reads them): the matrix is built by NumPy, not item by item."""
    present = sorted({annotator_names[int(i)] for i in numpy.unique(annotator_ids)})
    chosen = sorted(set(annotators)) if annotators else present
    column = {name: j for j, name in enumerate(chosen)}
    to_column = numpy.full(max(annotator_names, default=0) + 1, -1, dtype=numpy.int64)
    for i, name in annotator_names.items():
        to_column[i] = column.get(name, -1)
    columns = to_column[annotator_ids] if len(annotator_ids) else numpy.zeros(0, dtype=numpy.int64)
    kept = columns >= 0
    items, rows = numpy.unique(item_ids[kept], return_inverse=True)
    label_of = numpy.asarray(label_ids[kept])
    raters = numpy.bincount(rows, minlength=len(items))
    shared = raters[rows] >= 2  # labels of items that at least two of the chosen annotators labelled
    used = sorted({label_names[int(i)] for i in numpy.unique(label_of[shared])})
    categories = list(labels) if labels else used
    categories += [name for name in used if name not in categories]
    code = {name: k for k, name in enumerate(categories)}
    to_code = numpy.full(max(label_names, default=0) + 1, -1, dtype=numpy.int64)
    for i, name in label_names.items():
        to_code[i] = code.get(name, -1)
    matrix = numpy.full((len(items), len(chosen)), -1, dtype=numpy.int64)
    matrix[rows, columns[kept]] = to_code[label_of]
    return _figures(matrix[raters >= 2], chosen, categories)


def _figures(matrix: numpy.ndarray, chosen: list[str], categories: list[str]) -> Agreement:
    """The figures from an items x annotators matrix of label codes (-1: not labelled), every item
    labelled by at least two of ``chosen``."""
    q, n_items, n_raters = len(categories), len(matrix), len(chosen)
    counts = numpy.zeros((n_items, q), dtype=numpy.float64)
    for j in range(n_raters):
        rated = matrix[:, j] >= 0
        numpy.add.at(counts, (numpy.nonzero(rated)[0], matrix[rated, j]), 1.0)
    m = counts.sum(axis=1)
    pairs = []
    label_counts: dict[str, dict[str, int]] = {}
    for j, name in enumerate(chosen):
        given = numpy.bincount(matrix[matrix[:, j] >= 0, j], minlength=q)
        label_counts[name] = {categories[k]: int(given[k]) for k in range(q)}
    for a, b in combinations(range(n_raters), 2):
        both = (matrix[:, a] >= 0) & (matrix[:, b] >= 0)
        x, y = matrix[both, a], matrix[both, b]
        n = int(both.sum())
        table = numpy.bincount(x * q + y, minlength=q * q).reshape(q, q) if n else numpy.zeros((q, q), int)
        confusion = {categories[i]: {categories[k]: int(table[i, k]) for k in range(q)} for i in range(q)}
        kappa = None
        if n:
            observed = numpy.trace(table) / n
            expected = float((table.sum(axis=1) * table.sum(axis=0)).sum()) / (n * n)
            kappa = (observed - expected) / (1 - expected) if expected != 1 else None
        pairs.append(PairAgreement(chosen[a], chosen[b], n, float(numpy.trace(table) / n) if n else None,
                                   None if kappa is None else float(kappa), confusion))
    if not n_items:
        return Agreement(0, chosen, categories, None, None, None, 0, None, {k: None for k in categories},
                         label_counts, pairs)
    agree = (counts * (counts - 1)).sum(axis=1)
    observed = float((agree / (m * (m - 1))).mean())
    # Krippendorff: the coincidence matrix, sum over units of (c c^T - diag c) / (m - 1)
    weighted = counts / (m - 1)[:, None]
    coincidence = weighted.T @ counts - numpy.diag(weighted.sum(axis=0))
    n_c = coincidence.sum(axis=1)
    total = n_c.sum()
    expected_pairs = total * total - (n_c * n_c).sum()
    alpha = None
    if total > 1 and expected_pairs:
        alpha = float(1 - (total - 1) * (coincidence.sum() - numpy.trace(coincidence)) / expected_pairs)
    # Fleiss: the items every annotator labelled
    full = counts[m == n_raters]
    fleiss = None
    if len(full) and n_raters >= 2:
        p_bar = float((((full * full).sum(axis=1) - n_raters) / (n_raters * (n_raters - 1))).mean())
        p_k = full.sum(axis=0) / (len(full) * n_raters)
        p_e = float((p_k * p_k).sum())
        fleiss = (p_bar - p_e) / (1 - p_e) if p_e != 1 else None
    # Gwet's AC1 over the same items
    gwet = None
    if q >= 2:
        pi = (counts / m[:, None]).mean(axis=0)
        p_e = float((pi * (1 - pi)).sum() / (q - 1))
        gwet = (observed - p_e) / (1 - p_e) if p_e != 1 else None
    possible = (counts * (m - 1)[:, None]).sum(axis=0)
    specific_pairs = (counts * (counts - 1)).sum(axis=0)
    specific = {categories[k]: (float(specific_pairs[k] / possible[k]) if possible[k] else None) for k in range(q)}
    return Agreement(
        items=n_items, annotators=chosen, labels=categories, observed_agreement=observed,
        krippendorff_alpha=alpha, fleiss_kappa=fleiss, fleiss_items=len(full), gwet_ac1=gwet,
        specific_agreement=specific, label_counts=label_counts, pairs=pairs,
    )


@dataclass
class AgreementReport:
    """Everything `stancelabel agreement` and the window's agreement view show of one project."""

    overall: Agreement
    #: attribution-level agreement on the spans, per pair of annotators (see span_agreement)
    spans: list[dict[str, Any]]
    #: per target claim (None: documents without one), when asked for
    by_target: dict[str | None, Agreement]


def project_agreement(project, annotators: Sequence[str] | None = None, by_target: bool = False,
                      spans: bool = True) -> AgreementReport:
    """The one entry point to a project's agreement, for the command line and the window alike: the
    figures over the label columns (NumPy), span agreement, and per target on request."""
    labels = [label.name for label in project.labels()]
    overall = agreement_of_columns(*project.label_columns(), annotators or None, labels)
    per_target: dict[str | None, Agreement] = {}
    if by_target:
        grouped: dict[str | None, dict] = {}
        for (target, item), ratings in project.labels_by_item(by_target=True).items():
            grouped.setdefault(target, {})[item] = ratings
        per_target = {target: agreement(items, annotators or None, labels)
                      for target, items in sorted(grouped.items(), key=lambda x: (x[0] is None, x[0] or ""))}
    return AgreementReport(overall, span_agreement(project, annotators or None) if spans else [], per_target)


def format_agreement(result: Agreement, title: str = "") -> str:
    """The figures as a short text report."""
    def show(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    lines = [f"{title}{result.items} item(s) labelled by at least two of: {', '.join(result.annotators)}"]
    if not result.items:
        return lines[0]
    lines += [
        f"  observed agreement   {show(result.observed_agreement)}",
        f"  Krippendorff's alpha {show(result.krippendorff_alpha)}  (nominal)",
        f"  Fleiss' kappa        {show(result.fleiss_kappa)}  ({result.fleiss_items} item(s) labelled by all)",
        f"  Gwet's AC1           {show(result.gwet_ac1)}",
        "  specific agreement   " + ", ".join(f"{k} {show(v)}" for k, v in result.specific_agreement.items()),
    ]
    for pair in result.pairs:
        lines.append(f"  {pair.a} / {pair.b}: {pair.n} item(s), observed {show(pair.observed)}, "
                     f"Cohen's kappa {show(pair.cohen_kappa)}")
    return "\n".join(lines)


def span_agreement(project, annotators: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Agreement on the attributions themselves, for every pair of annotators who brought or added some:
    one annotator's attributions scored against the other's as ``stancelabel evaluate`` scores them
    (F1 is symmetric), over the documents where both did."""
    from stancelabel.nlp.scoring import Evaluation, score_document

    authored = project.authored_attributions()
    names = sorted(a for a in authored if not annotators or a in annotators)
    out = []
    for a, b in combinations(names, 2):
        evaluation = Evaluation()
        for document_id in sorted(set(authored[a]) & set(authored[b])):
            text = project.document(document_id).text
            score_document(evaluation, text, authored[a][document_id], authored[b][document_id])
        if evaluation.documents:
            out.append({"a": a, "b": b, "documents": evaluation.documents,
                        "attribution_f1": evaluation.attribution.f1,
                        **{f"{role}_f1": evaluation.overlap[role].f1 for role in ("source", "cue", "content")}})
    return out


def format_span_agreement(rows: list[dict[str, Any]]) -> str:
    lines = ["attributions (as stancelabel evaluate scores them; overlap F1):"]
    for row in rows:
        lines.append(f"  {row['a']} / {row['b']}: {row['documents']} document(s), "
                     f"attribution {row['attribution_f1']:.3f}, source {row['source_f1']:.3f}, "
                     f"cue {row['cue_f1']:.3f}, content {row['content_f1']:.3f}")
    return "\n".join(lines)
