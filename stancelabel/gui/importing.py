"""Importing from the GUI: the same import code as the CLI, on a worker thread.

Each document is committed as soon as spaCy has processed it, and the window
refreshes its lists as they arrive, so labelling can start with the first
document while the rest are still being processed. Cancel stops after the
current document; running the same import again continues where it stopped.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from stancelabel.core.errors import StanceLabelError
from stancelabel.io.importer import ImportOptions, ImportReport, Progress, import_paths, project_pipeline
from stancelabel.store.project import Project


class ImportWorker(QObject):
    """Runs one import on its own thread with its own connection to the project."""

    progress = Signal(int, int)  # documents stored, documents to store
    succeeded = Signal(object, str)  # ImportReport, pipeline description
    failed = Signal(str)

    def __init__(self, project_path: Path, paths: list[Path], options: ImportOptions) -> None:
        super().__init__()
        self.project_path = Path(project_path)
        self.paths = [Path(p) for p in paths]
        self.options = options
        self._stop = threading.Event()

    def cancel(self) -> None:
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    @Slot()
    def run(self) -> None:
        try:
            with Project.open(self.project_path) as project:
                nlp, info = project_pipeline(project, None, detect=self.options.detect)
                if self._stop.is_set():
                    self.succeeded.emit(ImportReport(interrupted=True), info.name)
                    return
                report = import_paths(project, self.paths, self.options, nlp, info,
                                      progress=self._on_progress, should_stop=self._stop.is_set)
        except StanceLabelError as error:
            self.failed.emit(str(error))
            return
        except Exception as error:  # noqa: BLE001 (a worker must report, never die silently)
            self.failed.emit(f"the import failed unexpectedly: {type(error).__name__}: {error}")
            return
        described = f"{info.name} {info.version}" + (" (fallback)" if info.warning else "")
        self.succeeded.emit(report, described)

    def _on_progress(self, progress: Progress) -> None:
        self.progress.emit(progress.done, progress.total)


class ImportJob(QObject):
    """An ImportWorker with its thread; ``finished`` fires once, after the thread stopped."""

    progress = Signal(int, int)
    finished = Signal(object, str, str)  # report (or None), pipeline, error message

    def __init__(self, project_path: Path, paths: list[Path], options: ImportOptions | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = ImportWorker(project_path, paths, options or ImportOptions())
        self.thread = QThread()
        self.thread.setObjectName("stancelabel-import")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.progress.connect(self.progress)
        # Bound slots of this object (which lives on the GUI thread), not lambdas: Qt then delivers
        # the worker's signals here through the event loop, after the worker's slot has returned.
        self.worker.succeeded.connect(self._on_succeeded)
        self.worker.failed.connect(self._on_failed)
        self.result: tuple[ImportReport | None, str, str] | None = None

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.worker.cancel()

    @Slot(object, str)
    def _on_succeeded(self, report: ImportReport, pipeline: str) -> None:
        self._end(report, pipeline, "")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._end(None, "", message)

    def _end(self, report: ImportReport | None, pipeline: str, error: str) -> None:
        self.thread.quit()
        self.thread.wait()
        self.result = (report, pipeline, error)
        self.finished.emit(report, pipeline, error)

    @property
    def running(self) -> bool:
        return self.result is None

    def wait(self, timeout_ms: int = 30_000) -> None:
        """Cancel and wait for the thread (closing the window)."""
        self.cancel()
        self.thread.quit()
        self.thread.wait(timeout_ms)
