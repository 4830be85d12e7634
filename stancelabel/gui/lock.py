"""One window per project file: a lock that names the process holding it.

The lock file lives in the user's runtime (or temp) folder, keyed by the
project's resolved path, so it works for projects in read-only folders and
never litters the folder the project was shared in. A lock left by a crashed
process is recognised as stale and taken over.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QLockFile, QStandardPaths

from stancelabel.core.errors import ProjectFileError


def _lock_path(project_path: Path) -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")  # asked directly: Qt warns when it is unset
    folder = runtime if runtime and os.path.isdir(runtime) else \
        QStandardPaths.writableLocation(QStandardPaths.StandardLocation.TempLocation)
    digest = hashlib.sha1(str(Path(project_path).resolve()).encode("utf-8")).hexdigest()[:20]
    return Path(folder) / f"stancelabel-{digest}.lock"


class ProjectLock:
    """Held while a window shows the project; ``acquire`` refuses if another window holds it."""

    def __init__(self, project_path: Path) -> None:
        self.project_path = Path(project_path)
        self._lock = QLockFile(str(_lock_path(self.project_path)))
        self._lock.setStaleLockTime(0)  # stale only when its process is gone

    def acquire(self) -> None:
        if self._lock.tryLock(0):
            return
        info = self._lock.getLockInfo()
        numbers = [x for x in info if isinstance(x, int) and not isinstance(x, bool)] \
            if isinstance(info, tuple) else []
        pid = numbers[0] if numbers else None
        who = f" (process {pid})" if pid else ""
        raise ProjectFileError(
            self.project_path,
            f"already open in another StanceLabel window{who}; switch to that window, or close it there first",
        )

    def release(self) -> None:
        if self._lock.isLocked():
            self._lock.unlock()
