"""Stance suggestions follow the question on screen: the content without a target, the target with one."""

from __future__ import annotations

import pytest

from stancelabel.core.model import Attribution
from stancelabel.io.sample import sample_documents
from stancelabel.nlp.detect import detected
from stancelabel.nlp.stance import Suggestion, cue_words, shown


@pytest.fixture(scope="module")
def trained(trained_nlp):
    from stancelabel.nlp.pipeline import load_pipeline

    return load_pipeline(trained_nlp[1].name, detect=True)[0]


def attributions(nlp, text: str) -> list[Attribution]:
    """What the import stores for a text, as the window reads it back."""
    return [Attribution(i, 1, 0, str(i), d.source, d.cue, d.content, "auto", d.source_hint, d.suggestion)
            for i, d in enumerate(detected(nlp(text)))]


def by_cue(text: str, found: list[Attribution], word: str) -> Attribution:
    matches = [a for a in found if word in cue_words(text, a.cue).split()]
    assert matches, f"no cue {word!r} in {[cue_words(text, a.cue) for a in found]}"
    return matches[0]


TARGET = "The claim in the headline"

# (sentence, cue word, without a target, with one): the speaker's kinds of report, negation inside and
# outside the content, hedged cues
CASES = [
    ("Pyongyang claims it has never sold rockets to Moscow.", "claims",
     ("asserts", "cue *claims*: asserts"), ("denies", "content *never*: denies")),
    ("The airline denied that the pilots had been drinking.", "denied",
     ("denies", "cue *denied*: denies"), ("denies", "cue *denied*: denies")),
    ("The union rejected the offer as an insult.", "rejected",
     ("denies", "cue *rejected*: denies"), ("denies", "cue *rejected*: denies")),
    ("The governor did not say that the bridge would close.", "say",
     ("denies", "not + *say*: denies"), ("qualifies", "not + *say*: qualifies")),
    ("The coach never claimed that the referee was bribed.", "claimed",
     ("denies", "never + *claimed*: denies"), ("qualifies", "never + *claimed*: qualifies")),
    ("The treasurer didn't say the fund had run dry.", "say",
     ("denies", "not + *say*: denies"), ("qualifies", "not + *say*: qualifies")),
    ("The landlord has not denied that the boiler was broken.", "denied",
     ("qualifies", "not + *denied*: qualifies"), ("qualifies", "not + *denied*: qualifies")),
    ("The minister allegedly said that the ferry would be sold.", "said",
     ("qualifies", "hedge *allegedly*: qualifies"), ("qualifies", "hedge *allegedly*: qualifies")),
    ("The captain may have told the crew that the engine had failed.", "told",
     ("qualifies", "hedge *may*: qualifies"), ("qualifies", "hedge *may*: qualifies")),
    ("The professor suggested that the statue was a copy.", "suggested",
     ("qualifies", "cue *suggested*: qualifies"), ("qualifies", "cue *suggested*: qualifies")),
    ("The auditor said there was no evidence of theft.", "said",
     ("asserts", "cue *said*: asserts"), ("qualifies", "content *no evidence*: qualifies")),
    ("The nurse said nobody had checked the patients.", "said",
     ("asserts", "cue *said*: asserts"), ("denies", "content *nobody*: denies")),
]


@pytest.mark.parametrize(("text", "cue", "without", "under_target"), CASES, ids=[c[0][:30] for c in CASES])
def test_suggestion_follows_the_question_on_screen(trained, text, cue, without, under_target):
    attribution = by_cue(text, attributions(trained, text), cue)
    assert shown(attribution, text, None) == Suggestion(*without)
    assert shown(attribution, text, TARGET) == Suggestion(*under_target)
    assert attribution.suggestion == without[0]  # the project file keeps the one without a target


def test_the_issue_sentence_is_asserted_without_a_target(trained):
    text = "North Korea claims it has never supplied weapons to Russia."
    attribution = by_cue(text, attributions(trained, text), "claims")
    assert shown(attribution, text, None) == Suggestion("asserts", "cue *claims*: asserts")


def sample_suggestions(nlp, target: str | None) -> dict[str, Suggestion | None]:
    """The bundled sample's suggestions by cue as written ("has not denied")."""
    (document,) = sample_documents()
    text = document.text
    return {" ".join(text[s:e] for s, e in a.cue): shown(a, text, target) for a in attributions(nlp, text)}


def test_every_suggestion_on_the_sample_follows_the_banner_without_a_target(trained):
    """No target: the cue's polarity, its negation and its hedge decide; nothing in the content does."""
    found = sample_suggestions(trained, None)
    assert {cue: s.label for cue, s in found.items() if s} == {
        "denies": "denies", "has denied": "denies", "rejected": "denies", "has not denied": "qualifies",
        "said": "asserts",  # also '"... and nobody told us," said Maria Okafor': her words, asserted
        "calling": "asserts", "According to": "asserts",  # "... tests have never found lead": asserted
        "stressed": "asserts",  # "... had not yet been verified": asserted
        "suggested": "qualifies", "conceded": "qualifies", "insisted on": "asserts", "accused": "asserts",
        "is expected": "asserts"}
    assert not [s for s in found.values() if s and "content" in s.reason]
    assert found["has not denied"].reason == "not + *denied*: qualifies"


def test_the_sample_keeps_the_target_rules_under_its_target(trained):
    (document,) = sample_documents()
    found = sample_suggestions(trained, document.target)
    assert found["According to"] == Suggestion("denies", "content *never*: denies")
    assert found["stressed"] == Suggestion("qualifies", "content *not yet*: qualifies")
    assert found["has denied"] == Suggestion("denies", "cue *denied*: denies")
    assert found["has not denied"] == Suggestion("qualifies", "not + *denied*: qualifies")


def test_a_negation_the_parse_did_not_give_the_cue_is_not_named():
    text = "Not only did the mayor say the port was safe."
    cue = text.index("say")
    attribution = Attribution(1, 1, 0, "k", (), ((cue, cue + 3),), ((cue + 4, len(text) - 1),), "auto", None,
                              "asserts")
    assert shown(attribution, text, None) == Suggestion("asserts", "cue *say*: asserts")


def test_a_renamed_label_is_shown_as_stored():
    text = "The council denied the report."
    cue = text.index("denied")
    attribution = Attribution(1, 1, 0, "k", (), ((cue, cue + 6),), ((cue + 7, len(text) - 1),), "auto", None,
                              "rejects")
    assert shown(attribution, text, "A target") == Suggestion("rejects", "cue *denied*: rejects")
    assert shown(replace_suggestion(attribution, None), text, None) is None


def replace_suggestion(attribution: Attribution, suggestion: str | None) -> Attribution:
    from dataclasses import replace

    return replace(attribution, suggestion=suggestion)


def test_the_seed_article_follows_the_banner_without_a_target(shared_data, trained):
    text = (shared_data / "seed" / "article.txt").read_text(encoding="utf-8")
    found = [(cue_words(text, a.cue), shown(a, text, None)) for a in attributions(trained, text)]
    assert [(cue, s) for cue, s in found if s and "content" in s.reason] == []
    assert ("claims", Suggestion("asserts", "cue *claims*: asserts")) in found
    stated = [s.label for cue, s in found if cue == "stated"]
    assert stated == ["asserts", "asserts"]  # "We have never sent weapons ...": asserted, not denied


def test_the_label_panel_shows_why_and_follows_a_target_set_later(qtbot, make_project, make_window):
    from PySide6.QtCore import Qt

    from stancelabel.core.model import ImportedAttribution, SourceDocument

    text = "The mayor claims the water has never contained lead."
    project = make_project()
    cue, content = text.index("claims"), text.index("the water")
    project.add_document(SourceDocument("one", text, "one.txt"), [(0, len(text))], attributions=[
        (ImportedAttribution(((0, 9),), ((cue, cue + 6),), ((content, len(text) - 1),), suggestion="asserts"),
         "auto")])
    window = make_window(project)
    panel = window.panel
    assert "<b>asserts</b> · cue <i>claims</i>" in panel.ui.suggestion_label.text()
    assert "★ suggested" in panel.buttons["asserts"].text()

    window.dialogs._save_target(window.current.document_id, "Harbourside's water contains lead")
    qtbot.waitUntil(lambda: "<b>denies</b>" in panel.ui.suggestion_label.text(), timeout=10_000)
    assert "content <i>never</i>" in panel.ui.suggestion_label.text()
    assert "★ suggested" in panel.buttons["denies"].text() and "★" not in panel.buttons["asserts"].text()
    qtbot.keyClick(window.pane, Qt.Key.Key_Return)  # Enter takes what the panel shows
    qtbot.waitUntil(lambda: window.saver.idle, timeout=10_000)
    assert project.annotation(window.current.id, "ann").label == "denies"
