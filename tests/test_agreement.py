"""Agreement figures equal the reference implementations, and adjudication settles what is undisputed."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys

import pytest
from helpers import fill_annotation_project

from stancelabel.io.export import ExportOptions, iter_records
from stancelabel.team.adjudicate import adjudicate_auto, settle
from stancelabel.team.agreement import agreement, cohen_kappa, fleiss_kappa, gwet_ac1, krippendorff_alpha

LABELS = ["asserts", "denies", "qualifies"]

#: Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the nominal example:
#: four observers, twelve units, missing values (None). Published nominal alpha: 0.743.
KRIPPENDORFF_EXAMPLE = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def units_of(observers: list[list]) -> list[list[str]]:
    return [[str(row[u]) for row in observers if row[u] is not None] for u in range(len(observers[0]))]


def synthetic(seed: int, annotators: int = 4, items: int = 300, missing: float = 0.2, skew: float = 0.7):
    """Stance labels with known structure: a true label per item, each annotator right 75% of the time."""
    rng = random.Random(seed)
    names = [f"a{i}" for i in range(annotators)]
    data = {}
    for item in range(items):
        truth = "asserts" if rng.random() < skew else rng.choice(["denies", "qualifies"])
        ratings = {}
        for name in names:
            if rng.random() < missing:
                continue
            ratings[name] = truth if rng.random() < 0.75 else rng.choice(LABELS)
        data[item] = ratings
    return names, data


def test_krippendorffs_published_example():
    assert round(krippendorff_alpha(units_of(KRIPPENDORFF_EXAMPLE)), 3) == 0.743


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_krippendorff_alpha_equals_the_krippendorff_package(seed):
    import krippendorff
    import numpy as np

    names, data = synthetic(seed)
    result = agreement(data, labels=LABELS)
    code = {label: i for i, label in enumerate(LABELS)}
    matrix = np.array([[code[data[i][n]] if n in data[i] else np.nan for i in data] for n in names], dtype=float)
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert math.isclose(result.krippendorff_alpha, expected, abs_tol=1e-9)
    assert math.isclose(krippendorff_alpha(units_of(KRIPPENDORFF_EXAMPLE)),
                        krippendorff.alpha(reliability_data=np.array(KRIPPENDORFF_EXAMPLE, dtype=float),
                                           level_of_measurement="nominal"), abs_tol=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cohen_kappa_per_pair_equals_scikit_learn(seed):
    from sklearn.metrics import cohen_kappa_score

    names, data = synthetic(seed)
    result = agreement(data, labels=LABELS)
    for pair in result.pairs:
        both = [(r[pair.a], r[pair.b]) for r in data.values() if pair.a in r and pair.b in r]
        assert pair.n == len(both)
        expected = cohen_kappa_score([x for x, _ in both], [y for _, y in both])
        assert math.isclose(pair.cohen_kappa, expected, abs_tol=1e-9)
        assert sum(sum(row.values()) for row in pair.confusion.values()) == pair.n
        assert sum(pair.confusion[k][k] for k in LABELS) == sum(x == y for x, y in both)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fleiss_kappa_equals_statsmodels(seed):
    from statsmodels.stats.inter_rater import fleiss_kappa as reference

    names, data = synthetic(seed)
    result = agreement(data, labels=LABELS)
    complete = [r for r in data.values() if len(r) == len(names)]
    table = [[list(r.values()).count(label) for label in LABELS] for r in complete]
    assert result.fleiss_items == len(complete) > 10
    assert math.isclose(result.fleiss_kappa, reference(table, method="fleiss"), abs_tol=1e-9)


def test_gwet_ac1_by_hand_and_its_stability_when_one_label_dominates():
    # Two raters, 10 items: 9 agree on "asserts", 1 disagrees. Kappa collapses, AC1 does not.
    pairs = [("asserts", "asserts")] * 9 + [("asserts", "denies")]
    units = [[x, y] for x, y in pairs]
    p_a = 0.9
    pi = {"asserts": (10 + 9) / 20, "denies": 1 / 20, "qualifies": 0.0}
    p_e = sum(p * (1 - p) for p in pi.values()) / 2
    assert math.isclose(gwet_ac1(units, LABELS), (p_a - p_e) / (1 - p_e), abs_tol=1e-12)
    assert gwet_ac1(units, LABELS) > 0.85
    assert cohen_kappa(pairs) == 0.0  # the kappa paradox


def test_figures_of_perfect_agreement_and_of_no_items():
    data = {i: {"a": label, "b": label} for i, label in enumerate(LABELS * 3)}
    result = agreement(data, labels=LABELS)
    assert result.observed_agreement == 1 and result.krippendorff_alpha == 1 and result.fleiss_kappa == 1
    assert result.pairs[0].cohen_kappa == 1 and result.specific_agreement == {k: 1.0 for k in LABELS}
    empty = agreement({1: {"a": "asserts"}}, labels=LABELS)
    assert empty.items == 0 and empty.krippendorff_alpha is None and empty.pairs[0].n == 0 if empty.pairs else True
    assert fleiss_kappa([]) is None


def test_specific_agreement_per_label():
    data = {1: {"a": "asserts", "b": "asserts"}, 2: {"a": "asserts", "b": "denies"}, 3: {"a": "denies", "b": "denies"}}
    result = agreement(data, labels=LABELS)
    assert result.specific_agreement["asserts"] == pytest.approx(2 / 3)
    assert result.specific_agreement["denies"] == pytest.approx(2 / 3)
    assert result.specific_agreement["qualifies"] is None


def test_settle_rules():
    assert settle({"a": "denies", "b": "denies", "c": "asserts"}, "majority") == "denies"
    assert settle({"a": "denies", "b": "denies", "c": "asserts"}, "unanimous") is None
    assert settle({"a": "denies", "b": "asserts"}, "majority") is None  # a tie decides nothing
    assert settle({"a": "denies"}, "majority") is None


def test_cli_agreement_and_adjudicate_then_export_gold(make_project, tmp_path):
    project = make_project()
    ids = fill_annotation_project(project)
    plan = {ids[0]: ("denies", "denies", "denies"), ids[1]: ("asserts", "asserts", "denies"),
            ids[2]: ("asserts", "qualifies", None), ids[3]: ("qualifies", None, None)}
    for item, labels in plan.items():
        for annotator, label in zip(("ann", "bob", "cat"), labels):
            if label:
                project.set_label(item, annotator, label)
    path = str(project.path)
    result = subprocess.run([sys.executable, "-m", "stancelabel", "agreement", path, "--json"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert {"items", "annotators", "observed_agreement", "krippendorff_alpha", "fleiss_kappa", "gwet_ac1",
            "pairs"} <= set(figures)
    assert figures["items"] == 3 and figures["annotators"] == ["ann", "bob", "cat"]
    assert {(p["a"], p["b"]) for p in figures["pairs"]} == {("ann", "bob"), ("ann", "cat"), ("bob", "cat")}
    assert all({"n", "cohen_kappa", "confusion"} <= set(p) for p in figures["pairs"])
    text = subprocess.run([sys.executable, "-m", "stancelabel", "agreement", path, "--annotator", "ann",
                           "--annotator", "bob"], capture_output=True, text=True)
    assert "3 item(s) labelled by at least two of: ann, bob" in text.stdout
    settled = subprocess.run([sys.executable, "-m", "stancelabel", "adjudicate", path, "--auto", "majority"],
                             capture_output=True, text=True)
    assert settled.returncode == 0 and "2 gold label(s)" in settled.stdout and "1 disputed" in settled.stdout
    assert project.gold() == {ids[0]: ("denies", "auto (majority)"), ids[1]: ("asserts", "auto (majority)")}
    gold = list(iter_records(project, ExportOptions(gold=True)))
    assert [(r["key"], r["label"], r["annotator"]) for r in gold] == [
        (project.attribution(ids[0]).key, "denies", "auto (majority)"),
        (project.attribution(ids[1]).key, "asserts", "auto (majority)")]
    again = adjudicate_auto(project, "majority")
    assert (again.decided, again.already, again.left, again.single) == (0, 2, 1, 1)


def test_agreement_by_target(make_project):
    project = make_project()
    ids = fill_annotation_project(project)
    document = project.attribution(ids[0]).document_id
    project.set_document_target(document, "Lead is in the water")
    for annotator, label in (("ann", "denies"), ("bob", "denies")):
        project.set_label(ids[0], annotator, label)
    project.set_document_target(document, "The pipes are new")
    for annotator, label in (("ann", "asserts"), ("bob", "qualifies")):
        project.set_label(ids[1], annotator, label)
    grouped = {}
    for (target, item), ratings in project.labels_by_item(by_target=True).items():
        grouped.setdefault(target, {})[item] = ratings
    assert agreement(grouped["Lead is in the water"], labels=LABELS).observed_agreement == 1
    assert agreement(grouped["The pipes are new"], labels=LABELS).observed_agreement == 0


@pytest.mark.parametrize("seed", [3, 4])
def test_agreement_read_as_columns_equals_agreement_over_items(make_project, seed):
    """The CLI reads labels as NumPy columns; its figures are those of the item-by-item path, with
    rejected attributions, notes without a label, label filters and annotator choices."""
    from stancelabel.team.agreement import agreement_of_columns

    project = make_project()
    ids = fill_annotation_project(project)
    rng = random.Random(seed)
    for item in ids:
        for annotator in ("ann", "bob", "cat", "dan"):
            if rng.random() < 0.8:
                project.set_label(item, annotator, rng.choice(LABELS))
    project.set_note(ids[0], "eve", "only a note, no label")
    project.set_status(ids[-1], "cat", "rejected")
    names = [label.name for label in project.labels()]
    for chosen, labels in ((None, names), (["bob", "ann"], names), (None, None), (["ann", "eve"], None)):
        expected = agreement(project.labels_by_item(), chosen, labels).to_json()
        assert agreement_of_columns(*project.label_columns(), chosen, labels).to_json() == expected
