"""Fixing spans: select words (mouse, or E and Shift+arrows) and make them the source, cue or content,
or the cue of a new attribution."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

if TYPE_CHECKING:
    from stancelabel.gui.main_window.window import MainWindow


class SpanEditing:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.edit_mode = False

    def enter_edit_mode(self) -> None:
        if self.w.queuing.current is None:
            return
        self.edit_mode = True
        self.w.pane.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.w.statusBar().showMessage("Selecting text: arrows move, Shift+arrows select; S, C, T set a role; "
                                       "Esc leaves.")

    def pane_key(self, event) -> bool:
        if event.key() == Qt.Key.Key_Escape:
            self.edit_mode = False
            self.w.statusBar().clearMessage()
            return True
        return False

    def _selection(self) -> tuple[int, int] | None:
        span = self.w.pane.selected_span()
        if span is None:
            self.w.statusBar().showMessage("Select the words first: with the mouse, or press E and use "
                                           "Shift+arrows.", 6000)
        return span

    def set_role(self, role: str, add: bool = False) -> None:
        """Make the selected words the attribution's source, cue or content (or add to the content)."""
        w, current = self.w, self.w.queuing.current
        if current is None:
            return
        span = self._selection()
        if span is None:
            return
        attribution_id, me = current.id, w.annotator
        spans = (*getattr(current, role), span) if add else (span,)
        self.edit_mode = False

        def done(_result) -> None:
            w.labelling.changed(attribution_id)
            w.statusBar().showMessage(f"The {role} is now “{self._text_of(spans)}”.", 5000)

        w.labelling.submit(f"edit {role}", lambda p: p.set_spans(attribution_id, me, **{role: spans}), attribution_id,
                           done)

    def _text_of(self, spans) -> str:
        current = self.w.queuing.current
        text = self.w.display.document(current.document_id)[0] if current else ""
        return " … ".join(text[s:e] for s, e in spans)

    def add_attribution(self) -> None:
        """The selected words become the cue of a new (manual) attribution, shown next."""
        w, queuing = self.w, self.w.queuing
        if queuing.current is None:
            return
        span = self._selection()
        if span is None:
            return
        document_id, me = queuing.current.document_id, w.annotator
        self.edit_mode = False

        def done(new_id: int) -> None:
            row = queuing.queue.row_of(new_id)
            if row is None:
                row = (queuing.current_row or 0) + 1
                queuing.queue.insert_id(row, new_id)
            w.labelling.recount()
            queuing.documents.refresh_document(document_id)
            queuing.current_row = None
            queuing.go_to_row(row)
            w.statusBar().showMessage("New attribution: now select its source (S) and content (T).", 8000)

        w.labelling.submit("new attribution", lambda p: p.add_attribution(document_id, me, cue=(span,)), None, done)
