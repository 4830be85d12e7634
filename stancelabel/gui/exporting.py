"""Exporting from the GUI: the export dialog, and the export on a worker thread with progress and Cancel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QListWidgetItem, QVBoxLayout, QWidget

from stancelabel.gui.forms import load_form
from stancelabel.gui.jobs import Job
from stancelabel.io.export import ExportOptions, ExportReport, export
from stancelabel.store.project import Project

FORMAT_CHOICES = (("jsonl", "JSONL (this tool, Prodigy)", ".jsonl"), ("csv", "CSV (spreadsheets, R, pandas)", ".csv"),
                  ("spacy", "spaCy DocBin (spacy train)", ".spacy"), ("brat", "BRAT standoff folder", ""))


class ExportDialog(QDialog):
    """Format, file and filters of an export; ``options()`` and ``path()`` once accepted."""

    def __init__(self, project_path: Path, annotators: list[str], labels: list[str], current: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export labels")
        self.ui = load_form("export_dialog", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.ui)
        self._project_path = Path(project_path)
        for key, text, _ in FORMAT_CHOICES:
            self.ui.format_combo.addItem(text, key)
        for name in annotators:
            item = QListWidgetItem(name, self.ui.annotators_list)
            item.setCheckState(Qt.CheckState.Checked)
        for name in labels:
            item = QListWidgetItem(name, self.ui.labels_list)
            item.setCheckState(Qt.CheckState.Checked)
        self.ui.format_combo.currentIndexChanged.connect(self._format_changed)
        self.ui.browse_button.clicked.connect(self._browse)
        self.ui.button_box.accepted.connect(self._accept)
        self.ui.button_box.rejected.connect(self.reject)
        self._format_changed()
        self.resize(600, 560)

    def format(self) -> str:
        return self.ui.format_combo.currentData()

    def _format_changed(self) -> None:
        fmt = self.format()
        suffix = dict((k, s) for k, _, s in FORMAT_CHOICES)[fmt]
        stem = self._project_path.with_suffix("")
        self.ui.path_edit.setText(str(stem.with_name(f"{stem.name}-labels{suffix}")))
        self.ui.raw_box.setEnabled(fmt == "csv")
        self.ui.bom_box.setEnabled(fmt == "csv")
        self.ui.per_doc_box.setEnabled(fmt == "spacy")

    def _browse(self) -> None:
        if self.format() == "brat":
            path = QFileDialog.getExistingDirectory(self, "Export into a folder", self.ui.path_edit.text())
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export to", self.ui.path_edit.text())
        if path:
            self.ui.path_edit.setText(path)

    @staticmethod
    def _checked(widget) -> list[str]:
        return [widget.item(i).text() for i in range(widget.count())
                if widget.item(i).checkState() == Qt.CheckState.Checked]

    def options(self) -> ExportOptions:
        annotators = self._checked(self.ui.annotators_list)
        labels = self._checked(self.ui.labels_list)
        return ExportOptions(
            format=self.format(),
            annotators=[] if len(annotators) == self.ui.annotators_list.count() else annotators,
            labels=[] if len(labels) == self.ui.labels_list.count() else labels,
            gold=self.ui.gold_box.isChecked(), all=self.ui.all_box.isChecked(),
            flagged=self.ui.flagged_box.isChecked(), raw=self.ui.raw_box.isChecked(),
            bom=self.ui.bom_box.isChecked(), per_doc=self.ui.per_doc_box.isChecked())

    def path(self) -> Path:
        return Path(self.ui.path_edit.text().strip())

    def _accept(self) -> None:
        if not self.ui.path_edit.text().strip():
            self.ui.error_label.setText("Choose where to save the export.")
            return
        options = self.options()
        if self.ui.annotators_list.count() and not self._checked(self.ui.annotators_list) and not options.gold:
            self.ui.error_label.setText("Tick at least one annotator.")
            return
        if not self._checked(self.ui.labels_list):
            self.ui.error_label.setText("Tick at least one label.")
            return
        self.accept()


def export_job(project_path: Path, path: Path, options: ExportOptions, parent: QObject | None = None) -> Job:
    """The export on its own thread with a read-only connection; the job's result is the ExportReport."""

    def work(progress, should_stop) -> ExportReport:
        with Project.open(project_path, readonly=True) as project:
            return export(project, path, options, progress=progress, should_stop=should_stop)

    return Job("export", work, parent)
