"""Detection inside import, `stancelabel detect [--redo]` and `stancelabel evaluate`."""

from __future__ import annotations

import json

import pytest
from helpers import write

from stancelabel.cli.main import main
from stancelabel.store.project import Project

ARTICLE = (
    "Harbour officials said the water was clean.\n"
    "Residents denied that the tests were reliable.\n"
    "The mayor did not deny that the pipes were old.\n"
)


def attributions(path):
    with Project.open(path) as project:
        (summary,) = project.document_summaries()
        text = project.document(summary.id).text
        return [(text[a.cue[0][0]:a.cue[0][1]], a.origin, a.suggestion, a.id) for a in project.attributions(summary.id)]


def test_import_stores_detected_attributions_with_suggestions(tmp_path, capsys):
    article = write(tmp_path / "harbour.txt", ARTICLE)
    project = tmp_path / "p.stance"
    assert main(["import", str(project), str(article), "--model", "blank:en"]) == 0
    found = attributions(project)
    assert [(cue, origin, suggestion) for cue, origin, suggestion, _ in found] == [
        ("said", "auto", "asserts"), ("denied", "auto", "denies"), ("deny", "auto", "qualifies")]


def test_detect_fills_documents_imported_without_detection(tmp_path, capsys):
    article = write(tmp_path / "harbour.txt", ARTICLE)
    project = tmp_path / "p.stance"
    assert main(["import", str(project), str(article), "--model", "blank:en", "--no-detect"]) == 0
    assert attributions(project) == []
    assert main(["detect", str(project), "--model", "blank:en"]) == 0
    assert "3 attribution(s) found in 1 document(s)" in capsys.readouterr().out
    assert len(attributions(project)) == 3
    assert main(["detect", str(project), "--model", "blank:en"]) == 0  # already done: nothing read again
    assert "0 attribution(s) found in 0 document(s)" in capsys.readouterr().out


def test_detect_redo_keeps_what_people_worked_on(tmp_path, capsys):
    article = write(tmp_path / "harbour.txt", ARTICLE)
    project = tmp_path / "p.stance"
    main(["import", str(project), str(article), "--model", "blank:en"])
    said, denied, deny = attributions(project)
    with Project.open(project) as opened:
        opened.set_label(said[3], "alice", "asserts")
        opened.set_note(denied[3], "bob", "check the source")
        with opened.transaction() as conn:  # the detector will no longer find the third one as it was
            conn.execute("UPDATE attribution SET content = '[[60, 70]]' WHERE id = ?", (deny[3],))
    capsys.readouterr()
    assert main(["detect", str(project), "--redo", "--model", "blank:en"]) == 0
    out = capsys.readouterr().out
    assert "1 untouched automatic attribution(s) replaced" in out
    after = attributions(project)
    assert len(after) == 3 and {said[3], denied[3]} <= {a[3] for a in after}
    with Project.open(project) as opened:
        assert [a.label for a in opened.annotations(said[3])] == ["asserts"]
        assert [a.note for a in opened.annotations(denied[3])] == ["check the source"]
        contents = [a.content for a in opened.attributions(opened.document_summaries()[0].id)]
    assert ((60, 70),) not in contents  # the untouched one was replaced by what the detector finds


def brat_folder(tmp_path):
    text = "Officials said the road will reopen.\nTraders denied that sales fell.\n"
    write(tmp_path / "gold" / "road.txt", text)
    write(tmp_path / "gold" / "road_a.ann",
          "T1\tSource 0 9\tOfficials\nT2\tCue 10 14\tsaid\nT3\tContent 15 35\tthe road will reopen\n"
          "E1\tAttribution:T2 Source:T1 Cue:T2 Content:T3\n"
          "T4\tSource 37 44\tTraders\nT5\tCue 45 51\tdenied\nT6\tContent 57 67\tsales fell\n"
          "E2\tAttribution:T5 Source:T4 Cue:T5 Content:T6\n")
    write(tmp_path / "gold" / "road_b.ann",
          "T1\tSource 0 9\tOfficials\nT2\tCue 10 14\tsaid\nT3\tContent 15 35\tthe road will reopen\n"
          "E1\tAttribution:T2 Source:T1 Cue:T2 Content:T3\n")
    return tmp_path / "gold"


def test_evaluate_the_detector_against_gold(tmp_path, capsys):
    gold = brat_folder(tmp_path)
    assert main(["evaluate", str(gold), "--model", "blank:en", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["documents"] == 1
    assert scores["attribution"]["f1"] == 1.0
    assert scores["overlap"]["content"]["f1"] == 1.0


def test_evaluate_another_annotator_against_the_first(tmp_path, capsys):
    gold = brat_folder(tmp_path)
    assert main(["evaluate", str(gold), "--pred-dir", str(gold), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["attribution"]["precision"] == 1.0
    assert scores["attribution"]["recall"] == 0.5
    assert main(["evaluate", str(gold), "--pred-dir", str(gold)]) == 0
    assert "attribution" in capsys.readouterr().out


def test_evaluate_missing_folder_is_a_user_error(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nowhere"), "--pred-dir", str(tmp_path)]) == 1
    assert "not a folder of BRAT files" in capsys.readouterr().err


def test_seed_article_speakers_and_stances(shared_data, trained_nlp, tmp_path, capsys):
    project = tmp_path / "seed.stance"
    assert main(["import", str(project), str(shared_data / "seed" / "article.txt")]) == 0
    with Project.open(project) as opened:
        (summary,) = opened.document_summaries()
        text = opened.document(summary.id).text
        # keyed by the source and the cue's main word (a cue may carry auxiliaries or "in a statement")
        found = {(text[a.source[0][0]:a.source[-1][1]] if a.source else "",
                  next(w for w in text[a.cue[0][0]:a.cue[-1][1]].split() if w not in ("were", "was", "has", "had"))):
                 a.suggestion for a in opened.attributions(summary.id)}
    # stored: the stance toward the content (no target), which no negation inside the content flips
    assert found[("North Korea", "claims")] == "asserts"
    assert found[("US officials", "claimed")] == "asserts"
    assert found[("An anonymous official from North Korea’s defence ministry", "stated")] == "asserts"
    assert found[("a US State Department spokeswoman", "stated")] == "asserts"
    assert found[("Moscow", "denied")] == "denies"
    assert any(source.startswith("John Kirby") and stance == "asserts" for (source, _), stance in found.items())
    sources = {source for source, _ in found}
    assert {"They", "Moscow", "Russian President Vladimir Putin"} <= sources


@pytest.mark.slow
def test_evaluate_on_polnear_multi(shared_data, trained_nlp, capsys):
    assert main(["evaluate", str(shared_data / "polnear-multi"), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["documents"] == 4
    assert scores["attribution"]["f1"] > 0.4
