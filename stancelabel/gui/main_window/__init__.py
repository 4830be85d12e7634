"""The annotation window, as a package of parts (see window.py for the map)."""

from stancelabel.gui.main_window.widgets import count
from stancelabel.gui.main_window.window import MainWindow

__all__ = ["MainWindow", "count"]
