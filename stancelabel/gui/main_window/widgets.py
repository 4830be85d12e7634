"""Small widgets of the window: the key filter that lets fields keep their keys, the document row."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from stancelabel.gui.models import ItemRole, ProgressRole

NNBSP = "\u202f"


def count(n: int) -> str:
    """5210 as "5 210": digits grouped by a narrow space, as the status bar shows counts."""
    return f"{n:,}".replace(",", NNBSP)


_COMMAND_MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                      | Qt.KeyboardModifier.MetaModifier)


class KeepKeys(QObject):
    """Lets a widget keep keys the window would take as shortcuts (typing in a field, choosing in a list).

    ``keys``: those keys; None: every key pressed without Ctrl, Alt or Meta; ``wants``: a function of
    the key event that decides instead.
    """

    def __init__(self, keys: set[int] | None, on_key=None, active=lambda: True, on_focus_in=None,
                 parent=None, wants=None) -> None:
        super().__init__(parent)
        self._keys, self._on_key, self._active, self._on_focus_in = keys, on_key, active, on_focus_in
        self._wants = wants

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride and self._active():
            plain = not (event.modifiers() & _COMMAND_MODIFIERS)
            if self._wants is not None:
                keep = self._wants(event)
            else:
                keep = (event.key() in self._keys) if self._keys is not None else plain
            if keep:
                event.accept()
                return True
        elif kind == QEvent.Type.KeyPress and self._on_key is not None and self._active():
            return bool(self._on_key(event))
        elif kind == QEvent.Type.FocusIn and self._on_focus_in is not None:
            self._on_focus_in()
        return False


class DocumentDelegate(QStyledItemDelegate):
    """A document row: its title, and a thin bar of the annotator's progress."""

    def sizeHint(self, option, index) -> QSize:
        return QSize(200, option.fontMetrics.height() * 2 + 14)

    def paint(self, painter: QPainter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        done, total = index.data(ProgressRole) or (0, 0)
        rect = option.rect.adjusted(8, 5, -8, -5)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        text_colour = option.palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        painter.save()
        painter.setPen(text_colour)
        line = option.fontMetrics.height()
        title = option.fontMetrics.elidedText(index.data() or "", Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(QRect(rect.left(), rect.top(), rect.width(), line), Qt.AlignmentFlag.AlignLeft, title)
        counts = f"{count(done)} / {count(total)}"
        counts_width = option.fontMetrics.horizontalAdvance(counts) + 8
        bar = QRect(rect.left(), rect.top() + line + 5, max(rect.width() - counts_width, 10), 5)
        painter.setPen(Qt.PenStyle.NoPen)
        groove = QColor(text_colour)
        groove.setAlpha(45)
        painter.setBrush(groove)
        painter.drawRoundedRect(bar, 2, 2)
        if total:
            filled = QRect(bar.left(), bar.top(), max(int(bar.width() * done / total), 2 if done else 0), bar.height())
            painter.setBrush(QColor("#2e7d32") if done == total else option.palette.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(filled, 2, 2)
        painter.setPen(text_colour)
        small = QFont(option.font)
        small.setPointSizeF(max(option.font.pointSizeF() * 0.85, 7))
        painter.setFont(small)
        painter.drawText(QRect(bar.right() + 6, bar.top() - line // 2, counts_width, line),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, counts)
        painter.restore()



class QueueDelegate(QStyledItemDelegate):
    """A queue row that tells items apart: the label given as a chip in its colour (a hollow one for
    none), the flag and note marks, the sentence number, the cue in bold and the first words of the
    content; on a second line, smaller, the source. Fonts and their metrics are made once per font
    (a key press at the end of the view repaints every row)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.colours: dict[str, str] = {}
        self._fonts: dict[str, tuple[QFont, QFont, QFontMetrics, QFontMetrics, QFontMetrics]] = {}

    def sizeHint(self, option, index) -> QSize:
        return QSize(200, row_height(option.fontMetrics.height()))

    def _fonts_for(self, font: QFont) -> tuple[QFont, QFont, QFontMetrics, QFontMetrics, QFontMetrics]:
        key = font.key()
        if key not in self._fonts:
            small = QFont(font)
            small.setPointSizeF(max(font.pointSizeF() * 0.8, 7))
            bold = QFont(font)
            bold.setBold(True)
            self._fonts[key] = (small, bold, QFontMetrics(font), QFontMetrics(small), QFontMetrics(bold))
        return self._fonts[key]

    def paint(self, painter: QPainter, option, index) -> None:
        item = index.data(ItemRole)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        if item is None:
            return
        small, bold, metrics, small_metrics, bold_metrics = self._fonts_for(option.font)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        ink = option.palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        muted = QColor(ink)
        muted.setAlpha(150)
        rect = option.rect.adjusted(6, 3, -6, -3)
        line = metrics.height()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        chip_text = item.label or "—"
        chip = QRect(rect.left(), rect.top() + 1, max(small_metrics.horizontalAdvance(chip_text) + 10, 26), line - 2)
        colour = QColor(self.colours.get(item.label or "", "")) if item.label else None
        painter.setFont(small)
        if colour is not None and colour.isValid():
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(chip, 4, 4)
            painter.setPen(QColor("#ffffff"))
        else:
            painter.setPen(muted)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(chip, 4, 4)
        painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, chip_text)
        x = chip.right() + 6
        marks = ("⚑" if item.flagged else "") + ("✎" if item.noted else "")
        if marks:
            painter.setFont(option.font)
            painter.setPen(QColor("#e65100") if item.flagged and not selected else ink)
            painter.drawText(QRect(x, rect.top(), rect.width(), line), Qt.AlignmentFlag.AlignLeft, marks)
            x += metrics.horizontalAdvance(marks) + 6
        if item.sentence_index is not None:
            where = f"s{item.sentence_index + 1}"
            painter.setFont(small)
            painter.setPen(muted)
            painter.drawText(QRect(x, rect.top(), rect.width(), line),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, where)
            x += small_metrics.horizontalAdvance(where) + 6
        painter.setFont(bold)
        painter.setPen(ink)
        cue = bold_metrics.elidedText(item.cue_text or "(no cue)", Qt.TextElideMode.ElideRight, rect.right() - x)
        painter.drawText(QRect(x, rect.top(), rect.right() - x, line), Qt.AlignmentFlag.AlignLeft, cue)
        x += bold_metrics.horizontalAdvance(cue) + 5
        if item.content_text and x < rect.right() - 20:
            painter.setFont(option.font)
            content = metrics.elidedText(item.content_text, Qt.TextElideMode.ElideRight, rect.right() - x)
            painter.drawText(QRect(x, rect.top(), rect.right() - x, line), Qt.AlignmentFlag.AlignLeft, content)
        painter.setFont(small)
        painter.setPen(muted)
        source = small_metrics.elidedText(item.source_text or "(no source)", Qt.TextElideMode.ElideMiddle,
                                          rect.width() - chip.width() - 6)
        painter.drawText(QRect(chip.right() + 6, rect.top() + line + 1, rect.width(), small_metrics.height()),
                         Qt.AlignmentFlag.AlignLeft, source)
        painter.restore()


def row_height(line: int) -> int:
    """A queue row's height for a font's line height: two lines (cue and content; source)."""
    return 2 * line + 6
