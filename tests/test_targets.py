"""Target claims and annotation guidelines: from every import path into the store, into each
label given, through a target change, into the window; and files made before targets existed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from helpers import fill_annotation_project, run_import, wait_saved, write
from PySide6.QtCore import Qt

from stancelabel.core.errors import InputFileError
from stancelabel.core.labels import descriptions_from_guidelines
from stancelabel.store import schema
from stancelabel.store.project import Project, default_labels

TARGET = "The city's tap water contains unsafe levels of lead"


def targets_by_id(project: Project) -> dict[str, str | None]:
    return {project.document(i).external_id: project.document(i).target for i in project.document_ids()}


def test_jsonl_target_field_or_meta_and_run_target_for_the_rest(make_project, blank_nlp, tmp_path):
    path = write(tmp_path / "batch.jsonl", "\n".join(json.dumps(r) for r in [
        {"id": "field", "text": "Anna said the water is safe.", "target": f"  {TARGET}  "},
        {"id": "meta", "text": "Ben denied it.", "meta": {"target": "Another claim"}},
        {"id": "none", "text": "Carla said nothing about it."},
    ]))
    project = make_project()
    run_import(project, [path], blank_nlp, target="Run-wide claim")
    assert targets_by_id(project) == {"field": TARGET, "meta": "Another claim", "none": "Run-wide claim"}
    assert sorted(project.targets()) == [("Another claim", 1), ("Run-wide claim", 1), (TARGET, 1)]


def test_jsonl_target_of_the_wrong_type_names_the_line(make_project, blank_nlp, tmp_path):
    path = write(tmp_path / "bad.jsonl", '{"text": "fine"}\n{"text": "Anna said so.", "target": 3}\n')
    project = make_project()
    report = run_import(project, [path], blank_nlp)
    assert report.errors == [f"{path}:2: 'target' must be a string, not int"]
    assert project.document_count() == 0


def test_csv_target_column(make_project, blank_nlp, tmp_path):
    rows = f'id,text,claim\na,Anna said the water is safe.,"{TARGET}"\nb,Ben denied it.,\n'
    path = write(tmp_path / "rows.csv", rows)
    project = make_project()
    run_import(project, [path], blank_nlp, target_column="claim")
    assert targets_by_id(project) == {"a": TARGET, "b": None}
    assert "claim" not in project.document(project.document_ids()[0]).meta
    with pytest.raises(InputFileError, match=r"rows.csv:1: no column 'target'"):
        from stancelabel.io.csvfile import read_csv

        read_csv(path, target_column="target")


def test_cli_target_for_a_run_of_text_files(tmp_path):
    write(tmp_path / "one.txt", "Anna said the bridge is safe.\n")
    project = tmp_path / "p.stance"
    result = subprocess.run([sys.executable, "-m", "stancelabel", "import", str(project), str(tmp_path / "one.txt"),
                             "--model", "blank:en", "--no-detect", "--target", TARGET],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with Project.open(project, readonly=True) as opened:
        assert targets_by_id(opened) == {"one": TARGET}


def test_a_label_keeps_the_target_it_was_given_under(make_project):
    project = make_project()
    ids = fill_annotation_project(project)
    document = project.attribution(ids[0]).document_id
    project.set_document_target(document, TARGET)
    project.set_label(ids[0], "ann", "denies")
    project.set_document_target(document, "A sharper claim")
    assert project.annotation(ids[0], "ann").target == TARGET
    project.set_label(ids[1], "ann", "asserts")
    assert project.annotation(ids[1], "ann").target == "A sharper claim"
    project.set_note(ids[0], "ann", "a note does not move the label's target")
    assert project.annotation(ids[0], "ann").target == TARGET
    project.rebuild_annotations()  # the event log holds the targets too
    assert project.annotation(ids[0], "ann").target == TARGET
    project.set_document_target(document, "   ")
    assert project.document(document).target is None
    assert project.annotation(ids[0], "ann").target == TARGET


def test_guidelines_round_trip_through_the_cli_byte_for_byte(tmp_path):
    project = tmp_path / "p.stance"
    Project.open(project, create=True).close()
    printed = subprocess.run([sys.executable, "-m", "stancelabel", "guidelines", str(project)],
                             capture_output=True, text=True, encoding="utf-8")
    assert printed.returncode == 0 and printed.stdout.startswith("# Annotation guidelines")
    mine = ("# Our rules — «stance» ✓\n\nRead twice.\n\n## denies\n\nThe speaker says the *claim* is false.\n\n"
            "More text.\n\n## Unknown heading\n\nIgnored.\n")
    write(tmp_path / "g.md", mine)
    result = subprocess.run([sys.executable, "-m", "stancelabel", "guidelines", str(project), "--set",
                             str(tmp_path / "g.md")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "label descriptions taken from their sections: denies" in result.stdout
    again = subprocess.run([sys.executable, "-m", "stancelabel", "guidelines", str(project)],
                           capture_output=True, encoding="utf-8")
    assert again.stdout == mine
    with Project.open(project, readonly=True) as opened:
        descriptions = {label.name: label.description for label in opened.labels()}
    assert descriptions["denies"] == "The speaker says the claim is false."
    assert descriptions["asserts"] == default_labels()[0].description  # untouched


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty; the guidelines were not changed"),
    (b"\xff\xfe\x00bad", "g.md"),
])
def test_bad_guidelines_files_change_nothing(tmp_path, content, message):
    project = tmp_path / "p.stance"
    Project.open(project, create=True).close()
    write(tmp_path / "g.md", content)
    result = subprocess.run([sys.executable, "-m", "stancelabel", "guidelines", str(project), "--set",
                             str(tmp_path / "g.md")], capture_output=True, text=True)
    assert result.returncode == 1 and message in result.stderr and len(result.stderr.splitlines()) == 1
    with Project.open(project, readonly=True) as opened:
        assert opened.guidelines() == schema.default_guidelines()


def test_default_guidelines_give_the_default_label_descriptions():
    labels = default_labels()
    found = descriptions_from_guidelines(schema.default_guidelines(), [label.name for label in labels])
    assert found == {label.name: label.description for label in labels}


def test_a_file_made_before_targets_is_upgraded_with_a_backup(tmp_path):
    path = tmp_path / "v2.stance"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    for migration in schema.MIGRATIONS[:2]:
        migration(conn)
    conn.execute("PRAGMA user_version = 2")
    now = "2026-01-01T00:00:00.000000Z"
    conn.execute("INSERT INTO project_meta VALUES ('name', 'old')")
    conn.execute("INSERT INTO label VALUES (1, 'asserts', 'A', '#2e7d32', '', 0)")
    conn.execute("INSERT INTO annotator VALUES (1, 'ann', ?)", (now,))
    conn.execute("INSERT INTO document VALUES (1, 'a', '', 'Anna said so.', 'sha', '{}', '', NULL, ?)", (now,))
    conn.execute("INSERT INTO sentence VALUES (1, 0, 0, 13)")
    conn.execute("INSERT INTO attribution VALUES (1, 1, 0, 'k', '[[0,4]]', '[[5,9]]', '[[10,12]]', 'auto', "
                 "NULL, NULL, 'active', ?)", (now,))
    conn.execute("INSERT INTO event VALUES (1, ?, 1, 1, 'label', '1', 'null', NULL)", (now,))
    conn.execute("INSERT INTO annotation VALUES (1, 1, 1, '', 0, ?, ?)", (now, now))
    conn.close()
    with Project.open(path) as project:
        assert project.schema_version == len(schema.MIGRATIONS)
        assert project.backup_path.exists()
        annotation = project.annotation(1, "ann")
        assert (annotation.label, annotation.target) == ("asserts", None)
        assert project.guidelines() == schema.default_guidelines()
        project.set_document_target(1, TARGET)
        project.set_label(1, "ann", "asserts")
        assert project.annotation(1, "ann").target == TARGET
    backup = sqlite3.connect(project.backup_path)
    assert backup.execute("PRAGMA user_version").fetchone()[0] == 2  # the file as it was
    assert backup.execute("SELECT count(*) FROM annotation").fetchone()[0] == 1
    backup.close()


def test_the_window_shows_the_target_and_that_it_changed(qtbot, make_project, make_window):
    project = make_project()
    ids = fill_annotation_project(project)
    project.set_document_target(project.attribution(ids[0]).document_id, TARGET)
    window = make_window(project)
    assert TARGET in window.view.target_label.text() and window.view.target_label.isVisible()
    qtbot.keyClick(window.pane, Qt.Key.Key_D)
    wait_saved(qtbot, window)
    window.go_to_row(0)
    qtbot.keyClick(window.pane, Qt.Key.Key_G)
    dialog = window.dialogs._target_dialog
    assert dialog.text.currentText() == TARGET
    assert dialog.text.completer().model().rowCount() == 1  # completion from the project's targets
    dialog.text.setCurrentText("Only some schools are affected")
    dialog.accept()
    wait_saved(qtbot, window)
    assert "Only some schools are affected" in window.view.target_label.text()
    state = window.panel.ui.save_state.text()
    assert "under “" + TARGET + "”" in state.replace("&#x27;", "'") and "now “Only some schools" in state
    assert project.annotation(ids[0], "ann").target == TARGET
    window.go_to_row(4)  # another document: no target
    assert "No target" in window.view.target_label.text()


def test_guidelines_open_beside_the_text_and_can_be_edited(qtbot, make_project, make_window):
    project = make_project()
    fill_annotation_project(project)
    window = make_window(project)
    assert not window.guidelines_dock.isVisible()
    qtbot.keyClick(window.pane, Qt.Key.Key_F1)
    assert window.guidelines_dock.isVisible()
    assert "Not an attribution" in window.guidelines_view.toPlainText()
    editor = window.dialogs.edit_guidelines()
    qtbot.addWidget(editor)
    editor.source.setPlainText("# Short rules\n\n## qualifies\n\nHedged, limited or conditional.\n")
    assert "Short rules" in editor.preview.toPlainText()
    editor.accept()
    wait_saved(qtbot, window)
    assert project.guidelines().startswith("# Short rules")
    assert window.panel.buttons["qualifies"].toolTip() == "Hedged, limited or conditional."
    assert "Short rules" in window.guidelines_view.toPlainText()
    window.activateWindow()  # back from the dialog
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.pane, Qt.Key.Key_F1)
    assert not window.guidelines_dock.isVisible()


def test_labels_imported_without_a_target_of_their_own_take_their_documents(make_project, blank_nlp, tmp_path):
    from helpers import run_import

    path = write(tmp_path / "labelled.jsonl", json.dumps({"text": "Ola denied it.", "label": "denies",
                                                          "annotator": "alice", "target": TARGET}) + "\n")
    project = make_project()
    run_import(project, [path], blank_nlp)
    (annotation,) = project.annotations()
    assert annotation.target == TARGET
