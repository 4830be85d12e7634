"""The label panel: a button per label with its key and guideline, the suggestion,
the source hint, the unsure flag, the note, and whether the label is saved."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from stancelabel.core.model import Annotation, Attribution, Label
from stancelabel.gui.forms import load_form
from stancelabel.gui.markup import escape
from stancelabel.nlp.stance import Suggestion
from stancelabel.team.adjudicate import settle


def _tint(colour: str, alpha: float) -> str:
    c = QColor(colour)
    return f"rgba({c.red()}, {c.green()}, {c.blue()}, {alpha})"


class LabelPanel(QWidget):
    """Shows one annotator's state of the current attribution; clicks ask for a label."""

    label_clicked = Signal(str)
    flag_clicked = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.ui = load_form("label_panel", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.ui)
        self.buttons: dict[str, QPushButton] = {}
        self._descriptions: list[QLabel] = []
        self._labels: list[Label] = []
        self.ui.flag_box.clicked.connect(lambda _checked: self.flag_clicked.emit())
        heading = self.ui.heading.font()
        heading.setBold(True)
        self.ui.heading.setFont(heading)  # a font, not a style sheet: style sheets miss theme changes
        self.setMinimumWidth(240)

    @property
    def note_edit(self):
        return self.ui.note_edit

    def set_labels(self, labels: list[Label]) -> None:
        """One button per label: number and key, name, colour; its guideline under it."""
        layout = self.ui.buttons_layout
        while layout.count():
            item = layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.buttons.clear()
        self._labels = list(labels)
        for number, label in enumerate(labels, start=1):
            keys = f"{number} · {label.shortcut}" if number <= 9 else label.shortcut
            button = QPushButton(f"{label.name}    [{keys}]")
            button.setCheckable(True)
            button.setObjectName(f"label_button_{number}")
            button.setToolTip(label.description or label.name)
            button.setMinimumHeight(34)
            button.setStyleSheet(
                "QPushButton { text-align: left; padding: 6px 10px; border: 1px solid palette(mid); "
                f"border-left: 7px solid {label.colour}; border-radius: 4px; background: palette(button); }}"
                f"QPushButton:hover {{ background: {_tint(label.colour, 0.12)}; }}"
                f"QPushButton:checked {{ background: {_tint(label.colour, 0.30)}; font-weight: bold; "
                f"border: 2px solid {label.colour}; border-left: 7px solid {label.colour}; }}"
            )
            button.clicked.connect(lambda _checked=False, name=label.name: self.label_clicked.emit(name))
            layout.addWidget(button)
            if label.description:
                text = QLabel(label.description)
                text.setWordWrap(True)
                text.setStyleSheet("color: palette(placeholder-text); margin: 0 0 4px 10px;")
                layout.addWidget(text)
            self.buttons[label.name] = button

    def show_state(self, attribution: Attribution | None, annotation: Annotation | None, *,
                   pending_label: str | None = None, pending_note: str | None = None,
                   pending_flag: bool | None = None,
                   unsaved: str | None = None, details: str = "",
                   document_target: str | None = None, suggestion: Suggestion | None = None) -> None:
        """Mark the annotator's label (or the one being saved), the suggestion and why, and the note.

        ``suggestion`` is the one for the question on screen (nlp.stance.shown); without it the
        stored one is shown, without a reason.
        """
        if attribution is None:
            for button in self.buttons.values():
                button.setChecked(False)
                button.setEnabled(False)
            self.ui.suggestion_label.setText("")
            self.ui.hint_label.setText("")
            self.ui.flag_box.setChecked(False)
            self.ui.note_edit.clear()
            self.ui.save_state.setText("")
            self.ui.details_label.setText("")
            return
        mine = pending_label if pending_label is not None else (annotation.label if annotation else None)
        if suggestion is None and attribution.suggestion:
            suggestion = Suggestion(attribution.suggestion, "")
        for name, button in self.buttons.items():
            button.setEnabled(True)
            button.setChecked(name == mine)
            suffix = "   ★ suggested" if suggestion and name == suggestion.label else ""
            base = button.text().split("   ★")[0]
            button.setText(base + suffix)
        if suggestion:
            self.ui.suggestion_label.setText(f"Suggested: <b>{escape(suggestion.label)}</b>{reason_html(suggestion)}"
                                             " &nbsp;<small>(Enter accepts)</small>")
        else:
            self.ui.suggestion_label.setText("<small>No suggestion for this one.</small>")
        if attribution.source_hint:
            hint = escape(attribution.source_hint)
            self.ui.hint_label.setText(f"Source hint: the pronoun may stand for <b>{hint}</b>")
        else:
            self.ui.hint_label.setText("")
        self.ui.flag_box.setChecked(pending_flag if pending_flag is not None
                                    else bool(annotation and annotation.flagged))
        if not self.ui.note_edit.hasFocus():
            note = pending_note if pending_note is not None else (annotation.note if annotation else "")
            self.ui.note_edit.setText(note)
        if unsaved:
            self.ui.save_state.setText(f"<span style='color:#c62828'><b>Not saved yet</b> — {escape(unsaved)}. "
                                       "It is kept and retried.</span>")
        elif pending_label is not None:
            self.ui.save_state.setText("Saving…")
        elif mine and annotation is not None and annotation.target != document_target:
            given = f"“{escape(annotation.target)}”" if annotation.target else "no target"
            now = f"“{escape(document_target)}”" if document_target else "none"
            self.ui.save_state.setText(
                f"<span style='color:#b26a00'><b>Labelled {escape(mine)} under {given}</b>; the document's "
                f"target is now {now}. Press a label key to label it under the new target.</span>")
        elif mine:
            self.ui.save_state.setText(f"<span style='color:palette(placeholder-text)'>Labelled "
                                       f"<b>{escape(mine)}</b> · saved ✓</span>")
        else:
            self.ui.save_state.setText("<span style='color:palette(placeholder-text)'>Not labelled yet</span>")
        self.ui.details_label.setText(details)


def reason_html(suggestion: Suggestion) -> str:
    """Why a label is suggested, after the label itself: " · not + <i>say</i>" for "not + *say*: denies"."""
    why = suggestion.reason.rsplit(":", 1)[0] if suggestion.reason else ""
    if not why:
        return ""
    parts = escape(why).split("*")
    return " · " + "".join(f"<i>{part}</i>" if i % 2 else part for i, part in enumerate(parts))


def review_html(annotations, gold: tuple[str, str, str] | None, colours: dict[str, str]) -> str:
    """Every annotator's label, note and flag, and the gold label if there is one (review mode)."""
    rows = []
    for annotation in annotations:
        if annotation.label is None and not annotation.note and not annotation.flagged:
            continue
        colour = colours.get(annotation.label or "", "#888888")
        flag = " ⚑" if annotation.flagged else ""
        note = f"<br><small>“{escape(annotation.note)}”</small>" if annotation.note else ""
        rows.append(f"<span style='color:{colour}'>■</span> <b>{escape(annotation.annotator)}</b>: "
                    f"{escape(annotation.label or '(no label)')}{flag}{note}")
    given = {a.annotator: a.label for a in annotations if a.label}
    top = settle(given, "majority")  # the rule adjudicate --auto majority applies
    head = f"<b>Review</b> · {len(given)} label(s)" + (f" · majority: <b>{escape(top)}</b> (Enter)" if top else
                                                        " · no majority of two or more")
    if gold:
        head += f"<br>Gold: <b>{escape(gold[0])}</b> by {escape(gold[1])}"
    return head + "<br>" + "<br>".join(rows)
