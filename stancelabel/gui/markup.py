"""Text into Qt's rich text: escaped for element content (quotes stay readable)."""

from __future__ import annotations

import html


def escape(text: str) -> str:
    """``<``, ``>`` and ``&`` escaped; quotes and apostrophes left as they are (not attribute values)."""
    return html.escape(text, quote=False)


#: Heading sizes relative to the body text: Qt's Markdown defaults are poster-sized in a side panel.
_HEADING_SCALE = {1: 1.35, 2: 1.18, 3: 1.08}


def show_markdown(browser, markdown: str) -> None:
    """Render Markdown in a QTextBrowser with headings scaled for a narrow panel."""
    from PySide6.QtGui import QTextCharFormat, QTextCursor, QTextFormat

    browser.setMarkdown(markdown)
    base = browser.font().pointSizeF()
    block = browser.document().begin()
    while block.isValid():
        level = block.blockFormat().headingLevel()
        if level:
            cursor = QTextCursor(block)
            cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
            fmt = QTextCharFormat()
            fmt.setProperty(QTextFormat.Property.FontSizeAdjustment, 0)  # Markdown's own heading sizes off
            fmt.setFontPointSize(base * _HEADING_SCALE.get(level, 1.0))
            cursor.mergeCharFormat(fmt)
        block = block.next()
