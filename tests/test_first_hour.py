"""The annotator's first hour: keys that work at once, every attribution of a sentence in view, spans
fixed in a few keys. Keys go through the real widgets, to whichever widget has the focus, as a person
types them; the key-count goals are counted here (docs/benchmarks.md records them)."""

from __future__ import annotations

import pytest
from helpers import wait_saved
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtGui import QColor, QTextCursor
from PySide6.QtWidgets import QApplication

from stancelabel.core.model import ImportedAttribution, SourceDocument
from stancelabel.gui.models import ItemRole
from stancelabel.gui.reading_pane import snap_to_words
from stancelabel.gui.settings import Settings

Key = Qt.Key
TEXT = ("Bridge to close for repairs\n"
        "Police spokeswoman Anna Berg said the road would reopen on Friday. "
        "The mayor warned that delays were likely, and engineers claimed the bridge was safe.")


def span(part: str, occurrence: int = 1) -> tuple[tuple[int, int], ...]:
    at = -1
    for _ in range(occurrence):
        at = TEXT.index(part, at + 1)
    return ((at, at + len(part)),)


def sentences() -> list[tuple[int, int]]:
    first = TEXT.index("\n")
    second = TEXT.index("Friday.") + len("Friday.")
    return [(0, first), (first + 1, second), (second + 1, len(TEXT))]


@pytest.fixture
def bridge(make_project, qtbot, tmp_path):
    """A project whose detector got the first attribution's cue wrong ("reopen" for "said"), found the
    mayor's twice, and missed the engineers'; and a window opened on it as a user opens one."""
    from stancelabel.gui.main_window import MainWindow

    project = make_project()
    project.add_document(SourceDocument("bridge", TEXT, "bridge.txt", title="Bridge to close"), sentences(),
                         attributions=[
                             (ImportedAttribution(span("Police spokeswoman Anna Berg"), span("reopen"),
                                                  span("the road would reopen on Friday"), suggestion="asserts"),
                              "auto"),
                             (ImportedAttribution(span("The mayor"), span("warned"), span("delays were likely"),
                                                  suggestion="asserts"), "auto"),
                             (ImportedAttribution(span("The mayor"), span("warned"), span("delays were likely, and"),
                                                  suggestion="asserts"), "auto"),
                         ])
    ids = [a.id for a in project.attributions(project.document_ids()[0])]
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(project, annotator="ann", settings=settings)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return project, ids, window


class Keyboard:
    """Types into whatever has the focus, counting key presses (a chord such as Shift+End is one)."""

    def __init__(self, qtbot, window) -> None:
        self.qtbot, self.window, self.count = qtbot, window, 0

    def __call__(self, *keys) -> None:
        for key in keys:
            modifier = Qt.KeyboardModifier.NoModifier
            if isinstance(key, tuple):
                key, modifier = key
            target = QApplication.focusWidget() or self.window
            self.qtbot.keyClick(target, key, modifier)
            self.count += 1
            wait_saved(self.qtbot, self.window)


def test_the_first_key_labels_the_first_item(bridge, qtbot):
    project, ids, window = bridge
    assert QApplication.focusWidget() is window.pane
    Keyboard(qtbot, window)(Key.Key_1)
    assert project.annotation(ids[0], "ann").label == "asserts"
    assert window.current.id == ids[1]


def test_help_keys_work_from_the_start_and_escape_returns_to_the_text(bridge, qtbot):
    _, _, window = bridge
    keys = Keyboard(qtbot, window)
    window.view.show_combo.setCurrentIndex(window.view.show_combo.findData("label"))  # shows the label choice
    for field in (window.view.search_edit, window.view.speaker_edit, window.view.show_combo,
                  window.view.label_combo, window.view.document_only):
        assert field.isVisible() and field.isEnabled(), field.objectName()
        field.setFocus()
        qtbot.waitUntil(field.hasFocus)
        keys(Key.Key_Escape)
        assert QApplication.focusWidget() is window.pane, field.objectName()
    keys(Key.Key_F1)
    assert window.guidelines_dock.isVisible()
    keys(Key.Key_Question)
    assert window.dialogs._shortcuts_dialog.isVisible()


def test_the_focused_pane_is_marked(bridge, qtbot):
    _, _, window = bridge
    highlight = window.palette().color(window.palette().ColorRole.Highlight)

    def edge_colour() -> QColor:
        return window.pane.grab().toImage().pixelColor(window.pane.width() // 2, 0)

    assert window.pane.hasFocus()
    assert edge_colour() == highlight
    window.view.search_edit.setFocus()
    qtbot.waitUntil(lambda: not window.pane.hasFocus())
    assert edge_colour() != highlight


def test_every_attribution_of_the_sentence_is_drawn_and_tab_moves_through_them(bridge, qtbot):
    project, ids, window = bridge
    keys = Keyboard(qtbot, window)
    keys(Key.Key_J)
    assert window.current.id == ids[1]
    assert [m.attribution_id for m in window.pane.marks()] == [ids[1], ids[2]]
    chips = window.pane.chip_rects()
    assert [c[0] for c in chips] == [ids[1], ids[2]]
    assert not chips[0][2].intersects(chips[1][2]), "a duplicate shows as a second chip beside the first"
    assert "attribution 1 of 2 here" in window.view.location_label.text()
    keys(Key.Key_Tab)
    assert window.current.id == ids[2]
    keys((Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier))
    assert window.current.id == ids[1]
    keys(Key.Key_2)  # denies, and on to the duplicate: its chip and the first one's label show together
    assert window.current.id == ids[2]
    assert [c[1] for c in window.pane.chip_rects()] == ["denies", "no label"]


def test_a_click_on_another_attribution_goes_there(bridge, qtbot):
    _, ids, window = bridge
    window.go_to_row(1)
    pane = window.pane
    start = TEXT.index("delays were likely, and") + len("delays were likely, ")  # only the duplicate's content
    cursor = QTextCursor(pane.document())
    cursor.setPosition(pane.pane_position(start) + 1)
    point = pane.cursorRect(cursor).center()
    qtbot.mouseClick(pane.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(point.x(), point.y()))
    assert window.current.id == ids[2]


def test_rejected_attributions_are_struck_through_when_shown(bridge, qtbot):
    project, ids, window = bridge
    keys = Keyboard(qtbot, window)
    window.go_to_row(2)
    keys(Key.Key_X)  # the duplicate is not an attribution
    window.go_to_row(1)
    assert [m.attribution_id for m in window.pane.marks()] == [ids[1]]
    window.actions["show_rejected"].trigger()
    marks = window.pane.marks()
    assert [(m.attribution_id, m.rejected) for m in marks] == [(ids[1], False), (ids[2], True)]
    cursor = QTextCursor(window.pane.document())
    cursor.setPosition(window.pane.pane_position(TEXT.index(", and") + 3))
    assert cursor.charFormat().fontStrikeOut()


def test_one_queue_row_is_highlighted(bridge, qtbot):
    _, _, window = bridge
    keys = Keyboard(qtbot, window)
    view = window.view.queue_list
    highlight = view.palette().color(view.palette().ColorRole.Highlight)
    for key in (Key.Key_J, Key.Key_J, Key.Key_K):
        keys(key)
    image = view.viewport().grab().toImage()
    lit = [row for row in range(window.queue.rowCount())
           if image.pixelColor(3, view.rowViewportPosition(row) + view.rowHeight(row) // 2) == highlight]
    assert lit == [window.current_row] == [1]


def test_replacing_a_wrong_cue_takes_four_keys(bridge, qtbot):
    project, ids, window = bridge
    keys = Keyboard(qtbot, window)
    keys(Key.Key_Slash, Key.Key_S, Key.Key_A)  # "sa": only "said" starts so in this sentence
    keys(Key.Key_C)
    assert project.attribution(ids[0]).cue == span("said")
    assert keys.count <= 5
    assert window.pane.selection_offsets()[1] == span("said")[0][1], "the caret stays where the span ended"


def test_adding_a_missed_attribution_takes_thirteen_keys(bridge, qtbot):
    project, ids, window = bridge
    keys = Keyboard(qtbot, window)
    window.go_to_row(1)
    keys(Key.Key_Slash, Key.Key_C, Key.Key_Insert)  # "claimed" is a new attribution's cue
    new = window.current
    assert new.id not in ids and new.cue == span("claimed")
    keys(Key.Key_Slash, Key.Key_E, Key.Key_S)  # "engineers" is its source
    keys(Key.Key_Slash, Key.Key_T, Key.Key_H, Key.Key_E, Key.Key_Return)  # "the" (the second of two)
    keys((Key.Key_End, Qt.KeyboardModifier.ShiftModifier), Key.Key_T)  # ... to the sentence's end is the content
    added = project.attribution(new.id)
    assert (added.source, added.cue, added.content) == (span("engineers"), span("claimed"),
                                                         span("the bridge was safe"))
    assert keys.count <= 15
    assert keys.count == 13


@pytest.mark.parametrize(("text", "selected", "keep_quotes", "expected"), [
    ("Spokesman John Kirby, who", "John Kirby, ", False, "John Kirby"),
    ("It was (the U.S.) that", " (the U.S.) ", False, "the U.S."),
    ("He said “We will,” and left", "“We will,” ", True, "“We will,”"),
    ("He said “We will,” and left", "“We will,” ", False, "We will"),
    ("Spokesman John Kirby said", "ohn Kirb", False, "John Kirby"),
])
def test_selections_are_trimmed_as_annotators_mean_them(text, selected, keep_quotes, expected):
    start = text.index(selected)
    got = snap_to_words(text, start, start + len(selected), keep_quotes)
    assert text[got[0]:got[1]] == expected


def test_double_click_selects_a_word(bridge, qtbot):
    _, _, window = bridge
    pane = window.pane
    cursor = QTextCursor(pane.document())
    cursor.setPosition(pane.pane_position(TEXT.index("Berg")) + 1)
    point = pane.cursorRect(cursor).center()
    qtbot.mouseDClick(pane.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(point.x(), point.y()))
    assert pane.selected_span() == span("Berg")[0]


def test_queue_rows_tell_items_apart(bridge, qtbot):
    project, ids, window = bridge
    keys = Keyboard(qtbot, window)
    keys(Key.Key_2)  # denies, on to the mayor's
    keys(Key.Key_F)
    window.labelling.edit_note()
    qtbot.keyClicks(window.panel.note_edit, "same as the next one?")
    keys(Key.Key_Return)
    first, second, third = (window.queue.index(row) for row in range(3))
    item = first.data(ItemRole)
    assert (item.label, item.cue_text, item.content_text, item.sentence_index) == \
        ("denies", "reopen", "the road would reopen on Friday", 1)
    assert (second.data(ItemRole).flagged, second.data(ItemRole).noted) == (True, True)
    assert second.data(ItemRole).content_text != third.data(ItemRole).content_text  # the duplicate differs here
    assert "The mayor warned that delays were likely" in second.data(Qt.ItemDataRole.ToolTipRole)
    view = window.view.queue_list
    image = view.viewport().grab().toImage()
    colour = QColor(next(x.colour for x in window.labels if x.name == "denies"))
    middle = view.rowViewportPosition(0) + view.rowHeight(0) // 4
    assert any(image.pixelColor(x, middle) == colour for x in range(4, 40)), "the label chip in its colour"


def test_undoing_a_new_attribution_removes_it_and_says_so(bridge, qtbot):
    project, ids, window = bridge
    keys = Keyboard(qtbot, window)
    window.go_to_row(1)
    keys(Key.Key_Slash, Key.Key_C, Key.Key_Insert)
    new = window.current.id
    keys((Key.Key_Z, Qt.KeyboardModifier.ControlModifier))
    assert window.statusBar().currentMessage() == "Undone: attribution added by you removed."
    assert project.attribution(new).status == "withdrawn"
    assert window.queue.row_of(new) is None
    assert new not in [m.attribution_id for m in window.pane.marks()]
    keys(Key.Key_2)
    keys((Key.Key_Z, Qt.KeyboardModifier.ControlModifier))
    assert window.statusBar().currentMessage() == "Undone: label “denies” removed."


def test_typing_a_whole_word_after_the_jump_is_safe(bridge, qtbot):
    project, ids, window = bridge
    keys = Keyboard(qtbot, window)
    keys(Key.Key_Slash, Key.Key_S, Key.Key_A, Key.Key_I, Key.Key_D)  # "a" spells "said" on: not the asserts key
    assert project.annotation(ids[0], "ann") is None
    assert window.pane.selected_span() == span("said")[0]
    keys(Key.Key_C)  # does not spell "said" on: the cue key
    assert project.attribution(ids[0]).cue == span("said")
    keys(Key.Key_A)  # the jump is over: A labels
    assert project.annotation(ids[0], "ann").label == "asserts"


def test_a_jump_then_ctrl_shift_right_takes_a_name(bridge, qtbot):
    project, ids, window = bridge
    keys = Keyboard(qtbot, window)
    control_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    keys(Key.Key_Slash, Key.Key_A, (Key.Key_Right, control_shift), Key.Key_S)
    assert project.attribution(ids[0]).source == span("Anna Berg")
