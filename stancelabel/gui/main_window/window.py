"""The annotation window: its widgets, the project it shows, and the parts that do the work.

The window reads through its own connection on the GUI thread and writes through
the saver (a worker thread with a second connection): a key press queues the
change, and the next item shows once the change is committed. The work is done
by parts, each in a module of its own, all reached from the window:

- ``actions``: every action, its keys, menu and handler (the table);
- ``display``: drawing the current attribution, once per batch of changes;
- ``queuing``: the queue, its filters and moving through it;
- ``labelling``: labels, flags, notes, undo, and the saver;
- ``reviewing``: review mode, gold labels, the agreement view;
- ``spans``: fixing spans by mouse or keyboard;
- ``files``: import, export, split and merge jobs;
- ``project_dialogs``: guidelines, the document's target, the label schema, shortcuts, About.

The window itself composes them and owns the project's lifecycle (open, close,
lock), the annotator, the view settings and the dialogs.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QToolButton,
)

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.projectfile import existing_companions, no_new_companions, remove_companions_since
from stancelabel.gui import logs
from stancelabel.gui.dialogs import ask_annotator
from stancelabel.gui.forms import load_form
from stancelabel.gui.label_panel import LabelPanel
from stancelabel.gui.lock import ProjectLock
from stancelabel.gui.main_window import actions
from stancelabel.gui.main_window.display import Display
from stancelabel.gui.main_window.files import Files
from stancelabel.gui.main_window.labelling import Labelling
from stancelabel.gui.main_window.project_dialogs import ProjectDialogs
from stancelabel.gui.main_window.queuing import SHOW_CHOICES, Queuing
from stancelabel.gui.main_window.reviewing import Reviewing
from stancelabel.gui.main_window.spans import SpanEditing
from stancelabel.gui.main_window.syncing import Syncing
from stancelabel.gui.main_window.widgets import DocumentDelegate, KeepKeys, QueueDelegate, row_height
from stancelabel.gui.markup import show_markdown
from stancelabel.gui.reading_pane import ReadingPane
from stancelabel.gui.settings import Settings
from stancelabel.server.local import working_copy_annotator
from stancelabel.store.project import Project, check_project_path

_FIELD_KEYS = {Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Up, Qt.Key.Key_Down}
_CARET_KEYS = {Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home,
               Qt.Key.Key_End, Qt.Key.Key_Escape}


class MainWindow(QMainWindow):
    def __init__(self, project: Project, pipeline_note: str | None = None, annotator: str | None = None,
                 settings: Settings | None = None, lock: ProjectLock | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.project: Project | None = None
        self.lock: ProjectLock | None = None
        self.annotator = annotator or self.settings.annotator
        self.annotator_fixed = False  # True on a shared project's working copy (its annotator's only)
        self._settings_problem: str | None = None  # why the settings could not be saved, once said
        self.labels = []
        self.label_actions = []
        self.display = Display(self)
        self.queuing = Queuing(self)
        self.labelling = Labelling(self)
        self.reviewing = Reviewing(self)
        self.spans = SpanEditing(self)
        self.files = Files(self)
        self.dialogs = ProjectDialogs(self)
        self.syncing = Syncing(self)

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
        rows.setDefaultSectionSize(row_height(self.fontMetrics().height()))
        self.view.queue_list.setAutoScroll(False)  # Queuing.go_to_row scrolls, by half pages (see there)
        self.queue_delegate = QueueDelegate(self.view.queue_list)
        self.view.queue_list.setItemDelegate(self.queue_delegate)
        for key, text in SHOW_CHOICES:
            self.view.show_combo.addItem(text, key)
        self.setAcceptDrops(True)
        self._build_status_bar()
        actions.build(self)
        self._build_guidelines_dock()
        self._connect_widgets()
        self.display.apply_view_settings()
        self._restore_layout()
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setSingleShot(True)
        self.refresh_timer.setInterval(700)
        self.refresh_timer.timeout.connect(self.files.refresh_after_import)
        self.set_project(project, pipeline_note, lock=lock)
        # The reading pane is home: label keys, F1 and ? work from the first moment (the first widget
        # in the tab order would be the "Show" filter, which keeps plain keys for choosing in it).
        self.setFocusProxy(self.pane)
        self.pane.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- what tests and other windows ask of it -------------------------------------------------

    @property
    def current(self):
        return self.queuing.current

    @property
    def current_row(self) -> int | None:
        return self.queuing.current_row

    @property
    def queue(self):
        return self.queuing.queue

    @property
    def documents(self):
        return self.queuing.documents

    @property
    def saver(self):
        return self.labelling.saver

    @property
    def review(self) -> bool:
        return self.reviewing.active

    def go_to_row(self, row: int | None) -> None:
        with self.display.batch():
            self.queuing.go_to_row(row)

    def apply_filter(self, keep: int | None = None) -> None:
        with self.display.batch():
            self.queuing.apply_filter(keep)

    def label(self, name: str | None) -> None:
        with self.display.batch():
            self.labelling.label(name)

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
        self.sync_label = QLabel()
        self.sync_label.setVisible(False)
        self.import_bar = QProgressBar()
        self.import_bar.setMaximumWidth(180)
        self.import_bar.setVisible(False)
        self.import_cancel = QPushButton("Cancel import")
        self.import_cancel.setVisible(False)
        self.import_cancel.clicked.connect(lambda: self.files.cancel_import())
        self.export_label = QLabel()
        self.export_label.setVisible(False)
        self.export_cancel = QPushButton("Cancel export")
        self.export_cancel.setVisible(False)
        self.export_cancel.clicked.connect(lambda: self.files.cancel_export())
        bar.addWidget(self.annotator_button)
        bar.addWidget(self.progress_label)
        for widget in (self.import_bar, self.import_cancel, self.export_label, self.export_cancel,
                       self.pipeline_label, self.sync_label, self.save_label):
            bar.addPermanentWidget(widget)

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

    def _batched(self, slot):
        """A widget's signal handler that draws once, like an action."""
        def run(*args) -> None:
            with self.display.batch():
                slot(*args)
        return run

    def _connect_widgets(self) -> None:
        v, q, labelling = self.view, self.queuing, self.labelling
        v.queue_list.clicked.connect(self._batched(lambda index: q.go_to_row(index.row())))
        v.document_list.clicked.connect(self._batched(q.document_clicked))
        v.document_list.activated.connect(self._batched(q.document_clicked))
        v.show_combo.currentIndexChanged.connect(self._batched(lambda _i: q.apply_filter()))
        v.label_combo.currentIndexChanged.connect(self._batched(lambda _i: q.label_filter_changed()))
        v.document_only.toggled.connect(self._batched(lambda _on: q.apply_filter()))
        for edit in (v.search_edit, v.speaker_edit):
            edit.installEventFilter(KeepKeys(_FIELD_KEYS, q.filter_edit_key, parent=edit))
            edit.textChanged.connect(self._batched(lambda text: q.apply_filter() if not text else None))
        note = self.panel.note_edit
        note.installEventFilter(KeepKeys(_FIELD_KEYS, self._batched_key(labelling.note_key),
                                         on_focus_in=labelling.note_focused, parent=note))
        note.editingFinished.connect(self._batched(labelling.commit_note))  # Enter, or the field losing focus
        for widget in (v.show_combo, v.label_combo, v.document_only):
            widget.installEventFilter(KeepKeys(None, q.to_pane_on_escape, parent=widget))
        v.document_list.installEventFilter(KeepKeys(None, q.document_list_key, parent=v.document_list))
        self.pane.installEventFilter(KeepKeys(_CARET_KEYS, self.spans.pane_key, active=lambda: self.spans.edit_mode,
                                              parent=self.pane))
        # installed last, asked first: while a word is being typed to jump to, the pane keeps every plain key
        self.pane.installEventFilter(KeepKeys(None, self.spans.jump_key, active=lambda: self.spans.jumping,
                                              parent=self.pane, wants=self.spans.wants_key))
        self.pane.attribution_clicked.connect(self._batched(self.queuing.go_to_attribution))
        self.panel.label_clicked.connect(self.label)
        self.panel.flag_clicked.connect(self._batched(labelling.toggle_flag))

    def _batched_key(self, handler):
        def run(event) -> bool:
            with self.display.batch():
                return handler(event)
        return run

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
        self.queuing.remember_position()
        self._settings_saved()

    def _settings_saved(self) -> None:
        """Write the settings now; if they cannot be written, say so once (status bar and log)."""
        problem = self.settings.sync()
        if problem and not self._settings_problem:
            self._settings_problem = problem
            logs.logger("window").warning("%s", problem)
            self.statusBar().showMessage(problem, 15000)

    # -- the project -------------------------------------------------------------------------

    def set_project(self, project: Project, pipeline_note: str | None = None, lock: ProjectLock | None = None) -> None:
        """Show this project in the window, closing the one shown before.

        A project that fails while it is being shown (a damaged page met by the first
        queries) is closed again, its saver thread stopped, before the error goes on.
        """
        self._close_project()
        self.project = project
        self.lock = lock
        try:
            with self.display.batch():
                self._show_project(project, pipeline_note)
        except BaseException:
            self._close_project(remember=False)
            raise

    def _show_project(self, project: Project, pipeline_note: str | None) -> None:
        self.labelling.start(project)
        self.settings.add_recent(project.path)
        self._settings_saved()
        fixed = working_copy_annotator(project)
        if fixed:  # a shared project's working copy: the server takes its labels under this name only
            self.annotator = fixed
        elif self.annotator_fixed or not self.annotator:  # back from a working copy: the usual name
            self.annotator = self.settings.annotator or ask_annotator(project.annotators(), "", self) or "annotator"
            self.settings.annotator = self.annotator
        self.annotator_fixed = bool(fixed)
        self.queuing.attach()
        self.display.forget_document()
        self.load_labels()
        show_markdown(self.guidelines_view, project.guidelines())
        self.pipeline_label.setText(pipeline_note or self.dialogs.pipeline_text())
        self.setWindowTitle(f"{project.name} — StanceLabel")
        self.dialogs.show_assignment()
        self.setWindowFilePath(str(project.path))
        self.queuing.apply_filter(keep=self.settings.position(project.path, self.annotator))
        self._update_annotator()
        self.labelling.update_save_state()
        self.syncing.start(project)
        logs.logger("window").info("opened %s as %s", project.path, self.annotator)

    def _close_project(self, remember: bool = True) -> None:
        if self.project is None:
            return
        if remember:
            self.queuing.remember_position()
        self.files.wait()
        self.syncing.stop()
        self.labelling.stop()
        self.labelling.forget_pending()
        self.project.close()
        self.project = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def load_labels(self) -> None:
        """The label schema into the panel, the label menu (keys 1-9 and each label's own) and the filter."""
        self.labels = self.project.labels()
        self.panel.set_labels(self.labels)
        self.queue_delegate.colours = {label.name: label.colour for label in self.labels}
        for action in self.label_actions:
            self.menus["Label"].removeAction(action)
            self.removeAction(action)
            self.actions.pop(action.objectName(), None)
        self.label_actions = []
        for number, label in enumerate(self.labels, start=1):
            keys = [label.shortcut] + ([str(number)] if number <= 9 else [])
            action = actions.make_action(self, f"label_{number}", f"Label as {label.name}",
                                         lambda name=label.name: self.labelling.label(name), keys, label.description)
            self.menus["Label"].insertAction(self.label_menu_anchor, action)
            self.label_actions.append(action)
        combo = self.view.label_combo
        combo.blockSignals(True)
        combo.clear()
        for label in self.labels:
            combo.addItem(label.name)
        combo.blockSignals(False)
        combo.setVisible(self.view.show_combo.currentData() == "label")

    def _update_annotator(self) -> None:
        self.annotator_button.setText(f"Annotator: {self.annotator}")
        self.labelling.recount()

    # -- annotators ------------------------------------------------------------------------

    def switch_annotator(self) -> None:
        if self.annotator_fixed:
            QMessageBox.information(
                self, "Annotator", f"This file is {self.annotator}'s working copy of a shared project: its labels go "
                f"to the server as {self.annotator}'s, and the server takes no other name from this copy. "
                "Another annotator works on a copy of their own (Team › Work on a shared project…).")
            return
        name = ask_annotator(self.project.annotators(), self.annotator, self)
        if name and name != self.annotator:
            if not self.may_leave(f"Switch to {name} anyway"):
                return
            self.labelling.saver.shutdown_pending()
            self.set_annotator(name)

    def set_annotator(self, name: str) -> None:
        self.queuing.remember_position()
        self.annotator = name
        self.settings.annotator = name
        self.labelling.forget_pending()
        with self.display.batch():
            self.queuing.attach()
            self.queuing.apply_filter(keep=self.settings.position(self.project.path, name))
            self._update_annotator()

    # -- files --------------------------------------------------------------------------------

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
        kinds = "StanceLabel projects (*.stance);;All files (*)"
        path, _ = QFileDialog.getOpenFileName(self, "Open project", "", kinds)
        if path:
            self.open_path(path)

    def fill_recent(self) -> None:
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

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and all(url.isLocalFile() for url in urls):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files.start_import(paths)

    # -- closing -------------------------------------------------------------------------------

    def may_leave(self, leaving: str = "Close anyway") -> bool:
        """True when every change is saved, or the user agrees to lose those that cannot be."""
        self.labelling.commit_note()
        saver = self.labelling.saver
        if saver is None or saver.wait_until_idle(3000):
            return True
        answer = QMessageBox.warning(
            self, "Changes not saved",
            f"{saver.pending} change(s) could not be saved: {saver.error}.\n\n"
            f"{leaving} and lose them, or stay while they are retried?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Discard

    def close_after_failure(self) -> None:
        """Close on a known error the window cannot go on from (a damaged project file): its threads stop
        and its connections close; changes still waiting go on being retried until the threads stop."""
        if self.labelling.saver is not None:
            self.labelling.saver.wait_until_idle(3000)
        self.hide()
        self.queuing.detach()
        self._close_project(remember=False)
        self.deleteLater()

    def closeEvent(self, event) -> None:
        if not self.may_leave():
            event.ignore()
            return
        self._save_layout()
        self._close_project()
        super().closeEvent(event)
