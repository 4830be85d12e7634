"""One place for everything the GUI remembers between sessions, around QSettings."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

THEMES = ("system", "light", "dark")
DEFAULT_CONTEXT = 2
MAX_CONTEXT = 20
DEFAULT_FONT_SIZE = 12
FONT_SIZES = (8, 30)
MAX_RECENT = 8


class Settings:
    """Typed access to the user's settings (per user, not per project file).

    Keys live in one QSettings store named after the application; values are
    checked on the way out, so a hand-edited or damaged settings file falls
    back to defaults instead of breaking the window.
    """

    def __init__(self, store: QSettings | None = None) -> None:
        self._s = store or QSettings()

    def _int(self, key: str, default: int, low: int, high: int) -> int:
        try:
            value = int(self._s.value(key, default))
        except (TypeError, ValueError):
            return default
        return min(max(value, low), high)

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._s.value(key)
        return value if isinstance(value, QByteArray) else None

    # -- shared projects --------------------------------------------------------------

    @property
    def sync_interval_ms(self) -> int:
        """How often the window syncs a shared project's working copy (1 s to 10 min)."""
        return self._int("sync/interval_ms", 5000, 1000, 600_000)

    @sync_interval_ms.setter
    def sync_interval_ms(self, value: int) -> None:
        self._s.setValue("sync/interval_ms", min(max(int(value), 1000), 600_000))

    # -- look and layout --------------------------------------------------------------

    @property
    def theme(self) -> str:
        value = self._s.value("view/theme", "system")
        return value if value in THEMES else "system"

    @theme.setter
    def theme(self, value: str) -> None:
        if value not in THEMES:
            raise ValueError(value)
        self._s.setValue("view/theme", value)

    @property
    def font_size(self) -> int:
        return self._int("view/font_size", DEFAULT_FONT_SIZE, *FONT_SIZES)

    @font_size.setter
    def font_size(self, value: int) -> None:
        self._s.setValue("view/font_size", min(max(int(value), FONT_SIZES[0]), FONT_SIZES[1]))

    @property
    def context_size(self) -> int:
        """Sentences shown before and after the current one."""
        return self._int("view/context", DEFAULT_CONTEXT, 0, MAX_CONTEXT)

    @context_size.setter
    def context_size(self, value: int) -> None:
        self._s.setValue("view/context", min(max(int(value), 0), MAX_CONTEXT))

    @property
    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self._s.setValue("window/geometry", value)

    @property
    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    @window_state.setter
    def window_state(self, value: QByteArray) -> None:
        self._s.setValue("window/state", value)

    def splitter_state(self, name: str) -> QByteArray | None:
        return self._bytes(f"window/splitter/{name}")

    def set_splitter_state(self, name: str, value: QByteArray) -> None:
        self._s.setValue(f"window/splitter/{name}", value)

    # -- who and where ----------------------------------------------------------------

    @property
    def annotator(self) -> str:
        value = self._s.value("annotator/name", "")
        return value.strip() if isinstance(value, str) else ""

    @annotator.setter
    def annotator(self, name: str) -> None:
        self._s.setValue("annotator/name", name.strip())

    @staticmethod
    def _project_key(project_path: Path) -> str:
        return hashlib.sha1(str(Path(project_path).resolve()).encode("utf-8")).hexdigest()[:16]

    def position(self, project_path: Path, annotator: str) -> int | None:
        """The attribution this annotator was on when they last left this project."""
        key = f"positions/{self._project_key(project_path)}/{hashlib.sha1(annotator.encode()).hexdigest()[:12]}"
        try:
            return int(self._s.value(key))
        except (TypeError, ValueError):
            return None

    def set_position(self, project_path: Path, annotator: str, attribution_id: int) -> None:
        key = f"positions/{self._project_key(project_path)}/{hashlib.sha1(annotator.encode()).hexdigest()[:12]}"
        self._s.setValue(key, int(attribution_id))

    @property
    def recent(self) -> list[str]:
        value = self._s.value("files/recent", [])
        if isinstance(value, str):
            value = [value]
        return [x for x in value if isinstance(x, str)][:MAX_RECENT] if isinstance(value, list) else []

    def add_recent(self, path: Path) -> None:
        resolved = str(Path(path).resolve())
        self._s.setValue("files/recent", [resolved, *[x for x in self.recent if x != resolved]][:MAX_RECENT])

    def sync(self) -> str | None:
        """Write the settings to their file now; returns why they could not be, in one line naming the file
        (a read-only or full settings folder), or None. What the window remembers is kept for this run."""
        self._s.sync()
        status = self._s.status()
        if status == QSettings.Status.NoError:
            return None
        why = "cannot write it" if status == QSettings.Status.AccessError else "the file is not in the settings format"
        return f"{self._s.fileName()}: the settings were not saved ({why}); recent projects and the layout are " \
               "remembered for this run only"
