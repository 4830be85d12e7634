"""The window's log: a rotating file in the user's data folder, so a bug in the field leaves a report.

Every module logs through ``logging.getLogger(__name__)``; the window sends it
here (INFO and up, errors with their tracebacks). About names the file, and the
crash dialog points to it.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import sys
from pathlib import Path

LOG_NAME = "stancelabel.log"
#: One file of 1 MB and three older ones: weeks of a working day's events.
MAX_BYTES, BACKUPS = 1_000_000, 3
_handler: logging.Handler | None = None


def log_path() -> Path:
    """Where the log is written (the folder is made on setup)."""
    from PySide6.QtCore import QStandardPaths

    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(folder) / "logs" / LOG_NAME


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file; when a record cannot be written (the disk filled up, the folder became read-only)
    it says so once on standard error and logs no more, instead of a traceback for every record."""

    def handleError(self, record: logging.LogRecord) -> None:
        global _handler
        logging.getLogger("stancelabel").removeHandler(self)
        if _handler is self:
            _handler = None
        error = sys.exc_info()[1]
        reason = getattr(error, "strerror", None) or error
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"stancelabel: {self.baseFilename}: cannot write the log ({reason}); "
                             "logging is off for this run\n")
        with contextlib.suppress(OSError, ValueError):
            self.close()


def setup() -> Path | None:
    """Send the package's log records to the file (once per process); returns its path, or None when the
    folder cannot be written (then nothing is logged, and nothing else fails)."""
    global _handler
    path = log_path()
    package = logging.getLogger("stancelabel")
    if _handler is not None:
        if Path(getattr(_handler, "baseFilename", "")) == path:
            return path
        package.removeHandler(_handler)  # the data folder moved (tests give each run its own)
        _handler.close()
        _handler = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _LogFile(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")  # opened now
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    _handler = handler
    return path


def logger(part: str) -> logging.Logger:
    return logging.getLogger(f"stancelabel.gui.{part}")
