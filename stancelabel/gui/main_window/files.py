"""Files: importing, exporting, splitting a project among annotators and merging their files, each
on a worker thread of its own (gui.jobs.Job), so the window goes on while they run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox

from stancelabel.gui.main_window.widgets import count

if TYPE_CHECKING:
    from stancelabel.gui.jobs import Job
    from stancelabel.gui.main_window.window import MainWindow

IMPORT_FILTER = "Texts and datasets (*.txt *.jsonl *.ndjson *.csv *.tsv *.ann);;All files (*)"


class Files:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.import_job: Job | None = None
        self.export_job: Job | None = None
        self.split_job: Job | None = None
        self.merge_job: Job | None = None
        self.join_job: Job | None = None
        self._export_dialog = None

    def wait(self) -> None:
        """Cancel and wait for the jobs on the project (it is being closed)."""
        for job in (self.import_job, self.export_job, self.split_job):
            if job is not None and job.running:
                job.wait()

    # -- import ------------------------------------------------------------------------------

    def import_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self.w, "Import into this project", "", IMPORT_FILTER)
        if paths:
            self.ask_and_import([Path(p) for p in paths])

    def import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.w, "Import a folder into this project")
        if folder:
            self.ask_and_import([Path(folder)])

    def ask_and_import(self, paths: list[Path]):
        """The import dialog (which detector, at what cost), then the import."""
        from stancelabel.gui.importing import ImportDialog

        dialog = ImportDialog(paths, self.w)
        dialog.accepted.connect(lambda: self.start_import(paths, dialog.detector()))
        dialog.open()
        self._import_dialog = dialog
        return dialog

    def start_import(self, paths: list[Path], detector: str | None = None):
        from stancelabel.gui.importing import import_job

        w = self.w
        if self.import_job is not None and self.import_job.running:
            QMessageBox.information(w, "Import running", "An import is running; wait for it or cancel it first.")
            return None
        job = import_job(w.project.path, paths, detector=detector, parent=w)
        job.progress.connect(self._import_progress)
        job.finished.connect(self._import_finished)
        self.import_job = job
        w.import_bar.setRange(0, 0)
        w.import_bar.setFormat("Importing…")
        w.import_bar.setVisible(True)
        w.import_cancel.setVisible(True)
        w.statusBar().showMessage(f"Importing {', '.join(p.name for p in paths[:3])}"
                                  + (" …" if len(paths) > 3 else "") + " (loading spaCy)")
        job.start()
        return job

    def cancel_import(self) -> None:
        if self.import_job is not None:
            self.import_job.cancel()
            self.w.import_cancel.setEnabled(False)
            self.w.statusBar().showMessage("Cancelling after the current document…")

    def _import_progress(self, progress: tuple[int, int]) -> None:
        done, total = progress
        bar = self.w.import_bar
        bar.setRange(0, total)
        bar.setValue(done)
        bar.setFormat(f"Imported {done} / {total}")
        if not self.w.refresh_timer.isActive():
            self.w.refresh_timer.start()

    def refresh_after_import(self) -> None:
        """Documents stored since: the lists grow; new attributions go at the end of the queue, leaving the
        item shown (and a selection being made in the reading pane) as it is."""
        w = self.w
        if w.project is None:
            return
        documents, queuing = w.queuing.documents, w.queuing
        documents.refresh_total()
        while documents.canFetchMore() and documents.rowCount() < 2 * documents.PAGE:
            documents.fetchMore()
        with w.display.batch():
            if queuing.append_new():
                if queuing.current is None:
                    queuing.go_to_row(0)
                    w.pane.setFocus()
                else:
                    w.view.location_label.setText(w.display.location_text())
            w.labelling.recount()
        w.pipeline_label.setText(w.dialogs.pipeline_text())

    def _import_finished(self, result, error: str) -> None:
        w = self.w
        w.import_bar.setVisible(False)
        w.import_cancel.setVisible(False)
        w.import_cancel.setEnabled(True)
        self.refresh_after_import()
        if error:
            QMessageBox.warning(w, "Import failed", error)
            return
        report, pipeline = result
        summary = (f"{report.documents_added} document(s) imported ({report.attributions_added} attributions) "
                   f"with {pipeline}")
        if report.documents_present:
            summary += f"; {report.documents_present} already in the project"
        if report.interrupted:
            summary += ". Cancelled: import the same files again to continue"
        w.statusBar().showMessage(summary, 15000)
        problems = report.errors + report.warnings
        if problems:
            QMessageBox.warning(w, "Import finished with problems",
                                summary + ".\n\n" + "\n".join(problems[:20])
                                + (f"\n… and {len(problems) - 20} more" if len(problems) > 20 else ""))

    # -- export ------------------------------------------------------------------------------

    def export_labels(self):
        """File › Export: choose format, file and filters; the export runs on a worker thread."""
        from stancelabel.gui.exporting import ExportDialog

        w = self.w
        if self.export_job is not None and self.export_job.running:
            QMessageBox.information(w, "Export running", "An export is running; wait for it or cancel it first.")
            return None
        w.labelling.commit_note()
        dialog = ExportDialog(w.project.path, w.project.annotators(), [x.name for x in w.labels], w.annotator, w)
        dialog.accepted.connect(lambda: self.start_export(dialog.path(), dialog.options()))
        dialog.open()
        self._export_dialog = dialog
        return dialog

    def start_export(self, path: Path, options):
        from stancelabel.gui.exporting import export_job

        w = self.w
        w.labelling.saver.wait_until_idle(3000)  # what was just labelled belongs in the export
        job = export_job(w.project.path, path, options, parent=w)
        job.progress.connect(lambda n: w.export_label.setText(f"Exported {count(n)} record(s)…"))
        job.finished.connect(lambda report, error: self._export_finished(path, report, error))
        self.export_job = job
        w.export_label.setText("Exporting…")
        w.export_label.setVisible(True)
        w.export_cancel.setVisible(True)
        job.start()
        return job

    def cancel_export(self) -> None:
        if self.export_job is not None:
            self.export_job.cancel()

    def _export_finished(self, path: Path, report, error: str) -> None:
        w = self.w
        w.export_label.setVisible(False)
        w.export_cancel.setVisible(False)
        if error:
            QMessageBox.warning(w, "Export failed", error)
        elif report.interrupted:
            w.statusBar().showMessage(f"Export cancelled; {path} was not changed.", 8000)
        else:
            w.statusBar().showMessage(f"{count(report.records)} record(s) from {count(report.documents)} "
                                      f"document(s) exported to {path}.", 10000)
            if report.renamed:  # names that could not be their plain file names: say which files they are
                QMessageBox.information(w, "Exported", "Some files have names of their own (the plain name was "
                                        "taken, or too long):\n\n" + "\n".join(f"{what}: {name}"
                                                                                for what, name in report.renamed))

    # -- split and merge -------------------------------------------------------------------------

    def split_project(self):
        from PySide6.QtWidgets import QInputDialog

        w = self.w
        names, ok = QInputDialog.getText(w, "Split for annotators", "Annotators, separated by commas:")
        if not ok or not names.strip():
            return None
        overlap, ok = QInputDialog.getDouble(w, "Split for annotators",
                                             "Fraction of documents every annotator gets (for agreement):",
                                             0.2, 0.0, 1.0, 2)
        if not ok:
            return None
        folder = QFileDialog.getExistingDirectory(w, "Write the annotators' project files into")
        if not folder:
            return None
        return self.start_split(names.split(","), overlap, folder)

    def start_split(self, names: list[str], overlap: float, folder: str):
        """The split on its own thread with its own connection (it records the assignment in this project)."""
        from stancelabel.gui.jobs import Job
        from stancelabel.store.project import Project
        from stancelabel.team.split import split

        w = self.w
        w.labelling.saver.wait_until_idle(3000)  # the shares hold what was just done
        path = w.project.path

        def work(_progress, _stop):
            with Project.open(path) as project:
                return split(project, names, overlap, 0, folder)

        def finished(report, error: str) -> None:
            if error:
                QMessageBox.warning(w, "Split refused", error)
                return
            listing = "\n".join(f"{name}: {report.documents[name]} document(s) → {file}"
                                for name, file in report.files.items())
            QMessageBox.information(w, "Split", f"{listing}\n\n{report.shared} document(s) go to everyone.")

        self.split_job = job = Job("split", work, w)
        job.finished.connect(finished)
        w.statusBar().showMessage(f"Splitting among {len(names)} annotators…", 5000)
        job.start()
        return job

    def merge_files(self):
        w = self.w
        inputs, _ = QFileDialog.getOpenFileNames(w, "Files to merge", "",
                                                 "Projects and exports (*.stance *.jsonl);;All files (*)")
        if not inputs:
            return None
        output, _ = QFileDialog.getSaveFileName(w, "Merged project", "", "StanceLabel projects (*.stance)")
        if not output:
            return None
        return self.start_merge(Path(output), [Path(x) for x in inputs])

    def start_merge(self, output: Path, inputs: list[Path]):
        from stancelabel.gui.team_views import merge_job
        from stancelabel.team.merge import format_merge

        w = self.w
        job = merge_job(output, inputs, w)

        def finished(report, error: str) -> None:
            if error:
                QMessageBox.warning(w, "Merge refused", error)
                return
            answer = QMessageBox.question(w, "Merged", format_merge(report) + "\n\nOpen the merged project?")
            if answer == QMessageBox.StandardButton.Yes:
                w.open_path(str(output))

        job.finished.connect(finished)
        w.statusBar().showMessage(f"Merging {len(inputs)} file(s)…")
        job.start()
        self.merge_job = job
        return job

    # -- shared projects -------------------------------------------------------------------------

    def join_shared(self):
        """A working copy of a shared project (the lead's: every document and everyone's labels, for
        review and agreement), opened in the window once it is made."""
        from PySide6.QtWidgets import QInputDialog, QLineEdit

        w = self.w
        url, ok = QInputDialog.getText(
            w, "Work on a shared project", "The server's address (a postgresql:// URL or libpq connection string; "
            "the password comes from ~/.pgpass or PGPASSWORD):", QLineEdit.EchoMode.Normal, "postgresql://")
        if not ok or not url.strip():
            return None
        output, _ = QFileDialog.getSaveFileName(w, "Working copy", "", "StanceLabel projects (*.stance)")
        if not output:
            return None
        return self.start_join(url.strip(), Path(output if output.endswith(".stance") else output + ".stance"))

    def start_join(self, url: str, output: Path):
        from stancelabel.gui.jobs import Job

        w = self.w

        def work(_progress, _stop):
            from stancelabel.server.sync import join

            return join(url, output, None)  # the name the connected role has in the project

        job = Job("join", work, w)

        def finished(report, error: str) -> None:
            if error:
                QMessageBox.warning(w, "Not joined", error)
                return
            if w.open_path(str(output)):  # labelled as report.annotator: the file says whose copy it is
                w.statusBar().showMessage(
                    f"{output.name}: a working copy of the shared project, {count(report.documents)} document(s); "
                    "it syncs every few seconds", 15000)

        job.finished.connect(finished)
        w.statusBar().showMessage("Making a working copy of the shared project…")
        job.start()
        self.join_job = job
        return job
