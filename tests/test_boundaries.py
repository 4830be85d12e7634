"""The content boundary model (nlp/boundaries.py): PolNeAR's content edges in both detectors."""

from __future__ import annotations

import numpy as np
import pytest

from stancelabel.nlp.boundaries import BoundaryModel, _edges, load_model, model_path
from stancelabel.nlp.detect import detected


@pytest.fixture(scope="module")
def fast(trained_nlp):
    from stancelabel.nlp.cues import model_path as cue_model_path

    if model_path() is None or cue_model_path() is None:
        pytest.skip("no boundary model or cue classifier shipped in stancelabel.resources/models")
    from stancelabel.nlp.pipeline import load_pipeline

    return load_pipeline(trained_nlp[1].name, detect=True, detector="fast")[0]


def contents(nlp, text: str) -> dict[str, str]:
    """Each detection's cue text -> its content, pieces joined by " … "."""
    return {text[d.cue[0][0]:d.cue[-1][1]]: " … ".join(text[s:e] for s, e in d.content)
            for d in detected(nlp(text))}


def test_an_object_complement_belongs_to_the_content(fast):
    # "describe X as Y", "call X Y": the rules stopped at the object; PolNeAR's content runs on
    assert contents(fast, "The governor described the budget as a disaster for the schools.") == {
        "described": "the budget as a disaster for the schools"}
    assert contents(fast, "The senator called the deal a betrayal of the workers who built the town.") == {
        "called": "the deal a betrayal of the workers who built the town"}


def test_a_quotation_runs_on_into_the_next_sentence(fast):
    text = '"We will win the final," the coach said. "Nobody can stop us now."'
    assert contents(fast, text) == {"said": '"We will win the final," … "Nobody can stop us now."'}


def test_the_rest_of_the_cue_sentence_is_left_out_between_two_quotations(fast):
    text = ('"The harbour will reopen in June," the port director said on Monday. '
            '"The dredging is almost finished, and the cranes are back."')
    assert contents(fast, text) == {
        "said": '"The harbour will reopen in June," … "The dredging is almost finished, and the cranes are back."'}


def test_a_content_never_stretches_over_another_report(fast):
    text = "The minister said the ferry would be sold, but the union said it would strike."
    found = [(text[d.cue[0][0]:d.cue[0][1]], " … ".join(text[s:e] for s, e in d.content))
             for d in detected(fast(text))]
    assert found == [("said", "the ferry would be sold"), ("said", "it would strike")]


def test_without_the_model_the_rules_contents_stay(fast):
    component = fast.get_pipe("stancelabel_attributions")
    kept = component.boundary_model
    try:
        component.boundary_model = None
        assert contents(fast, "The governor described the budget as a disaster for the schools.") == {
            "described": "the budget"}
    finally:
        component.boundary_model = kept


def test_subtree_edges_match_spacy(fast):
    doc = fast("The mayor, who spoke after the vote, said that the bridge, built in 1910, would reopen soon.")
    heads = np.array([t.head.i for t in doc])
    left, right = _edges(heads)
    assert left.tolist() == [t.left_edge.i for t in doc]
    assert right.tolist() == [t.right_edge.i for t in doc]


def test_model_round_trips_through_its_file(tmp_path):
    model = load_model()
    if model is None:
        pytest.skip("no boundary model shipped")
    model.to_disk(tmp_path / "copy.npz")
    copy = BoundaryModel.from_disk(tmp_path / "copy.npz")
    assert np.allclose(copy.start, model.start, atol=1e-3) and np.allclose(copy.end, model.end, atol=1e-3)
    assert copy.start_bias == pytest.approx(model.start_bias)
