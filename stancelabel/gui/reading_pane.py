"""The reading pane: the current attribution in its context, with its roles marked.

The shown text is an exact slice of the document, so a position in the pane
maps back to a document offset (through UTF-16, which Qt counts in). Roles
are told apart without colour too: the source is framed, the cue is bold and
underlined, the content is italic; the tints only add to that.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QTextBlockFormat, QTextCharFormat, QTextCursor
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


@dataclass(frozen=True)
class Mark:
    """One attribution of the shown sentence: the current one is drawn strongly, the others faintly,
    each with a chip under its cue naming the annotator's label."""

    attribution_id: int
    source: Spans
    cue: Spans
    content: Spans
    label: str | None = None
    colour: str | None = None
    current: bool = False
    rejected: bool = False


#: Quote marks a content keeps at its edges (it is what was said, quotes included).
QUOTES = frozenset("\"'\u00ab\u00bb\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2039\u203a")


def _loose(ch: str, keep_quotes: bool) -> bool:
    """White space or punctuation at a selection's edge, which annotators do not mean to select."""
    if ch.isspace():
        return True
    if keep_quotes and ch in QUOTES:
        return False
    return unicodedata.category(ch).startswith("P")


def _abbreviation_stop(text: str, start: int, end: int) -> bool:
    """The full stop at ``end - 1`` ends an abbreviation with stops inside it ("U.S.", "a.m.")."""
    word_start = max(text.rfind(" ", start, end - 1) + 1, start)
    return text[end - 1] == "." and "." in text[word_start:end - 1]


def snap_to_words(text: str, start: int, end: int, keep_quotes: bool = False) -> tuple[int, int]:
    """Widen a selection to whole words and trim the white space and punctuation around it, as
    annotators mean it ("John Kirby," is "John Kirby"). With ``keep_quotes`` (a content) quote marks
    at the edges stay; a full stop that ends an abbreviation ("U.S.") stays too."""
    while start < end and _loose(text[start], keep_quotes):
        start += 1
    while end > start and _loose(text[end - 1], keep_quotes) and not _abbreviation_stop(text, start, end):
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

    #: a click on another attribution of the sentence (its id)
    attribution_clicked = Signal(int)
    #: lines are this much taller than the font (%), leaving room for the label chips under the cues
    LINE_HEIGHT = 165

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
        self._marks: list[Mark] = []
        #: (attribution id, pane start of its cue, text, label colour, current, rejected) per chip
        self._chips: list[tuple[int, int, str, QColor | None, bool, bool]] = []

    # -- showing --------------------------------------------------------------------------

    def set_roles(self, roles: RoleColours) -> None:
        self._roles = roles

    def show_message(self, message: str) -> None:
        self._shown, self._frames, self._text, self._marks, self._chips = None, [], "", [], []
        self.setPlainText(message)

    def show_attribution(self, text: str, sentences: Sequence[Sentence], attribution: Attribution,
                         context: int, paragraph: bool = False, marks: Sequence[Mark] = (),
                         caret: int | None = None) -> None:
        """Show an attribution with ``context`` sentences around its sentence, roles marked.

        ``marks``: every attribution of the sentence, the current one among them (chips, and the
        faint marks of the others); ``caret``: a document offset for the caret (where the span just
        edited ends) instead of the sentence's start.
        """
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
        self._draw_marks(marks, attribution.id)
        if caret is not None:
            cursor = QTextCursor(self.document())
            cursor.setPosition(self.pane_position(caret))
            self.setTextCursor(cursor)
            self.ensureCursorVisible()
        else:
            self._scroll_to(self.pane_position(current.start))

    def _draw_marks(self, marks: Sequence[Mark], current_id: int) -> None:
        """The other attributions of the sentence, faintly (cue dotted, source dashed, content a thin
        line; struck through when rejected), and a chip under every cue with the label given."""
        block = QTextBlockFormat()
        block.setLineHeight(self.LINE_HEIGHT, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
        cursor = QTextCursor(self.document())
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.mergeBlockFormat(block)
        self._marks, self._chips = list(marks), []
        faint = QColor(self._roles.frame)
        faint.setAlpha(170)
        for mark in marks:
            if mark.attribution_id != current_id:
                for spans, style in ((mark.content, QTextCharFormat.UnderlineStyle.SingleUnderline),
                                     (mark.source, QTextCharFormat.UnderlineStyle.DashUnderline),
                                     (mark.cue, QTextCharFormat.UnderlineStyle.DotLine)):
                    fmt = QTextCharFormat()
                    fmt.setUnderlineStyle(style)
                    fmt.setUnderlineColor(faint)
                    fmt.setFontStrikeOut(mark.rejected)
                    if spans is mark.cue:
                        tint = QColor(self._roles.cue)
                        tint.setAlpha(110)
                        fmt.setBackground(tint)
                    for start, end in spans:
                        self._format(start, end, fmt)
            assert self._shown is not None
            if mark.cue and self._shown.start <= mark.cue[0][0] < self._shown.end:
                colour = QColor(mark.colour) if mark.label and mark.colour else None
                self._chips.append((mark.attribution_id, self.pane_position(mark.cue[0][0]), mark.label or "no label",
                                    colour,
                                    mark.attribution_id == current_id, mark.rejected))

    def set_chip(self, attribution_id: int, label: str | None, colour: str | None) -> None:
        """The label of one attribution changed: its chip follows, the text is not drawn again."""
        for i, mark in enumerate(self._marks):
            if mark.attribution_id == attribution_id and (mark.label, mark.colour) != (label, colour):
                self._marks[i] = Mark(mark.attribution_id, mark.source, mark.cue, mark.content, label, colour,
                                      mark.current, mark.rejected)
                for j, chip in enumerate(self._chips):
                    if chip[0] == attribution_id:
                        self._chips[j] = (chip[0], chip[1], label or "no label",
                                          QColor(colour) if label and colour else None, chip[4], chip[5])
                self.viewport().update()

    def marks(self) -> list[Mark]:
        """The attributions of the shown sentence, as drawn."""
        return list(self._marks)

    def mark_at(self, offset: int) -> Mark | None:
        """The attribution of the sentence whose spans hold a document offset: cues before sources
        before contents, another attribution before the current one."""
        for role in ("cue", "source", "content"):
            for mark in sorted(self._marks, key=lambda m: m.current):
                if any(s <= offset < e for s, e in getattr(mark, role)):
                    return mark
        return None

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if self._shown is None or self.textCursor().hasSelection() or event.button() != Qt.MouseButton.LeftButton:
            return
        position = self.cursorForPosition(event.position().toPoint()).position()
        mark = self.mark_at(self.document_offset(position))
        if mark is not None and not mark.current:
            self.attribution_clicked.emit(mark.attribution_id)

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

    def selected_span(self, keep_quotes: bool = False) -> tuple[int, int] | None:
        """The selection as a document span, widened to whole words and trimmed of the punctuation
        around it (quote marks stay with ``keep_quotes``); None when nothing is selected."""
        cursor = self.textCursor()
        if self._shown is None or not cursor.hasSelection():
            return None
        start, end = snap_to_words(self._text, self.document_offset(cursor.selectionStart()),
                                   self.document_offset(cursor.selectionEnd()), keep_quotes)
        return (start, end) if start < end else None

    def selection_offsets(self) -> tuple[int, int]:
        """(anchor, caret) as document offsets; the same offset twice without a selection."""
        cursor = self.textCursor()
        return self.document_offset(cursor.anchor()), self.document_offset(cursor.position())

    def select_words(self, anchor: int, position: int) -> None:
        """Select from ``anchor`` to ``position`` (document offsets), the caret at ``position``."""
        cursor = self.textCursor()
        cursor.setPosition(self.pane_position(anchor))
        cursor.setPosition(self.pane_position(position), QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    @property
    def text(self) -> str:
        """The whole document's text (the pane shows a slice of it)."""
        return self._text

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
        if not self._frames and not self._chips:
            return
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(self._roles.frame)
        pen.setWidthF(1.6)
        painter.setPen(pen)
        offset = QPointF(-self.horizontalScrollBar().value(), -self.verticalScrollBar().value())
        for rect in self._frame_rects():
            painter.drawRoundedRect(rect.translated(offset), 3, 3)
        self._paint_chips(painter, offset)
        painter.end()

    def _chip_font(self) -> QFont:
        small = QFont(self.font())
        small.setPointSizeF(max(self.font().pointSizeF() * 0.62, 6.5))
        return small

    def chip_rects(self) -> list[tuple[int, str, QRectF]]:
        """(attribution id, text, place in document coordinates) of each chip: under the first line of
        its cue, side by side where attributions share a cue (a duplicate shows as two chips)."""
        return [(chip[0], chip[2], rect) for chip, rect in self._placed_chips()]

    def _placed_chips(self) -> list[tuple[tuple, QRectF]]:
        metrics = QFontMetricsF(self._chip_font())
        placed: list[tuple[tuple, QRectF]] = []
        for chip in self._chips:
            start, text = chip[1], chip[2]
            block = self.document().findBlock(start)
            layout = block.layout() if block.isValid() else None
            line = layout.lineForTextPosition(start - block.position()) if layout is not None else None
            if line is None or not line.isValid():
                continue
            x = _x(line.cursorToX(start - block.position()))
            rect = QRectF(x, line.y() + line.ascent() + line.descent() + 1,
                          metrics.horizontalAdvance(text) + 8, metrics.height() + 1).translated(layout.position())
            for _, other in placed:
                if rect.intersects(other):
                    rect.moveLeft(other.right() + 3)
            placed.append((chip, rect))
        return placed

    def _paint_chips(self, painter: QPainter, offset: QPointF) -> None:
        small = self._chip_font()
        for (_id, _start, text, colour, current, rejected), rect in self._placed_chips():
            rect = rect.translated(offset)
            edge = colour if colour is not None else QColor(self._roles.muted)
            fill = QColor(edge)
            fill.setAlpha(255 if current else 55)
            painter.setPen(QPen(edge, 1.0))
            painter.setBrush(fill if colour is not None else Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, 3, 3)
            font = QFont(small)
            font.setStrikeOut(rejected)
            font.setBold(current)
            painter.setFont(font)
            painter.setPen(QColor("#ffffff") if current and colour is not None else QColor(self._roles.text))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

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
                    rect = QRectF(x1 - 2, line.y() + 1, x2 - x1 + 4, line.ascent() + line.descent())
                    rects.append(rect.translated(layout.position()))
                block = block.next()
        return rects

    def frame_rects(self) -> list[QRectF]:
        """Where the source frames are drawn, in document coordinates (for tests)."""
        return self._frame_rects()


def _x(value) -> float:
    # PySide6 returns (x, cursor position) from QTextLine.cursorToX
    return float(value[0] if isinstance(value, tuple) else value)
