"""The annotation window: the queue, the reading pane, the label panel, and every key.

The window reads through its own connection on the GUI thread and writes
through the Saver (a worker thread with a second connection): a key press
queues the change, and the next item shows once the change is committed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QEvent, QModelIndex, QObject, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QColor, QFont, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTextBrowser,
    QToolButton,
)

from stancelabel.core.errors import ProjectFileError, StanceLabelError
from stancelabel.core.model import Annotation, Attribution, QueueFilter, Sentence
from stancelabel.core.projectfile import existing_companions, no_new_companions, remove_companions_since
from stancelabel.gui.dialogs import (
    GuidelinesEditor,
    SchemaEditor,
    ShortcutsDialog,
    TargetDialog,
    ask_annotator,
    shortcut_text,
)
from stancelabel.gui.forms import load_form
from stancelabel.gui.label_panel import LabelPanel, majority, review_html
from stancelabel.gui.lock import ProjectLock
from stancelabel.gui.markup import escape, show_markdown
from stancelabel.gui.models import DocumentListModel, IdRole, ProgressRole, QueueModel
from stancelabel.gui.reading_pane import ReadingPane
from stancelabel.gui.saver import Saver
from stancelabel.gui.settings import FONT_SIZES, Settings
from stancelabel.gui.theme import apply_theme
from stancelabel.store.project import Project, check_project_path

#: Single keys the window uses itself; a label may not take them.
RESERVED_KEYS = frozenset("JKNFESCTXUPG?[]")
SHOW_CHOICES = (("all", "All attributions"), ("unlabelled", "Not yet labelled by me"),
                ("flagged", "Flagged by me"), ("label", "Labelled by me as"),
                ("disputed", "Disputed (annotators differ)"), ("multiple", "Labelled by several"))
REVIEW_SHOWS = ("disputed", "multiple")
#: Text filters over more attributions than this run on a worker thread (about 2 s per million).
ASYNC_FILTER_ABOVE = 200_000
NNBSP = "\u202f"


def count(n: int) -> str:
    """5210 as "5 210": digits grouped by a narrow space, as the status bar shows counts."""
    return f"{n:,}".replace(",", NNBSP)


_COMMAND_MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                      | Qt.KeyboardModifier.MetaModifier)


class _KeepKeys(QObject):
    """Lets a widget keep keys the window would take as shortcuts (typing in a field, choosing in a list).

    ``keys``: those keys; None: every key pressed without Ctrl, Alt or Meta.
    """

    def __init__(self, keys: set[int] | None, on_key=None, active=lambda: True, on_focus_in=None,
                 parent=None) -> None:
        super().__init__(parent)
        self._keys, self._on_key, self._active, self._on_focus_in = keys, on_key, active, on_focus_in

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride and self._active():
            plain = not (event.modifiers() & _COMMAND_MODIFIERS)
            if (event.key() in self._keys) if self._keys is not None else plain:
                event.accept()
                return True
        elif kind == QEvent.Type.KeyPress and self._on_key is not None and self._active():
            return bool(self._on_key(event))
        elif kind == QEvent.Type.FocusIn and self._on_focus_in is not None:
            self._on_focus_in()
        return False


class DocumentDelegate(QStyledItemDelegate):
    """A document row: its title, and a thin bar of the annotator's progress."""

    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        return QSize(200, option.fontMetrics.height() * 2 + 14)

    def paint(self, painter: QPainter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        done, total = index.data(ProgressRole) or (0, 0)
        rect = option.rect.adjusted(8, 5, -8, -5)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        text_colour = option.palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        painter.save()
        painter.setPen(text_colour)
        line = option.fontMetrics.height()
        title = option.fontMetrics.elidedText(index.data() or "", Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(QRect(rect.left(), rect.top(), rect.width(), line), Qt.AlignmentFlag.AlignLeft, title)
        counts = f"{count(done)} / {count(total)}"
        counts_width = option.fontMetrics.horizontalAdvance(counts) + 8
        bar = QRect(rect.left(), rect.top() + line + 5, max(rect.width() - counts_width, 10), 5)
        painter.setPen(Qt.PenStyle.NoPen)
        groove = QColor(text_colour)
        groove.setAlpha(45)
        painter.setBrush(groove)
        painter.drawRoundedRect(bar, 2, 2)
        if total:
            filled = QRect(bar.left(), bar.top(), max(int(bar.width() * done / total), 2 if done else 0), bar.height())
            painter.setBrush(QColor("#2e7d32") if done == total else option.palette.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(filled, 2, 2)
        painter.setPen(text_colour)
        small = QFont(option.font)
        small.setPointSizeF(max(option.font.pointSizeF() * 0.85, 7))
        painter.setFont(small)
        painter.drawText(QRect(bar.right() + 6, bar.top() - line // 2, counts_width, line),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, counts)
        painter.restore()


class MainWindow(QMainWindow):
    """One project, one annotator: label attributions with the keyboard, edit their spans."""

    def __init__(self, project: Project, pipeline_note: str | None = None, annotator: str | None = None,
                 settings: Settings | None = None, lock: ProjectLock | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.project: Project | None = None
        self.saver: Saver | None = None
        self.lock: ProjectLock | None = None
        self.import_job = None
        self.export_job = None
        self.annotator = annotator or self.settings.annotator
        self.current: Attribution | None = None
        self.current_row: int | None = None
        self._document_cache: tuple[int, str, list[Sentence], str] | None = None
        self._pending_labels: dict[int, str] = {}
        self._pending_notes: dict[int, str] = {}
        self._pending_flags: dict[int, bool] = {}
        self._note_for: int | None = None
        self._paragraph = False
        self.review = False
        self._progress = [0, 0]
        self._filter_job = None
        self._edit_mode = False
        self._label_actions: list[QAction] = []

        self.view = load_form("annotation_view", self)
        self.setCentralWidget(self.view)
        self.pane = ReadingPane()
        self.pane.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view.reading_holder_layout.addWidget(self.pane)
        self.panel = LabelPanel()
        self.view.label_holder_layout.addWidget(self.panel)
        self.view.splitter.setStretchFactor(0, 1)
        self.view.splitter.setStretchFactor(1, 4)
        self.view.splitter.setStretchFactor(2, 1)
        self.view.splitter.setSizes([260, 640, 300])
        self.view.document_list.setItemDelegate(DocumentDelegate(self.view.document_list))
        # A table view, not a list view: QListView lays out every row, which a million rows make slow.
        rows = self.view.queue_list.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)
        for key, text in SHOW_CHOICES:
            self.view.show_combo.addItem(text, key)
        self.setAcceptDrops(True)
        self._build_status_bar()
        self._build_actions()
        self._build_menus()
        self._build_guidelines_dock()
        self._connect_widgets()
        self._apply_view_settings()
        self._restore_layout()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(700)
        self._refresh_timer.timeout.connect(self._refresh_after_import)
        self.set_project(project, pipeline_note, lock=lock)

    # -- building --------------------------------------------------------------------------

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.annotator_button = QToolButton()
        self.annotator_button.setAutoRaise(True)
        self.annotator_button.setToolTip("The annotator labelling now (Ctrl+Shift+U switches)")
        self.annotator_button.clicked.connect(self.switch_annotator)
        self.progress_label = QLabel()
        self.pipeline_label = QLabel()
        self.save_label = QLabel()
        self.import_bar = QProgressBar()
        self.import_bar.setMaximumWidth(180)
        self.import_bar.setVisible(False)
        self.import_cancel = QPushButton("Cancel import")
        self.import_cancel.setVisible(False)
        self.import_cancel.clicked.connect(self.cancel_import)
        bar.addWidget(self.annotator_button)
        bar.addWidget(self.progress_label)
        bar.addPermanentWidget(self.import_bar)
        bar.addPermanentWidget(self.import_cancel)
        self.export_label = QLabel()
        self.export_label.setVisible(False)
        self.export_cancel = QPushButton("Cancel export")
        self.export_cancel.setVisible(False)
        self.export_cancel.clicked.connect(self.cancel_export)
        bar.addPermanentWidget(self.export_label)
        bar.addPermanentWidget(self.export_cancel)
        bar.addPermanentWidget(self.pipeline_label)
        bar.addPermanentWidget(self.save_label)

    def _action(self, name: str, text: str, slot, shortcuts=(), tip: str = "", checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcuts:
            action.setShortcuts([QKeySequence(s) if isinstance(s, str) else QKeySequence(s) for s in shortcuts])
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{text.replace('&', '').rstrip('…')} ({shortcut_text(action.shortcuts())})"
                              if shortcuts else tip)
        action.setCheckable(checkable)
        action.triggered.connect(lambda checked=False: slot())
        self.addAction(action)
        self.actions[name] = action
        return action

    def _build_actions(self) -> None:
        self.actions: dict[str, QAction] = {}
        Std = QKeySequence.StandardKey  # noqa: N806
        a = self._action
        a("new", "&New project…", self.new_project, [Std.New], "Create an empty project file")
        a("open", "&Open project…", self.open_project, [Std.Open], "Open a project file")
        a("import_files", "&Import files…", self.import_files, ["Ctrl+I"],
          "Import text, JSONL, CSV or BRAT files into this project (or drop them on the window)")
        a("import_folder", "Import &folder…", self.import_folder, ["Ctrl+Shift+I"], "Import every file in a folder")
        a("export", "&Export labels…", self.export_labels, ["Ctrl+E"],
          "Write labels as JSONL, CSV, spaCy or BRAT training data")
        a("quit", "&Quit", self.close, ["Ctrl+Q"])
        a("undo", "&Undo", self.undo, ["Ctrl+Z"], "Undo your last change (also after a restart)")
        a("redo", "&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo what was undone")
        a("find", "&Search sentences…", self.focus_search, ["Ctrl+F"], "Search the sentences of the queue")
        a("speaker", "Filter by s&peaker…", self.focus_speaker, ["Ctrl+Shift+F"], "Show one speaker's attributions")
        a("filters", "&Show in the queue…", self.focus_filters, ["Ctrl+L"],
          "Choose what the queue holds (arrows and Enter; Esc returns)")
        a("documents", "Go to a &document…", self.focus_documents, ["Ctrl+D"],
          "The document list: arrows, then Enter goes to the document's first item")
        a("schema", "&Label schema…", self.edit_schema, [], "Add, rename, recolour and reorder labels")
        a("next", "&Next", self.next_item, ["J", "Down", "Right"], "Next attribution")
        a("previous", "&Previous", self.previous_item, ["K", "Up", "Left"], "Previous attribution")
        a("skip", "&Skip", self.next_item, ["Space"], "Leave this one for now and go on")
        a("next_unlabelled", "Next &unlabelled", self.next_unlabelled, ["U"],
          "The next attribution you have not labelled")
        a("first", "&First", lambda: self.go_to_row(0), ["Home"])
        a("last", "&Last", lambda: self.go_to_row(self.queue.rowCount() - 1), ["End"])
        a("accept", "&Accept suggestion", self.accept_suggestion, ["Return", "Enter"],
          "Give the suggested label")
        a("clear", "&Clear my label", lambda: self.label(None), ["Backspace", "Delete"])
        a("note", "Edit &note", self.edit_note, ["N"], "Write a note on this attribution")
        a("flag", "&Flag as unsure", self.toggle_flag, ["F"], "Mark it for the project lead's review")
        a("reject", "Not an &attribution", self.reject_attribution, ["X"],
          "It leaves the queue and stays in the file as a negative example")
        a("edit_mode", "&Select text with the keyboard", self.enter_edit_mode, ["E"],
          "Move a caret in the text with the arrows, select with Shift; Esc leaves")
        a("set_source", "Selection is the s&ource", lambda: self.set_role("source"), ["S"])
        a("set_cue", "Selection is the &cue", lambda: self.set_role("cue"), ["C"])
        a("set_content", "Selection is the con&tent", lambda: self.set_role("content"), ["T"])
        a("add_content", "&Add selection to the content", lambda: self.set_role("content", add=True),
          ["Shift+T"], "For content split around the cue")
        a("new_attribution", "&New attribution from selection", self.add_attribution,
          ["Ctrl+Shift+N", "Insert"], "The selected words become the cue of a new attribution")
        a("bigger", "&Bigger text", lambda: self.change_font(1), ["Ctrl++", "Ctrl+="])
        a("smaller", "&Smaller text", lambda: self.change_font(-1), ["Ctrl+-"])
        a("more_context", "&More context", lambda: self.change_context(1), ["]"], "One more sentence on each side")
        a("less_context", "&Less context", lambda: self.change_context(-1), ["["])
        a("paragraph", "Whole &paragraph", self.toggle_paragraph, ["P"], "Show the whole paragraph", checkable=True)
        a("switch_annotator", "S&witch annotator…", self.switch_annotator, ["Ctrl+Shift+U"])
        a("agreement", "&Agreement…", self.show_agreement, ["Ctrl+Shift+G"],
          "How far the annotators agree: the figures, a confusion matrix per pair, each one's labels")
        a("split", "&Split for annotators…", self.split_project, [],
          "One project file per annotator with a share of the documents")
        a("merge", "&Merge files…", self.merge_files, [], "Merge annotators' project files into a new project")
        a("review", "&Review mode (adjudicate)", self.toggle_review, ["Ctrl+R"],
          "See every annotator's label and set the gold label; Enter takes the majority", checkable=True)
        a("shortcuts", "&Keyboard shortcuts", self.show_shortcuts, ["?", "Shift+?"])
        a("guidelines", "&Guidelines", self.toggle_guidelines, ["F1"],
          "The project's annotation guidelines, beside the text", checkable=True)
        a("edit_guidelines", "Edit &guidelines…", self.edit_guidelines, [],
          "Change the project's annotation guidelines (Markdown)")
        a("target", "Document &target…", self.edit_target, ["G"],
          "The claim this document's stances are about")
        a("about", "&About StanceLabel", self.show_about)
        self.theme_group = QActionGroup(self)
        for theme in ("system", "light", "dark"):
            action = QAction(theme.capitalize(), self, checkable=True)
            action.setObjectName(f"theme_{theme}")
            action.setChecked(theme == self.settings.theme)
            action.triggered.connect(lambda _checked=False, t=theme: self.set_theme(t))
            self.theme_group.addAction(action)
            self.actions[f"theme_{theme}"] = action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        menus = {
            "&File": ["new", "open", None, "import_files", "import_folder", "export", None, "quit"],
            "&Edit": ["undo", "redo", None, "find", "speaker", "filters", None, "target", None, "schema",
                      "edit_guidelines"],
            "&Go": ["next", "previous", "skip", "next_unlabelled", None, "first", "last", None, "documents"],
            "&Label": ["accept", "clear", None, "note", "flag", "reject"],
            "&Attribution": ["edit_mode", None, "set_source", "set_cue", "set_content", "add_content", None,
                             "new_attribution"],
            "&View": ["bigger", "smaller", None, "more_context", "less_context", "paragraph"],
            "A&nnotator": ["switch_annotator"],
            "&Team": ["agreement", "review", None, "split", "merge"],
            "&Help": ["guidelines", "shortcuts", None, "about"],
        }
        self.menus = {}
        for title, names in menus.items():
            menu = bar.addMenu(title)
            self.menus[title.replace("&", "")] = menu
            for name in names:
                if name is None:
                    menu.addSeparator()
                else:
                    menu.addAction(self.actions[name])
        self.recent_menu = QMenu("Open &recent", self)
        self.menus["File"].insertMenu(self.actions["import_files"], self.recent_menu)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        theme_menu = self.menus["View"].addMenu("&Theme")
        for action in self.theme_group.actions():
            theme_menu.addAction(action)
        self.label_menu_anchor = self.menus["Label"].insertSeparator(self.actions["accept"])
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for name in ("open", "import_files", None, "undo", "redo", None, "previous", "next", "next_unlabelled",
                     None, "target", "schema", "guidelines", "shortcuts"):
            if name is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(self.actions[name])

    def _build_guidelines_dock(self) -> None:
        self.guidelines_dock = QDockWidget("Guidelines", self)
        self.guidelines_dock.setObjectName("guidelines_dock")
        self.guidelines_view = QTextBrowser()
        self.guidelines_view.setOpenExternalLinks(False)
        self.guidelines_view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.guidelines_dock.setWidget(self.guidelines_view)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.guidelines_dock)
        self.guidelines_dock.hide()
        self.guidelines_dock.visibilityChanged.connect(self.actions["guidelines"].setChecked)

    def _connect_widgets(self) -> None:
        v = self.view
        v.queue_list.clicked.connect(lambda index: self.go_to_row(index.row()))
        v.document_list.clicked.connect(self._on_document_clicked)
        v.show_combo.currentIndexChanged.connect(lambda _i: self.apply_filter())
        v.label_combo.currentIndexChanged.connect(lambda _i: self._label_filter_changed())
        v.document_only.toggled.connect(lambda _on: self.apply_filter())
        for edit in (v.search_edit, v.speaker_edit):
            edit.installEventFilter(_KeepKeys({Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape,
                                               Qt.Key.Key_Up, Qt.Key.Key_Down}, self._filter_edit_key,
                                              parent=edit))
            edit.textChanged.connect(lambda text: self.apply_filter() if not text else None)
        note = self.panel.note_edit
        note.installEventFilter(_KeepKeys({Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape,
                                           Qt.Key.Key_Up, Qt.Key.Key_Down}, self._note_key,
                                          on_focus_in=self._note_focused, parent=note))
        note.editingFinished.connect(self._commit_note)  # Enter, or the field losing focus
        for widget in (v.show_combo, v.label_combo, v.document_only):
            widget.installEventFilter(_KeepKeys(None, self._to_pane_on_escape, parent=widget))
        v.document_list.installEventFilter(_KeepKeys(None, self._document_list_key, parent=v.document_list))
        v.document_list.activated.connect(self._on_document_clicked)
        caret_keys = {Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home,
                      Qt.Key.Key_End, Qt.Key.Key_Escape}
        self.pane.installEventFilter(_KeepKeys(caret_keys, self._pane_key, active=lambda: self._edit_mode,
                                               parent=self.pane))
        self.panel.label_clicked.connect(self.label)
        self.panel.flag_clicked.connect(self.toggle_flag)

    def _apply_view_settings(self) -> None:
        self.roles = apply_theme(self.settings.theme)
        self.pane.set_roles(self.roles)
        font = QFont(self.pane.font())
        font.setPointSize(self.settings.font_size)
        self.pane.setFont(font)
        self.pane.document().setDefaultFont(font)
        self.actions["paragraph"].setChecked(self._paragraph)
        r = self.roles
        self.view.target_label.setStyleSheet(
            f"QLabel {{ background: {r.banner.name()}; color: {r.text.name()}; border: 1px solid {r.frame.name()}; "
            "border-radius: 4px; padding: 5px 8px; }")
        self.view.legend_label.setText(
            f"<small><span style='background:{r.source.name()}; border:1px solid {r.frame.name()}'>&nbsp;source&nbsp;"
            f"</span> framed &nbsp; <span style='background:{r.cue.name()}'><b><u>&nbsp;cue&nbsp;</u></b></span> bold, "
            f"underlined &nbsp; <span style='background:{r.content.name()}'><i>&nbsp;content&nbsp;</i></span> italic"
            f" &nbsp;·&nbsp; context: {self.settings.context_size} sentence(s) each side ([ and ]), P whole "
            "paragraph</small>")

    def _restore_layout(self) -> None:
        if (geometry := self.settings.geometry) is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 780)
        if (state := self.settings.window_state) is not None:
            self.restoreState(state)
        if (splitter := self.settings.splitter_state("main")) is not None:
            self.view.splitter.restoreState(splitter)

    def _save_layout(self) -> None:
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        self.settings.set_splitter_state("main", self.view.splitter.saveState())
        self._remember_position()
        self.settings.sync()

    # -- the project ---------------------------------------------------------------------

    def set_project(self, project: Project, pipeline_note: str | None = None, lock: ProjectLock | None = None) -> None:
        """Show this project in the window, closing the one shown before.

        A project that fails while it is being shown (a damaged page met by the first
        queries) is closed again, its saver thread stopped, before the error goes on.
        """
        self._close_project()
        self.project = project
        self.lock = lock
        try:
            self._show_project(project, pipeline_note)
        except BaseException:
            self._close_project(remember=False)
            raise

    def _show_project(self, project: Project, pipeline_note: str | None) -> None:
        self.saver = Saver(project.path, self)
        self.saver.state_changed.connect(self._update_save_state)
        self.saver.refused.connect(lambda message: QMessageBox.warning(self, "Not changed", message))
        self.settings.add_recent(project.path)
        if not self.annotator:
            self.annotator = ask_annotator(project.annotators(), "", self) or "annotator"
            self.settings.annotator = self.annotator
        self.documents = DocumentListModel(project, self.annotator, self)
        self.view.document_list.setModel(self.documents)
        self.queue = QueueModel(project, self.annotator, self)
        self.view.queue_list.setModel(self.queue)
        self.view.queue_list.selectionModel().currentChanged.connect(self._on_queue_current)
        self._document_cache = None
        self._load_labels()
        show_markdown(self.guidelines_view, project.guidelines())
        self.pipeline_label.setText(pipeline_note or self._pipeline_text())
        self.setWindowTitle(f"{project.name} — StanceLabel")
        self._show_assignment()
        self.setWindowFilePath(str(project.path))
        if self.documents.canFetchMore():
            self.documents.fetchMore()
        self.apply_filter(keep=self.settings.position(project.path, self.annotator))
        self._update_annotator()
        self._update_save_state()

    def _close_project(self, remember: bool = True) -> None:
        if self.project is None:
            return
        if remember:
            self._remember_position()
        if self.import_job is not None and self.import_job.running:
            self.import_job.wait()
        if self.export_job is not None and self.export_job.running:
            self.export_job.wait()
        if self.saver is not None:
            self.saver.wait_until_idle(3000)
            self.saver.shutdown()
            self.saver.deleteLater()
            self.saver = None
        self.project.close()
        self.project = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def _show_assignment(self) -> None:
        """A copy made by split says whose share it is, and how much of it everyone else has too."""
        import json

        try:
            assignment = json.loads(self.project.get_setting("assignment") or "null")
        except ValueError:
            assignment = None
        if isinstance(assignment, dict) and {"annotator", "documents", "shared_documents"} <= assignment.keys():
            self.annotator_button.setToolTip(
                f"This file is {assignment['annotator']}'s share of {assignment.get('source_project', 'a project')}: "
                f"{assignment['documents']} documents, {assignment['shared_documents']} of them given to every "
                "annotator (for agreement). Ctrl+Shift+U switches annotator.")
            if self.annotator != assignment["annotator"]:
                self.statusBar().showMessage(
                    f"Note: this file is {assignment['annotator']}'s share, and you are labelling as "
                    f"{self.annotator} (Ctrl+Shift+U switches).", 15000)

    def _pipeline_text(self) -> str:
        imports = self.project.imports()
        if not imports:
            return "no documents imported yet"
        last = imports[-1]
        return f"spaCy: {last['pipeline_name']} {last['pipeline_version']}"

    def _load_labels(self) -> None:
        self.labels = self.project.labels()
        self.panel.set_labels(self.labels)
        for action in self._label_actions:
            self.menus["Label"].removeAction(action)
            self.removeAction(action)
            self.actions.pop(action.objectName(), None)
        self._label_actions = []
        for number, label in enumerate(self.labels, start=1):
            keys = [label.shortcut] + ([str(number)] if number <= 9 else [])
            action = self._action(f"label_{number}", f"Label as {label.name}",
                                  lambda name=label.name: self.label(name), keys, label.description)
            self.menus["Label"].insertAction(self.label_menu_anchor, action)
            self._label_actions.append(action)
        combo = self.view.label_combo
        combo.blockSignals(True)
        combo.clear()
        for label in self.labels:
            combo.addItem(label.name)
        combo.blockSignals(False)
        combo.setVisible(self.view.show_combo.currentData() == "label")

    def _update_annotator(self) -> None:
        self.annotator_button.setText(f"Annotator: {self.annotator}")
        self._recount()

    def _recount(self) -> None:
        """Count labelled and active attributions afresh (after changes to what is in the queue).

        Counting a million rows takes tens of milliseconds, too slow for every key
        press; labels in between adjust the counts through ``_count_label``.
        """
        self._progress = list(self.project.progress(self.annotator))
        self._update_progress()

    def _count_label(self, had_label: bool, has_label: bool) -> None:
        self._progress[0] += int(has_label) - int(had_label)
        self._update_progress()

    def _update_progress(self) -> None:
        done, total = self._progress
        self.progress_label.setText(f"{count(done)} / {count(total)} labelled")

    def _update_save_state(self) -> None:
        saver = self.saver
        if saver is None:
            return
        if saver.error:
            self.save_label.setText(f"<span style='color:#c62828'><b>⚠ {saver.pending} change(s) not saved</b> — "
                                    f"{escape(saver.error)} — retrying</span>")
        elif saver.pending:
            self.save_label.setText("Saving…")
        else:
            self.save_label.setText("All changes saved ✓")
        self._show_panel()

    # -- the queue -------------------------------------------------------------------------

    def queue_filter(self) -> QueueFilter:
        v = self.view
        show = v.show_combo.currentData() or "all"
        document_id = self.current.document_id if (v.document_only.isChecked() and self.current) else None
        return QueueFilter(show=show, label=v.label_combo.currentText() if show == "label" else None,
                           speaker=v.speaker_edit.text(), search=v.search_edit.text(), document_id=document_id)

    def _label_filter_changed(self) -> None:
        if self.view.show_combo.currentData() == "label":
            self.apply_filter()

    def apply_filter(self, keep: int | None = None) -> None:
        """Rebuild the queue from the filter, staying on the current attribution when it is kept,
        else on the next one after it in reading order (or, at the start, the first unlabelled)."""
        if self.project is None:
            return
        self.view.label_combo.setVisible(self.view.show_combo.currentData() == "label")
        keep = keep if keep is not None else (self.current.id if self.current else None)
        queue = self.queue_filter()
        if (queue.speaker.strip() or queue.search.strip()) and self._progress[1] > ASYNC_FILTER_ABOVE:
            self._filter_in_background(queue, keep)  # a text filter over a big project: off the GUI thread
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            ids = self.project.queue_ids(self.annotator, queue)
        except StanceLabelError as error:
            self.statusBar().showMessage(str(error), 8000)
            return
        finally:
            QApplication.restoreOverrideCursor()
        self._show_queue(ids, queue, keep)

    def _filter_in_background(self, queue: QueueFilter, keep: int | None) -> None:
        from stancelabel.gui.team_views import filter_job

        self._filter_job = job = filter_job(self.project.path, self.annotator, queue, self)
        self.statusBar().showMessage("Filtering… (you can go on labelling)")

        def finished(ids, error: str) -> None:
            if job is not self._filter_job or self.project is None:
                return  # a newer filter was asked for meanwhile
            if error:
                self.statusBar().showMessage(error, 8000)
                return
            self.statusBar().showMessage(f"{count(len(ids))} attribution(s) match.", 5000)
            self._show_queue(ids, queue, self.current.id if self.current else keep)

        job.finished.connect(finished)
        job.start()

    def _show_queue(self, ids, queue: QueueFilter, keep: int | None) -> None:
        self._queue_documents_until = self.project.last_document_id()
        self.queue.set_ids(ids)
        row = self.queue.row_of(keep) if keep is not None else None
        if row is None and len(ids):
            following = self._next_unlabelled_id(after=keep) if keep is None else \
                self.project.queue_ids(self.annotator, queue, after=keep, limit=1)
            row = self.queue.row_of(following[0]) if following else (len(ids) - 1 if keep is not None else 0)
        self.current_row = None
        self.go_to_row(row if row is not None else 0)

    def _next_unlabelled_id(self, after: int | None) -> list[int]:
        """The next attribution in the queue that this annotator has not labelled (one query)."""
        queue = self.queue_filter()
        if queue.show in ("all", "unlabelled"):
            queue = replace(queue, show="unlabelled")
            candidates = self.project.queue_ids(self.annotator, queue, after=after,
                                                limit=len(self._pending_labels) + 1)
            return [i for i in candidates if i not in self._pending_labels][:1]
        start = 0 if after is None else (self.queue.row_of(after) or 0) + 1  # a short queue: flagged, by label
        for row in range(start, self.queue.rowCount()):
            item = self.queue.item(row)
            if item is not None and not item.label and item.id not in self._pending_labels:
                return [item.id]
        return []

    def go_to_row(self, row: int | None) -> None:
        if self.panel.note_edit.hasFocus() and self._note_for is not None:
            self._commit_note()  # what was typed belongs to the item being left
            self.pane.setFocus()
        if row is None or not 0 <= row < self.queue.rowCount():
            if self.queue.rowCount() == 0:
                self.current, self.current_row = None, None
                self._show_current()
            return
        self.current_row = row
        attribution_id = self.queue.id_at(row)
        try:
            self.current = self.project.attribution(attribution_id)
        except KeyError:
            self.current = None
        index = self.queue.index(row)
        selection = self.view.queue_list.selectionModel()
        selection.blockSignals(True)
        self.view.queue_list.setCurrentIndex(index)
        selection.blockSignals(False)
        self.view.queue_list.scrollTo(index)
        self._show_current()

    def _on_queue_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and current.row() != self.current_row:
            self.go_to_row(current.row())

    def _on_document_clicked(self, index: QModelIndex) -> None:
        document_id = index.data(IdRole)
        for attribution in self.project.attributions(document_id):
            row = self.queue.row_of(attribution.id)
            if row is not None:
                self.go_to_row(row)
                return
        self.statusBar().showMessage("None of this document's attributions is in the queue as filtered.", 6000)

    def next_item(self) -> None:
        if self.current_row is None:
            return
        if self.current_row + 1 >= self.queue.rowCount():
            self.statusBar().showMessage("End of the queue.", 4000)
            return
        self.go_to_row(self.current_row + 1)

    def previous_item(self) -> None:
        if self.current_row:
            self.go_to_row(self.current_row - 1)

    def next_unlabelled(self) -> None:
        found = self._next_unlabelled_id(after=self.current.id if self.current else None)
        row = self.queue.row_of(found[0]) if found else None
        if row is None:
            self.statusBar().showMessage("No unlabelled attribution after this one.", 5000)
            return
        self.go_to_row(row)

    def _remember_position(self) -> None:
        if self.project is not None and self.current is not None:
            self.settings.set_position(self.project.path, self.annotator, self.current.id)

    # -- showing ---------------------------------------------------------------------------

    def _document(self, document_id: int) -> tuple[str, list[Sentence], str, str | None]:
        """Text, sentences, title and target of a document (the current one is cached)."""
        if self._document_cache is None or self._document_cache[0] != document_id:
            try:
                document = self.project.document(document_id)
            except KeyError:  # an attribution whose document is not there: only a damaged file has one
                raise ProjectFileError(self.project.path, f"the project file is damaged (document {document_id} "
                                       "of an attribution is missing)") from None
            self._document_cache = (document_id, document.text, self.project.sentences(document_id),
                                    document.title or document.external_id, document.target)
        return self._document_cache[1:]

    def _show_target(self, target: str | None) -> None:
        label = self.view.target_label
        label.setVisible(True)
        if target:
            label.setText(f"<b>Target:</b> {escape(target)} &nbsp;<small style='color:{self.roles.muted.name()}'>"
                          "(G changes it)</small>")
            label.setToolTip("Label the source's stance toward this claim, as the guidelines say (F1)")
        else:
            label.setText(f"<span style='color:{self.roles.muted.name()}'>No target: label the stance toward the "
                          "content &nbsp;<small>(G sets a target)</small></span>")
            label.setToolTip("")

    def _show_current(self) -> None:
        attribution = self.current
        if attribution is None:
            message = ("Nothing in the queue. Change the filter above, or import documents "
                       "(File › Import, or drop files here).") if self.project.document_count() else \
                ("This project has no documents yet. Import text, JSONL, CSV or BRAT files with "
                 "File › Import (Ctrl+I), or drop them on this window.")
            self.pane.show_message(message)
            self.view.target_label.setVisible(False)
            self.view.location_label.setText("Nothing to label")
            self._show_panel()
            return
        text, sentences, title, target = self._document(attribution.document_id)
        self._show_target(target)
        self.pane.show_attribution(text, sentences, attribution, self.settings.context_size, self._paragraph)
        self.view.location_label.setText(self._location_text())
        self._show_panel()

    def _location_text(self) -> str:
        attribution = self.current
        _, sentences, title, _ = self._document(attribution.document_id)
        sentence = (attribution.sentence_index or 0) + 1
        origin = {"auto": "found by the detector", "imported": "imported", "manual": "added or edited by hand"}
        return (f"<b>{escape(title)}</b> &nbsp;·&nbsp; sentence {sentence} of {len(sentences)} &nbsp;·&nbsp; "
                f"item {count((self.current_row or 0) + 1)} of {count(self.queue.rowCount())} "
                f"<span style='color:{self.roles.muted.name()}'>&nbsp;·&nbsp; "
                f"{origin.get(attribution.origin, '')}</span>")

    def _show_panel(self) -> None:
        attribution = self.current
        if attribution is None or self.project is None:
            self.panel.show_state(None, None)
            return
        unsaved = self.saver.error if (self.saver and attribution.id in self.saver.unsaved_attributions()) else None
        review = self.panel.ui.review_label
        review.setVisible(self.review)
        if self.review:
            gold = self.project.gold_of(attribution.id)
            review.setText(review_html(self.project.annotations(attribution.id), gold,
                                       {label.name: label.colour for label in self.labels}))
            annotation = Annotation(attribution.id, gold[1], gold[0], gold[2], False, "", "") if gold else None
            self.panel.show_state(attribution, annotation, unsaved=unsaved,
                                  document_target=self._document(attribution.document_id)[3])
            self.panel.ui.suggestion_label.setText("<small>Label keys set the gold label; Enter takes the "
                                                   "annotators' majority.</small>")
            self.panel.ui.flag_box.setVisible(False)
            if gold is None:
                self.panel.ui.save_state.setText("<span style='color:palette(placeholder-text)'>No gold label yet"
                                                 "</span>")
            return
        self.panel.ui.flag_box.setVisible(True)
        annotation = self.project.annotation(attribution.id, self.annotator)
        authors = self.project.attribution_authors(attribution.id)
        details = (f"<small style='color:gray'>{escape(attribution.origin)}"
                   + (f" · by {escape(', '.join(authors))}" if authors else "")
                   + f" · key {attribution.key[:10]}</small>")
        target = self._document(attribution.document_id)[3]
        self.panel.show_state(attribution, annotation, pending_label=self._pending_labels.get(attribution.id),
                              pending_note=self._pending_notes.get(attribution.id),
                              pending_flag=self._pending_flags.get(attribution.id), unsaved=unsaved,
                              details=details, document_target=target)

    # -- changes -------------------------------------------------------------------------------

    def _submit(self, description: str, operation, attribution_id: int | None, on_done,
                on_refused=None) -> None:
        self.saver.submit(description, operation, on_done=on_done, attribution_id=attribution_id,
                          on_refused=on_refused)

    def label(self, name: str | None) -> None:
        """Give the current attribution this label (None clears it), then move on once it is saved."""
        if self.current is None:
            return
        if self.review:
            self.set_gold(name)
            return
        attribution_id, me = self.current.id, self.annotator
        self._pending_labels[attribution_id] = name or ""
        self._show_panel()

        def done(had_label: bool) -> None:
            self._pending_labels.pop(attribution_id, None)
            self._count_label(had_label, name is not None)
            self._changed(attribution_id)
            if self.current is not None and self.current.id == attribution_id and name is not None:
                self.next_item()

        def refused(_message: str) -> None:
            self._pending_labels.pop(attribution_id, None)
            self._show_panel()

        def save(project: Project) -> bool:
            before = project.annotation(attribution_id, me)
            project.set_label(attribution_id, me, name)
            return bool(before and before.label)

        self._submit(f"label {name}", save, attribution_id, done, refused)

    def accept_suggestion(self) -> None:
        if self.current is None:
            return
        if self.review:
            top = majority([a.label for a in self.project.annotations(self.current.id) if a.label])
            if top is None:
                self.statusBar().showMessage("No majority here: press the label to make gold.", 5000)
                return
            self.set_gold(top)
            return
        suggestion = self.current.suggestion
        if not suggestion:
            self.statusBar().showMessage("No suggestion for this one: press a label key.", 4000)
            return
        if suggestion not in {label.name for label in self.labels}:
            self.statusBar().showMessage(f"The suggestion “{suggestion}” is not a label of this project: "
                                         "press a label key.", 6000)
            return
        self.label(suggestion)

    # -- review mode: gold labels ---------------------------------------------------------

    def show_agreement(self):
        from stancelabel.gui.team_views import AgreementView

        view = AgreementView(self.project, self.show_items, self)
        view.show()
        self._agreement_view = view
        return view

    def show_items(self, ids: list[int], title: str) -> None:
        """Review exactly these attributions (from a cell of the agreement view)."""
        from array import array

        if not self.review:
            self.toggle_review()
        self.queue.set_ids(array("q", ids))
        self.current_row = None
        self.go_to_row(0)
        self.statusBar().showMessage(f"Reviewing {len(ids)} item(s): {title}. Change the filter to see others.", 0)
        self.activateWindow()

    def split_project(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        from stancelabel.team.split import split

        names, ok = QInputDialog.getText(self, "Split for annotators", "Annotators, separated by commas:")
        if not ok or not names.strip():
            return
        overlap, ok = QInputDialog.getDouble(self, "Split for annotators",
                                             "Fraction of documents every annotator gets (for agreement):",
                                             0.2, 0.0, 1.0, 2)
        if not ok:
            return
        folder = QFileDialog.getExistingDirectory(self, "Write the annotators' project files into")
        if not folder:
            return

        def done(report) -> None:
            listing = "\n".join(f"{name}: {report.documents[name]} document(s) → {path}"
                                 for name, path in report.files.items())
            QMessageBox.information(self, "Split", f"{listing}\n\n{report.shared} document(s) go to everyone.")

        self.saver.submit("split", lambda p: split(p, names.split(","), overlap, 0, Path(folder)), on_done=done)

    def merge_files(self):
        inputs, _ = QFileDialog.getOpenFileNames(self, "Files to merge", "",
                                                 "Projects and exports (*.stance *.jsonl);;All files (*)")
        if not inputs:
            return None
        output, _ = QFileDialog.getSaveFileName(self, "Merged project", "", "StanceLabel projects (*.stance)")
        if not output:
            return None
        return self.start_merge(Path(output), [Path(x) for x in inputs])

    def start_merge(self, output: Path, inputs: list[Path]):
        from stancelabel.gui.team_views import merge_job
        from stancelabel.team.merge import format_merge

        job = merge_job(output, inputs, self)

        def finished(report, error: str) -> None:
            if error:
                QMessageBox.warning(self, "Merge refused", error)
                return
            answer = QMessageBox.question(self, "Merged", format_merge(report) + "\n\nOpen the merged project?")
            if answer == QMessageBox.StandardButton.Yes:
                self.open_path(str(output))

        job.finished.connect(finished)
        self.statusBar().showMessage(f"Merging {len(inputs)} file(s)…")
        job.start()
        self._merge_job = job
        return job

    def _save_gold_note(self, attribution_id: int, note: str) -> None:
        gold = self.project.gold_of(attribution_id)
        if gold is None:
            if note:
                self.statusBar().showMessage("Give the gold label first, then its note.", 5000)
            return
        if note != gold[2]:
            me = self.annotator
            self._submit("gold note", lambda p: p.set_gold(attribution_id, me, gold[0], note), attribution_id,
                         lambda _r: self._show_panel())

    def toggle_review(self) -> None:
        """Review mode: every annotator's label is shown, label keys set the gold label."""
        self.review = not self.review
        self.actions["review"].setChecked(self.review)
        self.queue.set_gold(self.review)
        combo = self.view.show_combo
        if self.review and combo.currentData() not in REVIEW_SHOWS:
            combo.setCurrentIndex(combo.findData("disputed"))
        elif not self.review and combo.currentData() in REVIEW_SHOWS:
            combo.setCurrentIndex(combo.findData("all"))
        self.panel.ui.heading.setText("Gold label (review mode, Ctrl+R leaves)" if self.review else
                                      "Stance of the source toward the content")
        self._show_current()

    def set_gold(self, name: str | None) -> None:
        if self.current is None:
            return
        if name is None:
            self.statusBar().showMessage("A gold label cannot be cleared; give another one.", 5000)
            return
        attribution_id, me = self.current.id, self.annotator
        gold = self.project.gold_of(attribution_id)
        note = gold[2] if gold else ""

        def done(_result) -> None:
            self.queue.refresh_ids({attribution_id})
            if self.current is not None and self.current.id == attribution_id:
                self.next_item()

        self._submit(f"gold {name}", lambda p: p.set_gold(attribution_id, me, name, note), attribution_id, done,
                     lambda _m: self._show_panel())

    def toggle_flag(self) -> None:
        if self.current is None:
            return
        if self.review:
            self.statusBar().showMessage("Flags are the annotators'; in review mode, write a note (N).", 5000)
            return
        attribution_id, me = self.current.id, self.annotator
        if attribution_id in self._pending_flags:  # pressed again before the last press was saved
            flagged = not self._pending_flags[attribution_id]
        else:
            annotation = self.project.annotation(attribution_id, me)
            flagged = not (annotation and annotation.flagged)
        self._pending_flags[attribution_id] = flagged
        self._show_panel()

        def settled(_result=None) -> None:
            if self._pending_flags.get(attribution_id) == flagged:
                del self._pending_flags[attribution_id]
            self._changed(attribution_id)

        self._submit("flag", lambda p: p.set_flag(attribution_id, me, flagged), attribution_id, settled, settled)

    # -- notes: bound to the attribution the field was opened on, saved on Enter or when left

    def edit_note(self) -> None:
        if self.current is None:
            return
        self.panel.note_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.panel.note_edit.selectAll()

    def _note_focused(self) -> None:
        self._note_for = self.current.id if self.current is not None else None

    def _note_key(self, event) -> bool:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._commit_note()
            self.pane.setFocus()
            return True
        if event.key() == Qt.Key.Key_Escape:
            self._note_for = None  # leaving the field now saves nothing
            self._show_panel_note_reset()
            self.pane.setFocus()
            return True
        return False

    def _show_panel_note_reset(self) -> None:
        if self.current is None:
            return
        if self.review:
            gold = self.project.gold_of(self.current.id)
            self.panel.note_edit.setText(gold[2] if gold else "")
            return
        annotation = self.project.annotation(self.current.id, self.annotator)
        self.panel.note_edit.setText(self._pending_notes.get(self.current.id, annotation.note if annotation else ""))

    def _commit_note(self) -> None:
        """Save what the note field holds for the attribution it was opened on, if it changed."""
        attribution_id, self._note_for = self._note_for, None
        if attribution_id is not None and self.project is not None:
            self.save_note(attribution_id)

    def save_note(self, attribution_id: int | None = None) -> None:
        if attribution_id is None:
            if self.current is None:
                return
            attribution_id = self.current.id
        if self.review:
            self._save_gold_note(attribution_id, self.panel.note_edit.text().strip())
            return
        me, note = self.annotator, self.panel.note_edit.text().strip()
        annotation = self.project.annotation(attribution_id, me)
        if note == self._pending_notes.get(attribution_id, annotation.note if annotation else ""):
            return
        self._pending_notes[attribution_id] = note  # shown until it is saved, however long that takes

        def settled(_result=None) -> None:
            if self._pending_notes.get(attribution_id) == note:
                del self._pending_notes[attribution_id]
            self._changed(attribution_id)

        self._submit("note", lambda p: p.set_note(attribution_id, me, note), attribution_id, settled, settled)

    def reject_attribution(self) -> None:
        """Not an attribution: it leaves the queue (for everyone) and stays in the file."""
        if self.current is None:
            return
        attribution_id, me = self.current.id, self.annotator

        def done(_result) -> None:
            row = self.queue.row_of(attribution_id)
            if row is not None:
                self.queue.remove_row(row)
            self._after_structure_change(row)
            self.statusBar().showMessage("Marked as not an attribution (Ctrl+Z brings it back).", 5000)

        self._submit("not an attribution", lambda p: p.set_status(attribution_id, me, "rejected"),
                     attribution_id, done)

    def _after_structure_change(self, row: int | None) -> None:
        self._recount()
        if self.current is not None:
            self.documents.refresh_document(self.current.document_id)
        target = min(row if row is not None else (self.current_row or 0), self.queue.rowCount() - 1)
        self.current_row = None
        self.go_to_row(max(target, 0))

    def _changed(self, attribution_id: int) -> None:
        """Refresh what shows this attribution after a committed change."""
        self.queue.refresh_ids({attribution_id})
        if self.current is not None and self.current.id == attribution_id:
            try:
                self.current = self.project.attribution(attribution_id)
            except KeyError:
                self.current = None
            self.documents.refresh_document(self.current.document_id if self.current else -1)
        if self.current is not None and self.current.id == attribution_id:
            self._show_current()

    # -- undo ------------------------------------------------------------------------------

    def undo(self) -> None:
        if self.review:
            self.statusBar().showMessage("Gold decisions are not undone: give the gold label you mean instead.", 6000)
            return
        me = self.annotator
        self._submit("undo", lambda p: p.undo(me), None, lambda change: self._after_undo(change, "undo"))

    def redo(self) -> None:
        if self.review:
            return
        me = self.annotator
        self._submit("redo", lambda p: p.redo(me), None, lambda change: self._after_undo(change, "redo"))

    def _after_undo(self, change, what: str) -> None:
        if change is None:
            self.statusBar().showMessage(f"Nothing to {what}.", 4000)
            return
        if change.kind in ("status", "label"):
            self._recount()
        if change.kind == "status":
            self.apply_filter(keep=change.attribution_id)
        else:
            self.queue.refresh_ids({change.attribution_id})
            row = self.queue.row_of(change.attribution_id)
            if row is not None:
                self.current_row = None
                self.go_to_row(row)
            self._changed(change.attribution_id)
        value = "nothing" if change.value in (None, "") else change.value
        if change.kind == "span":
            value = "the earlier spans" if what == "undo" else "the edited spans"
        self.statusBar().showMessage(f"{what.capitalize()}: {change.kind} is {value} again.", 5000)

    # -- editing spans -----------------------------------------------------------------------

    def enter_edit_mode(self) -> None:
        if self.current is None:
            return
        self._edit_mode = True
        self.pane.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.statusBar().showMessage("Selecting text: arrows move, Shift+arrows select; S, C, T set a role; "
                                     "Esc leaves.")

    def _pane_key(self, event) -> bool:
        if event.key() == Qt.Key.Key_Escape:
            self._edit_mode = False
            self.statusBar().clearMessage()
            return True
        return False

    def _selection(self) -> tuple[int, int] | None:
        span = self.pane.selected_span()
        if span is None:
            self.statusBar().showMessage("Select the words first: with the mouse, or press E and use Shift+arrows.",
                                         6000)
        return span

    def set_role(self, role: str, add: bool = False) -> None:
        """Make the selected words the attribution's source, cue or content (or add to the content)."""
        if self.current is None:
            return
        span = self._selection()
        if span is None:
            return
        attribution_id, me = self.current.id, self.annotator
        spans = (*getattr(self.current, role), span) if add else (span,)
        self._edit_mode = False

        def done(_result) -> None:
            self._changed(attribution_id)
            self.statusBar().showMessage(f"The {role} is now “{self._text_of(spans)}”.", 5000)

        self._submit(f"edit {role}", lambda p: p.set_spans(attribution_id, me, **{role: spans}), attribution_id, done)

    def _text_of(self, spans) -> str:
        text = self._document(self.current.document_id)[0] if self.current else ""
        return " … ".join(text[s:e] for s, e in spans)

    def add_attribution(self) -> None:
        """The selected words become the cue of a new (manual) attribution, shown next."""
        if self.current is None:
            return
        span = self._selection()
        if span is None:
            return
        document_id, me = self.current.document_id, self.annotator
        self._edit_mode = False

        def done(new_id: int) -> None:
            row = self.queue.row_of(new_id)
            if row is None:
                row = (self.current_row or 0) + 1
                self.queue.insert_id(row, new_id)
            self._recount()
            self.documents.refresh_document(document_id)
            self.current_row = None
            self.go_to_row(row)
            self.statusBar().showMessage("New attribution: now select its source (S) and content (T).", 8000)

        self._submit("new attribution", lambda p: p.add_attribution(document_id, me, cue=(span,)), None, done)

    # -- filters ---------------------------------------------------------------------------

    def _to_pane_on_escape(self, event) -> bool:
        if event.key() == Qt.Key.Key_Escape:
            self.pane.setFocus()
            return True
        return False

    def _document_list_key(self, event) -> bool:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            index = self.view.document_list.currentIndex()
            if index.isValid():
                self._on_document_clicked(index)
            self.pane.setFocus()
            return True
        return self._to_pane_on_escape(event)

    def focus_filters(self) -> None:
        self.view.show_combo.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.view.show_combo.showPopup()

    def focus_documents(self) -> None:
        self.view.side_tabs.setCurrentWidget(self.view.documents_tab)
        documents = self.view.document_list
        documents.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if self.current is not None and not documents.currentIndex().isValid():
            row = self.documents.row_of(self.current.document_id)
            if row is not None:
                documents.setCurrentIndex(self.documents.index(row))

    def focus_search(self) -> None:
        self.view.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.view.search_edit.selectAll()

    def focus_speaker(self) -> None:
        self.view.speaker_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.view.speaker_edit.selectAll()

    def _filter_edit_key(self, event) -> bool:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.apply_filter()
            self.pane.setFocus()
            return True
        if event.key() == Qt.Key.Key_Escape:
            self.pane.setFocus()
            return True
        return False

    # -- view --------------------------------------------------------------------------------

    def change_font(self, step: int) -> None:
        size = min(max(self.settings.font_size + step, FONT_SIZES[0]), FONT_SIZES[1])
        self.settings.font_size = size
        self._apply_view_settings()
        self._show_current()

    def change_context(self, step: int) -> None:
        self.settings.context_size = self.settings.context_size + step
        self._apply_view_settings()
        self._show_current()

    def toggle_paragraph(self) -> None:
        self._paragraph = not self._paragraph
        self._apply_view_settings()
        self._show_current()

    def set_theme(self, theme: str) -> None:
        self.settings.theme = theme
        self.actions[f"theme_{theme}"].setChecked(True)
        self._apply_view_settings()
        self.panel.set_labels(self.labels)
        self._show_current()

    def show_shortcuts(self) -> ShortcutsDialog:
        groups = []
        for title, menu in self.menus.items():
            entries = [(action.text().replace("&", ""), shortcut_text(action.shortcuts()))
                       for action in menu.actions() if action.shortcuts() and action not in self._label_actions]
            if entries:
                groups.append((title, entries))
        dialog = ShortcutsDialog(groups, self.labels, self)
        dialog.setModal(False)
        dialog.show()
        self._shortcuts_dialog = dialog
        return dialog

    def toggle_guidelines(self) -> None:
        self.guidelines_dock.setVisible(not self.guidelines_dock.isVisible())

    def edit_guidelines(self) -> GuidelinesEditor:
        editor = GuidelinesEditor(self.project.guidelines(), self)
        editor.accepted.connect(lambda: self._save_guidelines(editor.value()))
        editor.open()
        self._guidelines_editor = editor
        return editor

    def _save_guidelines(self, markdown: str) -> None:
        from dataclasses import replace

        from stancelabel.core.labels import descriptions_from_guidelines

        def save(project: Project) -> list[str]:
            labels = project.labels()
            found = descriptions_from_guidelines(markdown, [label.name for label in labels])
            with project.transaction():
                project.set_guidelines(markdown)
                if found:
                    project.save_labels([replace(x, description=found.get(x.name, x.description)) for x in labels],
                                        RESERVED_KEYS)
            return list(found)

        def done(found: list[str]) -> None:
            show_markdown(self.guidelines_view, markdown)
            self._load_labels()
            self._show_current()
            self.statusBar().showMessage("Guidelines saved" + (f"; label descriptions from their sections: "
                                                               f"{', '.join(found)}" if found else "") + ".", 6000)

        self.saver.submit("guidelines", save, on_done=done)

    def edit_target(self) -> TargetDialog | None:
        if self.current is None:
            return None
        document_id = self.current.document_id
        dialog = TargetDialog([text for text, _ in self.project.targets()], self._document(document_id)[3], self)
        dialog.accepted.connect(lambda: self._save_target(document_id, dialog.value()))
        dialog.open()
        self._target_dialog = dialog
        return dialog

    def _save_target(self, document_id: int, target: str | None) -> None:
        def done(_result) -> None:
            self._document_cache = None
            self._show_current()
            self.statusBar().showMessage(f"Target of this document: {target}." if target else
                                         "This document has no target now.", 6000)

        self.saver.submit("target", lambda p: p.set_document_target(document_id, target), on_done=done)

    def show_about(self) -> None:
        from stancelabel import __version__

        QMessageBox.about(self, "About StanceLabel",
                          f"<b>StanceLabel {__version__}</b><p>Stance labelling of attributions in news text: "
                          "who says what, through which cue, and do they assert, deny or qualify it.</p>"
                          f"<p>Project file: {escape(str(self.project.path))}</p>")

    # -- annotators and schema -----------------------------------------------------------

    def switch_annotator(self) -> None:
        name = ask_annotator(self.project.annotators(), self.annotator, self)
        if name and name != self.annotator:
            if not self.may_leave(f"Switch to {name} anyway"):
                return
            self.saver.shutdown_pending()
            self.set_annotator(name)

    def set_annotator(self, name: str) -> None:
        self._remember_position()
        self.annotator = name
        self.settings.annotator = name
        self._pending_labels.clear()
        self._pending_notes.clear()
        self._pending_flags.clear()
        self._note_for = None
        self.documents = DocumentListModel(self.project, name, self)
        self.view.document_list.setModel(self.documents)
        if self.documents.canFetchMore():
            self.documents.fetchMore()
        self.queue = QueueModel(self.project, name, self)
        self.view.queue_list.setModel(self.queue)
        self.view.queue_list.selectionModel().currentChanged.connect(self._on_queue_current)
        self.current = None
        self.apply_filter(keep=self.settings.position(self.project.path, name))
        self._update_annotator()

    def edit_schema(self) -> SchemaEditor:
        editor = SchemaEditor(self.project.labels(), self.project.label_usage(), set(RESERVED_KEYS), self)
        editor.accepted.connect(lambda: self._save_schema(editor.result_labels))
        editor.open()
        self._schema_editor = editor
        return editor

    def _save_schema(self, labels) -> None:
        def done(_result) -> None:
            self._load_labels()
            self.queue.refresh_all()
            if self.current is not None:  # suggestions follow renamed labels
                self.current = self.project.attribution(self.current.id)
            self._show_current()
            self.statusBar().showMessage("Label schema saved.", 4000)

        self.saver.submit("label schema", lambda p: p.save_labels(labels, RESERVED_KEYS), on_done=done)

    # -- files ---------------------------------------------------------------------------------

    def new_project(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "New project", "", "StanceLabel projects (*.stance)")
        if not path:
            return
        if not path.endswith(".stance"):
            path += ".stance"
        if Path(path).exists():
            QMessageBox.warning(self, "Not created", f"{path}: a file of that name is already there; "
                                "choose another name, or open it with File › Open.")
            return
        self.open_path(path, create=True)

    def open_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", "", "StanceLabel projects (*.stance);;All files (*)")
        if path:
            self.open_path(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_path(p))
        if not self.settings.recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def open_path(self, path: str, create: bool = False) -> bool:
        """Open another project in this window; one that cannot be opened is reported, not fatal."""
        if self.project is not None and Path(path).resolve() == self.project.path.resolve():
            return True
        lock = ProjectLock(Path(path))
        # A file that cannot be shown is left as it was found: companions SQLite made beside it go again.
        present = existing_companions(Path(path))
        try:
            check_project_path(Path(path))
            lock.acquire()
            with no_new_companions(Path(path)):
                project = Project.open(path, create=create)
        except StanceLabelError as error:
            lock.release()
            QMessageBox.warning(self, "Cannot open project", str(error))
            return False
        if not self.may_leave("Open the other project anyway"):
            project.close()
            lock.release()
            remove_companions_since(Path(path), present)
            return False
        previous = self.project.path if self.project is not None else None
        try:
            self.set_project(project, lock=lock)  # closes it again if it fails
        except StanceLabelError as error:
            lock.release()
            remove_companions_since(Path(path), present)
            QMessageBox.warning(self, "Cannot open project", str(error))
            if previous is not None:
                self.open_path(str(previous))  # back to the project shown before
            return False
        except BaseException:
            project.close()
            lock.release()
            remove_companions_since(Path(path), present)
            raise
        return True

    def import_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Import into this project", "",
            "Texts and datasets (*.txt *.jsonl *.ndjson *.csv *.tsv *.ann);;All files (*)")
        if paths:
            self.start_import([Path(p) for p in paths])

    def import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder into this project")
        if folder:
            self.start_import([Path(folder)])

    def start_import(self, paths: list[Path]):
        from stancelabel.gui.importing import ImportJob

        if self.import_job is not None and self.import_job.running:
            QMessageBox.information(self, "Import running", "An import is running; wait for it or cancel it first.")
            return None
        job = ImportJob(self.project.path, paths, parent=self)
        job.progress.connect(self._import_progress)
        job.finished.connect(self._import_finished)
        self.import_job = job
        self.import_bar.setRange(0, 0)
        self.import_bar.setFormat("Importing…")
        self.import_bar.setVisible(True)
        self.import_cancel.setVisible(True)
        self.statusBar().showMessage(f"Importing {', '.join(p.name for p in paths[:3])}"
                                     + (" …" if len(paths) > 3 else "") + " (loading spaCy)")
        job.start()
        return job

    def export_labels(self):
        """File › Export: choose format, file and filters; the export runs on a worker thread."""
        from stancelabel.gui.exporting import ExportDialog

        if self.export_job is not None and self.export_job.running:
            QMessageBox.information(self, "Export running", "An export is running; wait for it or cancel it first.")
            return None
        self._commit_note()
        dialog = ExportDialog(self.project.path, self.project.annotators(), [x.name for x in self.labels],
                              self.annotator, self)
        dialog.accepted.connect(lambda: self.start_export(dialog.path(), dialog.options()))
        dialog.open()
        self._export_dialog = dialog
        return dialog

    def start_export(self, path: Path, options):
        from stancelabel.gui.exporting import export_job

        self.saver.wait_until_idle(3000)  # what was just labelled belongs in the export
        job = export_job(self.project.path, path, options, parent=self)
        job.progress.connect(lambda n: self.export_label.setText(f"Exported {count(n)} record(s)…"))
        job.finished.connect(lambda report, error: self._export_finished(path, report, error))
        self.export_job = job
        self.export_label.setText("Exporting…")
        self.export_label.setVisible(True)
        self.export_cancel.setVisible(True)
        job.start()
        return job

    def cancel_export(self) -> None:
        if self.export_job is not None:
            self.export_job.cancel()

    def _export_finished(self, path: Path, report, error: str) -> None:
        self.export_label.setVisible(False)
        self.export_cancel.setVisible(False)
        if error:
            QMessageBox.warning(self, "Export failed", error)
        elif report.interrupted:
            self.statusBar().showMessage(f"Export cancelled; {path} was not changed.", 8000)
        else:
            self.statusBar().showMessage(f"{count(report.records)} record(s) from {count(report.documents)} "
                                         f"document(s) exported to {path}.", 10000)
            if report.renamed:  # names that could not be their plain file names: say which files they are
                QMessageBox.information(self, "Exported", "Some files have names of their own (the plain name was "
                                        "taken, or too long):\n\n" + "\n".join(f"{what}: {name}"
                                                                                for what, name in report.renamed))

    def cancel_import(self) -> None:
        if self.import_job is not None:
            self.import_job.cancel()
            self.import_cancel.setEnabled(False)
            self.statusBar().showMessage("Cancelling after the current document…")

    def _import_progress(self, done: int, total: int) -> None:
        self.import_bar.setRange(0, total)
        self.import_bar.setValue(done)
        self.import_bar.setFormat(f"Imported {done} / {total}")
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _refresh_after_import(self) -> None:
        if self.project is None:
            return
        self.documents.refresh_total()
        while self.documents.canFetchMore() and self.documents.rowCount() < 2 * self.documents.PAGE:
            self.documents.fetchMore()
        # New documents come after the ones in the queue: append their attributions, leave the rest
        # (and a selection being made in the reading pane) as it is.
        new = self.project.queue_ids(self.annotator, self.queue_filter(), after_document=self._queue_documents_until)
        self._queue_documents_until = self.project.last_document_id()
        if len(new):
            self.queue.append_ids(new)
            if self.current is None:
                self.go_to_row(0)
                self.pane.setFocus()
            else:
                self.view.location_label.setText(self._location_text())
        self._recount()
        self.pipeline_label.setText(self._pipeline_text())

    def _import_finished(self, report, pipeline: str, error: str) -> None:
        self.import_bar.setVisible(False)
        self.import_cancel.setVisible(False)
        self.import_cancel.setEnabled(True)
        self._refresh_after_import()
        if error:
            QMessageBox.warning(self, "Import failed", error)
            return
        summary = (f"{report.documents_added} document(s) imported ({report.attributions_added} attributions) "
                   f"with {pipeline}")
        if report.documents_present:
            summary += f"; {report.documents_present} already in the project"
        if report.interrupted:
            summary += ". Cancelled: import the same files again to continue"
        self.statusBar().showMessage(summary, 15000)
        problems = report.errors + report.warnings
        if problems:
            QMessageBox.warning(self, "Import finished with problems",
                                summary + ".\n\n" + "\n".join(problems[:20])
                                + (f"\n… and {len(problems) - 20} more" if len(problems) > 20 else ""))

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and all(url.isLocalFile() for url in urls):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.start_import(paths)

    # -- closing -------------------------------------------------------------------------------

    def may_leave(self, leaving: str = "Close anyway") -> bool:
        """True when every change is saved, or the user agrees to lose those that cannot be."""
        self._commit_note()
        if self.saver is None or self.saver.wait_until_idle(3000):
            return True
        answer = QMessageBox.warning(
            self, "Changes not saved",
            f"{self.saver.pending} change(s) could not be saved: {self.saver.error}.\n\n"
            f"{leaving} and lose them, or stay while they are retried?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Discard

    def close_after_failure(self) -> None:
        """Close on a known error the window cannot go on from (a damaged project file): its threads stop
        and its connections close; changes still waiting go on being retried until the threads stop."""
        if self.saver is not None:
            self.saver.wait_until_idle(3000)
        self.hide()
        for view in (self.view.queue_list, self.view.document_list):
            view.setModel(None)  # nothing may read the closed project while the window goes
        self._close_project(remember=False)
        self.deleteLater()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if not self.may_leave():
            event.ignore()
            return
        self._save_layout()
        self._close_project()
        super().closeEvent(event)

