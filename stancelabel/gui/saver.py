"""Durable writes off the GUI thread: the window never freezes on a slow or locked file.

Every change (label, note, flag, span edit, undo) is a small function of a
Project. The Saver runs them one after another, in order, on a worker thread
with its own SQLite connection, and reports each commit back to the GUI
thread, which only then moves on (durable before visible). A write that fails
because the file is locked, the disk is full or the folder is read-only stays
at the head of the queue and is retried; later ones wait behind it, so order
is kept and nothing is dropped silently.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QElapsedTimer, QObject, QThread, QTimer, Signal, Slot

from stancelabel.core.errors import ProjectFileError, StanceLabelError
from stancelabel.gui.failures import report
from stancelabel.store.project import MOVED_WHILE_OPEN, Project

log = logging.getLogger(__name__)

Operation = Callable[[Project], Any]
#: How long a write waits for another program's lock before it reports and retries.
WORKER_BUSY_TIMEOUT_MS = 1500
RETRY_INTERVAL_MS = 2000


class LabelsFirst:
    """The saver's writes go before background writers' (the window's sync) on this process's files.

    SQLite's busy handler polls with growing sleeps, so a writer committing batch after batch can keep
    a waiting label out for seconds. Here a background writer's transaction waits while the saver
    writes or wants to, and the saver waits (woken, not polling) only for the one background
    transaction under way: a label waits at most one small batch."""

    #: after a save, background writers wait this long for the next key press before going on: the
    #: GUI thread then has the interpreter to itself while it shows the next item
    QUIET_S = 0.03

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._saving = 0
        self._background = False
        self._saved_at = 0.0

    @contextmanager
    def saving(self):
        with self._changed:
            self._saving += 1
            self._changed.wait_for(lambda: not self._background, 10.0)
        try:
            yield
        finally:
            with self._changed:
                self._saving -= 1
                self._saved_at = time.monotonic()
                self._changed.notify_all()

    @contextmanager
    def background(self):
        deadline = time.monotonic() + 10.0
        with self._changed:
            while time.monotonic() < deadline:
                self._changed.wait_for(lambda: self._saving == 0, deadline - time.monotonic())
                quiet = self._saved_at + self.QUIET_S - time.monotonic()
                if quiet <= 0:
                    break
                self._changed.wait(quiet)  # a press in the meantime wakes it, and it waits again
            self._background = True
        try:
            yield
        finally:
            with self._changed:
                self._background = False
                self._changed.notify_all()


LABELS_FIRST = LabelsFirst()


@dataclass
class _Pending:
    ticket: int
    description: str
    operation: Operation
    on_done: Callable[[Any], None] | None
    on_refused: Callable[[str], None] | None
    attribution_id: int | None
    discarded: bool = False


class _Worker(QObject):
    """Lives on the saving thread; owns that thread's connection to the project."""

    done = Signal(int, object)
    failed = Signal(int, str, bool)
    crashed = Signal(int, object)

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        super().__init__()
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._project: Project | None = None

    @Slot(int, object)
    def run(self, ticket: int, operation: Operation) -> None:
        try:
            if self._project is None:
                if not self._path.exists():  # the window has it open: moved away, most likely for a while
                    raise ProjectFileError(self._path, MOVED_WHILE_OPEN, retriable=True)
                self._project = Project.open(self._path)
                self._project.set_busy_timeout(self._busy_timeout_ms)
            with LABELS_FIRST.saving():
                result = operation(self._project)
        except ProjectFileError as error:  # locked, full, read-only, I/O: worth retrying; damage is not
            self.failed.emit(ticket, str(error), error.retriable)
        except StanceLabelError as error:  # refused: retrying would not help
            self.failed.emit(ticket, str(error), False)
        except Exception as error:
            log.exception("a change failed on the saving thread")
            self.crashed.emit(ticket, error)
            self.failed.emit(ticket, f"not saved: StanceLabel met a bug ({type(error).__name__}: {error})", False)
        else:
            self.done.emit(ticket, result)

    @Slot()
    def close(self) -> None:
        if self._project is not None:
            self._project.close()
            self._project = None


class Saver(QObject):
    """The queue of changes waiting to be written, and its worker thread."""

    #: the number of unsaved changes or the error changed
    state_changed = Signal()
    #: a change was refused for good (e.g. undo of a label since removed): the message
    refused = Signal(str)
    _submit = Signal(int, object)
    _close = Signal()

    def __init__(self, path: Path, parent: QObject | None = None,
                 busy_timeout_ms: int = WORKER_BUSY_TIMEOUT_MS, retry_interval_ms: int = RETRY_INTERVAL_MS,
                 around: Callable[[], AbstractContextManager[Any]] = nullcontext) -> None:
        """``around``: a context each commit's report runs in (the window's render batch, so a change
        coming back is drawn once)."""
        super().__init__(parent)
        self._around = around
        self._crashed: set[int] = set()
        self.path = Path(path)
        self._tickets = itertools.count(1)
        self._pending: deque[_Pending] = deque()
        self._in_flight = False
        self.error: str | None = None
        self.saved_count = 0
        self._thread = QThread()
        self._thread.setObjectName("stancelabel-saver")
        self._worker = _Worker(self.path, busy_timeout_ms)
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._close.connect(self._worker.close)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._worker.crashed.connect(self._on_crashed)
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.setInterval(retry_interval_ms)
        self._retry.timeout.connect(self._send)
        self._thread.start()

    # -- the queue ------------------------------------------------------------------------

    def submit(self, description: str, operation: Operation, *, on_done: Callable[[Any], None] | None = None,
               on_refused: Callable[[str], None] | None = None, attribution_id: int | None = None) -> None:
        """Queue a change; ``on_done`` runs on the GUI thread once it is committed.

        A change refused for good (not a passing condition) calls ``on_refused`` with
        the message, and also emits ``refused`` so the window can say so.
        """
        self._pending.append(_Pending(next(self._tickets), description, operation, on_done, on_refused,
                                      attribution_id))
        self.state_changed.emit()
        self._send()

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def idle(self) -> bool:
        return not self._pending

    def unsaved_attributions(self) -> set[int]:
        return {p.attribution_id for p in self._pending if p.attribution_id is not None}

    def describe_pending(self) -> list[str]:
        return [p.description for p in self._pending]

    def retry_now(self) -> None:
        self._retry.stop()
        self._send()

    def _send(self) -> None:
        if self._in_flight or not self._pending:
            return
        self._in_flight = True
        head = self._pending[0]
        self._submit.emit(head.ticket, head.operation)

    @Slot(int, object)
    def _on_crashed(self, ticket: int, error: BaseException) -> None:
        self._crashed.add(ticket)  # its refusal is not shown again in a box: the crash dialog says it
        report(error)  # a bug on the saving thread reaches the crash dialog, on the GUI thread

    @Slot(int, object)
    def _on_done(self, ticket: int, result: object) -> None:
        with self._around():
            self._done(ticket, result)

    def _done(self, ticket: int, result: object) -> None:
        self._in_flight = False
        head = self._pending.popleft()
        assert head.ticket == ticket
        self.error = None
        self.saved_count += 1
        self.state_changed.emit()
        if head.on_done is not None:
            head.on_done(result)
        self._send()

    @Slot(int, str, bool)
    def _on_failed(self, ticket: int, message: str, retriable: bool) -> None:
        with self._around():
            self._failed(ticket, message, retriable)

    def _failed(self, ticket: int, message: str, retriable: bool) -> None:
        self._in_flight = False
        if self._pending and self._pending[0].discarded:
            self._pending.popleft()
            self.error = None
            self.state_changed.emit()
            self._send()
            return
        if retriable:
            if self.error != message:
                log.warning("not saved yet, retrying: %s", message)
            self.error = message
            self.state_changed.emit()
            self._retry.start()
            return
        head = self._pending.popleft()
        self.state_changed.emit()
        if head.on_refused is not None:
            head.on_refused(message)
        if ticket in self._crashed:
            self._crashed.discard(ticket)
        else:
            self.refused.emit(message)
        self._send()

    # -- shutting down --------------------------------------------------------------------

    def wait_until_idle(self, timeout_ms: int) -> bool:
        """Process events until every change is written or the time is up; True when all are."""
        if self._pending and self.error is not None:
            self.retry_now()
        clock = QElapsedTimer()
        clock.start()
        while self._pending and clock.elapsed() < timeout_ms:
            QCoreApplication.processEvents()
            QThread.msleep(2)
        return not self._pending

    def shutdown_pending(self) -> None:
        """Drop the changes still waiting (the user agreed to lose them); the thread goes on."""
        self._retry.stop()
        if not self._in_flight:
            self._pending.clear()
        else:
            while len(self._pending) > 1:
                self._pending.pop()
            head = self._pending[0]
            head.on_done, head.on_refused, head.discarded = None, None, True
        self.error = None
        self.state_changed.emit()

    def shutdown(self) -> None:
        """Close the worker's connection and stop its thread (pending changes are dropped)."""
        self._retry.stop()
        if self._thread.isRunning():
            self._close.emit()
            self._thread.quit()
            self._thread.wait(QDeadlineTimer(10_000))
        self._pending.clear()
