"""Loading the Qt Designer forms shipped in stancelabel.ui at run time."""

from __future__ import annotations

from importlib import resources

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtUiTools import QUiLoader
from PySide6.QtWidgets import QWidget


def form_names() -> list[str]:
    """Every form shipped with the package, without the .ui suffix."""
    return sorted(p.name[:-3] for p in resources.files("stancelabel.ui").iterdir() if p.name.endswith(".ui"))


def load_form(name: str, parent: QWidget | None = None) -> QWidget:
    """Build the widget tree of ``ui/NAME.ui``; named children are attributes of the result.

    Read through importlib.resources, so it works from a wheel, an editable
    install and a zip alike.
    """
    data = resources.files("stancelabel.ui").joinpath(f"{name}.ui").read_bytes()
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    widget = QUiLoader().load(buffer, parent)
    buffer.close()
    if widget is None:
        raise RuntimeError(f"the form {name}.ui could not be built")
    return widget
