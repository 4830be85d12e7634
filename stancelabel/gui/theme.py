"""Light and dark themes, and the colours of source, cue and content in each.

The app uses the Fusion style with its own palettes, so it looks the same on
every desktop and in offscreen renders, and follows the system's colour
scheme when the theme is "system".
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class RoleColours:
    """Tints for the three roles; each role is also marked without colour (frame, bold, italic)."""

    source: QColor
    cue: QColor
    content: QColor
    frame: QColor
    muted: QColor
    unsaved: QColor
    text: QColor
    banner: QColor


LIGHT_ROLES = RoleColours(QColor("#dbe9ff"), QColor("#ffe2a8"), QColor("#e4f4df"), QColor("#2f5fb3"),
                          QColor("#7a7f87"), QColor("#b3261e"), QColor("#1d1f22"), QColor("#eef3fb"))
DARK_ROLES = RoleColours(QColor("#243b5e"), QColor("#5a4417"), QColor("#23402a"), QColor("#8fb4ff"),
                         QColor("#8d939c"), QColor("#ff8a80"), QColor("#e6e6e6"), QColor("#2a3340"))


def _palette(dark: bool) -> QPalette:
    p = QPalette()
    if dark:
        window, base, alt, text, button = "#25272b", "#1c1d20", "#222428", "#e6e6e6", "#2e3035"
        highlight, link, disabled = "#3d6fb6", "#8fb4ff", "#7b7f86"
    else:
        window, base, alt, text, button = "#f3f3f1", "#ffffff", "#f7f7f5", "#1d1f22", "#ececea"
        highlight, link, disabled = "#2f6fd0", "#1f57b0", "#9a9da3"
    groups = (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive)
    for group in groups:
        p.setColor(group, QPalette.ColorRole.Window, QColor(window))
        p.setColor(group, QPalette.ColorRole.WindowText, QColor(text))
        p.setColor(group, QPalette.ColorRole.Base, QColor(base))
        p.setColor(group, QPalette.ColorRole.AlternateBase, QColor(alt))
        p.setColor(group, QPalette.ColorRole.Text, QColor(text))
        p.setColor(group, QPalette.ColorRole.Button, QColor(button))
        p.setColor(group, QPalette.ColorRole.ButtonText, QColor(text))
        p.setColor(group, QPalette.ColorRole.Highlight, QColor(highlight))
        p.setColor(group, QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
        p.setColor(group, QPalette.ColorRole.ToolTipBase, QColor(base))
        p.setColor(group, QPalette.ColorRole.ToolTipText, QColor(text))
        p.setColor(group, QPalette.ColorRole.PlaceholderText, QColor(disabled))
        p.setColor(group, QPalette.ColorRole.Link, QColor(link))
        p.setColor(group, QPalette.ColorRole.BrightText, QColor("#ff5252"))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Window, QColor(window))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Base, QColor(window))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, QColor(button))
    return p


def system_prefers_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def is_dark(theme: str) -> bool:
    return theme == "dark" or (theme == "system" and system_prefers_dark())


#: Where the keyboard is must always be visible: the reading pane (frameless, the window's home) and the
#: lists get a highlight-coloured border while they have focus; fields and buttons have Fusion's own.
FOCUS_STYLE = """
QTextEdit#reading_pane { border: 2px solid transparent; border-radius: 3px; }
QTextEdit#reading_pane:focus { border: 2px solid palette(highlight); }
QAbstractItemView { border: 1px solid palette(mid); }
QAbstractItemView:focus { border: 1px solid palette(highlight); }
"""


def apply_theme(theme: str) -> RoleColours:
    """Switch the whole application to a theme; returns the role colours that go with it."""
    app = QApplication.instance()
    dark = is_dark(theme)
    app.setStyle("Fusion")
    app.setPalette(_palette(dark))
    app.setStyleSheet("")  # palette(...) in a style sheet is read when it is set: set it again
    app.setStyleSheet(FOCUS_STYLE)
    return DARK_ROLES if dark else LIGHT_ROLES

