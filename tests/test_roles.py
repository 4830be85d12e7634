"""The shipped cue and source tagger: it runs inside trained pipelines without touching their entities."""

from __future__ import annotations

import pytest

from stancelabel.nlp.roles import ROLES_KEY, add_role_tagger, model_path, tagged_roles

TEXT = ("Maria Lopez, the mayor of Harbourside, said on Monday that the water in Riverton was safe. "
        "Officials at the Department of Health denied the report.")


@pytest.fixture(scope="module")
def pipelines(trained_nlp):
    if model_path() is None:
        pytest.skip("no cue and source tagger shipped in stancelabel.resources/models/roles")
    from stancelabel.nlp.pipeline import load_pipeline

    plain, _ = load_pipeline(trained_nlp[1].name)
    tagged, _ = load_pipeline(trained_nlp[1].name)
    assert add_role_tagger(tagged)
    return plain, tagged


def test_entities_of_the_pipeline_are_kept(pipelines):
    plain, tagged = pipelines
    without, with_tagger = plain(TEXT), tagged(TEXT)
    assert [(e.text, e.label_) for e in with_tagger.ents] == [(e.text, e.label_) for e in without.ents]
    assert any(e.label_ == "PERSON" for e in with_tagger.ents)
    assert "stancelabel_entities_aside" not in with_tagger.user_data


def test_cues_and_sources_are_tagged(pipelines):
    _, tagged = pipelines
    doc = tagged(TEXT)
    cues, sources = tagged_roles(doc)
    assert {TEXT[s:e] for s, e in cues} >= {"said"}
    assert any("Maria Lopez" in TEXT[s:e] for s, e in sources)
    assert {span.label_ for span in doc.spans[ROLES_KEY]} <= {"CUE", "SOURCE"}


def test_tagger_works_in_worker_processes(pipelines):
    _, tagged = pipelines
    docs = list(tagged.pipe([TEXT, TEXT.upper(), TEXT], n_process=2, batch_size=1))
    assert tagged_roles(docs[0]) == tagged_roles(docs[2]) and tagged_roles(docs[0])[0]


def test_tagger_is_not_added_where_it_cannot_run():
    from stancelabel.nlp.pipeline import load_pipeline

    blank, _ = load_pipeline("blank:en")
    assert not add_role_tagger(blank)
    assert tagged_roles(blank("Anna said it rained.")) is None


def test_detector_choice_decides_whether_the_tagger_runs(pipelines, trained_nlp):
    from stancelabel.nlp.pipeline import load_pipeline

    with_tagger, _ = load_pipeline(trained_nlp[1].name, detect=True, detector="tagger")
    rules_only, _ = load_pipeline(trained_nlp[1].name, detect=True, detector="rules")
    assert "stancelabel_roles" in with_tagger.pipe_names
    assert "stancelabel_roles" not in rules_only.pipe_names
    assert rules_only.pipe_names[-1] == with_tagger.pipe_names[-1] == "stancelabel_attributions"
