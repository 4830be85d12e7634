"""Every action of the window in one table: its name, text, keys, tip, handler and menu.

The menus, the toolbar, the shortcut overview (?) and the keys a label may not
take are all made from this table, so an action is added or changed here and
nowhere else. A handler is a dotted path from the window ("queuing.next_item")
or a function of the window; it runs inside one render batch, so whatever it
changes is drawn once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

from stancelabel.core.labels import RESERVED_KEYS
from stancelabel.gui.dialogs import shortcut_text

if TYPE_CHECKING:
    from stancelabel.gui.main_window.window import MainWindow

Std = QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    handler: str | Callable[[MainWindow], Any]
    keys: tuple[str | QKeySequence.StandardKey, ...] = ()
    tip: str = ""
    checkable: bool = False
    #: the keys work in the reading pane only (Tab must still move between fields elsewhere)
    pane_only: bool = False


A = ActionSpec
ACTIONS: tuple[ActionSpec, ...] = (
    A("new", "&New project…", "new_project", (Std.New,), "Create an empty project file"),
    A("open", "&Open project…", "open_project", (Std.Open,), "Open a project file"),
    A("import_files", "&Import files…", "files.import_files", ("Ctrl+I",),
      "Import text, JSONL, CSV or BRAT files into this project (or drop them on the window)"),
    A("import_folder", "Import &folder…", "files.import_folder", ("Ctrl+Shift+I",), "Import every file in a folder"),
    A("export", "&Export labels…", "files.export_labels", ("Ctrl+E",),
      "Write labels as JSONL, CSV, spaCy or BRAT training data"),
    A("quit", "&Quit", "close", ("Ctrl+Q",)),
    A("undo", "&Undo", "labelling.undo", ("Ctrl+Z",), "Undo your last change (also after a restart)"),
    A("redo", "&Redo", "labelling.redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo what was undone"),
    A("find", "&Search sentences…", "queuing.focus_search", ("Ctrl+F",), "Search the sentences of the queue"),
    A("speaker", "Filter by s&peaker…", "queuing.focus_speaker", ("Ctrl+Shift+F",),
      "Show one speaker's attributions"),
    A("filters", "&Show in the queue…", "queuing.focus_filters", ("Ctrl+L",),
      "Choose what the queue holds (arrows and Enter; Esc returns)"),
    A("documents", "Go to a &document…", "queuing.focus_documents", ("Ctrl+D",),
      "The document list: arrows, then Enter goes to the document's first item"),
    A("schema", "&Label schema…", "dialogs.edit_schema", (), "Add, rename, recolour and reorder labels"),
    A("next", "&Next", "queuing.next_item", ("J", "Down", "Right"), "Next attribution"),
    A("previous", "&Previous", "queuing.previous_item", ("K", "Up", "Left"), "Previous attribution"),
    A("skip", "&Skip", "queuing.next_item", ("Space",), "Leave this one for now and go on"),
    A("next_here", "Next in this s&entence", lambda w: w.queuing.step_in_sentence(1), ("Tab",),
      "The next attribution of the same sentence (a click on one goes there too)", pane_only=True),
    A("previous_here", "Previous in this sen&tence", lambda w: w.queuing.step_in_sentence(-1), ("Shift+Tab",),
      pane_only=True),
    A("next_unlabelled", "Next &unlabelled", "queuing.next_unlabelled", ("U",),
      "The next attribution you have not labelled"),
    A("first", "&First", lambda w: w.queuing.go_to_row(0), ("Home",)),
    A("last", "&Last", lambda w: w.queuing.go_to_row(w.queuing.queue.rowCount() - 1), ("End",)),
    A("accept", "&Accept suggestion", "labelling.accept_suggestion", ("Return", "Enter"), "Give the suggested label"),
    A("clear", "&Clear my label", lambda w: w.labelling.label(None), ("Backspace", "Delete")),
    A("note", "Edit &note", "labelling.edit_note", ("N",), "Write a note on this attribution"),
    A("flag", "&Flag as unsure", "labelling.toggle_flag", ("F",), "Mark it for the project lead's review"),
    A("reject", "Not an &attribution", "labelling.reject_attribution", ("X",),
      "It leaves the queue and stays in the file as a negative example"),
    A("edit_mode", "&Select text with the keyboard", "spans.enter_edit_mode", ("E",),
      "Move a caret in the text with the arrows (Ctrl: by word), select with Shift; Esc leaves"),
    A("jump", "&Jump to a word…", "spans.start_jump", ("/",),
      "Type a word's first letters to select it (Tab: the next match, Enter: take it)"),
    A("set_source", "Selection is the s&ource", lambda w: w.spans.set_role("source"), ("S",)),
    A("set_cue", "Selection is the &cue", lambda w: w.spans.set_role("cue"), ("C",)),
    A("set_content", "Selection is the con&tent", lambda w: w.spans.set_role("content"), ("T",)),
    A("add_content", "&Add selection to the content", lambda w: w.spans.set_role("content", add=True),
      ("Shift+T",), "For content split around the cue"),
    A("new_attribution", "&New attribution from selection", "spans.add_attribution", ("Ctrl+Shift+N", "Insert"),
      "The selected words become the cue of a new attribution"),
    A("bigger", "&Bigger text", lambda w: w.display.change_font(1), ("Ctrl++", "Ctrl+=")),
    A("smaller", "&Smaller text", lambda w: w.display.change_font(-1), ("Ctrl+-",)),
    A("more_context", "&More context", lambda w: w.display.change_context(1), ("]",), "One more sentence on each side"),
    A("less_context", "&Less context", lambda w: w.display.change_context(-1), ("[",)),
    A("paragraph", "Whole &paragraph", "display.toggle_paragraph", ("P",), "Show the whole paragraph", checkable=True),
    A("show_rejected", "Show &rejected attributions", "display.toggle_rejected", (),
      "Draw the sentence's rejected attributions too, struck through", checkable=True),
    A("switch_annotator", "S&witch annotator…", "switch_annotator", ("Ctrl+Shift+U",)),
    A("agreement", "&Agreement…", "reviewing.show_agreement", ("Ctrl+Shift+G",),
      "How far the annotators agree: the figures, a confusion matrix per pair, each one's labels"),
    A("split", "&Split for annotators…", "files.split_project", (),
      "One project file per annotator with a share of the documents"),
    A("merge", "&Merge files…", "files.merge_files", (), "Merge annotators' project files into a new project"),
    A("join", "&Work on a shared project…", "files.join_shared", (),
      "Make a working copy of a shared project on a PostgreSQL server; it syncs in the background"),
    A("review", "&Review mode (adjudicate)", "reviewing.toggle_review", ("Ctrl+R",),
      "See every annotator's label and set the gold label; Enter takes the majority", checkable=True),
    A("shortcuts", "&Keyboard shortcuts", "dialogs.show_shortcuts", ("?", "Shift+?")),
    A("guidelines", "&Guidelines", "dialogs.toggle_guidelines", ("F1",),
      "The project's annotation guidelines, beside the text", checkable=True),
    A("dialogs.edit_guidelines", "Edit &guidelines…", "dialogs.edit_guidelines", (),
      "Change the project's annotation guidelines (Markdown)"),
    A("target", "Document &target…", "dialogs.edit_target", ("G",), "The claim this document's stances are about"),
    A("about", "&About StanceLabel", "dialogs.show_about"),
)

#: Menus in order, their actions in order (None: a separator).
MENUS: dict[str, tuple[str | None, ...]] = {
    "&File": ("new", "open", None, "import_files", "import_folder", "export", None, "quit"),
    "&Edit": ("undo", "redo", None, "find", "speaker", "filters", None, "target", None, "schema",
              "dialogs.edit_guidelines"),
    "&Go": ("next", "previous", "skip", "next_unlabelled", None, "next_here", "previous_here", None, "first", "last",
            None, "documents"),
    "&Label": ("accept", "clear", None, "note", "flag", "reject"),
    "&Attribution": ("edit_mode", "jump", None, "set_source", "set_cue", "set_content", "add_content", None,
                     "new_attribution"),
    "&View": ("bigger", "smaller", None, "more_context", "less_context", "paragraph", "show_rejected"),
    "A&nnotator": ("switch_annotator",),
    "&Team": ("agreement", "review", None, "split", "merge", None, "join"),
    "&Help": ("guidelines", "shortcuts", None, "about"),
}
TOOLBAR = ("open", "import_files", None, "undo", "redo", None, "previous", "next", "next_unlabelled", None, "target",
           "schema", "guidelines", "shortcuts")
THEMES = ("system", "light", "dark")


def single_keys(specs: tuple[ActionSpec, ...] = ACTIONS) -> set[str]:
    """The plain one-character keys the table gives actions (a label may not take them)."""
    return {key.upper() for spec in specs for key in spec.keys if isinstance(key, str) and len(key) == 1}


# The labels' keys are checked against core.labels.RESERVED_KEYS (the CLI checks there too, without Qt):
# the table must not use a key that list does not reserve.
assert single_keys() <= RESERVED_KEYS, single_keys() - RESERVED_KEYS


def handler_of(window: MainWindow, handler: str | Callable[[MainWindow], Any]) -> Callable[[], Any]:
    if callable(handler):
        return lambda: handler(window)
    target: Any = window
    for part in handler.split("."):
        target = getattr(target, part)
    return target


def make_action(window: MainWindow, name: str, text: str, slot: Callable[[], Any], keys=(), tip: str = "",
                checkable: bool = False, pane_only: bool = False) -> QAction:
    """One action, added to the window; its slot runs inside one render batch."""
    action = QAction(text, window)
    action.setObjectName(name)
    if keys:
        action.setShortcuts([QKeySequence(k) for k in keys])
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(f"{text.replace('&', '').rstrip('…')} ({shortcut_text(action.shortcuts())})" if keys else tip)
    action.setCheckable(checkable)

    def triggered(_checked: bool = False) -> None:
        with window.display.batch():
            slot()

    action.triggered.connect(triggered)
    if pane_only:
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        window.pane.addAction(action)
    else:
        window.addAction(action)
    window.actions[name] = action
    return action


def build(window: MainWindow) -> None:
    """The window's actions, menus and toolbar, from the table."""
    window.actions = {}
    for spec in ACTIONS:
        make_action(window, spec.name, spec.text, _late(window, spec.handler), spec.keys, spec.tip, spec.checkable,
                    spec.pane_only)
    window.theme_group = QActionGroup(window)
    for theme in THEMES:
        action = make_action(window, f"theme_{theme}", theme.capitalize(), lambda t=theme: window.display.set_theme(t),
                             checkable=True)
        action.setChecked(theme == window.settings.theme)
        window.theme_group.addAction(action)
    bar = window.menuBar()
    window.menus = {}
    for title, names in MENUS.items():
        menu = bar.addMenu(title)
        window.menus[title.replace("&", "")] = menu
        for name in names:
            if name is None:
                menu.addSeparator()
            else:
                menu.addAction(window.actions[name])
    window.recent_menu = QMenu("Open &recent", window)
    window.menus["File"].insertMenu(window.actions["import_files"], window.recent_menu)
    window.recent_menu.aboutToShow.connect(window.fill_recent)
    theme_menu = window.menus["View"].addMenu("&Theme")
    for action in window.theme_group.actions():
        theme_menu.addAction(action)
    window.label_menu_anchor = window.menus["Label"].insertSeparator(window.actions["accept"])
    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("main_toolbar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    for name in TOOLBAR:
        if name is None:
            toolbar.addSeparator()
        else:
            toolbar.addAction(window.actions[name])


def _late(window: MainWindow, handler: str | Callable[[MainWindow], Any]) -> Callable[[], Any]:
    """The handler looked up when the action fires (controllers are replaced when a project opens)."""
    return lambda: handler_of(window, handler)()


def shortcut_groups(window: MainWindow, skip: set[QAction]) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """(menu title, [(action text, keys)]) for the overview, in menu order; ``skip``: the label actions."""
    for title, menu in window.menus.items():
        entries = [(action.text().replace("&", ""), shortcut_text(action.shortcuts()))
                   for action in menu.actions() if action.shortcuts() and action not in skip]
        if entries:
            yield title, entries
