"""Importing from the GUI: the same import code as the CLI, on a worker thread (gui.jobs.Job).

Each document is committed as soon as spaCy has processed it, and the window
refreshes its lists as they arrive, so labelling can start with the first
document while the rest are still being processed. Cancel stops after the
current document; running the same import again continues where it stopped.
The import dialog says which files go in and lets the annotator choose the
attribution detector, with what each costs.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QButtonGroup, QDialog, QDialogButtonBox, QLabel, QRadioButton, QVBoxLayout, QWidget

from stancelabel.gui.jobs import Job
from stancelabel.gui.markup import escape
from stancelabel.io.importer import ImportOptions, ImportReport, Progress, import_paths, project_pipeline
from stancelabel.store.project import Project


def import_job(project_path: Path, paths: list[Path], options: ImportOptions | None = None,
               detector: str | None = None, parent: QObject | None = None) -> Job:
    """The import on its own thread with its own connection. Progress: (documents stored, to store);
    result: (ImportReport, the pipeline as a few words)."""
    from stancelabel.nlp.pipeline import default_detector

    options = options or ImportOptions()
    detector = detector or default_detector(interactive=True)

    def work(progress, should_stop) -> tuple[ImportReport, str]:
        with Project.open(project_path) as project:
            nlp, info = project_pipeline(project, None, detect=options.detect, detector=detector)
            described = f"{info.name} {info.version}" + (" (fallback)" if info.warning else "")
            if should_stop():
                return ImportReport(interrupted=True), described

            def stored(done: Progress) -> None:
                progress((done.done, done.total))

            return import_paths(project, [Path(p) for p in paths], options, nlp, info, progress=stored,
                                should_stop=should_stop), described

    return Job("import", work, parent)


class ImportDialog(QDialog):
    """What is imported, and with which attribution detector (each with its cost)."""

    def __init__(self, paths: list[Path], parent: QWidget | None = None) -> None:
        from stancelabel.nlp.pipeline import default_detector, detector_choices

        super().__init__(parent)
        self.setWindowTitle("Import")
        layout = QVBoxLayout(self)
        shown = ", ".join(escape(p.name) for p in paths[:4]) + (f" and {len(paths) - 4} more" if len(paths) > 4 else "")
        layout.addWidget(QLabel(f"<b>Import</b> {shown}"))
        layout.addWidget(QLabel("Find attributions (source, cue, content) with:"))
        self.group = QButtonGroup(self)
        chosen = default_detector(interactive=True)
        for choice in detector_choices():
            button = QRadioButton(f"{choice.name}  (about {choice.relative_cost:.1f}× the time of reading the text "
                                  "alone)")
            button.setObjectName(f"detector_{choice.name}")
            button.setEnabled(choice.unavailable is None)
            button.setChecked(choice.name == chosen)
            button.setProperty("detector", choice.name)
            self.group.addButton(button)
            layout.addWidget(button)
            about = QLabel(escape(choice.description) + (f"<br><i>Not installed here: {escape(choice.unavailable)}</i>"
                                                         if choice.unavailable else ""))
            about.setWordWrap(True)
            about.setStyleSheet("color: palette(placeholder-text); margin: 0 0 6px 24px;")
            layout.addWidget(about)
        self.resize(520, self.sizeHint().height())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def detector(self) -> str:
        button = self.group.checkedButton()
        return button.property("detector") if button is not None else "fast"
