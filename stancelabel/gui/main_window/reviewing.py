"""Review mode: every annotator's label beside the text, and gold labels given by the label keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stancelabel.team.adjudicate import settle

if TYPE_CHECKING:
    from stancelabel.gui.main_window.window import MainWindow

REVIEW_SHOWS = ("disputed", "multiple")


class Reviewing:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.active = False
        self.agreement_view = None

    def toggle_review(self) -> None:
        """Review mode: every annotator's label is shown, label keys set the gold label."""
        w = self.w
        self.active = not self.active
        w.actions["review"].setChecked(self.active)
        w.queuing.queue.set_gold(self.active)
        combo = w.view.show_combo
        if self.active and combo.currentData() not in REVIEW_SHOWS:
            combo.setCurrentIndex(combo.findData("disputed"))
        elif not self.active and combo.currentData() in REVIEW_SHOWS:
            combo.setCurrentIndex(combo.findData("all"))
        # (outside review mode the panel's heading names the question on screen: Display draws it)
        if self.active:
            w.panel.ui.heading.setText("Gold label (review mode, Ctrl+R leaves)")
        w.display.show_current()

    def take_majority(self) -> None:
        """Enter in review mode: the label the majority rule settles on becomes gold (the rule
        `adjudicate --auto majority` applies: more than half of at least two labels)."""
        w, current = self.w, self.w.queuing.current
        labels = {a.annotator: a.label for a in w.project.annotations(current.id) if a.label}
        top = settle(labels, "majority")
        if top is None:
            w.statusBar().showMessage("No majority of two or more here: press the label to make gold.", 5000)
            return
        self.set_gold(top)

    def set_gold(self, name: str | None) -> None:
        w, current = self.w, self.w.queuing.current
        if current is None:
            return
        if name is None:
            w.statusBar().showMessage("A gold label cannot be cleared; give another one.", 5000)
            return
        attribution_id, me = current.id, w.annotator
        gold = w.project.gold_of(attribution_id)
        note = gold[2] if gold else ""

        def done(_result) -> None:
            w.queuing.queue.refresh_ids({attribution_id})
            now = w.queuing.current
            if now is not None and now.id == attribution_id:
                w.queuing.next_item()

        w.labelling.submit(f"gold {name}", lambda p: p.set_gold(attribution_id, me, name, note), attribution_id,
                           done, lambda _m: w.display.show_panel())

    def save_gold_note(self, attribution_id: int, note: str) -> None:
        w = self.w
        gold = w.project.gold_of(attribution_id)
        if gold is None:
            if note:
                w.statusBar().showMessage("Give the gold label first, then its note.", 5000)
            return
        if note != gold[2]:
            me = w.annotator
            w.labelling.submit("gold note", lambda p: p.set_gold(attribution_id, me, gold[0], note), attribution_id,
                               lambda _r: w.display.show_panel())

    def show_agreement(self):
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QApplication

        from stancelabel.gui.team_views import AgreementView

        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # a big project's figures take a moment
        try:
            view = AgreementView(self.w.project, self.show_items, self.w)
        finally:
            QApplication.restoreOverrideCursor()
        view.show()
        self.agreement_view = view
        return view

    def show_items(self, ids: list[int], title: str) -> None:
        """Review exactly these attributions (from a cell of the agreement view)."""
        w = self.w
        with w.display.batch():
            if not self.active:
                self.toggle_review()
            w.queuing.show_ids(ids)
        w.statusBar().showMessage(f"Reviewing {len(ids)} item(s): {title}. Change the filter to see others.", 0)
        w.activateWindow()
