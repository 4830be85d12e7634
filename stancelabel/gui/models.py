"""Qt item models: thin, lazily fetching adapters over the project store.

Nothing here holds more than a page of rows it was not asked for: the queue
keeps only attribution ids (8 bytes each) and fetches what a view shows, a
page at a time, so a million attributions open as fast as a hundred.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict

import numpy
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import DocumentSummary, QueueItem
from stancelabel.gui.failures import report
from stancelabel.gui.markup import escape
from stancelabel.store.project import Project

ModelIndex = QModelIndex | QPersistentModelIndex
#: The role under which models hand out a row's database id.
IdRole = Qt.ItemDataRole.UserRole + 1
#: (labelled, total) for a document row.
ProgressRole = Qt.ItemDataRole.UserRole + 2
#: The annotator's label of a queue row (None when unlabelled).
LabelRole = Qt.ItemDataRole.UserRole + 3
#: The whole QueueItem of a queue row (what its delegate draws).
ItemRole = Qt.ItemDataRole.UserRole + 4


class DocumentListModel(QAbstractListModel):
    """The project's documents with one annotator's progress, fetched a page at a time as the view scrolls."""

    PAGE = 256

    def __init__(self, project: Project, annotator: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self._project = project
        self._annotator = annotator
        self._rows: list[DocumentSummary] = []
        self._row_of: dict[int, int] = {}
        self._total = project.document_count()

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid():
            return
        after = self._rows[-1].id if self._rows else None
        try:
            page = self._project.document_summaries(limit=self.PAGE, annotator=self._annotator,
                                                    after_id=after if after is not None else 0)
        except StanceLabelError as error:
            report(error)
            return
        if not page:
            self._total = len(self._rows)
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(page) - 1)
        for summary in page:
            self._row_of[summary.id] = len(self._rows)
            self._rows.append(summary)
        self.endInsertRows()

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.title or row.external_id
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{row.external_id}: {row.sentences} sentences, {row.labelled} of {row.attributions} "
                    "attributions labelled")
        if role == IdRole:
            return row.id
        if role == ProgressRole:
            return row.labelled, row.attributions
        return None

    def total(self) -> int:
        return self._total

    def row_of(self, document_id: int) -> int | None:
        return self._row_of.get(document_id)

    def refresh_document(self, document_id: int) -> None:
        """Re-read one document's counts (after a label changed them)."""
        row = self._row_of.get(document_id)
        if row is None:
            return
        fresh = self._project.document_summaries(limit=1, annotator=self._annotator, after_id=document_id - 1)
        if fresh and fresh[0].id == document_id:
            self._rows[row] = fresh[0]
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def refresh_total(self) -> None:
        """Documents added since (an import running in the background) become fetchable."""
        self._total = self._project.document_count()


class QueueModel(QAbstractListModel):
    """The labelling queue: ids in reading order, rows fetched on demand and cached by page."""

    PAGE = 128
    CACHED_PAGES = 64

    def __init__(self, project: Project, annotator: str, parent=None) -> None:
        super().__init__(parent)
        self._project = project
        self._annotator = annotator
        self._ids = array("q")
        self._pages: OrderedDict[int, list[QueueItem | None]] = OrderedDict()
        self.gold = False  # review mode: rows show the gold label

    def set_gold(self, gold: bool) -> None:
        self.gold = gold
        self.refresh_all()

    def set_ids(self, ids: array) -> None:
        self.beginResetModel()
        self._ids = ids
        self._pages.clear()
        self.endResetModel()

    def ids(self) -> array:
        return self._ids

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def row_of(self, attribution_id: int) -> int | None:
        """Where an attribution is in the queue (None if the filter leaves it out).

        Rows cached for display are looked at first; otherwise one vectorised
        scan of the ids (about 2 ms for a million), with no index kept in memory.
        """
        for page_no, page in self._pages.items():
            for offset, item in enumerate(page):
                if item is not None and item.id == attribution_id:
                    return page_no * self.PAGE + offset
        if not self._ids:
            return None
        view = numpy.frombuffer(self._ids, dtype=numpy.int64)
        try:
            found = numpy.flatnonzero(view == attribution_id)
        finally:
            del view  # the array must not stay exported: rows are inserted and removed in place
        return int(found[0]) if len(found) else None

    def id_at(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def item(self, row: int) -> QueueItem | None:
        if not 0 <= row < len(self._ids):
            return None
        page_no = row // self.PAGE
        page = self._pages.get(page_no)
        if page is None:
            first = page_no * self.PAGE
            wanted = list(self._ids[first:first + self.PAGE])
            try:
                found = {x.id: x for x in self._project.queue_items(wanted, self._annotator, gold=self.gold)}
            except StanceLabelError as error:  # a damaged page met while a view paints: the window says so
                report(error)
                return None
            page = [found.get(i) for i in wanted]
            self._pages[page_no] = page
            while len(self._pages) > self.CACHED_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page_no)
        return page[row % self.PAGE]

    def remove_row(self, row: int) -> None:
        """Drop one row (an attribution marked "not an attribution") without re-reading the queue."""
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._ids[row]
        for page_no in [p for p in self._pages if p >= row // self.PAGE]:
            del self._pages[page_no]
        self.endRemoveRows()

    def insert_id(self, row: int, attribution_id: int) -> None:
        """Put a new attribution at ``row`` (one just added by hand, shown next)."""
        row = min(max(row, 0), len(self._ids))
        self.beginInsertRows(QModelIndex(), row, row)
        self._ids.insert(row, attribution_id)
        for page_no in [p for p in self._pages if p >= row // self.PAGE]:
            del self._pages[page_no]
        self.endInsertRows()

    def append_ids(self, ids: array) -> None:
        """Add rows at the end (attributions of documents imported since the queue was built)."""
        if not len(ids):
            return
        self.beginInsertRows(QModelIndex(), len(self._ids), len(self._ids) + len(ids) - 1)
        self._pages.pop(len(self._ids) // self.PAGE, None)  # the last page grows
        self._ids.extend(ids)
        self.endInsertRows()

    def refresh_all(self) -> None:
        """Re-read every shown row (after the label schema changed)."""
        self._pages.clear()
        if self._ids:
            self.dataChanged.emit(self.index(0), self.index(len(self._ids) - 1))

    def refresh_ids(self, attribution_ids: set[int]) -> None:
        """Re-read rows whose label, flag or spans changed."""
        for attribution_id in attribution_ids:
            row = self.row_of(attribution_id)
            if row is None:
                continue
            self._pages.pop(row // self.PAGE, None)
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        item = self.item(index.row())
        if item is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:  # what accessibility tools read; the delegate draws the row
            marks = ("flagged, " if item.flagged else "") + ("noted, " if item.noted else "")
            return (f"{item.label or 'no label'}, {marks}{item.cue_text or 'no cue'}: {item.content_text}"
                    f" ({item.source_text or 'no source'})")
        if role == ItemRole:
            return item
        if role == Qt.ItemDataRole.ToolTipRole:
            where = f"{item.external_id}, sentence {item.sentence_index + 1}" if item.sentence_index is not None \
                else item.external_id
            sentence = ""
            if item.sentence_index is not None:
                try:
                    sentence = self._project.sentence_text(item.document_id, item.sentence_index)
                except StanceLabelError:
                    sentence = ""
            who = "gold label" if self.gold else "my label"
            return (f"<p><b>{escape(where)}</b><br>{escape(sentence)}</p><p>{who}: {escape(item.label or 'none yet')}"
                    + (" · flagged as unsure" if item.flagged else "") + (" · has a note" if item.noted else "")
                    + "</p>")
        if role == IdRole:
            return item.id
        if role == LabelRole:
            return item.label
        return None
