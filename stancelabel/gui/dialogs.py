"""Dialogs: who is annotating, the shortcut overview, the label schema editor, targets, guidelines."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontDatabase, QKeySequence
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.labels import check_label_schema
from stancelabel.core.model import Label
from stancelabel.core.names import name_problem
from stancelabel.gui.forms import load_form
from stancelabel.gui.markup import show_markdown


def _dialog_layout(dialog: QDialog, title: str, intro: str) -> QVBoxLayout:
    """A dialog's title and vertical layout, opened by a word-wrapped explanation."""
    dialog.setWindowTitle(title)
    layout = QVBoxLayout(dialog)
    label = QLabel(intro)
    label.setWordWrap(True)
    layout.addWidget(label)
    return layout


def _add_buttons(dialog: QDialog, layout: QVBoxLayout, accept_button, on_accept=None) -> None:
    """OK/Save and Cancel at the bottom of a dialog."""
    buttons = QDialogButtonBox(accept_button | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(on_accept or dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)


class AnnotatorDialog(QDialog):
    """Asks for the annotator's name: typed, or picked from those already in the project."""

    def __init__(self, known: Sequence[str], current: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = _dialog_layout(self, "Who is annotating?",
                                "Your name goes with every label you give, so the project lead can tell annotators "
                                "apart and measure agreement. Others' labels stay hidden while you work.")
        self.name = QComboBox()
        self.name.setEditable(True)
        self.name.addItems(list(known))
        self.name.setCurrentText(current)
        self.name.lineEdit().setPlaceholderText("Your name")
        layout.addWidget(self.name)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c62828;")
        layout.addWidget(self.error)
        _add_buttons(self, layout, QDialogButtonBox.StandardButton.Ok, self._accept)
        self.resize(420, 160)

    def _accept(self) -> None:
        if not self.value().strip():
            self.error.setText("Please type a name (it cannot be blank).")
            return
        problem = name_problem(self.value())
        if problem:  # the rule every other door applies (core.names)
            self.error.setText(f"This name {problem}.")
            return
        self.accept()

    def value(self) -> str:
        return self.name.currentText().strip()


def ask_annotator(known: Sequence[str], current: str = "", parent: QWidget | None = None) -> str | None:
    dialog = AnnotatorDialog(known, current, parent)
    return dialog.value() if dialog.exec() == QDialog.DialogCode.Accepted else None


def shortcut_text(sequences: Sequence[QKeySequence]) -> str:
    return " / ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences if not s.isEmpty())


class ShortcutsDialog(QDialog):
    """Every shortcut of the window, grouped as in the menus, with each label's guideline."""

    def __init__(self, groups: Sequence[tuple[str, Sequence[tuple[str, str]]]], labels: Sequence[Label],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        layout.addWidget(self.browser)
        rows = ["<h3>Labels</h3><table cellspacing='0' cellpadding='4' width='100%'>"]
        for number, label in enumerate(labels, start=1):
            keys = f"{number} or {escape(label.shortcut)}" if number <= 9 else escape(label.shortcut)
            rows.append(f"<tr><td width='22%'><b>{keys}</b></td><td><span style='color:{label.colour}'>■</span> "
                        f"<b>{escape(label.name)}</b><br><small>{escape(label.description)}</small></td></tr>")
        rows.append("</table>")
        for title, entries in groups:
            rows.append(f"<h3>{escape(title)}</h3><table cellspacing='0' cellpadding='3' width='100%'>")
            for text, keys in entries:
                rows.append(f"<tr><td width='22%'><b>{escape(keys)}</b></td><td>{escape(text)}</td></tr>")
            rows.append("</table>")
        self.browser.setHtml("".join(rows))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(620, 640)


class SchemaEditor(QDialog):
    """Add, rename, recolour, reorder labels and change their keys and descriptions.

    The result is checked before it is offered: blank or repeated names, key
    clashes (with each other or with the window's own keys) and removing a
    label that attributions carry are refused here with a message.
    """

    def __init__(self, labels: Sequence[Label], usage: dict[str, int], reserved_keys: set[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Label schema")
        self.ui = load_form("schema_editor", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.ui)
        self._usage = {label.id: usage.get(label.name, 0) for label in labels if label.id is not None}
        self._names = {label.id: label.name for label in labels}
        self._reserved = reserved_keys
        self.result_labels: list[Label] | None = None
        table = self.ui.table
        table.setRowCount(0)
        for label in labels:
            self._append(label)
        table.resizeColumnsToContents()
        table.setColumnWidth(0, max(table.columnWidth(0), 140))
        table.setColumnWidth(2, 90)
        self.ui.add_button.clicked.connect(self.add_label)
        self.ui.remove_button.clicked.connect(self.remove_selected)
        self.ui.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.ui.down_button.clicked.connect(lambda: self.move_selected(1))
        self.ui.colour_button.clicked.connect(self.pick_colour)
        table.itemChanged.connect(self._colour_typed)
        self.ui.button_box.accepted.connect(self.try_accept)
        self.ui.button_box.rejected.connect(self.reject)
        self.resize(760, 380)

    def _append(self, label: Label) -> None:
        table = self.ui.table
        row = table.rowCount()
        table.insertRow(row)
        name = QTableWidgetItem(label.name)
        name.setData(Qt.ItemDataRole.UserRole, label.id)
        table.setItem(row, 0, name)
        table.setItem(row, 1, QTableWidgetItem(label.shortcut))
        colour = QTableWidgetItem(label.colour)
        colour.setData(Qt.ItemDataRole.DecorationRole, QColor(label.colour))
        table.setItem(row, 2, colour)
        table.setItem(row, 3, QTableWidgetItem(label.description))

    def _colour_typed(self, item: QTableWidgetItem) -> None:
        if item.column() == 2 and QColor.isValidColorName(item.text().strip()):
            colour = QColor(item.text().strip())
            if item.data(Qt.ItemDataRole.DecorationRole) != colour:
                item.setData(Qt.ItemDataRole.DecorationRole, colour)

    def labels(self) -> list[Label]:
        table = self.ui.table
        out = []
        for row in range(table.rowCount()):
            text = [(table.item(row, col).text() if table.item(row, col) else "") for col in range(4)]
            out.append(Label(text[0].strip(), text[1].strip().upper(), text[2].strip(), text[3].strip(), row,
                             table.item(row, 0).data(Qt.ItemDataRole.UserRole) if table.item(row, 0) else None))
        return out

    def add_label(self) -> None:
        self._append(Label("new label", "", "#607d8b", ""))
        row = self.ui.table.rowCount() - 1
        self.ui.table.setCurrentCell(row, 0)
        self.ui.table.editItem(self.ui.table.item(row, 0))

    def remove_selected(self) -> None:
        row = self.ui.table.currentRow()
        if row < 0:
            return
        label_id = self.ui.table.item(row, 0).data(Qt.ItemDataRole.UserRole)
        used = self._usage.get(label_id, 0)
        if used:
            self.ui.error_label.setText(
                f"Cannot remove “{self._names[label_id]}”: {used} attribution(s) carry it. Relabel them first, "
                "or rename the label instead.")
            return
        self.ui.table.removeRow(row)
        self.ui.error_label.clear()

    def move_selected(self, step: int) -> None:
        table = self.ui.table
        row = table.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < table.rowCount():
            return
        for col in range(4):
            upper, lower = table.takeItem(row, col), table.takeItem(target, col)
            table.setItem(row, col, lower)
            table.setItem(target, col, upper)
        table.setCurrentCell(target, table.currentColumn())

    def pick_colour(self) -> None:
        row = self.ui.table.currentRow()
        if row < 0:
            return
        item = self.ui.table.item(row, 2)
        colour = QColorDialog.getColor(QColor(item.text()), self, "Label colour")
        if colour.isValid():
            item.setText(colour.name())
            item.setData(Qt.ItemDataRole.DecorationRole, colour)

    def try_accept(self) -> bool:
        labels = self.labels()
        try:
            check_label_schema(labels, self._reserved)
        except StanceLabelError as error:
            self.ui.error_label.setText(str(error)[0].upper() + str(error)[1:] + ".")
            return False
        self.result_labels = labels
        self.accept()
        return True


class TargetDialog(QDialog):
    """Chooses or types a document's target claim, completing from the project's targets."""

    def __init__(self, targets: Sequence[str], current: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = _dialog_layout(self, "Document target",
                                "The claim this document's stances are about, e.g. “The city's tap water contains "
                                "unsafe levels of lead”. Leave it empty for no target: labels then mean the stance "
                                "toward each attribution's content. Labels already given keep the target they were "
                                "given under.")
        self.text = QComboBox()
        self.text.setEditable(True)
        self.text.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.text.addItems(list(targets))
        self.text.setCurrentText(current or "")
        self.text.lineEdit().setPlaceholderText("No target")
        self.text.lineEdit().setClearButtonEnabled(True)
        completer = QCompleter(list(targets), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.text.setCompleter(completer)
        layout.addWidget(self.text)
        _add_buttons(self, layout, QDialogButtonBox.StandardButton.Ok)
        self.resize(560, 170)

    def value(self) -> str | None:
        return " ".join(self.text.currentText().split()) or None


class GuidelinesEditor(QDialog):
    """Edits the guidelines' Markdown, with a live preview."""

    def __init__(self, markdown: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = _dialog_layout(self, "Annotation guidelines",
                                "Markdown. A section headed with a label's name (## denies) also becomes that "
                                "label's description on its button.")
        splitter = QSplitter()
        self.source = QPlainTextEdit(markdown)
        self.source.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.preview = QTextBrowser()
        self.preview.setOpenExternalLinks(False)
        splitter.addWidget(self.source)
        splitter.addWidget(self.preview)
        layout.addWidget(splitter, 1)  # the editor and preview take the height, not the explanation
        self.source.textChanged.connect(lambda: show_markdown(self.preview, self.source.toPlainText()))
        show_markdown(self.preview, markdown)
        _add_buttons(self, layout, QDialogButtonBox.StandardButton.Save)
        self.resize(980, 640)

    def value(self) -> str:
        return self.source.toPlainText()
