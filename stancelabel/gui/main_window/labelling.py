"""Labelling: labels, flags, notes, "not an attribution", undo and redo, written through the saver.

The controller owns the saver (a worker thread with its own connection) and one
record of what is given but not yet committed, per attribution (``pending``):
the panel shows it until the commit comes back, and only then does the window
move on (durable before visible). Each commit comes back inside one render
batch, so the window is drawn once per committed change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from stancelabel.gui.main_window.widgets import count
from stancelabel.gui.markup import escape
from stancelabel.gui.saver import Saver
from stancelabel.store.project import Project

if TYPE_CHECKING:
    from stancelabel.gui.main_window.window import MainWindow


@dataclass
class Pending:
    """What an annotator gave an attribution that is not committed yet (None: nothing of that kind)."""

    label: str | None = None  # "" clears the label
    note: str | None = None
    flag: bool | None = None

    def empty(self) -> bool:
        return self.label is None and self.note is None and self.flag is None


class Labelling:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.saver: Saver | None = None
        self.pending: dict[int, Pending] = {}
        self._note_for: int | None = None
        self._progress = [0, 0]
        self._shown_error: str | None = None

    # -- the saver -------------------------------------------------------------------------

    def start(self, project: Project) -> None:
        self.saver = Saver(project.path, self.w, around=self.w.display.batch)
        self.saver.state_changed.connect(self.update_save_state)
        self.saver.refused.connect(lambda message: QMessageBox.warning(self.w, "Not changed", message))

    def stop(self) -> None:
        if self.saver is not None:
            self.saver.wait_until_idle(3000)
            self.saver.shutdown()
            self.saver.deleteLater()
            self.saver = None

    def forget_pending(self) -> None:
        """Another annotator or project: nothing given before belongs to the one shown now."""
        self.pending.clear()
        self._note_for = None

    def submit(self, description: str, operation: Callable[[Project], Any], attribution_id: int | None,
               on_done: Callable[[Any], None] | None, on_refused: Callable[[str], None] | None = None) -> None:
        self.saver.submit(description, operation, on_done=on_done, attribution_id=attribution_id,
                          on_refused=on_refused)

    def _pending(self, attribution_id: int) -> Pending:
        return self.pending.setdefault(attribution_id, Pending())

    def _settle(self, attribution_id: int, kind: str, value: Any) -> None:
        """A change of this kind committed (or refused): no longer pending, unless a later one is."""
        pending = self.pending.get(attribution_id)
        if pending is not None and getattr(pending, kind) == value:
            setattr(pending, kind, None)
            if pending.empty():
                del self.pending[attribution_id]

    # -- counts and state ------------------------------------------------------------------

    def recount(self) -> None:
        """Count labelled and active attributions afresh (after changes to what is in the queue).

        Counting a million rows takes tens of milliseconds, too slow for every key
        press; labels in between adjust the counts through ``_count_label``.
        """
        self._progress = list(self.w.project.progress(self.w.annotator))
        self._show_progress()

    @property
    def total(self) -> int:
        return self._progress[1]

    def _count_label(self, had_label: bool, has_label: bool) -> None:
        self._progress[0] += int(has_label) - int(had_label)
        self._show_progress()

    def _show_progress(self) -> None:
        done, total = self._progress
        self.w.progress_label.setText(f"{count(done)} / {count(total)} labelled")

    def update_save_state(self) -> None:
        """The status bar's save state; the panel too when a change became unsaved or saved again."""
        saver = self.saver
        if saver is None:
            return
        if saver.error != self._shown_error:
            self._shown_error = saver.error
            self.w.display.show_panel()
        if saver.error:
            self.w.save_label.setText(f"<span style='color:#c62828'><b>⚠ {saver.pending} change(s) not saved</b> — "
                                      f"{escape(saver.error)} — retrying</span>")
        elif saver.pending:
            self.w.save_label.setText("Saving…")
        else:
            self.w.save_label.setText("All changes saved ✓")

    # -- labels ----------------------------------------------------------------------------

    def label(self, name: str | None) -> None:
        """Give the current attribution this label (None clears it), then move on once it is saved."""
        w, current = self.w, self.w.queuing.current
        if current is None:
            return
        if w.reviewing.active:
            w.reviewing.set_gold(name)
            return
        attribution_id, me, given = current.id, w.annotator, name or ""
        self._pending(attribution_id).label = given
        w.display.show_panel_soon()

        def done(had_label: bool) -> None:
            self._settle(attribution_id, "label", given)
            self._count_label(had_label, name is not None)
            self.changed(attribution_id)
            now = w.queuing.current
            if now is not None and now.id == attribution_id and name is not None:
                w.queuing.next_item()

        def refused(_message: str) -> None:
            self._settle(attribution_id, "label", given)
            w.display.show_panel()

        def save(project: Project) -> bool:
            before = project.annotation(attribution_id, me)
            project.set_label(attribution_id, me, name)
            return bool(before and before.label)

        self.submit(f"label {name}", save, attribution_id, done, refused)

    def accept_suggestion(self) -> None:
        w, current = self.w, self.w.queuing.current
        if current is None:
            return
        if w.reviewing.active:
            w.reviewing.take_majority()
            return
        shown = w.display.suggestion(current)  # the one on screen: it follows the document's target
        suggestion = shown.label if shown else None
        if not suggestion:
            w.statusBar().showMessage("No suggestion for this one: press a label key.", 4000)
            return
        if suggestion not in {label.name for label in w.labels}:
            w.statusBar().showMessage(f"The suggestion “{suggestion}” is not a label of this project: "
                                      "press a label key.", 6000)
            return
        self.label(suggestion)

    def toggle_flag(self) -> None:
        w, current = self.w, self.w.queuing.current
        if current is None:
            return
        if w.reviewing.active:
            w.statusBar().showMessage("Flags are the annotators'; in review mode, write a note (N).", 5000)
            return
        attribution_id, me = current.id, w.annotator
        pending = self.pending.get(attribution_id)
        if pending is not None and pending.flag is not None:  # pressed again before the last press was saved
            flagged = not pending.flag
        else:
            annotation = w.project.annotation(attribution_id, me)
            flagged = not (annotation and annotation.flagged)
        self._pending(attribution_id).flag = flagged
        w.display.show_panel_soon()

        def settled(_result=None) -> None:
            self._settle(attribution_id, "flag", flagged)
            self.changed(attribution_id)

        self.submit("flag", lambda p: p.set_flag(attribution_id, me, flagged), attribution_id, settled, settled)

    def reject_attribution(self) -> None:
        """Not an attribution: it leaves the queue (for everyone) and stays in the file."""
        w, current = self.w, self.w.queuing.current
        if current is None:
            return
        attribution_id, me = current.id, w.annotator

        def done(_result) -> None:
            row = w.queuing.queue.row_of(attribution_id)
            if row is not None:
                w.queuing.queue.remove_row(row)
            self.after_structure_change(row)
            w.statusBar().showMessage("Marked as not an attribution (Ctrl+Z brings it back).", 5000)

        self.submit("not an attribution", lambda p: p.set_status(attribution_id, me, "rejected"), attribution_id,
                    done)

    # -- notes: bound to the attribution the field was opened on, saved on Enter or when left

    def edit_note(self) -> None:
        if self.w.queuing.current is None:
            return
        note = self.w.panel.note_edit
        note.setFocus(Qt.FocusReason.ShortcutFocusReason)
        note.selectAll()

    def note_focused(self) -> None:
        current = self.w.queuing.current
        self._note_for = current.id if current is not None else None

    def note_key(self, event) -> bool:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.commit_note()
            self.w.pane.setFocus()
            return True
        if event.key() == Qt.Key.Key_Escape:
            self._note_for = None  # leaving the field now saves nothing
            self._reset_note_field()
            self.w.pane.setFocus()
            return True
        return False

    @property
    def note_open(self) -> bool:
        return self.w.panel.note_edit.hasFocus() and self._note_for is not None

    def _reset_note_field(self) -> None:
        w, current = self.w, self.w.queuing.current
        if current is None:
            return
        if w.reviewing.active:
            gold = w.project.gold_of(current.id)
            w.panel.note_edit.setText(gold[2] if gold else "")
            return
        annotation = w.project.annotation(current.id, w.annotator)
        pending = self.pending.get(current.id)
        w.panel.note_edit.setText(pending.note if pending and pending.note is not None
                                  else annotation.note if annotation else "")

    def commit_note(self) -> None:
        """Save what the note field holds for the attribution it was opened on, if it changed."""
        attribution_id, self._note_for = self._note_for, None
        if attribution_id is not None and self.w.project is not None:
            self.save_note(attribution_id)

    def save_note(self, attribution_id: int | None = None) -> None:
        w = self.w
        if attribution_id is None:
            if w.queuing.current is None:
                return
            attribution_id = w.queuing.current.id
        note = w.panel.note_edit.text().strip()
        if w.reviewing.active:
            w.reviewing.save_gold_note(attribution_id, note)
            return
        me = w.annotator
        annotation = w.project.annotation(attribution_id, me)
        pending = self.pending.get(attribution_id)
        shown = pending.note if pending and pending.note is not None else annotation.note if annotation else ""
        if note == shown:
            return
        self._pending(attribution_id).note = note  # shown until it is saved, however long that takes

        def settled(_result=None) -> None:
            self._settle(attribution_id, "note", note)
            self.changed(attribution_id)

        self.submit("note", lambda p: p.set_note(attribution_id, me, note), attribution_id, settled, settled)

    # -- after a change ----------------------------------------------------------------------

    def after_structure_change(self, row: int | None) -> None:
        """What the queue holds changed (an attribution left or came): counts, lists, the item shown."""
        queuing = self.w.queuing
        self.recount()
        if queuing.current is not None:
            self.w.queuing.documents.refresh_document(queuing.current.document_id)
        target = min(row if row is not None else (queuing.current_row or 0), queuing.queue.rowCount() - 1)
        queuing.current_row = None
        queuing.go_to_row(max(target, 0))

    def changed(self, attribution_id: int) -> None:
        """Refresh what shows this attribution after a committed change."""
        queuing = self.w.queuing
        queuing.queue.refresh_ids({attribution_id})
        if queuing.current is not None and queuing.current.id == attribution_id:
            queuing.reload_current()
            queuing.documents.refresh_document(queuing.current.document_id if queuing.current else -1)
            self.w.display.show_current()

    # -- undo ------------------------------------------------------------------------------

    def undo(self) -> None:
        w = self.w
        if w.reviewing.active:
            w.statusBar().showMessage("Gold decisions are not undone: give the gold label you mean instead.", 6000)
            return
        me = w.annotator
        self.submit("undo", lambda p: p.undo(me), None, lambda change: self._after_undo(change, "undo"))

    def redo(self) -> None:
        if self.w.reviewing.active:
            return
        me = self.w.annotator
        self.submit("redo", lambda p: p.redo(me), None, lambda change: self._after_undo(change, "redo"))

    def _after_undo(self, change, what: str) -> None:
        w, queuing = self.w, self.w.queuing
        if change is None:
            w.statusBar().showMessage(f"Nothing to {what}.", 4000)
            return
        if change.kind in ("status", "label"):
            self.recount()
        if change.kind == "status":
            queuing.apply_filter(keep=change.attribution_id)
        else:
            queuing.queue.refresh_ids({change.attribution_id})
            row = queuing.queue.row_of(change.attribution_id)
            if row is not None:
                queuing.current_row = None
                queuing.go_to_row(row)
            self.changed(change.attribution_id)
        w.statusBar().showMessage(f"{'Undone' if what == 'undo' else 'Redone'}: {change_text(change, what)}.", 5000)


def change_text(change, what: str = "undo") -> str:
    """What an undo or redo did, in the annotator's words ("label “denies” removed")."""
    value, replaced = change.value, change.replaced
    if change.kind == "label":
        if value is None:
            return f"label “{replaced}” removed"
        return f"label “{value}” given" if replaced is None else f"label back to “{value}” (was “{replaced}”)"
    if change.kind == "note":
        return "note removed" if not value else ("note written" if not replaced else "note changed back")
    if change.kind == "flag":
        return "flagged as unsure" if value else "flag removed"
    if change.kind == "span":
        return "spans back as they were" if what == "undo" else "span edit made again"
    if change.kind == "status":
        if value == "withdrawn":
            return "attribution added by you removed"
        if replaced == "withdrawn":
            return "attribution added by you is back"
        return "marked “not an attribution”" if value == "rejected" else "back in the queue (it is an attribution)"
    return f"{change.kind} changed"
