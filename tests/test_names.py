"""One rule for names and values at every door (core/names.py): what import accepts, every export writes
back exactly, every importer reads back the same, and a merge takes; what the rule refuses, every door
refuses in one line naming the file and line, with nothing stored."""

from __future__ import annotations

import contextlib
import csv
import json
import re
import unicodedata
from pathlib import Path

import pytest
from helpers import run_import, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability import FUZZ_EXAMPLES, tally

from stancelabel.cli.main import main
from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import Label
from stancelabel.core.names import clean_name, for_terminal, name_problem
from stancelabel.io.export import ExportOptions, export
from stancelabel.store.project import Project, default_labels
from stancelabel.team.merge import merge

#: Characters real names carry that a narrow rule (``str.isprintable``) refuses: no-break, thin and
#: ideographic spaces, combining marks, right-to-left letters, symbols and emoji.
AWKWARD = "\u00a0\u2009\u202f\u3000\u0301\u05e9\u0627é_%|,=:;#/\\ \"'<>&*?😀ﬁ"
NAME_ALPHABET = st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))
names = st.text(alphabet=st.one_of(NAME_ALPHABET, st.sampled_from(AWKWARD)), min_size=1, max_size=24) \
    .map(str.strip).filter(lambda n: bool(n) and name_problem(n) is None)
#: Texts: anything but U+0000, unpaired surrogates and CR (which every door turns into LF).
TEXT_ALPHABET = st.one_of(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
                          st.sampled_from(AWKWARD + "\u2028\u2029\x0b\x0c\x85\t\n\ufeff"))
texts = st.text(alphabet=TEXT_ALPHABET, min_size=0, max_size=40)


def _document_text(body: str) -> str:
    # A document has words around the drawn text, so its three spans are never empty; some start with a
    # byte order mark travelling inside the JSON string.
    return f"{chr(0xFEFF) if len(body) % 3 == 0 else ''}Officials said {body} and more."


def _labelled_project(folder: Path, blank_nlp, doc_id: str, body: str, annotator: str, label: str, note: str,
                      target: str) -> Path:
    """A project made through the JSONL door (document, id, target), with one attribution that the drawn
    annotator labels with the drawn label (added to the schema) and note."""
    source = write(folder / "in.jsonl", json.dumps({"id": doc_id, "text": _document_text(body), "target": target},
                                                     ensure_ascii=False) + "\n")
    path = folder / "lead.stance"
    with Project.open(path, create=True) as project:
        labels = default_labels()
        project.save_labels([*labels, Label(label, "X", "#123456", position=len(labels))])
        report = run_import(project, [source], blank_nlp, detect=False)
        assert not report.errors, report.errors
        document_id = project.document_ids()[0]
        text = project.document(document_id).text
        assert not text.startswith("\ufeff")  # removed at the door, as from a file
        attribution = project.add_attribution(document_id, annotator, source=[(0, 9)], cue=[(10, 14)],
                                              content=[(15, len(text) - 1)])
        project.set_label(attribution, annotator, label)
        project.set_note(attribution, annotator, note)
    return path


def _state(path: Path) -> tuple:
    """What must come back: documents (id, text, target) and labels (annotator, label, note, target)."""
    with Project.open(path, readonly=True) as project:
        documents = sorted((d.external_id, d.text, d.target) for d in map(project.document, project.document_ids()))
        labels = sorted((a.annotator, a.label, a.note, a.target) for a in project.annotations() if a.label)
    return documents, labels


@pytest.mark.slow
@settings(max_examples=max(10, FUZZ_EXAMPLES // 2), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(doc_id=names, body=texts, annotator=names, label=names, note=texts, target=texts)
def test_what_import_accepts_every_export_writes_back_exactly(doc_id, body, annotator, label, note, target,
                                                              blank_nlp, tmp_path_factory):
    if label.casefold() in {x.name.casefold() for x in default_labels()}:
        label = f"{label} (own)"
    folder = tmp_path_factory.mktemp("names")
    lead = _labelled_project(folder, blank_nlp, doc_id, body, annotator, label, note, target)
    expected = _state(lead)
    assert expected[1] and expected[1][0][:2] == (annotator, label)

    with Project.open(lead, readonly=True) as project:
        export(project, folder / "out.jsonl", ExportOptions(format="jsonl"))
        export(project, folder / "brat", ExportOptions(format="brat"))
        export(project, folder / "out.csv", ExportOptions(format="csv", raw=True))
        export(project, folder / "out.spacy", ExportOptions(format="spacy"))

    # JSONL and BRAT come back whole into a project of the same schema.
    for name, inputs in (("jsonl", [folder / "out.jsonl"]), ("brat", [folder / "brat"])):
        back = folder / f"back-{name}.stance"
        with Project.open(back, create=True) as project:
            project.save_labels(_labels_of(lead))
            report = run_import(project, inputs, blank_nlp, detect=False)
            assert not report.errors, (name, report.errors)
        assert _state(back) == expected, name

    # CSV cells hold every name and text exactly (read as a program reads them: --raw).
    with open(folder / "out.csv", encoding="utf-8", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["doc_id"], row["annotator"], row["label"], row["note"], row["target"] or None) == \
        (expected[0][0][0], annotator, label, expected[1][0][2], expected[0][0][2])

    # spaCy's DocBin carries the names in user_data.
    import spacy
    from spacy.tokens import DocBin

    (doc,) = list(DocBin().from_disk(folder / "out.spacy").get_docs(spacy.blank("en").vocab))
    assert (doc.user_data["annotator"], doc.user_data["doc_id"]) == (annotator, expected[0][0][0])
    assert doc.cats[label] == 1.0

    # A merge takes the file as it is.
    merged = folder / "merged.stance"
    merge(merged, [lead])
    assert _state(merged) == expected
    tally("names and texts survive every export and a merge", fuzz_cases=1, lost=0)


def _labels_of(path: Path) -> list[Label]:
    with Project.open(path, readonly=True) as project:
        return [Label(x.name, x.shortcut, x.colour, x.description, x.position) for x in project.labels()]


# -- what the rule refuses, every door refuses ---------------------------------------------------------

REFUSED_NAMES = ["a\x1b]0;owned\x07", "\x1b[2J", "tab\there", "line\u2028break", "zero\u200bwidth", "bom\ufeff",
                 "new\nline", "bidi\u202eevil"]


@pytest.mark.parametrize("bad", REFUSED_NAMES)
def test_a_name_the_rule_refuses_is_refused_at_every_door_naming_the_code_point(bad, make_project, blank_nlp,
                                                                              tmp_path):
    code_point = next(f"U+{ord(c):04X}" for c in bad if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp"))
    # the store (the window's saver, label import, split): refused with the code point named
    project = make_project()
    with pytest.raises(StanceLabelError, match=re.escape(code_point)):
        project.add_annotator(bad)
    with pytest.raises(StanceLabelError, match=re.escape(code_point)):
        project.save_labels([*default_labels(), Label(bad, "X", "#123456")])
    assert project.annotators() == [] and [x.name for x in project.labels()] == [x.name for x in default_labels()]
    # JSONL import: one line naming the file and line, nothing stored from that file
    records = write(tmp_path / "labels.jsonl", json.dumps({"text": "Officials said it works.", "label": "asserts",
                                                           "annotator": bad}) + "\n")
    report = run_import(project, [records], blank_nlp, detect=False)
    assert len(report.errors) == 1 and f"{records}:1:" in report.errors[0] and code_point in report.errors[0]
    assert project.document_count() == 0
    # BRAT import: an annotator named by the file name
    write(tmp_path / "brat" / "story.txt", "Officials said it works.")
    write(tmp_path / "brat" / f"story_{bad.replace('/', '-')}.ann",
          "T1\tSource 0 9\tOfficials\nT2\tCue 10 14\tsaid\nE1\tAttribution:T2 Source:T1 Cue:T2\n")
    report = run_import(project, [tmp_path / "brat"], blank_nlp, detect=False)
    assert any(code_point in e for e in report.errors) and project.annotators() == []
    # the schema rule the window's editor applies
    with pytest.raises(StanceLabelError, match=re.escape(code_point)):
        clean_name(bad, "label name")


def test_a_merge_input_with_a_refused_name_is_refused_and_nothing_is_written(make_project, tmp_path):
    import sqlite3

    project = make_project("hostile.stance")
    project.add_annotator("ann")
    project.close()
    with contextlib.closing(sqlite3.connect(project.path)) as conn:
        conn.execute("UPDATE annotator SET name = ?", ("ann\x1b[2J",))
        conn.commit()
    with pytest.raises(StanceLabelError, match=r"hostile.stance: refused: annotator name .*U\+001B"):
        merge(tmp_path / "m.stance", [project.path])
    assert not (tmp_path / "m.stance").exists()


def test_a_name_with_no_break_spaces_goes_through_import_merge_and_split(make_project, blank_nlp, tmp_path):
    """The case that started it: accepted by import, refused by merge."""
    name = "Zoë\u00a0Ångström"
    records = write(tmp_path / "labels.jsonl", json.dumps({"text": "Officials said it works.", "label": "asserts",
                                                           "annotator": name}, ensure_ascii=False) + "\n")
    project = make_project("lead.stance")
    assert not run_import(project, [records], blank_nlp, detect=False).errors
    assert project.annotators() == [name]
    project.close()
    merge(tmp_path / "merged.stance", [project.path])
    with Project.open(tmp_path / "merged.stance", readonly=True) as merged:
        assert merged.annotators() == [name]
    assert main(["split", str(project.path), "--annotators", f"{name},bob", "-o", str(tmp_path / "shares")]) == 0
    with Project.open(project.path, readonly=True) as lead:
        assert json.loads(lead.get_setting("split"))["annotators"] == [name, "bob"]


# -- texts and values ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "problem"), [
    ('{"text": "a\\u0000b"}', "U+0000"),
    ('{"text": "fine", "meta": {"x": "a\\u0000b"}}', "U+0000"),
    ('{"text": "fine", "meta": {"score": 1e999}}', "finite"),
    ('{"text": "fine", "meta": {"score": -1e400}}', "finite"),
    ('{"text": "fine", "meta": {"score": NaN}}', "NaN"),
    ('{"text": "fine", "target": "a\\ud800"}', "surrogate"),
])
def test_texts_and_numbers_no_export_can_carry_are_refused_at_import(line, problem, make_project, blank_nlp,
                                                                     tmp_path):
    source = write(tmp_path / "in.jsonl", '{"text": "first"}\n' + line + "\n")
    project = make_project()
    report = run_import(project, [source], blank_nlp, detect=False)
    assert len(report.errors) == 1 and report.errors[0].startswith(f"{source}:2:") and problem in report.errors[0]
    assert project.document_count() == 0  # all or nothing per file


def test_a_label_dated_in_the_future_is_refused_at_import_and_merge(make_project, blank_nlp, tmp_path):

    project = make_project("lead.stance")
    first = write(tmp_path / "a.jsonl", json.dumps({"text": "Officials said it works.", "label": "asserts",
                                                    "annotator": "ann"}) + "\n")
    run_import(project, [first], blank_nlp, detect=False)
    export(project, tmp_path / "export.jsonl", ExportOptions(format="jsonl"))
    record = json.loads((tmp_path / "export.jsonl").read_text())
    record["updated_at"] = "9999-01-01T00:00:00.000000Z"
    future = write(tmp_path / "future.jsonl", json.dumps(record) + "\n")
    report = run_import(project, [future], blank_nlp, detect=False)
    assert len(report.errors) == 1 and f"{future}:1" in report.errors[0] and "9999" in report.errors[0]
    assert project.annotation(project.queue_ids("ann")[0], "ann").updated_at < "9999"
    project.close()
    _set_event_times(project.path, "9999-01-01T00:00:00.000000Z")  # a clock set far ahead, as a file shows it
    with pytest.raises(StanceLabelError, match=r"lead.stance: refused: event 1 is dated 9999"):
        merge(tmp_path / "m.stance", [project.path])
    assert not (tmp_path / "m.stance").exists()


# -- the terminal --------------------------------------------------------------------------------------

def test_names_from_a_hostile_file_reach_the_terminal_escaped(make_project, tmp_path, capsys):
    import sqlite3

    project = make_project("hostile.stance")
    ids = _two_annotators(project)
    project.close()
    evil = "\x1b]0;owned\x07\x1b[2J\u009b31m"
    with contextlib.closing(sqlite3.connect(project.path)) as conn:
        conn.execute("UPDATE annotator SET name = ? || name", (evil,))
        conn.execute("UPDATE label SET name = ? || name", (evil,))
        conn.execute("UPDATE project_meta SET value = ? WHERE key = 'name'", (evil,))
        conn.commit()
    for command in (["stats"], ["stats", "--json"], ["agreement"], ["agreement", "--json"]):
        assert main([command[0], str(project.path), *command[1:]]) == 0
        out = capsys.readouterr()
        assert not any(c in out.out + out.err for c in "\x1b\x07\u009b"), command
        assert "\\x1b" in out.out or "\\u001b" in out.out, command
        if "--json" in command:
            json.loads(out.out)  # still valid JSON, the names escaped inside it
    assert for_terminal(evil) == "\\x1b]0;owned\\x07\\x1b[2J\\x9b31m"
    assert ids


def _two_annotators(project: Project) -> list[int]:
    from helpers import fill_annotation_project

    ids = fill_annotation_project(project)
    for n, attribution in enumerate(ids):
        project.set_label(attribution, "ann", "asserts")
        project.set_label(attribution, "bob", ("asserts", "denies")[n % 2])
    return ids


@pytest.mark.parametrize("stamp", ["2020-13-45T99:99:99Z", "2023-02-29T10:00:00Z", "2023-01-01T24:00:00Z"])
def test_a_time_that_is_no_real_date_is_refused_at_import_and_merge(stamp, make_project, blank_nlp, tmp_path):

    project = make_project("lead.stance")
    first = write(tmp_path / "a.jsonl", json.dumps({"text": "Officials said it works.", "label": "asserts",
                                                    "annotator": "ann"}) + "\n")
    run_import(project, [first], blank_nlp, detect=False)
    export(project, tmp_path / "export.jsonl", ExportOptions(format="jsonl"))
    record = json.loads((tmp_path / "export.jsonl").read_text())
    record["updated_at"] = stamp
    bad = write(tmp_path / "bad.jsonl", json.dumps(record) + "\n")
    report = run_import(project, [bad], blank_nlp, detect=False)
    assert len(report.errors) == 1 and "not a real date" in report.errors[0] and f"{bad}:1" in report.errors[0]
    project.close()
    _set_event_times(project.path, stamp)
    with pytest.raises(StanceLabelError, match="not a real date"):
        merge(tmp_path / "m.stance", [project.path])


def test_every_leading_byte_order_mark_is_removed_so_brat_gives_the_same_document(make_project, blank_nlp,
                                                                                   tmp_path):
    source = write(tmp_path / "in.jsonl", json.dumps({"id": "d", "text": "\ufeff\ufeffThe mayor said so."}) + "\n")
    project = make_project("lead.stance")
    run_import(project, [source], blank_nlp)
    assert project.document(project.document_ids()[0]).text == "The mayor said so."


def test_gold_notes_follow_the_text_rule_and_labels_differing_in_case_merge_as_one(make_project, tmp_path):
    from helpers import fill_annotation_project

    one, two = make_project("one.stance"), make_project("two.stance")
    ids = fill_annotation_project(one)
    with pytest.raises(StanceLabelError, match="U\\+0000"):
        one.set_gold(ids[0], "lead", "asserts", "bad\x00note")
    fill_annotation_project(two)
    for project, name in ((one, "maybe"), (two, "Maybe")):
        project.save_labels([*project.labels(), Label(name, "M", "#123456", position=9)])
    one.set_label(ids[0], "ann", "maybe")
    two.set_label(two.queue_ids("bob")[0], "bob", "Maybe")
    one.close()
    two.close()
    merge(tmp_path / "m.stance", [one.path, two.path])
    with Project.open(tmp_path / "m.stance", readonly=True) as merged:
        assert [x.name for x in merged.labels()].count("maybe") == 1
        assert sorted(a.label for a in merged.annotations() if a.label) == ["maybe", "maybe"]


def _set_event_times(path: Path, stamp: str) -> None:
    """Every event of a closed project dated ``stamp``, as a hostile or broken file would hold them (the
    append-only triggers lifted and put back exactly, so the schema still matches)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as conn:
        triggers = conn.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'event'"
                                ).fetchall()
        for name, _ in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("UPDATE event SET at = ?", (stamp,))
        for _, sql in triggers:
            conn.execute(sql)
        conn.commit()


def test_a_name_given_on_the_command_line_is_checked_before_anything_is_read_or_written(make_project, tmp_path,
                                                                                         capsys):
    """An unknown --annotator selected nothing and export then replaced the file with an empty one; a bad
    import --annotator made the project first; a name given twice to split was "not two different names"."""
    from helpers import fill_annotation_project

    project = make_project()
    ids = fill_annotation_project(project)
    project.set_label(ids[0], "Ana", "denies")
    project.set_label(ids[0], "Ben", "asserts")
    out = tmp_path / "good.csv"
    assert main(["export", str(project.path), "-o", str(out)]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    for name in ("ana", "nobody", ""):
        assert main(["export", str(project.path), "-o", str(out), "--annotator", name]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "unknown annotator" in err and "Ana, Ben" in err
        assert out.read_bytes() == before
    assert main(["export", str(project.path), "-o", str(out), "--annotator", " Ana "]) == 0  # stripped, as elsewhere
    assert out.read_bytes().count(b"\n") == 2  # the header and Ana's label
    assert main(["agreement", str(project.path), "--annotator", "Ana", "--annotator", "Bobby"]) == 1
    assert "unknown annotator 'Bobby'" in capsys.readouterr().err
    text = write(tmp_path / "in.txt", "The minister said the bridge will open in May.\n")
    new = tmp_path / "new.stance"
    assert main(["import", str(new), str(text), "--annotator", "a\tb", "--no-detect", "--model", "blank:en"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--annotator" in err and "TAB" in err and not new.exists()
    assert main(["split", str(project.path), "--annotators", "Alice, Alice ,Bob", "-o", str(tmp_path / "s")]) == 1
    assert "'Alice' is given twice" in capsys.readouterr().err and not (tmp_path / "s").exists()
