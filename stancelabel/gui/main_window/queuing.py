"""The queue: what it holds (the filters), where the annotator is in it, and moving through it."""

from __future__ import annotations

from array import array
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import Attribution, QueueFilter
from stancelabel.gui.main_window.widgets import count
from stancelabel.gui.models import DocumentListModel, IdRole, QueueModel

if TYPE_CHECKING:
    from stancelabel.gui.main_window.window import MainWindow

SHOW_CHOICES = (("all", "All attributions"), ("unlabelled", "Not yet labelled by me"),
                ("flagged", "Flagged by me"), ("label", "Labelled by me as"),
                ("disputed", "Disputed (annotators differ)"), ("multiple", "Labelled by several"))
#: Text filters over more attributions than this run on a worker thread (about 2 s per million).
ASYNC_FILTER_ABOVE = 200_000


class Queuing:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.queue: QueueModel | None = None
        self.documents: DocumentListModel | None = None
        self.current: Attribution | None = None
        self.current_row: int | None = None
        self.filter_job = None
        self.documents_until = 0  # documents with a higher id came after the queue was built

    # -- the models -------------------------------------------------------------------------

    def attach(self) -> None:
        """Models over the window's project for its annotator (a project opened, an annotator switched)."""
        w = self.w
        self.documents = DocumentListModel(w.project, w.annotator, w)
        w.view.document_list.setModel(self.documents)
        self.queue = QueueModel(w.project, w.annotator, w)
        w.view.queue_list.setModel(self.queue)
        w.view.queue_list.selectionModel().currentChanged.connect(self._on_queue_current)
        self.current = self.current_row = None
        if self.documents.canFetchMore():
            self.documents.fetchMore()

    def detach(self) -> None:
        """Nothing may read a closed project while the window goes."""
        for view in (self.w.view.queue_list, self.w.view.document_list):
            view.setModel(None)

    def reload_current(self) -> None:
        if self.current is not None:
            try:
                self.current = self.w.project.attribution(self.current.id)
            except KeyError:
                self.current = None

    # -- filters ----------------------------------------------------------------------------

    def queue_filter(self) -> QueueFilter:
        v = self.w.view
        show = v.show_combo.currentData() or "all"
        document_id = self.current.document_id if (v.document_only.isChecked() and self.current) else None
        return QueueFilter(show=show, label=v.label_combo.currentText() if show == "label" else None,
                           speaker=v.speaker_edit.text(), search=v.search_edit.text(), document_id=document_id)

    def label_filter_changed(self) -> None:
        if self.w.view.show_combo.currentData() == "label":
            self.apply_filter()

    def apply_filter(self, keep: int | None = None) -> None:
        """Rebuild the queue from the filter, staying on the current attribution when it is kept,
        else on the next one after it in reading order (or, at the start, the first unlabelled)."""
        w = self.w
        if w.project is None:
            return
        w.view.label_combo.setVisible(w.view.show_combo.currentData() == "label")
        keep = keep if keep is not None else (self.current.id if self.current else None)
        queue = self.queue_filter()
        if (queue.speaker.strip() or queue.search.strip()) and w.labelling.total > ASYNC_FILTER_ABOVE:
            self._filter_in_background(queue, keep)  # a text filter over a big project: off the GUI thread
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            ids = w.project.queue_ids(w.annotator, queue)
        except StanceLabelError as error:
            w.statusBar().showMessage(str(error), 8000)
            return
        finally:
            QApplication.restoreOverrideCursor()
        self._show_queue(ids, queue, keep)

    def _filter_in_background(self, queue: QueueFilter, keep: int | None) -> None:
        from stancelabel.gui.team_views import filter_job

        w = self.w
        self.filter_job = job = filter_job(w.project.path, w.annotator, queue, w)
        w.statusBar().showMessage("Filtering… (you can go on labelling)")

        def finished(ids, error: str) -> None:
            if job is not self.filter_job or w.project is None:
                return  # a newer filter was asked for meanwhile
            if error:
                w.statusBar().showMessage(error, 8000)
                return
            w.statusBar().showMessage(f"{count(len(ids))} attribution(s) match.", 5000)
            with w.display.batch():
                self._show_queue(ids, queue, self.current.id if self.current else keep)

        job.finished.connect(finished)
        job.start()

    def _show_queue(self, ids, queue: QueueFilter, keep: int | None) -> None:
        w = self.w
        self.documents_until = w.project.last_document_id()
        self.queue.set_ids(ids)
        row = self.queue.row_of(keep) if keep is not None else None
        if row is None and len(ids):
            following = self.next_unlabelled_id(after=keep) if keep is None else \
                w.project.queue_ids(w.annotator, queue, after=keep, limit=1)
            row = self.queue.row_of(following[0]) if following else (len(ids) - 1 if keep is not None else 0)
        self.current_row = None
        self.go_to_row(row if row is not None else 0)

    def show_ids(self, ids: list[int]) -> None:
        """Exactly these attributions (from a cell of the agreement view)."""
        self.queue.set_ids(array("q", ids))
        self.current_row = None
        self.go_to_row(0)

    def append_new(self) -> int:
        """Attributions of documents imported since the queue was built go at its end; returns how many."""
        w = self.w
        new = w.project.queue_ids(w.annotator, self.queue_filter(), after_document=self.documents_until)
        self.documents_until = w.project.last_document_id()
        if len(new):
            self.queue.append_ids(new)
        return len(new)

    # -- moving ------------------------------------------------------------------------------

    def next_unlabelled_id(self, after: int | None) -> list[int]:
        """The next attribution in the queue that this annotator has not labelled (one query)."""
        w = self.w
        labelling = {i for i, p in w.labelling.pending.items() if p.label is not None}
        queue = self.queue_filter()
        if queue.show in ("all", "unlabelled"):
            queue = replace(queue, show="unlabelled")
            candidates = w.project.queue_ids(w.annotator, queue, after=after, limit=len(labelling) + 1)
            return [i for i in candidates if i not in labelling][:1]
        start = 0 if after is None else (self.queue.row_of(after) or 0) + 1  # a short queue: flagged, by label
        for row in range(start, self.queue.rowCount()):
            item = self.queue.item(row)
            if item is not None and not item.label and item.id not in labelling:
                return [item.id]
        return []

    def go_to_row(self, row: int | None) -> None:
        w = self.w
        if w.labelling.note_open:
            w.labelling.commit_note()  # what was typed belongs to the item being left
            w.pane.setFocus()
        if row is None or not 0 <= row < self.queue.rowCount():
            if self.queue.rowCount() == 0:
                self.current, self.current_row = None, None
                w.display.show_current()
            return
        self.current_row = row
        try:
            self.current = w.project.attribution(self.queue.id_at(row))
        except KeyError:
            self.current = None
        index = self.queue.index(row)
        # Not with the selection model's signals blocked: the view would not repaint the row it leaves,
        # and several rows would stay highlighted. _on_queue_current ignores the row already current.
        view = w.view.queue_list
        view.setCurrentIndex(index)
        shown = view.visualRect(index)
        if shown.top() < 0 or shown.bottom() > view.viewport().height():
            # centred, not just brought in at the edge: the rows around stay in view, and J/K scroll the
            # list once every half page instead of at every key (each scroll repaints every row)
            view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        w.display.show_current()

    def go_to_attribution(self, attribution_id: int) -> None:
        """Show this attribution (a click on it in the text, Tab), if the queue holds it."""
        row = self.queue.row_of(attribution_id)
        if row is None:
            self.w.statusBar().showMessage("That attribution is not in the queue as filtered (Show: All "
                                           "attributions holds every active one).", 6000)
            return
        self.go_to_row(row)

    def step_in_sentence(self, step: int) -> None:
        """Tab and Shift+Tab: the next or previous attribution of the same sentence, round."""
        here = self.w.display.sentence_attributions
        if self.current is None or len(here) < 2:
            self.w.statusBar().showMessage("This is the only attribution in the sentence.", 4000)
            return
        ids = [a.id for a in here]
        at = ids.index(self.current.id) if self.current.id in ids else 0
        self.go_to_attribution(ids[(at + step) % len(ids)])

    def _on_queue_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and current.row() != self.current_row:
            with self.w.display.batch():
                self.go_to_row(current.row())

    def document_clicked(self, index: QModelIndex) -> None:
        document_id = index.data(IdRole)
        for attribution in self.w.project.attributions(document_id):
            row = self.queue.row_of(attribution.id)
            if row is not None:
                self.go_to_row(row)
                return
        self.w.statusBar().showMessage("None of this document's attributions is in the queue as filtered.", 6000)

    def next_item(self) -> None:
        if self.current_row is None:
            return
        if self.current_row + 1 >= self.queue.rowCount():
            self.w.statusBar().showMessage("End of the queue.", 4000)
            return
        self.go_to_row(self.current_row + 1)

    def previous_item(self) -> None:
        if self.current_row:
            self.go_to_row(self.current_row - 1)

    def next_unlabelled(self) -> None:
        found = self.next_unlabelled_id(after=self.current.id if self.current else None)
        row = self.queue.row_of(found[0]) if found else None
        if row is None:
            self.w.statusBar().showMessage("No unlabelled attribution after this one.", 5000)
            return
        self.go_to_row(row)

    def remember_position(self) -> None:
        w = self.w
        if w.project is not None and self.current is not None:
            w.settings.set_position(w.project.path, w.annotator, self.current.id)

    # -- keys in the filters and lists -------------------------------------------------------

    def to_pane_on_escape(self, event) -> bool:
        if event.key() == Qt.Key.Key_Escape:
            self.w.pane.setFocus()
            return True
        return False

    def document_list_key(self, event) -> bool:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            index = self.w.view.document_list.currentIndex()
            if index.isValid():
                with self.w.display.batch():
                    self.document_clicked(index)
            self.w.pane.setFocus()
            return True
        return self.to_pane_on_escape(event)

    def filter_edit_key(self, event) -> bool:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            with self.w.display.batch():
                self.apply_filter()
            self.w.pane.setFocus()
            return True
        if event.key() == Qt.Key.Key_Escape:
            self.w.pane.setFocus()
            return True
        return False

    def focus_filters(self) -> None:
        self.w.view.show_combo.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.w.view.show_combo.showPopup()

    def focus_documents(self) -> None:
        v = self.w.view
        v.side_tabs.setCurrentWidget(v.documents_tab)
        v.document_list.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if self.current is not None and not v.document_list.currentIndex().isValid():
            row = self.documents.row_of(self.current.document_id)
            if row is not None:
                v.document_list.setCurrentIndex(self.documents.index(row))

    def focus_search(self) -> None:
        self.w.view.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.w.view.search_edit.selectAll()

    def focus_speaker(self) -> None:
        self.w.view.speaker_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.w.view.speaker_edit.selectAll()
