"""Attribution detection: the constructions news text uses, stance suggestions, detect --redo."""

from __future__ import annotations

import pytest

from stancelabel.nlp.detect import detected


def find(pipeline, text: str) -> list[tuple[str, str, str, str | None]]:
    """(source, cue, content, suggestion) texts of each detected attribution."""
    nlp, _ = pipeline
    if "stancelabel_attributions" not in nlp.pipe_names:
        nlp.add_pipe("stancelabel_attributions", last=True)
    doc = nlp(text)
    out = []
    for item in detected(doc):
        role = lambda spans: " … ".join(text[s:e] for s, e in spans)  # noqa: E731
        out.append((role(item.source), role(item.cue), role(item.content), item.suggestion))
    return out


def by_cue(found, cue: str):
    """The attribution whose cue is, or holds, these words ("deny" in "did not deny")."""
    matches = [f for f in found if f[1] == cue or f" {cue} " in f" {f[1]} "]
    assert matches, f"no attribution with cue {cue!r} in {found}"
    return matches[0]


@pytest.fixture(scope="module")
def trained(trained_nlp):
    from stancelabel.nlp.pipeline import load_pipeline

    return load_pipeline(trained_nlp[1].name, detect=True)


@pytest.fixture(scope="module")
def rules(trained_nlp):
    from stancelabel.nlp.pipeline import load_pipeline

    return load_pipeline(trained_nlp[1].name, detect=True, detector="rules")


@pytest.fixture(scope="module")
def blank():
    from stancelabel.nlp.pipeline import load_pipeline

    return load_pipeline("blank:en", detect=True)


# -- trained pipeline: the dependency parse ----------------------------------------------------------


def test_subject_cue_and_clausal_content(trained):
    source, _, content, suggestion = by_cue(find(trained, "The harbour master said the pier would reopen in May."),
                                            "said")
    assert (source, content, suggestion) == ("The harbour master", "the pier would reopen in May", "asserts")


def test_content_keeps_its_complementiser(trained):
    # PolNeAR's convention: the content is the whole clause, "that" included
    _, _, content, _ = by_cue(find(trained, "Engineers confirmed that the bridge was safe."), "confirmed")
    assert content == "that the bridge was safe"


def test_content_ending_in_a_quotation_keeps_the_closing_mark(trained):
    text = "The inspector said the repairs were \u201cfinished and safe.\u201d"
    _, _, content, _ = by_cue(find(trained, text), "said")
    assert content == "the repairs were \u201cfinished and safe.\u201d"


def test_relative_pronoun_is_the_source(trained):
    text = "The report was criticised by Ana Ruiz, who said the figures were wrong."
    source, _, _, _ = by_cue(find(trained, text), "said")
    assert source == "who"


def test_passive_with_agent(trained):
    source, _, content, suggestion = by_cue(find(trained, "The claims were denied by the ferry company."),
                                            "denied")
    assert (source, content, suggestion) == ("the ferry company", "The claims", "denies")


def test_apposition_stays_in_the_source(trained):
    source, _, _, _ = by_cue(find(trained, "Ana Ruiz, a spokeswoman for the port authority, said the "
                                           "cranes were old."), "said")
    assert source.startswith("Ana Ruiz, a spokeswoman for the port authority")


def test_inversion_after_a_quote(trained):
    source, _, content, _ = by_cue(find(trained, '"The cranes are old," said Ana Ruiz.'), "said")
    assert source == "Ana Ruiz" and content == '"The cranes are old,"'


def test_according_to(trained):
    source, cue, content, _ = by_cue(find(trained, "According to the mayor, the budget is balanced."),
                                     "According to")
    assert (source, content) == ("the mayor", "the budget is balanced")


def test_possessive_source_with_nominal_cue(rules):
    found = find(rules, "Critics rejected the minister's claim that taxes will fall.")
    assert by_cue(found, "claim")[:3] == ("the minister's", "claim", "that taxes will fall")  # PolNeAR keeps the 's
    assert by_cue(found, "rejected")[3] == "denies"


def test_quote_split_around_the_cue_is_one_discontinuous_content(trained):
    text = '"We did nothing wrong," the director said, "and we will prove it."'
    source, _, content, _ = by_cue(find(trained, text), "said")
    assert source == "the director"
    assert content == '"We did nothing wrong," … "and we will prove it."'


def test_quote_after_a_colon_in_the_next_sentence(trained):
    text = 'The union leader stated:\n"We will strike on Monday."'
    _, _, content, _ = by_cue(find(trained, text), "stated")
    assert content == '"We will strike on Monday."'


def test_negated_cue_suggests_qualifies(trained):
    assert by_cue(find(trained, "The council did not deny that the report was accurate."), "deny")[3] == "qualifies"


def test_negated_content_of_an_asserting_cue_is_asserted(trained):
    # the stored suggestion is the one without a target: the stance toward the content (test_stance.py)
    assert by_cue(find(trained, "The company says it has never paid a bribe."), "says")[3] == "asserts"


def test_hedged_content_of_an_asserting_cue_is_asserted(trained):
    found = find(trained, "The inspector said the repairs had not yet been finished.")
    assert by_cue(found, "said")[3] == "asserts"


def test_negated_asserting_cue_suggests_denies(trained):
    assert by_cue(find(trained, "The council did not say that the report was accurate."), "say")[3] == "denies"


def test_cue_hint_for_qualifying_verbs(trained):
    assert by_cue(find(trained, "Analysts cautioned that prices could rise."), "cautioned")[3] == "qualifies"


def test_pronoun_source_gets_the_nearest_fitting_speaker_as_hint(trained):
    nlp, _ = trained
    text = ("Harbour officials said the water was clean. Maria Lopez disagreed. "
            "They insisted the tests were reliable. She said the tests were old.")
    doc = nlp(text)
    hints = {text[s:e]: item.source_hint for item in detected(doc) for s, e in item.source}
    assert hints.get("They") == "Harbour officials"
    assert hints.get("She") == "Maria Lopez"


def test_nested_report_without_its_own_source_is_not_reported_twice(trained):
    found = find(trained, "The mayor said it was reported that the dam had cracked.")
    assert [f[1].split()[-1] for f in found] == ["said"]


def test_nested_report_with_its_own_source_is_kept(rules):
    # the rules report both; the fast detector follows PolNeAR, which never nests one report in another
    found = find(rules, "The mayor said the engineers claimed that the dam had cracked.")
    assert {f[1].split()[-1] for f in found} == {"said", "claimed"}


def test_sentences_without_reports_give_nothing(trained):
    assert find(trained, "The pier was built in 1910. It is made of oak.") == []


# -- blank pipeline: lexicon, word order and quotation marks ------------------------------------------


def test_blank_pipeline_finds_simple_reports(blank):
    found = find(blank, "Officials said the road will reopen on Friday.\nTraders denied that the closure hurt sales.")
    assert by_cue(found, "said")[:3] == ("Officials", "said", "the road will reopen on Friday")
    assert by_cue(found, "denied")[:3] == ("Traders", "denied", "the closure hurt sales")
    assert by_cue(found, "denied")[3] == "denies"


def test_blank_pipeline_uses_quotes_and_inversion(blank):
    source, _, content, _ = by_cue(find(blank, '"The cranes are old," said Ana Ruiz.'), "said")
    assert (source, content) == ("Ana Ruiz", '"The cranes are old,"')


def test_blank_pipeline_skips_nouns_and_names(blank):
    found = find(blank, "The reports were long. The State Department was closed.")
    assert found == []


def test_blank_pipeline_passive_with_agent(blank):
    source, _, content, _ = by_cue(find(blank, "The reports were denied by Moscow."), "denied")
    assert (source, content) == ("Moscow", "The reports")


def test_hint_passes_over_a_speaker_inside_the_quotation(trained):
    nlp, _ = trained
    text = ('Councillor Gareth Bell accused the mayor of ignoring the evidence. '
            '"The council has known about these pipes since 2019," he said.')
    doc = nlp(text)
    hints = {text[s:e]: item.source_hint for item in detected(doc) for s, e in item.source}
    assert hints.get("he") == "Councillor Gareth Bell"


def test_according_to_at_the_end_of_a_sentence(trained):
    source, _, content, _ = by_cue(find(trained, "The budget is balanced, according to officials."), "according to")
    assert (source, content) == ("officials", "The budget is balanced")
    assert all(f[1] != "according to" for f in find(trained, "It is fine, according to."))  # nobody named
