"""The fast detector: the cue classifier over the parse, its cue extents, and the detector choice."""

from __future__ import annotations

import numpy as np
import pytest

from stancelabel.core.errors import PipelineError
from stancelabel.nlp.cues import _K, CueModel, Features, Parsed, anchor_features, load_model, model_path
from stancelabel.nlp.detect import detected


@pytest.fixture(scope="module")
def fast(trained_nlp):
    if model_path() is None:
        pytest.skip("no cue classifier shipped in stancelabel.resources/models/cues.npz")
    from stancelabel.nlp.pipeline import load_pipeline

    return load_pipeline(trained_nlp[1].name, detect=True, detector="fast")[0]


def found(nlp, text: str) -> list[tuple[str, str, str]]:
    doc = nlp(text)
    role = lambda spans: " … ".join(text[s:e] for s, e in spans)  # noqa: E731
    return [(role(d.source), role(d.cue), role(d.content)) for d in detected(doc)]


def test_plain_reports_are_found_with_source_and_content(fast):
    text = "The harbour master said the pier would reopen in May. Engineers denied that the bridge was unsafe."
    assert found(fast, text) == [("The harbour master", "said", "the pier would reopen in May"),
                                 ("Engineers", "denied", "that the bridge was unsafe")]


def test_cue_extent_keeps_the_reporting_expression_only(fast):
    text = "Maria Lopez, the mayor of Harbourside, said on Monday that the water in Riverton was safe."
    (item,) = found(fast, text)
    assert item[1] == "said"
    assert item[0].startswith("Maria Lopez")


def test_according_to_is_one_cue(fast):
    text = "The budget is balanced, according to the city's finance officer."
    (item,) = found(fast, text)
    assert item == ("the city's finance officer", "according to", "The budget is balanced")


def test_words_that_report_nothing_here_are_not_cues(fast):
    assert found(fast, "The pier was built in 1910. It is made of oak and will be repaired soon.") == []


def test_one_report_is_one_attribution(fast):
    text = '"We did nothing wrong," the director said on Tuesday, "and we will prove it in court."'
    items = found(fast, text)
    assert len(items) == 1 and items[0][:2] == ("the director", "said")


def test_features_are_the_same_for_the_same_parse(fast):
    doc = fast("Officials said the road will reopen on Friday.")
    first, second = anchor_features(Parsed(doc)), anchor_features(Parsed(doc))
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def _mix(template: int, *parts: np.ndarray) -> np.ndarray:
    """The feature hash the shipped weights were trained with, one template at a time, element-wise."""
    with np.errstate(over="ignore"):
        h = np.full(parts[0].shape, np.uint64(template) * _K[3] + np.uint64(1), dtype=np.uint64)
        for n, part in enumerate(parts):
            h = (h ^ (part.astype(np.uint64) * _K[n % 3])) * _K[(n + 1) % 3]
            h ^= h >> np.uint64(31)
    return h


def test_features_hashed_together_are_those_of_the_shipped_weights():
    """The shipped weight files index by ``_mix``'s hashes: hashing templates of one arity together must give
    the very same numbers, row for row and in the order the templates were added."""
    rng = np.random.default_rng(5)
    rows_a, rows_b = np.arange(7), np.arange(3)
    added = [(rows_a, 1, (rng.integers(0, 2**63, 7, dtype=np.uint64),)),
             (rows_a, 2, (rng.integers(-5, 5, 7), rng.integers(0, 2, 7).astype(bool))),
             (rows_b, 3, (rng.integers(0, 2**63, 3, dtype=np.uint64),)),
             (rows_a, 4, (rng.integers(0, 9, 7), rng.integers(0, 9, 7).astype(np.uint64))),
             (rows_a, 5, (rng.integers(0, 2**63, 7, dtype=np.uint64),))]
    features = Features()
    for rows, template, parts in added:
        features.add(rows, template, *parts)
    rows, hashes = features.hashed()
    assert rows.tolist() == np.concatenate([r for r, _, _ in added]).tolist()
    expected = np.concatenate([_mix(template, *[np.asarray(x) for x in parts]) for _, template, parts in added])
    assert hashes.dtype == np.uint64 and hashes.tolist() == expected.tolist()


def test_model_round_trips_through_its_file(tmp_path):
    model = load_model()
    if model is None:
        pytest.skip("no cue classifier shipped")
    model.to_disk(tmp_path / "copy.npz")
    copy = CueModel.from_disk(tmp_path / "copy.npz")
    assert copy.threshold == model.threshold and copy.candidate_pos == model.candidate_pos
    assert np.allclose(copy.anchor, model.anchor, atol=1e-3)


def test_empty_document(fast):
    assert detected(fast("")) == []


def test_detector_choice_and_aliases(trained_nlp):
    from stancelabel.nlp.pipeline import load_pipeline, resolve_detector

    assert resolve_detector("tagger") == "fast" and resolve_detector(None) == "fast"
    assert resolve_detector("rules") == "rules"
    with pytest.raises(PipelineError, match="unknown attribution detector"):
        resolve_detector("neural")
    nlp, _ = load_pipeline(trained_nlp[1].name, detect=True, detector="rules")
    assert nlp.pipe_names[-1] == "stancelabel_attributions"
    assert nlp.get_pipe("stancelabel_attributions").detector == "rules"


def test_detector_choices_state_their_cost():
    from stancelabel.nlp.pipeline import detector_choices

    choices = {c.name: c for c in detector_choices()}
    assert set(choices) == {"fast", "accurate", "rules"}
    assert choices["accurate"].relative_cost > choices["fast"].relative_cost >= 1.0
    assert choices["fast"].unavailable is None


def test_fast_detector_works_in_worker_processes(fast):
    text = "Officials said the road will reopen on Friday. Traders denied that the closure hurt sales."
    docs = list(fast.pipe([text, text.upper(), text], n_process=2, batch_size=1))
    assert detected(docs[0]) == detected(docs[2]) and detected(docs[0])


#: The seed article's ten attributions (issue 16): line, a word of the cue, a word of the source ("" none).
SEED = [(1, "claims", "North Korea"), (1, "rumours", "US"), (2, "claimed", "officials"), (3, "said", "They"),
        (4, "denied", "Moscow"), (6, "stated", "official"), (7, "allegedly", ""), (8, "stated", "spokeswoman"),
        (9, "", "Kirby"), (14, "pledged", "Putin")]


@pytest.mark.parametrize("detector", ["fast", "accurate"])
def test_seed_article_attributions_are_found_once_each(shared_data, trained_nlp, detector):
    from stancelabel.nlp.encoder import missing
    from stancelabel.nlp.pipeline import load_pipeline

    if detector == "accurate" and missing():
        pytest.skip(missing())
    if detector == "fast" and model_path() is None:
        pytest.skip("no cue classifier shipped")
    nlp, _ = load_pipeline(trained_nlp[1].name, detect=True, detector=detector)
    text = (shared_data / "seed" / "article.txt").read_text("utf-8")
    line_of = lambda at: text.count("\n", 0, at) + 1  # noqa: E731
    found = [(line_of(d.cue[0][0]), text[d.cue[0][0]:d.cue[-1][1]], " ".join(text[s:e] for s, e in d.source))
             for d in detected(nlp(text))]
    for line, cue, source in SEED:
        matching = [f for f in found if f[0] == line and cue in f[1] and source in f[2]]
        assert len(matching) == 1, f"line {line}, cue {cue!r}, source {source!r}: {matching or found}"
    assert len(found) == len(SEED), found
