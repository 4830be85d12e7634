"""spaCy pipeline choice: by name, by default, and the blank fallback when none is installed."""

from __future__ import annotations

import pytest

from stancelabel.core.errors import PipelineError
from stancelabel.nlp import pipeline
from stancelabel.nlp.pipeline import BLANK_ENGLISH, choose_pipeline, load_pipeline, sentence_offsets

TEXT = "The mayor said the water is safe.\n\n  Residents disagreed.  \n\nA report is due in May. "


def test_blank_pipeline_splits_sentences_without_surrounding_space(blank_nlp):
    nlp, info = blank_nlp
    assert info.name == BLANK_ENGLISH and not info.trained
    spans = sentence_offsets(nlp(TEXT))
    assert [TEXT[s:e] for s, e in spans] == [
        "The mayor said the water is safe.", "Residents disagreed.", "A report is due in May."]


def test_trained_pipeline_is_preferred_when_installed(trained_nlp):
    nlp, info = trained_nlp
    assert info.trained and info.warning is None and info.version
    assert choose_pipeline(None) == info.name
    assert nlp.has_pipe("parser")
    assert len(sentence_offsets(nlp(TEXT))) == 3


def test_fallback_to_blank_with_a_warning_when_no_pipeline_is_installed(monkeypatch):
    monkeypatch.setattr(pipeline, "installed_pipelines", lambda: [])
    assert choose_pipeline(None) == BLANK_ENGLISH
    nlp, info = load_pipeline(None)
    assert info.name == BLANK_ENGLISH and not info.trained
    assert "blank English pipeline" in info.warning and "stancelabel[model]" in info.warning
    assert nlp.has_pipe("sentencizer")


def test_other_english_pipeline_with_a_parser_is_taken(monkeypatch):
    monkeypatch.setattr(pipeline, "installed_pipelines", lambda: ["de_core_news_sm", "en_other_pipeline"])
    metas = {"de_core_news_sm": {"lang": "de", "pipeline": ["parser"]},
             "en_other_pipeline": {"lang": "en", "pipeline": ["tok2vec", "parser"]}}
    monkeypatch.setattr(pipeline, "_package_meta", metas.get)
    assert choose_pipeline(None) == "en_other_pipeline"


def test_named_pipeline_that_is_missing_is_a_clear_error():
    with pytest.raises(PipelineError, match="'xx_not_installed' is not installed"):
        load_pipeline("xx_not_installed")
