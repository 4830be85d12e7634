"""Work that must not freeze the window (an export, a merge, a filter over a big project), on its own thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from stancelabel.core.errors import StanceLabelError

#: ``work(progress, should_stop)``: progress takes a count; returns the result.
Work = Callable[[Callable[[int], None], Callable[[], bool]], Any]


class _Runner(QObject):
    """Lives on the job's thread and runs the work there."""

    progress = Signal(int)
    done = Signal(object, str)

    def __init__(self, work: Work, stop: threading.Event) -> None:
        super().__init__()
        self._work, self._stop = work, stop

    @Slot()
    def run(self) -> None:
        try:
            result = self._work(self.progress.emit, self._stop.is_set)
        except StanceLabelError as error:
            self.done.emit(None, str(error))
            return
        except Exception as error:  # noqa: BLE001 (a worker must report, never die silently)
            self.done.emit(None, f"failed unexpectedly: {type(error).__name__}: {error}")
            return
        self.done.emit(result, "")


class Job(QObject):
    """Runs ``work`` on its own thread (with its own database connections, opened by the work).

    ``finished(result, error)`` fires once, on the GUI thread, after the thread stopped;
    ``result`` then holds the same pair. ``cancel`` asks the work to stop at its next check.
    """

    progress = Signal(int)
    finished = Signal(object, str)

    def __init__(self, name: str, work: Work, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stop = threading.Event()
        self._runner = _Runner(work, self._stop)
        self.thread = QThread()
        self.thread.setObjectName(f"stancelabel-{name}")
        self._runner.moveToThread(self.thread)
        self.thread.started.connect(self._runner.run)
        self._runner.progress.connect(self.progress)
        # A bound slot of this object (which lives on the GUI thread): Qt delivers the result here
        # through the event loop, after the runner's slot has returned.
        self._runner.done.connect(self._on_done)
        self.result: tuple[Any, str] | None = None

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self._stop.set()

    @property
    def running(self) -> bool:
        return self.result is None

    @Slot(object, str)
    def _on_done(self, result: Any, error: str) -> None:
        self.thread.quit()
        self.thread.wait()
        self.result = (result, error)
        self.finished.emit(result, error)

    def wait(self, timeout_ms: int = 30_000) -> None:
        """Cancel and wait for the thread (closing the window)."""
        self.cancel()
        self.thread.quit()
        self.thread.wait(timeout_ms)
