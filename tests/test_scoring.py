"""Scoring attributions: overlap ignores spaces and punctuation, matching is one-to-one."""

from __future__ import annotations

import pytest

from stancelabel.nlp.scoring import Evaluation, greedy_matches, score_document

TEXT = 'Anna said "it rained", and Bob denied it.'
#       0123456789012345678901234567890123456789
ANNA, SAID, RAINED = ((0, 4),), ((5, 9),), ((10, 21),)
BOB, DENIED, IT = ((27, 30),), ((31, 37),), ((38, 40),)


def scores(predicted, gold) -> Evaluation:
    evaluation = Evaluation()
    score_document(evaluation, TEXT, predicted, gold)
    return evaluation


def test_identical_attributions_score_one():
    gold = [(ANNA, SAID, RAINED), (BOB, DENIED, IT)]
    result = scores(gold, gold)
    assert result.attribution.f1 == 1.0
    assert all(s.f1 == 1.0 for s in result.overlap.values())
    assert all(s.f1 == 1.0 for s in result.exact.values())


def test_overlap_needs_a_shared_letter_not_just_punctuation_or_space():
    quote_only = ((9, 11),)  # ' "' : a space and a quote mark
    result = scores([(ANNA, SAID, quote_only)], [(ANNA, SAID, RAINED)])
    assert result.overlap["content"].matched == 0
    assert result.overlap["content"].predicted == 0  # nothing but punctuation: not a span at all
    wider = ((9, 22),)  # ' "it rained"' : the same letters with extra punctuation
    result = scores([(ANNA, SAID, wider)], [(ANNA, SAID, RAINED)])
    assert result.overlap["content"].f1 == 1.0
    assert result.exact["content"].f1 == 1.0  # the same letters and digits


def test_partial_overlap_matches_but_is_not_exact():
    result = scores([(ANNA, SAID, ((11, 13),))], [(ANNA, SAID, RAINED)])
    assert result.overlap["content"].f1 == 1.0
    assert result.exact["content"].f1 == 0.0


def test_matching_is_one_to_one():
    assert greedy_matches([frozenset({1, 2}), frozenset({2, 3})], [frozenset({2})]) == 1
    # the larger overlap is paired first, leaving the other pair free
    assert greedy_matches([frozenset({1, 2, 3}), frozenset({3})], [frozenset({3}), frozenset({1, 2, 3})]) == 2


def test_attribution_needs_cue_and_source_overlap_or_both_sources_absent():
    assert scores([(BOB, SAID, RAINED)], [(ANNA, SAID, RAINED)]).attribution.matched == 0
    assert scores([((), SAID, RAINED)], [((), SAID, RAINED)]).attribution.matched == 1
    assert scores([((), SAID, RAINED)], [(ANNA, SAID, RAINED)]).attribution.matched == 0


def test_precision_recall_and_f1():
    result = scores([(ANNA, SAID, RAINED), (BOB, SAID, IT)], [(ANNA, SAID, RAINED), (BOB, DENIED, IT)])
    assert result.attribution.precision == pytest.approx(0.5)
    assert result.attribution.recall == pytest.approx(0.5)
    assert result.overlap["cue"].as_dict()["matched"] == 1
    assert result.overlap["source"].f1 == 1.0
