"""Team work end to end: split, label in each copy, merge, agreement, adjudicate, export the gold;
and files to merge that are broken or hostile, each refused with nothing written."""

from __future__ import annotations

import json
import math
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import fill_annotation_project, write

from stancelabel.core.errors import ProjectFileError, StanceLabelError
from stancelabel.core.model import QueueFilter, SourceDocument
from stancelabel.io.export import ExportOptions, export, iter_records
from stancelabel.store.project import Project
from stancelabel.team.merge import merge


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stancelabel", *args], capture_output=True, text=True)


@pytest.fixture
def lead(make_project):
    """A lead's project: eight short documents, one attribution each."""
    project = make_project("lead.stance")
    for i in range(8):
        text = f"Official {i} said the plan number {i} works."
        from stancelabel.core.model import ImportedAttribution

        project.add_document(SourceDocument(f"doc{i}", text, "x", target="The plan works"), [(0, len(text))],
                             attributions=[(ImportedAttribution(((0, 10 + len(str(i))),), ((11 + len(str(i)),
                                                                                            15 + len(str(i))),),
                                                                ((16 + len(str(i)), len(text) - 1),),
                                                                suggestion="asserts"), "auto")])
    return project


def test_split_label_merge_agree_adjudicate_export(lead, tmp_path):
    lead_path = lead.path
    lead.close()
    result = cli("split", str(lead_path), "--annotators", "alice,bob,carol", "--overlap", "0.5", "--seed", "7",
                 "-o", str(tmp_path / "copies"))
    assert result.returncode == 0, result.stderr
    copies = {name: tmp_path / "copies" / f"lead-{name}.stance" for name in ("alice", "bob", "carol")}
    shared = None
    for name, path in copies.items():
        with Project.open(path) as copy:
            assignment = json.loads(copy.get_setting("assignment"))
            assert assignment["annotator"] == name and assignment["shared_documents"] == 4
            ids = list(copy.queue_ids(name, QueueFilter()))
            assert len(ids) == assignment["documents"] >= 5
            assert copy.guidelines() and copy.document(copy.document_ids()[0]).target == "The plan works"
            keys = {copy.attribution(i).key: i for i in ids}
            for n, (_key, attribution_id) in enumerate(sorted(keys.items())):
                label = "denies" if (name == "carol" and n % 2) else "asserts"
                copy.set_label(attribution_id, name, label)
            shared = set(keys) if shared is None else shared & set(keys)
    assert len(shared) == 4
    with Project.open(lead_path, readonly=True) as again:
        split = json.loads(again.get_setting("split"))
        assert split["annotators"] == ["alice", "bob", "carol"] and len(split["shared"]) == 4
    assert "split among alice, bob, carol (overlap 0.5)" in cli("stats", str(lead_path)).stdout
    assert "alice's share of lead" in cli("stats", str(copies["alice"])).stdout
    merged = tmp_path / "merged.stance"
    result = cli("merge", "-o", str(merged), *map(str, copies.values()), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(x["labels"] for x in report["inputs"]) == [5, 5, 6]  # 4 shared each, 4 split three ways
    with Project.open(merged, readonly=True) as project:
        assert project.document_count() == 8
        assert {project.document(i).target for i in project.document_ids()} == {"The plan works"}
        assert {a.target for a in project.annotations()} == {"The plan works"}  # targets matched by text
        assert sum(1 for ratings in project.labels_by_item().values() if len(ratings) == 3) == 4
    figures = json.loads(cli("agreement", str(merged), "--json").stdout)
    assert figures["items"] == 4 and figures["annotators"] == ["alice", "bob", "carol"]
    settled = cli("adjudicate", str(merged), "--auto", "majority")
    assert settled.returncode == 0 and "4 gold label(s)" in settled.stdout
    out = tmp_path / "gold.jsonl"
    assert cli("export", str(merged), "-o", str(out), "--gold").returncode == 0
    gold = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(gold) == 4 and {r["label"] for r in gold} == {"asserts"}
    assert {r["annotator"] for r in gold} == {"auto (majority)"}


def two_copies(make_project, tmp_path: Path) -> list[int]:
    """one.stance and two.stance in tmp_path: copies of one filled project; returns its queue ids."""
    base = make_project("base.stance")
    ids = fill_annotation_project(base)
    base.close()
    for name in ("one", "two"):
        shutil.copy(base.path, tmp_path / f"{name}.stance")
    return ids


def test_merging_is_idempotent_and_the_later_label_wins(make_project, tmp_path):
    ids = two_copies(make_project, tmp_path)
    with Project.open(tmp_path / "one.stance") as one:
        one.set_label(ids[0], "ann", "denies")
        one.set_note(ids[0], "ann", "first thoughts")
    with Project.open(tmp_path / "two.stance") as two:
        two.set_label(ids[0], "ann", "qualifies")  # later, in another copy
        two.set_spans(ids[1], "bob", source=((83, 88),))
    report = merge(tmp_path / "m.stance", [tmp_path / "one.stance", tmp_path / "two.stance"])
    assert [c["kept"] for c in report.conflicts] == ["qualifies"]
    assert [(c["annotator"], [(x["label"], Path(x["file"]).name) for x in c["labels"]]) for c in report.conflicts] \
        == [("ann", [("denies", "one.stance"), ("qualifies", "two.stance")])]
    assert [x.labels for x in report.inputs] == [1, 1]
    with Project.open(tmp_path / "m.stance", readonly=True) as m:
        annotation = m.annotation(ids[0], "ann")
        assert (annotation.label, annotation.note) == ("qualifies", "first thoughts")
        assert m.attribution(ids[1]).source == ((83, 88),)
        events, state = m.event_count(), sorted(map(repr, m.annotations()))
    again = merge(tmp_path / "m2.stance", [tmp_path / "m.stance", tmp_path / "one.stance", tmp_path / "two.stance",
                                           tmp_path / "two.stance"])
    assert sum(x.events_new for x in again.inputs[1:]) == 0
    with Project.open(tmp_path / "m2.stance", readonly=True) as m2:
        assert m2.event_count() == events and sorted(map(repr, m2.annotations())) == state


def test_jsonl_exports_merge_with_project_files(make_project, tmp_path):
    base = make_project("base.stance")
    ids = fill_annotation_project(base)
    base.set_label(ids[2], "dan", "denies")
    export(base, tmp_path / "dan.jsonl", ExportOptions())
    base.close()
    shutil.copy(base.path, tmp_path / "copy.stance")
    report = merge(tmp_path / "m.stance", [tmp_path / "copy.stance", tmp_path / "dan.jsonl"])
    assert report.inputs[1].kind == "jsonl"
    with Project.open(tmp_path / "m.stance", readonly=True) as m:
        assert m.annotation(ids[2], "dan").label == "denies"


def _sql(path: Path, statement: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(statement)
    conn.commit()
    conn.close()


DAMAGE = {
    "trigger": "CREATE TRIGGER evil AFTER INSERT ON label BEGIN SELECT 1; END",
    "view": "CREATE VIEW peek AS SELECT * FROM document",
    "table": "CREATE TABLE extra (x)",
    "newer": "PRAGMA user_version = 99",
    "tampered text": "UPDATE document SET text = text || ' (edited)' WHERE id = 1",
}


def _damage(path: Path, how: str) -> None:
    if how in DAMAGE:
        _sql(path, DAMAGE[how])
    elif how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "random":
        path.write_bytes(bytes(range(256)) * 64)


@pytest.mark.parametrize(("how", "message"), [
    ("trigger", "an extra trigger 'evil'"),
    ("view", "an extra view 'peek'"),
    ("table", "an extra table 'extra'"),
    ("truncated", "refused"),
    ("random", "not a StanceLabel project"),
    ("newer", "written by a newer StanceLabel"),
    ("tampered text", "does not match its own text hash"),
])
def test_hostile_or_broken_inputs_are_refused_and_nothing_is_written(make_project, tmp_path, how, message):
    good = make_project("good.stance")
    fill_annotation_project(good)
    good.close()
    bad = tmp_path / "bad.stance"
    shutil.copy(good.path, bad)
    _damage(bad, how)
    before = bad.read_bytes()
    result = cli("merge", "-o", str(tmp_path / "out.stance"), str(good.path), str(bad))
    assert result.returncode == 1
    assert message in result.stderr and str(bad) in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out.stance").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    assert bad.read_bytes() == before


def test_a_broken_jsonl_input_is_refused_with_its_line(make_project, tmp_path):
    good = make_project("good.stance")
    fill_annotation_project(good)
    good.close()
    broken = write(tmp_path / "broken.jsonl", '{"doc_sha256": "' + "a" * 64 + '", "key": "k"\n')
    with pytest.raises(StanceLabelError, match=r"broken.jsonl:1: not valid JSON"):
        merge(tmp_path / "out.stance", [good.path, broken])
    assert not (tmp_path / "out.stance").exists()


def test_merge_refuses_an_older_schema_with_advice(make_project, tmp_path):
    from stancelabel.store import schema

    old = tmp_path / "old.stance"
    conn = sqlite3.connect(old, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    schema.MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with pytest.raises(ProjectFileError, match="older than this StanceLabel's.*open it once"):
        merge(tmp_path / "out.stance", [old])


def test_merging_six_real_annotators_equals_importing_them_together(shared_data, blank_nlp, tmp_path):
    """PolNeAR's multi-annotator sample: each annotator imported alone, then merged, is the same as all at once."""
    from helpers import run_import

    source = shared_data / "polnear-multi"
    texts = sorted((source / "text").glob("*.txt"))
    anns = sorted((source / "attributions").glob("*.ann"))
    annotators = sorted({ann.stem.rsplit("_", 1)[1] for ann in anns})
    assert len(texts) == 4 and len(annotators) == 6
    copies = []
    for annotator in annotators:
        folder = tmp_path / annotator
        for text in texts:
            write(folder / "text" / text.name, text.read_bytes())
        for ann in anns:
            if ann.stem.endswith("_" + annotator):
                write(folder / "attributions" / ann.name, ann.read_bytes())
        with Project.open(tmp_path / f"{annotator}.stance", create=True) as project:
            assert not run_import(project, [folder], blank_nlp).errors
        copies.append(tmp_path / f"{annotator}.stance")
    report = merge(tmp_path / "merged.stance", copies)
    assert [x.documents for x in report.inputs] == [4] * 6 and not report.same_id_different_text
    with Project.open(tmp_path / "all.stance", create=True) as together:
        assert not run_import(together, [source], blank_nlp).errors

    def authored(project: Project) -> dict[str, list[str]]:
        return {a.key: project.attribution_authors(a.id)
                for d in project.document_ids() for a in project.attributions(d)}

    with Project.open(tmp_path / "merged.stance", readonly=True) as merged, \
            Project.open(tmp_path / "all.stance", readonly=True) as together:
        assert merged.document_shas() == together.document_shas()
        assert authored(merged) == authored(together)
        assert max(len(x) for x in authored(merged).values()) >= 2  # annotators agree on some spans


def test_review_mode_shows_everyones_labels_and_sets_gold(qtbot, make_project, make_window):
    from helpers import wait_saved
    from PySide6.QtCore import Qt

    project = make_project()
    ids = fill_annotation_project(project)
    for item, labels in {ids[0]: ("denies", "denies", "asserts"), ids[1]: ("asserts", "qualifies", None),
                         ids[2]: ("asserts", "asserts", None)}.items():
        for annotator, label in zip(("ann", "bob", "cat"), labels):
            if label:
                project.set_label(item, annotator, label)
    project.set_note(ids[0], "cat", "sarcasm?")
    project.set_flag(ids[1], "bob", True)
    window = make_window(project, annotator="lead")
    assert "denies" not in window.panel.ui.review_label.text()  # blind outside review mode
    qtbot.keyClick(window.pane, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert window.review and list(window.queue.ids()) == [ids[0], ids[1]]  # the disputed ones
    text = window.panel.ui.review_label.text()
    assert "ann" in text and "cat" in text and "sarcasm?" in text and "majority: <b>denies</b>" in text
    qtbot.keyClick(window.pane, Qt.Key.Key_Return)  # the majority
    wait_saved(qtbot, window)
    assert project.gold_of(ids[0])[:2] == ("denies", "lead")
    assert window.current.id == ids[1] and "no majority" in window.panel.ui.review_label.text()
    qtbot.keyClick(window.pane, Qt.Key.Key_Return)  # no majority: nothing happens
    assert project.gold_of(ids[1]) is None and "No majority" in window.statusBar().currentMessage()
    qtbot.keyClick(window.pane, Qt.Key.Key_Q)
    wait_saved(qtbot, window)
    assert project.gold_of(ids[1])[0] == "qualifies"
    window.go_to_row(1)
    window.labelling.edit_note()
    qtbot.keyClicks(window.panel.note_edit, "bob flagged it; qualifies fits")
    qtbot.keyClick(window.panel.note_edit, Qt.Key.Key_Return)
    wait_saved(qtbot, window)
    assert project.gold_of(ids[1]) == ("qualifies", "lead", "bob flagged it; qualifies fits")
    assert project.annotation(ids[1], "lead") is None  # gold is not the adjudicator's own label
    window.view.show_combo.setCurrentIndex(window.view.show_combo.findData("multiple"))
    assert list(window.queue.ids()) == ids[:3]
    gold = [(r["key"], r["label"], r["note"]) for r in iter_records(project, ExportOptions(gold=True))]
    assert gold == [(project.attribution(ids[0]).key, "denies", ""),
                    (project.attribution(ids[1]).key, "qualifies", "bob flagged it; qualifies fits")]
    qtbot.keyClick(window.pane, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert not window.review and window.view.show_combo.currentData() == "all"


def test_agreement_view_split_and_merge_from_the_window(qtbot, make_project, make_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

    project = make_project()
    ids = fill_annotation_project(project)
    for item, labels in {ids[0]: ("denies", "denies"), ids[1]: ("asserts", "qualifies"),
                         ids[2]: ("asserts", "asserts"), ids[3]: ("asserts", "qualifies")}.items():
        for annotator, label in zip(("ann", "bob"), labels):
            project.set_label(item, annotator, label)
    window = make_window(project, annotator="lead")
    view = window.reviewing.show_agreement()
    qtbot.addWidget(view)
    assert "<b>4</b> item(s)" in view.figures.text() and "Krippendorff" in view.figures.text()
    labels = view.result.labels
    row, column = labels.index("asserts"), labels.index("qualifies")
    assert view.matrix.item(row, column).text() == "2"
    assert view.bars.item(0, labels.index("asserts")).text() == "3  (75%)"
    view.matrix.cellClicked.emit(row, column)  # the items behind the cell, in review mode
    assert window.review and sorted(window.queue.ids()) == sorted([ids[1], ids[3]])
    view.close()

    answers = iter(["alice, bob"])
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (next(answers), True))
    monkeypatch.setattr(QInputDialog, "getDouble", lambda *a, **k: (0.5, True))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "copies"))
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda _p, title, text: shown.append(text))
    split = window.files.split_project()
    qtbot.waitUntil(lambda: not split.running, timeout=20_000)
    assert (tmp_path / "copies" / "test-alice.stance").exists() and "go to everyone" in shown[0]

    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda _p, title, text: asked.append(text) or
                        QMessageBox.StandardButton.No)
    job = window.files.start_merge(tmp_path / "merged.stance", [tmp_path / "copies" / "test-alice.stance",
                                                          tmp_path / "copies" / "test-bob.stance"])
    qtbot.waitUntil(lambda: not job.running, timeout=10_000)
    assert asked and "merged 2 input(s)" in asked[0] and (tmp_path / "merged.stance").exists()


def test_the_agreement_view_is_brought_up_to_date_off_the_gui_thread(qtbot, make_project, make_window):
    """Labels that a sync writes into the file move the open agreement view; the figures are computed by a
    job with its own connection, so the window does not wait for them, and one job runs at a time."""
    project = make_project()
    ids = fill_annotation_project(project)
    for annotator in ("ann", "bob"):
        project.set_label(ids[0], annotator, "denies")
    window = make_window(project, annotator="lead")
    view = window.reviewing.show_agreement()
    qtbot.addWidget(view)
    assert view.result.items == 1
    with Project.open(project.path) as other:  # as the background sync writes: another connection
        other.set_label(ids[1], "ann", "asserts")
        other.set_label(ids[1], "bob", "qualifies")
    window.syncing._follow_agreement(True)
    job = window.syncing.agreement_job
    assert job is not None and job.thread.objectName() == "stancelabel-agreement"
    window.syncing._follow_agreement(True)  # more labels while it runs: no second job
    assert window.syncing.agreement_job is job
    qtbot.waitUntil(lambda: view.result.items == 2, timeout=20_000)
    assert view.result.observed_agreement == 0.5
    labels = view.result.labels
    assert view.matrix.item(labels.index("asserts"), labels.index("qualifies")).text() == "1"
    assert view.cell_items(labels.index("asserts"), labels.index("qualifies"))[0] == [ids[1]]
    view.close()
    window.syncing._follow_agreement(True)  # a closed view is not computed for
    assert window.syncing.agreement_job is job and not window.syncing.agreement_stale


def test_agreement_on_the_attributions_themselves(shared_data, blank_nlp, tmp_path):
    """PolNeAR's six annotators: span agreement per pair, scored exactly like evaluate --pred-dir."""
    from helpers import run_import

    from stancelabel.io.evaluation import evaluate
    from stancelabel.team.agreement import span_agreement

    with Project.open(tmp_path / "all.stance", create=True) as project:
        assert not run_import(project, [shared_data / "polnear-multi"], blank_nlp).errors
        rows = span_agreement(project)
    assert len(rows) == 15 and all(0 < row["attribution_f1"] <= 1 for row in rows)
    first = rows[0]
    source = shared_data / "polnear-multi"
    gold, pred = tmp_path / "gold", tmp_path / "pred"
    for text in (source / "text").glob("*.txt"):
        for folder, who in ((gold, first["b"]), (pred, first["a"])):
            write(folder / text.name, text.read_bytes())
            write(folder / f"{text.stem}.ann", (source / "attributions" / f"{text.stem}_{who}.ann").read_bytes())
    reference, errors = evaluate(gold, pred_dir=pred)
    assert not errors
    assert math.isclose(first["attribution_f1"], reference.attribution.f1, abs_tol=1e-9)
    assert math.isclose(first["cue_f1"], reference.overlap["cue"].f1, abs_tol=1e-9)


def test_merged_events_remember_the_file_and_project_they_came_from(make_project, tmp_path):
    ids = two_copies(make_project, tmp_path)
    with Project.open(tmp_path / "one.stance") as one:
        one.set_label(ids[0], "ann", "denies")
    with Project.open(tmp_path / "two.stance") as two:
        two.set_label(ids[1], "bob", "asserts")
    merge(tmp_path / "m.stance", [tmp_path / "one.stance", tmp_path / "two.stance"])
    merge(tmp_path / "m2.stance", [tmp_path / "m.stance"])  # merging the merge keeps the first origin
    with Project.open(tmp_path / "m2.stance", readonly=True) as m2:
        origins = {file for (file,) in m2.connection.execute(
            "SELECT m.file FROM event e JOIN merge_source m ON m.id = e.source_id")}
    assert origins == {str(tmp_path / "one.stance"), str(tmp_path / "two.stance")}


def test_merge_never_overwrites_an_input_or_an_open_project(make_project, tmp_path):
    base = make_project("base.stance")
    fill_annotation_project(base)
    other = make_project("other.stance")
    other.close()
    with pytest.raises(StanceLabelError, match="is open"):  # base is open: its -wal file is there
        merge(base.path, [other.path], replace=True)
    base.close()
    before = base.path.read_bytes()
    with pytest.raises(StanceLabelError, match="is one of the files to merge"):
        merge(base.path, [base.path], replace=True)
    shutil.copy(base.path, tmp_path / "copy.stance")
    with pytest.raises(StanceLabelError, match="already exists"):
        merge(tmp_path / "copy.stance", [base.path])
    assert base.path.read_bytes() == before
    merge(tmp_path / "copy.stance", [base.path], replace=True)


def test_labels_of_the_same_text_from_two_records_are_all_kept(make_project, blank_nlp, tmp_path):
    from helpers import run_import

    path = write(tmp_path / "two.jsonl", "\n".join(json.dumps(r) for r in [
        {"text": "Ola denied it.", "label": "denies", "annotator": "alice"},
        {"text": "Ola denied it.", "label": "qualifies", "annotator": "bob"}]))
    project = make_project()
    report = run_import(project, [path], blank_nlp)
    assert report.labels_added == 2
    assert sorted((a.annotator, a.label) for a in project.annotations()) == [("alice", "denies"), ("bob", "qualifies")]


@pytest.mark.parametrize(("statement", "message", "bad_first"), [
    # The attributions the merge takes from a file (here: all of the first one's) have their spans checked.
    ("UPDATE attribution SET content = '[[60,5000]]' WHERE id = 1", "spans that are not offsets", True),
    ("UPDATE attribution SET cue = '[[5,2],[1,2]]' WHERE id = 1", "spans that are not offsets", True),
    ("UPDATE attribution SET cue = '[[1,1]]', content = '[]' WHERE id = 1", "needs a cue or a content span", True),
    ("UPDATE attribution SET key = 'KEY' WHERE id = 1", "not 32 hexadecimal digits", True),
    ("UPDATE event SET at = 'zzz' WHERE id = 1", "no valid time", False),
    ("UPDATE event SET at = '2026-01-01T00:00:00.Z' WHERE id = 1", "no valid time", True),
    ("UPDATE event SET value = '1.5' WHERE id = 1", "wrong shape", False),
    ("UPDATE event SET value = NULL WHERE id = 1", "wrong shape", True),
    ("UPDATE event SET undoes = 99 WHERE id = 1", "undoes an event", False),
    ("UPDATE event SET attribution_id = 9999 WHERE id = 1", "names an attribution", False),
    ("UPDATE annotator SET name = 'bad' || char(27) || '[31m' WHERE id = 1", r"U\+001B \(ESCAPE\)", False),
    # Attribution 1 belongs to document one in the good copy; the bad copy claims it for document two.
    ("UPDATE attribution SET document_id = 2, cue = '[[0,3]]', content = '[]' WHERE id = 1",
     "names attributions of two different documents", False),
    ("UPDATE attribution SET document_id = 99 WHERE id = 1", "belongs to no document", True),
    ("UPDATE document SET meta = '{\"a\": [1,' WHERE id = 1", "metadata that is not a JSON object", True),
    ("UPDATE document SET meta = '[1]' WHERE id = 1", "metadata that is not a JSON object", True),
    ("UPDATE sentence SET start = 3990, \"end\" = 4000 WHERE document_id = 1 AND idx = 0", "sentences outside its text",
     True),
    ("UPDATE document SET text = text || ' ' WHERE id = 1", "does not match its own text hash", False),
])
def test_rows_a_checked_schema_cannot_catch_are_refused(make_project, tmp_path, statement, message, bad_first):
    good = make_project("good.stance")
    ids = fill_annotation_project(good)
    good.set_label(ids[0], "ann", "denies")
    good.close()
    bad = tmp_path / "bad.stance"
    shutil.copy(good.path, bad)
    conn = sqlite3.connect(bad)
    conn.execute("DROP TRIGGER event_no_update")
    conn.execute(statement)
    conn.execute("CREATE TRIGGER event_no_update BEFORE UPDATE ON event\n"
                 "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END")
    conn.commit()
    conn.close()
    with pytest.raises(StanceLabelError, match=message):
        merge(tmp_path / "out.stance", [bad, good.path] if bad_first else [good.path, bad])
    assert not (tmp_path / "out.stance").exists()


def test_an_input_with_too_many_rows_is_refused(make_project, tmp_path, monkeypatch):
    from stancelabel.team import untrusted

    big = make_project("big.stance")
    fill_annotation_project(big)
    big.close()
    monkeypatch.setattr(untrusted, "MAX_ROWS", 3)
    with pytest.raises(ProjectFileError, match="more than 3 rows in attribution"):
        merge(tmp_path / "out.stance", [big.path])
    assert not (tmp_path / "out.stance").exists()


def test_a_split_copy_says_whose_share_it_is(qtbot, lead, make_window, tmp_path):
    from stancelabel.team.split import split

    split(lead, ["alice", "bob"], 0.5, 1, tmp_path / "copies")
    window = make_window(Project.open(tmp_path / "copies" / "lead-alice.stance"), annotator="bob")
    assert "alice's share of" in window.annotator_button.toolTip()
    assert "you are labelling as bob" in window.statusBar().currentMessage()


def test_undo_and_redo_travel_through_merges(make_project, tmp_path):
    """An undo in a copy points at the event it reverted; in the merged file it points at that event's copy,
    also when the same file is merged again, so undo and redo go on where the annotator left them."""
    ids = two_copies(make_project, tmp_path)
    with Project.open(tmp_path / "one.stance") as one:
        one.set_label(ids[0], "ann", "denies")
        one.set_label(ids[1], "ann", "asserts")
        one.undo("ann")  # reverts the label of ids[1]
    with Project.open(tmp_path / "two.stance") as two:
        two.set_label(ids[0], "bob", "qualifies")

    def undo_pairs(path):
        conn = sqlite3.connect(path)
        try:
            return sorted(conn.execute(
                "SELECT u.kind, u.value, t.kind, t.value, t.at < u.at FROM event u JOIN event t ON t.id = u.undoes"
            ).fetchall())
        finally:
            conn.close()

    expected = undo_pairs(tmp_path / "one.stance")
    assert len(expected) == 1
    merge(tmp_path / "m.stance", [tmp_path / "one.stance", tmp_path / "two.stance"])
    merge(tmp_path / "m2.stance", [tmp_path / "two.stance", tmp_path / "m.stance", tmp_path / "one.stance"])
    for merged in ("m.stance", "m2.stance"):
        assert undo_pairs(tmp_path / merged) == expected
        with Project.open(tmp_path / merged) as m:
            assert m.annotation(ids[1], "ann") is None or m.annotation(ids[1], "ann").label is None
            assert m.redo("ann") is not None  # the undone label comes back
            assert m.annotation(ids[1], "ann").label == "asserts"
            assert m.annotation(ids[0], "bob").label == "qualifies"


def test_events_sharing_a_time_in_one_file_all_survive_a_merge_in_any_order(make_project, tmp_path):
    """Labels imported with whole-second times can share (time, annotator, attribution, kind, value): one
    file's own events are never taken for copies of each other, whatever was merged before it."""
    base = make_project("a.stance")
    ids = fill_annotation_project(base)
    base.close()
    labels = {}

    def add(path, value, previous, at="2026-01-01T10:00:00Z"):
        conn = sqlite3.connect(path)
        labels.update(conn.execute("SELECT name, id FROM label").fetchall())
        annotator = conn.execute("INSERT OR IGNORE INTO annotator (name, created_at) VALUES ('ann', ?)",
                                 (at,)) and conn.execute("SELECT id FROM annotator WHERE name = 'ann'").fetchone()[0]
        conn.execute("INSERT INTO event (at, annotator_id, attribution_id, kind, value, previous) "
                     "VALUES (?, ?, ?, 'label', ?, ?)", (at, annotator, ids[0], value, previous))
        conn.commit()
        conn.close()

    add(base.path, "1", "null")  # A: asserts at T
    b = tmp_path / "b.stance"
    shutil.copy(base.path, b)
    add(b, "2", "1")  # B: and then denies, and asserts again, in the same second
    add(b, "1", "2")
    results = set()
    for order in ([b], [base.path, b], [b, base.path]):
        out = tmp_path / f"m{len(results)}-{len(order)}-{order[0].name}"
        merge(out, order)
        with Project.open(out, readonly=True) as merged:
            results.add((merged.event_count(), merged.annotation(ids[0], "ann").label))
    assert results == {(3, "asserts")}


def test_merge_failures_name_the_right_place(make_project, tmp_path, monkeypatch):
    import gc

    from stancelabel.team.merge import staging

    ids = two_copies(make_project, tmp_path)
    with Project.open(tmp_path / "one.stance") as one:
        one.set_label(ids[0], "ann", "denies")
    # An input whose label schema is broken: refused naming that input.
    bad = tmp_path / "two.stance"
    conn = sqlite3.connect(bad)
    conn.execute("UPDATE label SET shortcut = (SELECT shortcut FROM label ORDER BY position LIMIT 1)")
    conn.commit()
    conn.close()
    with pytest.raises(StanceLabelError, match=f"^{re.escape(str(bad))}: refused: .*key"):
        merge(tmp_path / "m.stance", [bad, tmp_path / "one.stance"])
    # An output folder that is not there: one line about the output; the collector is on again.
    with pytest.raises(StanceLabelError, match="missing.* does not exist"):
        merge(tmp_path / "missing" / "m.stance", [tmp_path / "one.stance"])
    assert gc.isenabled()
    # The scratch space running full: named, not the temporary output.
    original = staging.Staging.__init__

    def small(self):
        original(self)
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        self.conn.execute(f"PRAGMA max_page_count = {pages}")  # not one page more

    monkeypatch.setattr(staging.Staging, "__init__", small)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from synthetic import make_synthetic_project

    big = make_synthetic_project(tmp_path / "big.stance", 3000)  # its keys need pages of their own
    with pytest.raises(StanceLabelError, match="scratch space failed \\(the disk is full") as full:
        merge(tmp_path / "m.stance", [big])
    assert ".partial" not in str(full.value) and not (tmp_path / "m.stance").exists()


def test_split_gives_names_that_clash_as_file_names_a_file_each_and_records_the_mapping(lead, tmp_path):
    from stancelabel.cli.main import main

    path = lead.path
    lead.close()
    assert main(["split", str(path), "--annotators", "a b,a-b,A-B", "-o", str(tmp_path / "shares")]) == 0
    files = sorted(p.name for p in (tmp_path / "shares").iterdir())
    assert len(files) == 3 and len({f.casefold() for f in files}) == 3
    with Project.open(path, readonly=True) as project:
        recorded = json.loads(project.get_setting("split"))["files"]
    assert sorted(recorded) == ["A-B", "a b", "a-b"] and sorted(recorded.values()) == files
    for name, file in recorded.items():
        with Project.open(tmp_path / "shares" / file, readonly=True) as share:
            assert json.loads(share.get_setting("assignment"))["annotator"] == name
