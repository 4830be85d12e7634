"""The reading pane: the current attribution in its context, with its roles marked.

The shown text is an exact slice of the document, so a position in the pane
maps back to a document offset (through UTF-16, which Qt counts in). Roles
are told apart without colour too: the source is framed, the cue is bold and
underlined, the content is italic; the tints only add to that.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QPainter, QPen, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QFrame, QTextEdit

from stancelabel.core.model import Attribution, Sentence, Spans
from stancelabel.gui.theme import LIGHT_ROLES, RoleColours


@dataclass(frozen=True)
class Shown:
    """What the pane shows: the document slice and where the current sentence is in it."""

    start: int
    end: int
    sentence_start: int
    sentence_end: int


def context_range(text: str, sentences: Sequence[Sentence], index: int, context: int, paragraph: bool,
                  spans: Spans = ()) -> tuple[int, int]:
    """First and last sentence index to show around sentence ``index``.

    ``context`` sentences on each side; with ``paragraph``, at least the whole
    paragraph (sentences not separated by a line break); and always every
    sentence an attribution's spans reach into.
    """
    lo, hi = max(0, index - context), min(len(sentences) - 1, index + context)
    if paragraph:
        while lo > 0 and "\n" not in text[sentences[lo - 1].end:sentences[lo].start]:
            lo -= 1
        while hi < len(sentences) - 1 and "\n" not in text[sentences[hi].end:sentences[hi + 1].start]:
            hi += 1
    if spans:
        first, last = min(s for s, _ in spans), max(e for _, e in spans)
        while lo > 0 and sentences[lo].start > first:
            lo -= 1
        while hi < len(sentences) - 1 and sentences[hi].end < last:
            hi += 1
    return lo, hi


def snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a selection to whole words and trim the spaces around it, as annotators mean it."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start >= end:
        return start, start
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


class ReadingPane(QTextEdit):
    """Read-only, selectable by mouse and keyboard; selections become document spans."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                     | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.document().setDocumentMargin(16)
        self.setObjectName("reading_pane")
        self._roles = LIGHT_ROLES
        self._text = ""
        self._shown: Shown | None = None
        self._utf16: list[int] | None = None  # pane position of each code point, when not 1:1
        self._frames: list[tuple[int, int]] = []

    # -- showing --------------------------------------------------------------------------

    def set_roles(self, roles: RoleColours) -> None:
        self._roles = roles

    def show_message(self, message: str) -> None:
        self._shown, self._frames, self._text = None, [], ""
        self.setPlainText(message)

    def show_attribution(self, text: str, sentences: Sequence[Sentence], attribution: Attribution,
                         context: int, paragraph: bool = False) -> None:
        """Show an attribution with ``context`` sentences around its sentence, roles marked."""
        spans = attribution.source + attribution.cue + attribution.content
        index = attribution.sentence_index
        if index is None or not 0 <= index < len(sentences):
            index = next((s.index for s in sentences if spans and s.start <= spans[0][0] < s.end), 0)
        if not sentences:
            self.show_message("This document has no sentences.")
            return
        lo, hi = context_range(text, sentences, index, context, paragraph, spans)
        current = sentences[index]
        shown = Shown(sentences[lo].start, sentences[hi].end, current.start, current.end)
        piece = text[shown.start:shown.end]
        self._text, self._shown = text, shown
        self._utf16 = None
        if "\r" in piece or len(piece.encode("utf-16-le")) != 2 * len(piece):
            # Qt counts UTF-16 units, and turns CR LF into one paragraph break: map each character.
            positions, at = [], 0
            for i, ch in enumerate(piece):
                positions.append(at)
                if ch == "\r" and piece[i + 1:i + 2] == "\n":
                    continue  # the LF after it takes the same position
                at += 2 if ord(ch) > 0xFFFF else 1
            positions.append(at)
            self._utf16 = positions

        roles = self._roles
        self.clear()
        cursor = QTextCursor(self.document())
        muted = QTextCharFormat()
        muted.setForeground(roles.muted)
        cursor.insertText(piece, muted)
        normal = QTextCharFormat()
        normal.setForeground(roles.text)
        self._format(current.start, current.end, normal)

        content = QTextCharFormat()
        content.setBackground(roles.content)
        content.setFontItalic(True)
        source = QTextCharFormat()
        source.setBackground(roles.source)
        cue = QTextCharFormat()
        cue.setBackground(roles.cue)
        cue.setFontWeight(QFont.Weight.Bold)
        cue.setFontUnderline(True)
        for spans_of_role, fmt in ((attribution.content, content), (attribution.source, source),
                                   (attribution.cue, cue)):
            for start, end in spans_of_role:
                self._format(start, end, fmt)
        self._frames = [(self.pane_position(s), self.pane_position(e)) for s, e in attribution.source
                        if shown.start <= s and e <= shown.end]
        self._scroll_to(self.pane_position(current.start))

    def _format(self, start: int, end: int, fmt: QTextCharFormat) -> None:
        assert self._shown is not None
        start, end = max(start, self._shown.start), min(end, self._shown.end)
        if start >= end:
            return
        cursor = QTextCursor(self.document())
        cursor.setPosition(self.pane_position(start))
        cursor.setPosition(self.pane_position(end), QTextCursor.MoveMode.KeepAnchor)
        cursor.mergeCharFormat(fmt)

    def _scroll_to(self, position: int) -> None:
        cursor = QTextCursor(self.document())
        cursor.setPosition(position)
        self.setTextCursor(cursor)
        self.verticalScrollBar().setValue(0)
        top = self.cursorRect(cursor).top()
        if top > self.viewport().height() / 3:
            self.verticalScrollBar().setValue(int(top - self.viewport().height() / 4))

    # -- positions --------------------------------------------------------------------------

    def pane_position(self, offset: int) -> int:
        """The pane position (UTF-16 units) of a document offset inside the shown slice."""
        assert self._shown is not None
        relative = min(max(offset, self._shown.start), self._shown.end) - self._shown.start
        return self._utf16[relative] if self._utf16 is not None else relative

    def document_offset(self, position: int) -> int:
        """The document offset of a pane position."""
        assert self._shown is not None
        if self._utf16 is None:
            relative = position
        else:
            relative = bisect.bisect_right(self._utf16, position) - 1
        return self._shown.start + min(max(relative, 0), self._shown.end - self._shown.start)

    def selected_span(self) -> tuple[int, int] | None:
        """The selection as a document span, widened to whole words; None when nothing is selected."""
        cursor = self.textCursor()
        if self._shown is None or not cursor.hasSelection():
            return None
        start, end = snap_to_words(self._text, self.document_offset(cursor.selectionStart()),
                                   self.document_offset(cursor.selectionEnd()))
        return (start, end) if start < end else None

    def select_document_span(self, start: int, end: int) -> None:
        """Select a document span in the pane (tests, and keyboard helpers)."""
        cursor = self.textCursor()
        cursor.setPosition(self.pane_position(start))
        cursor.setPosition(self.pane_position(end), QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)

    @property
    def shown(self) -> Shown | None:
        return self._shown

    # -- the source's frame -------------------------------------------------------------------

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._frames:
            return
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(self._roles.frame)
        pen.setWidthF(1.6)
        painter.setPen(pen)
        offset = QPointF(-self.horizontalScrollBar().value(), -self.verticalScrollBar().value())
        for rect in self._frame_rects():
            painter.drawRoundedRect(rect.translated(offset), 3, 3)
        painter.end()

    def _frame_rects(self) -> list[QRectF]:
        rects: list[QRectF] = []
        document = self.document()
        for start, end in self._frames:
            block = document.findBlock(start)
            while block.isValid() and block.position() < end:
                layout, base = block.layout(), block.position()
                for i in range(layout.lineCount()):
                    line = layout.lineAt(i)
                    line_start = base + line.textStart()
                    s, e = max(start, line_start), min(end, line_start + line.textLength())
                    if s >= e:
                        continue
                    x1 = _x(line.cursorToX(s - base))
                    x2 = _x(line.cursorToX(e - base))
                    rect = QRectF(x1 - 2, line.y() + 1, x2 - x1 + 4, line.height() - 1)
                    rects.append(rect.translated(layout.position()))
                block = block.next()
        return rects

    def frame_rects(self) -> list[QRectF]:
        """Where the source frames are drawn, in document coordinates (for tests)."""
        return self._frame_rects()


def _x(value) -> float:
    # PySide6 returns (x, cursor position) from QTextLine.cursorToX
    return float(value[0] if isinstance(value, tuple) else value)
