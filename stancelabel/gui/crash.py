"""Errors nobody caught, in the window: a known one (a damaged file) closes the project in one line and a
message box; anything else is a bug, logged with its traceback and shown in the crash dialog.

Qt calls Python from its own frames (slots, paints, a model's data()), where an
exception cannot travel on; PySide hands it to ``sys.excepthook``, and so do
the worker threads (gui.jobs, gui.saver) through gui.failures. ``install`` sets
the hook for the application's run.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.names import for_terminal
from stancelabel.gui import logs
from stancelabel.gui.markup import escape

log = logging.getLogger(__name__)


class CrashDialog(QDialog):
    """What went wrong, with the traceback to copy into a bug report and where the log is."""

    def __init__(self, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("StanceLabel met a bug")
        layout = QVBoxLayout(self)
        where = logs.log_path()
        intro = QLabel("<b>Something went wrong inside StanceLabel.</b><p>Every label you gave before this was "
                       "saved when you gave it. You can go on working; if the window misbehaves, restart it.</p>"
                       f"<p>The details are also in the log: <code>{escape(str(where))}</code>. Please send them "
                       "with a description of what you were doing.</p>")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy details", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(details))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(720, 440)


def can_show_dialogs(app: QApplication) -> bool:
    """Whether someone can see (and close) a dialog: not on Qt's offscreen or minimal platforms."""
    return app.platformName() not in ("offscreen", "minimal")


class Handler:
    """The application's exception hook while it runs."""

    def __init__(self, app: QApplication, show_dialogs: Callable[[], bool] | None = None) -> None:
        self.app = app
        self.show_dialogs = show_dialogs or (lambda: can_show_dialogs(app))
        self.failure: str | None = None  # the known error that is closing the window
        self.crashes: list[str] = []  # the tracebacks of bugs met
        self.dialog: CrashDialog | None = None
        self._previous = sys.excepthook

    def install(self) -> None:
        sys.excepthook = self

    def uninstall(self) -> None:
        if sys.excepthook is self:
            sys.excepthook = self._previous

    def __call__(self, kind, error, trace) -> None:
        if isinstance(error, StanceLabelError):
            self._known(error)
        else:
            self._bug(kind, error, trace)

    def _known(self, error: StanceLabelError) -> None:
        """A damaged file met while the window runs: one line, a message box, the project closed, exit 1."""
        if self.failure is not None:
            return  # the first one is being reported; the rest follow from it
        self.failure = str(error)
        log.error("closing on %s", error)
        print(f"error: {for_terminal(str(error))}", file=sys.stderr)
        QTimer.singleShot(0, self._close_all)  # not from inside the call that failed (a view's paint, say)

    def _close_all(self) -> None:
        if self.show_dialogs():
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.critical(None, "StanceLabel", f"{self.failure}\n\nStanceLabel will close this project.")
        for widget in self.app.topLevelWidgets():
            closing = getattr(widget, "close_after_failure", None)
            if closing is not None:
                closing()
        self.app.exit(1)

    def _bug(self, kind, error, trace) -> None:
        details = "".join(traceback.format_exception(kind, error, trace))
        log.error("unexpected error\n%s", details.rstrip())
        sys.stderr.write(details)
        self.crashes.append(details)
        if self.show_dialogs() and self.dialog is None:
            QTimer.singleShot(0, lambda: self._show(details))

    def _show(self, details: str) -> None:
        self.dialog = CrashDialog(details, self.app.activeWindow())
        self.dialog.finished.connect(lambda _result: setattr(self, "dialog", None))
        self.dialog.open()
