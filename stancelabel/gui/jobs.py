"""Work that must not freeze the window (an import, an export, a split, a merge, a filter over a big
project), on its own thread.

A known failure (a StanceLabelError) comes back as the job's error, one line for
the window to show. Anything else is a bug: it is logged with its traceback,
comes back as a short error, and is handed to the application's exception hook
(the crash dialog) with its traceback once the job has ended.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from stancelabel.core.errors import StanceLabelError
from stancelabel.gui.failures import report

log = logging.getLogger(__name__)

#: ``work(progress, should_stop)``: progress takes a count; returns the result.
Work = Callable[[Callable[[int], None], Callable[[], bool]], Any]


class _Runner(QObject):
    """Lives on the job's thread and runs the work there."""

    progress = Signal(object)
    done = Signal(object, str)
    crashed = Signal(object)

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
        except Exception as error:
            log.exception("a job on thread %s failed", threading.current_thread().name)
            self.crashed.emit(error)  # before done: the job holds it when it ends
            self.done.emit(None, f"failed unexpectedly: {type(error).__name__}: {error} (the details are in the log)")
            return
        self.done.emit(result, "")


class Job(QObject):
    """Runs ``work`` on its own thread (with its own database connections, opened by the work).

    ``finished(result, error)`` fires once, on the GUI thread, after the thread stopped;
    ``result`` then holds the same pair. ``cancel`` asks the work to stop at its next check.
    """

    progress = Signal(object)
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
        self._runner.crashed.connect(self._on_crashed)
        self.result: tuple[Any, str] | None = None
        self._crash: BaseException | None = None

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self._stop.set()

    @property
    def running(self) -> bool:
        return self.result is None

    @Slot(object)
    def _on_crashed(self, error: BaseException) -> None:
        self._crash = error

    @Slot(object, str)
    def _on_done(self, result: Any, error: str) -> None:
        self.thread.quit()
        self.thread.wait()
        self.result = (result, error)
        self.finished.emit(result, error)
        if self._crash is not None:
            crash, self._crash = self._crash, None
            report(crash)

    def wait(self, timeout_ms: int = 30_000) -> None:
        """Cancel and wait for the thread (closing the window)."""
        self.cancel()
        self.thread.quit()
        self.thread.wait(timeout_ms)
