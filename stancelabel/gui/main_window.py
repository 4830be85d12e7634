"""The main window: the project's documents and the sentences of the chosen one."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox

from stancelabel.core.errors import StanceLabelError
from stancelabel.gui.forms import load_form
from stancelabel.gui.models import DocumentListModel, IdRole, SentenceListModel
from stancelabel.store.project import Project


class MainWindow(QMainWindow):
    """Lists the project's documents and the sentences of the selected document."""

    def __init__(self, project: Project, pipeline_note: str | None = None) -> None:
        super().__init__()
        self.project: Project | None = None
        self.ui = load_form("document_browser", self)
        self.setCentralWidget(self.ui)
        self.resize(1100, 700)
        self.ui.splitter.setStretchFactor(0, 1)
        self.ui.splitter.setStretchFactor(1, 3)
        self.ui.splitter.setSizes([320, 780])
        self.pipeline_label = QLabel()
        self.statusBar().addPermanentWidget(self.pipeline_label)
        self._build_menus()
        self.set_project(project, pipeline_note)

    def set_project(self, project: Project, pipeline_note: str | None = None) -> None:
        """Show this project in the window, closing the one shown before."""
        if self.project is not None:
            self.project.close()
        self.project = project
        self.documents = DocumentListModel(project, self)
        self.sentences = SentenceListModel(project, self)
        self.ui.document_list.setModel(self.documents)
        self.ui.sentence_list.setModel(self.sentences)
        self.ui.document_list.selectionModel().selectionChanged.connect(self._on_document_selected)
        self.pipeline_label.setText(pipeline_note or self._pipeline_text())
        self._update_title()
        stats = project.stats()
        self.statusBar().showMessage(
            f"{stats['documents']} documents · {stats['sentences']} sentences · {stats['attributions']} attributions"
        )
        if self.documents.canFetchMore():
            self.documents.fetchMore()
        if self.documents.rowCount():
            self.ui.document_list.setCurrentIndex(self.documents.index(0))
        else:
            self._on_document_selected(QItemSelection(), QItemSelection())

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open…", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self._on_open)
        file_menu.addAction(open_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

    def _pipeline_text(self) -> str:
        imports = self.project.imports()
        if not imports:
            return "no documents imported yet"
        last = imports[-1]
        return f"spaCy: {last['pipeline_name']} {last['pipeline_version']}"

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.project.name} — StanceLabel")
        self.setWindowFilePath(str(self.project.path))

    def _on_document_selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            self.sentences.set_document(None)
            self.ui.document_title.setText("No document selected")
            return
        document_id = indexes[0].data(IdRole)
        document = self.project.document(document_id)
        self.ui.document_title.setText(f"<b>{escape(document.title or document.external_id)}</b>"
                                       f" <span style='color:gray'>({escape(document.external_id)})</span>")
        self.ui.document_title.setTextFormat(Qt.TextFormat.RichText)
        self.sentences.set_document(document_id)

    def _on_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", "", "StanceLabel projects (*.stance);;All files (*)")
        if not path:
            return
        self.open_path(path)

    def open_path(self, path: str) -> bool:
        """Open another project in this window; a file that cannot be opened is reported, not fatal."""
        try:
            project = Project.open(path)
        except StanceLabelError as error:
            QMessageBox.warning(self, "Cannot open project", str(error))
            return False
        self.set_project(project)
        return True

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self.project is not None:
            self.project.close()
        super().closeEvent(event)
