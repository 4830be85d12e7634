"""The annotation window driven by the keyboard alone, as an annotator works a whole day.

Every check of a saved label reads the file through a second connection: the
window's promise is "on disk before the next item shows".
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import ARTICLE_ONE, ARTICLE_TWO, fill_annotation_project, wait_saved
from PySide6.QtCore import QSettings, Qt

from stancelabel.core.model import QueueFilter
from stancelabel.gui.models import ItemRole
from stancelabel.gui.settings import Settings
from stancelabel.store.project import Project

Key = Qt.Key


@pytest.fixture
def setup(make_project, make_window):
    project = make_project()
    ids = fill_annotation_project(project)
    window = make_window(project)
    return project, ids, window


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier, widget=None) -> None:
    qtbot.keyClick(widget or window.pane, key, modifier)
    wait_saved(qtbot, window)


def on_disk(project: Project, attribution_id: int, annotator: str = "ann"):
    with Project.open(project.path, readonly=True) as other:
        return other.annotation(attribution_id, annotator)


def test_label_keys_save_then_advance(qtbot, setup):
    project, ids, window = setup
    assert window.current.id == ids[0]
    press(qtbot, window, Key.Key_D)
    assert on_disk(project, ids[0]).label == "denies"
    assert window.current.id == ids[1]
    press(qtbot, window, Key.Key_1)  # digits pick labels by position
    assert on_disk(project, ids[1]).label == "asserts"
    press(qtbot, window, Key.Key_Q)
    assert on_disk(project, ids[2]).label == "qualifies"
    assert window.current.id == ids[3]
    assert window.progress_label.text() == "3 / 5 labelled"
    assert window.queue.index(0).data(ItemRole).label == "denies"  # the row shows the label given
    assert "All changes saved" in window.save_label.text()


def test_enter_accepts_the_suggestion_and_never_stores_it_unasked(qtbot, setup):
    project, ids, window = setup
    assert project.annotation(ids[0], "ann") is None  # a suggestion is not a label
    assert "★ suggested" in window.panel.buttons["denies"].text()
    press(qtbot, window, Key.Key_Return)
    assert on_disk(project, ids[0]).label == "denies"
    window.go_to_row(3)  # "Residents claimed": no suggestion
    press(qtbot, window, Key.Key_Return)
    assert on_disk(project, ids[3]) is None
    assert window.current.id == ids[3]
    assert "No suggestion" in window.statusBar().currentMessage()


def test_space_skips_and_j_k_arrows_move(qtbot, setup):
    project, ids, window = setup
    press(qtbot, window, Key.Key_Space)
    assert window.current.id == ids[1] and on_disk(project, ids[0]) is None
    press(qtbot, window, Key.Key_J)
    press(qtbot, window, Key.Key_Down)
    assert window.current.id == ids[3]
    press(qtbot, window, Key.Key_K)
    press(qtbot, window, Key.Key_Up)
    press(qtbot, window, Key.Key_Left)
    assert window.current.id == ids[0]
    press(qtbot, window, Key.Key_Right)
    press(qtbot, window, Key.Key_End)
    assert window.current.id == ids[4]
    press(qtbot, window, Key.Key_J)  # the end: it stays
    assert window.current.id == ids[4] and "End of the queue" in window.statusBar().currentMessage()
    press(qtbot, window, Key.Key_Home)
    assert window.current.id == ids[0]


def test_undo_and_redo_with_the_keyboard_also_after_a_restart(qtbot, setup, make_window):
    project, ids, window = setup
    press(qtbot, window, Key.Key_A)
    press(qtbot, window, Key.Key_D)
    assert window.current.id == ids[2]
    press(qtbot, window, Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert on_disk(project, ids[1]) .label is None
    assert window.current.id == ids[1]  # undo shows what it undid
    press(qtbot, window, Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert on_disk(project, ids[1]).label == "denies"
    window.close()
    reopened = make_window(Project.open(project.path))
    press(qtbot, reopened, Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    press(qtbot, reopened, Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert on_disk(project, ids[1]).label is None and on_disk(project, ids[0]).label is None
    assert reopened.current.id == ids[0]
    press(qtbot, reopened, Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "Nothing to undo" in reopened.statusBar().currentMessage()


def test_note_is_typed_saved_with_enter_and_cancelled_with_escape(qtbot, setup):
    project, ids, window = setup
    press(qtbot, window, Key.Key_N)
    note = window.panel.note_edit
    assert note.hasFocus()
    qtbot.keyClicks(note, "Ask about 2019 ")  # letters that are label keys elsewhere type text here
    note.insert("— ✓ 🚧")  # (QTest cannot type characters beyond the BMP)
    press(qtbot, window, Key.Key_Return, widget=note)
    assert on_disk(project, ids[0]).note == "Ask about 2019 — ✓ 🚧"
    assert on_disk(project, ids[0]).label is None  # Enter in the note did not accept the suggestion
    assert window.current.id == ids[0] and window.pane.hasFocus()
    press(qtbot, window, Key.Key_N)
    qtbot.keyClicks(note, "changed my mind")
    press(qtbot, window, Key.Key_Escape, widget=note)
    assert note.text() == "Ask about 2019 — ✓ 🚧"
    assert on_disk(project, ids[0]).note == "Ask about 2019 — ✓ 🚧"


def test_flag_toggles_and_the_flagged_filter_finds_it(qtbot, setup):
    project, ids, window = setup
    window.go_to_row(2)
    press(qtbot, window, Key.Key_F)
    assert on_disk(project, ids[2]).flagged
    assert window.panel.ui.flag_box.isChecked()
    window.view.show_combo.setCurrentIndex(window.view.show_combo.findData("flagged"))
    assert list(window.queue.ids()) == [ids[2]] and window.current.id == ids[2]
    press(qtbot, window, Key.Key_F)
    assert not on_disk(project, ids[2]).flagged


def test_filters_unlabelled_by_label_speaker_document_and_search(qtbot, setup):
    project, ids, window = setup
    press(qtbot, window, Key.Key_A)
    project.set_label(ids[3], "bob", "denies")  # someone else's label does not hide it from me
    combo = window.view.show_combo
    combo.setCurrentIndex(combo.findData("unlabelled"))
    assert list(window.queue.ids()) == ids[1:]
    combo.setCurrentIndex(combo.findData("label"))
    assert window.view.label_combo.isVisible()
    window.view.label_combo.setCurrentText("asserts")
    assert list(window.queue.ids()) == [ids[0]]
    combo.setCurrentIndex(combo.findData("all"))
    window.view.speaker_edit.setText("zoë")
    qtbot.keyClick(window.view.speaker_edit, Key.Key_Return)
    assert list(window.queue.ids()) == [ids[4]]
    window.view.speaker_edit.clear()
    assert len(window.queue.ids()) == 5
    press(qtbot, window, Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.view.search_edit.hasFocus()
    qtbot.keyClicks(window.view.search_edit, "SCHOOL")
    qtbot.keyClick(window.view.search_edit, Key.Key_Return)
    assert list(window.queue.ids()) == [ids[2]]
    assert window.pane.hasFocus()  # back to labelling
    window.view.search_edit.clear()
    window.go_to_row(4)
    window.view.document_only.setChecked(True)
    assert list(window.queue.ids()) == [ids[4]]


def test_next_unlabelled_skips_what_is_done(qtbot, setup):
    project, ids, window = setup
    project.set_label(ids[1], "ann", "asserts")
    project.set_label(ids[2], "ann", "asserts")
    window.apply_filter()
    press(qtbot, window, Key.Key_U)
    assert window.current.id == ids[3]


def test_position_is_remembered_per_annotator_and_project(qtbot, make_project, make_window, tmp_path):
    project = make_project()
    ids = fill_annotation_project(project)
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window = make_window(project, settings=settings)
    window.go_to_row(3)
    window.close()
    assert make_window(Project.open(project.path), settings=settings).current.id == ids[3]
    other = make_window(Project.open(project.path), annotator="bob", settings=settings)
    assert other.current.id == ids[0]


def select(window, text: str, part: str) -> None:
    start = text.index(part)
    window.pane.select_document_span(start, start + len(part))


def test_fix_a_wrong_speaker_by_selecting_it(qtbot, setup):
    project, ids, window = setup
    project.set_label(ids[1], "bob", "asserts")
    window.go_to_row(1)
    select(window, ARTICLE_ONE, "Priya Nai")  # a partial word is widened to the whole word
    press(qtbot, window, Key.Key_S)
    edited = project.attribution(ids[1])
    assert ARTICLE_ONE[edited.source[0][0]:edited.source[0][1]] == "Priya Nair"
    assert edited.origin == "manual"
    assert project.annotation(ids[1], "bob").label == "asserts"  # others' labels stay
    assert "Priya Nair" in window.queue.index(1).data()
    press(qtbot, window, Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert project.attribution(ids[1]).source == project.attribution(ids[1]).source
    assert ARTICLE_ONE[slice(*project.attribution(ids[1]).source[0])] == "Mayor Priya Nair"


def test_keyboard_selection_sets_cue_and_split_content(qtbot, setup):
    project, ids, window = setup
    window.go_to_row(2)  # '"We tested every school," she insisted.'
    press(qtbot, window, Key.Key_E)
    assert window.spans.edit_mode
    start = ARTICLE_ONE.index("insisted")
    window.pane.select_document_span(start, start)  # caret before the cue
    for _ in range(len("insisted")):
        qtbot.keyClick(window.pane, Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert window.current.id == ids[2]  # the arrows moved the caret, not the queue
    press(qtbot, window, Key.Key_C)
    cue = project.attribution(ids[2]).cue
    assert ARTICLE_ONE[cue[0][0]:cue[0][1]] == "insisted"
    select(window, ARTICLE_ONE, "she")
    press(qtbot, window, Key.Key_T, Qt.KeyboardModifier.ShiftModifier)  # add a second content part
    assert len(project.attribution(ids[2]).content) == 2
    press(qtbot, window, Key.Key_Escape)
    press(qtbot, window, Key.Key_J)
    assert window.current.id == ids[3]


def test_selection_needed_message(qtbot, setup):
    project, ids, window = setup
    before = project.attribution(ids[0])
    press(qtbot, window, Key.Key_S)
    assert "Select the words first" in window.statusBar().currentMessage()
    assert project.attribution(ids[0]) == before


def test_add_an_attribution_the_detector_missed(qtbot, setup):
    project, ids, window = setup
    window.go_to_row(4)
    select(window, ARTICLE_TWO, "said")
    press(qtbot, window, Key.Key_N, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    new = window.current
    assert new.id not in ids and new.origin == "manual"
    assert ARTICLE_TWO[slice(*new.cue[0])] == "said"
    select(window, ARTICLE_TWO, "The engineer")
    press(qtbot, window, Key.Key_S)
    select(window, ARTICLE_TWO, "nothing else")
    press(qtbot, window, Key.Key_T)
    press(qtbot, window, Key.Key_Q)
    added = project.attribution(new.id)
    assert ARTICLE_TWO[slice(*added.source[0])] == "The engineer"
    assert on_disk(project, new.id).label == "qualifies"
    assert project.attribution_authors(new.id) == ["ann"]
    assert window.progress_label.text() == "1 / 6 labelled"


def test_not_an_attribution_leaves_the_queue_and_stays_in_the_file(qtbot, setup):
    project, ids, window = setup
    window.go_to_row(3)
    press(qtbot, window, Key.Key_X)
    assert ids[3] not in list(window.queue.ids())
    assert window.current.id == ids[4]
    assert project.attribution(ids[3]).status == "rejected"
    assert ids[3] not in list(project.queue_ids("ann", QueueFilter()))
    press(qtbot, window, Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ids[3] in list(window.queue.ids()) and window.current.id == ids[3]


def test_labels_stay_blind_between_annotators_and_switching_shows_ones_own(qtbot, setup, monkeypatch):
    project, ids, window = setup
    project.set_label(ids[0], "bob", "denies")
    project.set_note(ids[0], "bob", "bob's note")
    window.apply_filter()
    assert not any(button.isChecked() for button in window.panel.buttons.values())
    assert window.panel.note_edit.text() == ""
    assert window.queue.index(0).data(ItemRole).label is None
    from stancelabel.gui.main_window import window as main_window

    monkeypatch.setattr(main_window, "ask_annotator", lambda known, current, parent: "bob")
    press(qtbot, window, Key.Key_U, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.annotator == "bob" and "bob" in window.annotator_button.text()
    window.go_to_row(0)
    assert window.panel.buttons["denies"].isChecked()
    assert window.panel.note_edit.text() == "bob's note"
    assert window.progress_label.text() == "1 / 5 labelled"
    assert window.settings.annotator == "bob"


def test_file_menu_offers_recent_projects_once(qtbot, setup):
    project, ids, window = setup
    titles = [action.text() for action in window.menus["File"].actions()]
    assert titles.count("Open &recent") == 1
    window.recent_menu.aboutToShow.emit()
    assert str(project.path.resolve()) in [action.text() for action in window.recent_menu.actions()]


def test_shortcut_overview_lists_every_key_and_label_guideline(qtbot, setup):
    project, ids, window = setup
    press(qtbot, window, Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    dialog = window.dialogs._shortcuts_dialog
    qtbot.addWidget(dialog)
    text = dialog.browser.toPlainText()
    for expected in ("asserts", "rejects the content", "Undo", "Ctrl+Z", "Not an attribution", "Whole paragraph",
                     "Next unlabelled", "Selection is the source"):
        assert expected in text
    dialog.close()


def test_view_settings_persist(qtbot, make_project, make_window, tmp_path):
    project = make_project()
    fill_annotation_project(project)
    store = QSettings(str(tmp_path / "v.ini"), QSettings.Format.IniFormat)
    window = make_window(project, settings=Settings(store))
    size = window.settings.font_size
    press(qtbot, window, Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    press(qtbot, window, Key.Key_BracketRight)
    window.display.set_theme("dark")
    window.resize(780, 700)  # within the offscreen screen (800 x 800), where geometry is restored as it was
    window.view.splitter.setSizes([150, 400, 200])
    sizes = window.view.splitter.sizes()
    window.close()
    again = Settings(QSettings(str(tmp_path / "v.ini"), QSettings.Format.IniFormat))
    assert again.font_size == size + 1 and again.context_size == 3 and again.theme == "dark"
    reopened = make_window(Project.open(project.path), settings=again)
    assert reopened.size() == window.size()
    assert reopened.view.splitter.sizes() == sizes
    assert reopened.pane.font().pointSize() == size + 1
    reopened.display.set_theme("light")


def test_context_and_paragraph(qtbot, setup):
    project, ids, window = setup
    window.go_to_row(1)
    press(qtbot, window, Key.Key_BracketLeft)
    press(qtbot, window, Key.Key_BracketLeft)
    press(qtbot, window, Key.Key_BracketLeft)  # no context: only the sentence
    assert window.pane.toPlainText() == "Mayor Priya Nair said the pipes were replaced in 2019."
    press(qtbot, window, Key.Key_P)  # the whole paragraph (line)
    assert window.pane.toPlainText().startswith("The council denied")
    assert "she insisted" not in window.pane.toPlainText()
    press(qtbot, window, Key.Key_BracketRight)
    assert "she insisted" in window.pane.toPlainText()


def test_roles_are_marked_without_colour_too(qtbot, setup):
    project, ids, window = setup
    window.go_to_row(4)  # a line with an emoji after the content: UTF-16 positions differ
    from PySide6.QtGui import QTextCursor

    pane = window.pane
    cue = project.attribution(ids[4]).cue[0]
    cursor = QTextCursor(pane.document())
    cursor.setPosition(pane.pane_position(cue[0]) + 1)
    assert cursor.charFormat().fontWeight() >= 600 and cursor.charFormat().fontUnderline()
    content = project.attribution(ids[4]).content[0]
    cursor.setPosition(pane.pane_position(content[0]) + 1)
    assert cursor.charFormat().fontItalic()
    assert len(pane.frame_rects()) == 1  # the source is framed
    select(window, ARTICLE_TWO, "else")  # after the emoji
    assert pane.selected_span() == (ARTICLE_TWO.index("else"), ARTICLE_TWO.index("else") + 4)


def test_schema_editor_renames_recolours_and_refuses_clashes(qtbot, setup):
    project, ids, window = setup
    press(qtbot, window, Key.Key_A)
    editor = window.dialogs.edit_schema()
    qtbot.addWidget(editor)
    table = editor.ui.table
    table.item(1, 1).setText("A")  # denies on A: clash with asserts
    assert not editor.try_accept()
    assert "both use key A" in editor.ui.error_label.text()
    table.item(1, 1).setText("J")  # a key of the window
    assert not editor.try_accept()
    assert "already used by the labelling window" in editor.ui.error_label.text()
    table.item(1, 1).setText("D")
    table.setCurrentCell(0, 0)
    editor.remove_selected()  # asserts is given once
    assert "1 attribution(s) carry it" in editor.ui.error_label.text() and table.rowCount() == 3
    table.item(0, 0).setText("endorses")
    table.item(0, 1).setText("E")
    table.item(0, 1).setText("W")
    table.item(0, 2).setText("#1565c0")
    table.item(0, 3).setText("The source says it is true.")
    editor.add_label()
    table.item(3, 0).setText("unclear")
    table.item(3, 1).setText("V")
    table.setCurrentCell(3, 0)
    editor.move_selected(-1)
    assert editor.try_accept()
    wait_saved(qtbot, window)
    assert [label.name for label in project.labels()] == ["endorses", "denies", "unclear", "qualifies"]
    assert project.annotation(ids[0], "ann").label == "endorses"  # the rename kept the label
    assert window.panel.buttons["endorses"].toolTip() == "The source says it is true."
    window.activateWindow()  # back from the dialog
    qtbot.waitUntil(window.isActiveWindow)
    press(qtbot, window, Key.Key_V)  # the new key labels at once
    assert on_disk(project, ids[1]).label == "unclear"
    press(qtbot, window, Key.Key_3)  # and digits follow the new order
    assert on_disk(project, ids[2]).label == "unclear"


def test_everything_is_there_after_closing_and_reopening(qtbot, setup, make_window):
    project, ids, window = setup
    press(qtbot, window, Key.Key_D)
    press(qtbot, window, Key.Key_N)
    qtbot.keyClicks(window.panel.note_edit, "mayor or council?")
    press(qtbot, window, Key.Key_Return, widget=window.panel.note_edit)
    select(window, ARTICLE_ONE, "Priya Nair")
    press(qtbot, window, Key.Key_S)
    press(qtbot, window, Key.Key_F)
    press(qtbot, window, Key.Key_A)
    window.close()
    with Project.open(project.path) as again:
        assert again.annotation(ids[0], "ann").label == "denies"
        one = again.annotation(ids[1], "ann")
        assert (one.label, one.note, one.flagged) == ("asserts", "mayor or council?", True)
        assert ARTICLE_ONE[slice(*again.attribution(ids[1]).source[0])] == "Priya Nair"
    reopened = make_window(Project.open(project.path))
    assert reopened.current.id == ids[2]
    assert reopened.progress_label.text() == "2 / 5 labelled"


def label_everything_by_keyboard(qtbot, window) -> None:
    """Accept the suggestion where there is one, else press A; the last item does not advance."""
    total = window.queue.rowCount()
    for row in range(total):
        assert window.current_row == row
        press(qtbot, window, Key.Key_Return if window.current.suggestion else Key.Key_A)
    assert window.project.progress(window.annotator)[0] == total


def test_a_new_users_session_on_the_sample_project(qtbot, tmp_path, monkeypatch):
    """`make run`: type a name, label everything with the keyboard, close, reopen: all there."""
    from stancelabel.gui import app, dialogs

    target = tmp_path / "data" / "sample.stance"
    monkeypatch.setattr(app, "sample_project_path", lambda: target)
    monkeypatch.setattr(dialogs, "ask_annotator", lambda known, current="", parent=None: "Alice")
    window = app.open_main_window(None, sample=True)
    qtbot.addWidget(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    assert window.annotator == "Alice"
    label_everything_by_keyboard(qtbot, window)
    total = window.queue.rowCount()
    window.close()
    reopened = app.open_main_window(target)
    qtbot.addWidget(reopened)
    assert reopened.annotator == "Alice"  # remembered
    assert reopened.progress_label.text() == f"{total} / {total} labelled"
    reopened.close()


def test_the_seed_article_session(qtbot, shared_data, tmp_path, make_window):
    """Import the article the product was specified from, label it all, fix a speaker, undo, reopen."""
    from stancelabel.io.importer import ImportOptions, import_paths
    from stancelabel.nlp.pipeline import load_pipeline

    nlp, info = load_pipeline(None, detect=True)
    project = Project.open(tmp_path / "seed.stance", create=True)
    report = import_paths(project, [shared_data / "seed" / "article.txt"], ImportOptions(), nlp, info)
    assert report.attributions_added >= 6
    window = make_window(project)
    label_everything_by_keyboard(qtbot, window)
    window.go_to_row(0)
    first = window.current
    text = window.display.document(first.document_id)[0]
    wrong = first.source[0]
    window.pane.select_document_span(wrong[0], wrong[0] + 1)  # one letter: widened to its word
    press(qtbot, window, Key.Key_S)
    fixed = project.attribution(first.id)
    assert fixed.source != first.source and fixed.origin == "manual"
    given = project.annotation(first.id, "ann").label
    press(qtbot, window, Key.Key_Q if given != "qualifies" else Key.Key_A)  # relabel, then undo that label
    press(qtbot, window, Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert project.annotation(first.id, "ann").label == given
    labels_before_close = {a.attribution_id: a.label for a in project.annotations()}
    window.close()
    with Project.open(tmp_path / "seed.stance") as again:
        assert {a.attribution_id: a.label for a in again.annotations()} == labels_before_close
        assert again.attribution(first.id).source == fixed.source
        assert text[slice(*fixed.source[0])].strip()


def test_a_note_is_kept_when_the_mouse_leaves_the_field(qtbot, setup):
    project, ids, window = setup
    press(qtbot, window, Key.Key_N)
    qtbot.keyClicks(window.panel.note_edit, "typed, then clicked away")
    window.panel.buttons["denies"].setFocus()  # what a click on a label button does first
    qtbot.mouseClick(window.panel.buttons["denies"], Qt.MouseButton.LeftButton)
    wait_saved(qtbot, window)
    saved = on_disk(project, ids[0])
    assert (saved.note, saved.label) == ("typed, then clicked away", "denies")


def test_a_note_goes_to_the_item_it_was_typed_for(qtbot, setup, monkeypatch):
    project, ids, window = setup
    window.label("asserts")  # its commit arrives while the note is being typed
    window.labelling.edit_note()
    qtbot.keyClicks(window.panel.note_edit, "about the first")
    wait_saved(qtbot, window)
    press(qtbot, window, Key.Key_Return, widget=window.panel.note_edit)
    assert on_disk(project, ids[0]).note == "about the first"
    assert on_disk(project, ids[1]) is None


@pytest.mark.qt_log_ignore("does not support grabbing the keyboard", r"does not support raise\(\)")  # offscreen popup
def test_keys_typed_in_the_filter_controls_choose_there_and_do_not_label(qtbot, setup):
    project, ids, window = setup
    press(qtbot, window, Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    combo = window.view.show_combo
    combo.hidePopup()
    combo.setFocus()
    for key in (Key.Key_A, Key.Key_F, Key.Key_Down, Key.Key_Space):
        qtbot.keyClick(combo, key)
    wait_saved(qtbot, window)
    assert project.event_count() == 0
    press(qtbot, window, Key.Key_Escape, widget=combo)
    assert window.pane.hasFocus()


def test_the_document_list_works_from_the_keyboard(qtbot, setup):
    project, ids, window = setup
    press(qtbot, window, Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    documents = window.view.document_list
    assert documents.hasFocus()
    qtbot.keyClick(documents, Key.Key_Down)
    qtbot.keyClick(documents, Key.Key_Return)
    assert window.current.id == ids[4] and window.pane.hasFocus()
    assert project.event_count() == 0


def test_pressing_f_twice_before_the_save_lands_unflags(qtbot, setup):
    project, ids, window = setup
    window.labelling.toggle_flag()
    window.labelling.toggle_flag()
    wait_saved(qtbot, window)
    assert not on_disk(project, ids[0]).flagged
    assert not window.panel.ui.flag_box.isChecked()


def test_enter_after_renaming_the_suggested_label(qtbot, setup):
    project, ids, window = setup
    labels = project.labels()
    window.dialogs._save_schema([replace(labels[1], name="rejects"), labels[0], labels[2]])
    wait_saved(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    assert "★ suggested" in window.panel.buttons["rejects"].text()
    press(qtbot, window, Key.Key_Return)
    assert on_disk(project, ids[0]).label == "rejects" and window.current.id == ids[1]


def test_a_refused_label_does_not_stay_saving(qtbot, setup, monkeypatch):
    project, ids, window = setup
    monkeypatch.setattr(window.saver, "refused", window.saver.refused)  # keep the signal, drop the box
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: None)
    window.label("no such label")
    wait_saved(qtbot, window)
    assert "Saving" not in window.panel.ui.save_state.text()
    assert window.current.id == ids[0]


def test_switching_projects_asks_before_dropping_unsaved_changes(qtbot, setup, make_project, monkeypatch):
    import sqlite3

    from PySide6.QtWidgets import QMessageBox

    from stancelabel.gui import saver

    project, ids, window = setup
    other = make_project("other.stance")
    other_path = other.path
    other.close()
    window.saver.shutdown()
    window.labelling.saver = saver.Saver(project.path, window, busy_timeout_ms=50, retry_interval_ms=50)
    window.saver.state_changed.connect(window.labelling.update_save_state)
    blocker = sqlite3.connect(project.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    window.label("asserts")
    qtbot.waitUntil(lambda: window.saver.error is not None)
    monkeypatch.setattr(window.saver, "wait_until_idle", lambda _ms: False)
    answers = [QMessageBox.StandardButton.Cancel]
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: answers.pop(0))
    assert not window.open_path(str(other_path))
    assert window.project.path == project.path and window.saver.pending == 1
    blocker.execute("ROLLBACK")
    blocker.close()
    monkeypatch.undo()
    wait_saved(qtbot, window)
    assert on_disk(project, ids[0]).label == "asserts"


def test_crlf_in_a_document_keeps_marks_and_selections_in_place(qtbot, make_project, make_window):
    from stancelabel.core.model import ImportedAttribution, SourceDocument

    text = "Intro line.\r\nAnna said the bridge is safe.\r\nMore."
    project = make_project()
    at = text.index("said")
    project.add_document(SourceDocument("crlf", text, "x"), [(0, 11), (13, 42), (44, 49)], attributions=[
        (ImportedAttribution(((13, 17),), ((at, at + 4),), ((at + 5, 41),)), "auto")])
    window = make_window(project)
    from PySide6.QtGui import QTextCursor

    cursor = QTextCursor(window.pane.document())
    cursor.setPosition(window.pane.pane_position(at) + 1)
    assert cursor.charFormat().fontUnderline()
    window.pane.select_document_span(text.index("bridge"), text.index("bridge") + 6)
    assert window.pane.textCursor().selectedText() == "bridge"
    assert window.pane.selected_span() == (text.index("bridge"), text.index("bridge") + 6)


def test_a_typed_colour_shows_in_the_schema_editor(qtbot, setup):
    project, ids, window = setup
    editor = window.dialogs.edit_schema()
    qtbot.addWidget(editor)
    editor.ui.table.item(0, 2).setText("#123456")
    assert editor.ui.table.item(0, 2).data(Qt.ItemDataRole.DecorationRole).name() == "#123456"
    editor.reject()


def test_a_text_filter_over_a_big_project_runs_off_the_gui_thread(qtbot, setup, monkeypatch):
    from stancelabel.gui.main_window import queuing as main_window

    project, ids, window = setup
    monkeypatch.setattr(main_window, "ASYNC_FILTER_ABOVE", 0)  # every project counts as big here
    window.view.search_edit.setText("YEARS")
    qtbot.keyClick(window.view.search_edit, Key.Key_Return)
    assert "Filtering" in window.statusBar().currentMessage()
    press(qtbot, window, Key.Key_A)  # labelling goes on meanwhile
    job = lambda: window.queuing.filter_job  # noqa: E731
    qtbot.waitUntil(lambda: job() is not None and not job().running, timeout=10_000)
    assert list(window.queue.ids()) == [ids[4]]
    assert on_disk(project, ids[0]).label == "asserts"


def test_a_label_key_draws_the_panel_once_with_one_read_of_the_annotators_state(qtbot, setup, monkeypatch):
    project, ids, window = setup
    reads = []
    real = window.project.annotation
    monkeypatch.setattr(window.project, "annotation", lambda *a: reads.append(a) or real(*a))
    for key, kind in ((Key.Key_D, "label"), (Key.Key_F, "flag"), (Key.Key_J, "move")):
        before, reads[:] = window.display.panel_draws, []
        press(qtbot, window, key)
        qtbot.wait(100)  # past the moment after which a slow commit shows as "being saved"
        assert window.display.panel_draws - before == 1, kind
        assert len(reads) <= (2 if kind == "flag" else 1), kind  # a flag reads what it toggles
    assert on_disk(project, ids[0]).label == "denies" and on_disk(project, ids[1]).flagged
