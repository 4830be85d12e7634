"""Background sync of a shared project's working copy, and its state in the status bar.

A timer asks for a sync every few seconds (``Settings.sync_interval_ms``); each runs on a thread
of its own with its own connection to the file, never on the GUI thread, and one at a time. The
sync reads the file in plain read transactions and writes pulled events in small transactions,
so the saver (the window's only other writer) is never kept waiting long: labelling goes on at
the same speed, with the server there or not. The status bar says "Synced 14:02", "Offline since
14:05 · 12 changes waiting" or "Syncing…"; what the sync brought in is shown once it is
committed (the queue's rows re-read, new documents and their attributions added to the lists, the
current item redrawn, the counts redone, the guidelines shown again).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from stancelabel.core.errors import StanceLabelError
from stancelabel.gui.failures import report
from stancelabel.gui.markup import escape, show_markdown
from stancelabel.gui.saver import LABELS_FIRST
from stancelabel.store.project import Project

if TYPE_CHECKING:
    from stancelabel.gui.jobs import Job
    from stancelabel.gui.main_window.window import MainWindow

log = logging.getLogger(__name__)

#: Pulled events per SQLite transaction: a few milliseconds of the write lock each.
WRITE_BATCH = 100
BUSY_TIMEOUT_MS = 5000


class _Worker(QObject):
    """Lives on the sync thread and owns that thread's connection to the file."""

    done = Signal(object, str, int)  # the report (None when it failed), the error, changes waiting
    crashed = Signal(object)

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path
        self._project: Project | None = None

    @Slot()
    def run(self) -> None:
        from stancelabel.server.sync import sync, waiting

        result: Any = None
        error = ""
        try:
            if self._project is None:
                self._project = Project.open(self._path)
                self._project.set_busy_timeout(BUSY_TIMEOUT_MS)
            result = sync(self._project, write_batch=WRITE_BATCH, write_turn=LABELS_FIRST.background)
        except StanceLabelError as failure:  # the server away, the network down, the file locked
            error = str(failure)
        except Exception as failure:
            log.exception("a background sync failed")
            self.crashed.emit(failure)
            error = f"failed unexpectedly: {type(failure).__name__}: {failure} (the details are in the log)"
        try:
            count = waiting(self._project) if self._project is not None else 0
        except StanceLabelError:
            count = -1  # unknown (the file itself is unreadable now; the saver says so too)
        self.done.emit(result, error, count)

    @Slot()
    def close(self) -> None:
        if self._project is not None:
            self._project.close()
            self._project = None


class Syncing(QObject):
    """The window's part that keeps a working copy in sync with its server."""

    #: a sync ended: ok, and the report or the error (tests wait on it)
    finished = Signal(bool, object)
    _run = Signal()
    _close = Signal()

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.sync_now)
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self.running = False
        self.synced_at: float | None = None
        self.offline_since: float | None = None
        self.error = ""
        self.waiting = 0
        self.agreement_due = 0.0  # the open agreement view is recomputed no sooner than this (monotonic)
        self.agreement_stale = False  # labels came while it waited: recompute when it is due
        self.agreement_job: Job | None = None  # the open agreement view's figures, being computed

    @property
    def active(self) -> bool:
        return self._thread is not None

    def start(self, project: Project) -> None:
        """Sync this project in the background if it is a shared project's working copy."""
        self.stop()
        if not project.get_setting("server"):
            self.w.sync_label.setVisible(False)
            return
        from stancelabel.server import require_psycopg

        try:
            require_psycopg()
        except StanceLabelError as error:
            self.w.sync_label.setText("Not syncing")
            self.w.sync_label.setToolTip(f"This file is a shared project's working copy; syncing it {error}.")
            self.w.sync_label.setVisible(True)
            return
        self._thread = QThread()
        self._thread.setObjectName("stancelabel-sync")
        self._worker = _Worker(project.path)
        self._worker.moveToThread(self._thread)
        self._run.connect(self._worker.run)
        self._close.connect(self._worker.close)
        self._worker.done.connect(self._on_done)
        self._worker.crashed.connect(report)
        self._thread.start()
        self.synced_at = self.offline_since = None
        self.error = ""
        self.w.sync_label.setVisible(True)
        self.timer.start(self.w.settings.sync_interval_ms)
        self.sync_now()

    def stop(self) -> None:
        """Stop syncing (another project, or closing): a sync under way is let finish, then the thread ends."""
        self.timer.stop()
        if self.agreement_job is not None and self.agreement_job.running:
            self.agreement_job.wait()
        if self._thread is None:
            return
        self._close.emit()
        self._thread.quit()
        self._thread.wait(60_000)  # a sync is at most one batch from its end, or its connect_timeout
        self._run.disconnect()
        self._close.disconnect()
        self._worker.deleteLater()
        self._thread = self._worker = None
        self.running = False

    @Slot()
    def sync_now(self) -> None:
        if self._thread is None or self.running:
            return
        self.running = True
        self._show()
        self._run.emit()

    @Slot(object, str, int)
    def _on_done(self, result: Any, error: str, waiting: int) -> None:
        self.running = False
        self.waiting = waiting
        if error:
            if self.offline_since is None:
                self.offline_since = time.time()
                log.warning("sync failed, working offline: %s", error)
            self.error = error
        else:
            self.synced_at, self.offline_since, self.error = time.time(), None, ""
            if result.pulled.events or result.pulled_attributions or result.labels_added or \
                    result.pulled_documents or result.guidelines == "received":
                self._show_what_came(result)
            self._follow_agreement(bool(result.pulled.events or result.labels_added))
        self._show()
        self.finished.emit(not error, result if not error else error)

    def _show_what_came(self, result: Any) -> None:
        """Labels, spans, attributions, documents and guidelines from the server are in the file: show them."""
        w = self.w
        if w.project is None:
            return
        with w.display.batch():
            if result.guidelines == "received":
                show_markdown(w.guidelines_view, w.project.guidelines())
            if result.labels_added or result.guidelines == "received":  # descriptions from the guidelines
                w.load_labels()
            w.queuing.queue.refresh_all()
            w.queuing.reload_current()
            w.display.show_current()
            w.files.refresh_after_import()  # new documents and attributions join the lists; the counts are redone
            if result.pulled_documents:
                w.dialogs.show_assignment()  # the share grew

    def _follow_agreement(self, labels_came: bool) -> None:
        """The lead watching the agreement view sees it move as labels arrive. The figures are computed
        by a job with its own read-only connection (gui.team_views.agreement_job), one at a time; after
        one, the next waits ten times what it took, so a project of a million labels is not recomputed
        without pause. Labels that came meanwhile are shown by the first sync after that."""
        from stancelabel.gui.team_views import agreement_job

        w = self.w
        view = w.reviewing.agreement_view
        if view is None or not view.isVisible() or w.project is None:
            self.agreement_stale = False
            return
        self.agreement_stale = self.agreement_stale or labels_came
        busy = self.agreement_job is not None and self.agreement_job.running
        if not self.agreement_stale or busy or time.monotonic() < self.agreement_due:
            return
        self.agreement_stale = False
        started, path = time.monotonic(), w.project.path
        self.agreement_job = job = agreement_job(path, self)

        def finished(figures, error: str) -> None:
            self.agreement_due = time.monotonic() + 10 * (time.monotonic() - started)
            if error:
                log.warning("the agreement view was not brought up to date: %s", error)
                return
            shown = w.reviewing.agreement_view
            if shown is not None and shown.isVisible() and w.project is not None and w.project.path == path:
                shown.show_figures(figures)

        job.finished.connect(finished)
        job.start()

    def _show(self) -> None:
        waiting = f" · {self.waiting} change(s) waiting" if self.waiting > 0 else ""
        if self.offline_since is not None:
            since = time.strftime("%H:%M", time.localtime(self.offline_since))
            text = f"<span style='color:#b26a00'>⚠ Offline since {since}{escape(waiting)}</span>"
            tip = f"The last sync failed: {self.error}. Labelling goes on; the changes go when the server is back."
        elif self.synced_at is not None:
            text = f"Synced {time.strftime('%H:%M', time.localtime(self.synced_at))}{waiting}"
            tip = "Your changes and everyone's are exchanged with the server every few seconds."
        else:
            text, tip = "Syncing…", "Exchanging changes with the server."
        self.w.sync_label.setText(text)
        self.w.sync_label.setToolTip(tip)
