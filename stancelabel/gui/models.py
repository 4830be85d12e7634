"""Qt item models: thin, lazily fetching adapters over the project store."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from stancelabel.core.model import DocumentSummary
from stancelabel.store.project import Project

ModelIndex = QModelIndex | QPersistentModelIndex
#: The role under which models hand out a row's database id.
IdRole = Qt.ItemDataRole.UserRole + 1


class DocumentListModel(QAbstractListModel):
    """The project's documents, fetched from SQLite a page at a time as the view scrolls."""

    PAGE = 256

    def __init__(self, project: Project, parent=None) -> None:
        super().__init__(parent)
        self._project = project
        self._rows: list[DocumentSummary] = []
        self._total = project.document_count()

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid():
            return
        page = self._project.document_summaries(offset=len(self._rows), limit=self.PAGE)
        if not page:
            self._total = len(self._rows)
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(page) - 1)
        self._rows.extend(page)
        self.endInsertRows()

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{row.title or row.external_id}\n{row.sentences} sentences · {row.attributions} attributions"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.external_id}: {row.labelled} of {row.attributions} attributions labelled"
        if role == IdRole:
            return row.id
        return None

    def total(self) -> int:
        return self._total


class SentenceListModel(QAbstractListModel):
    """The sentences of one document (a document has at most a few hundred)."""

    def __init__(self, project: Project, parent=None) -> None:
        super().__init__(parent)
        self._project = project
        self._texts: list[str] = []
        self._attributions: list[int] = []

    def set_document(self, document_id: int | None) -> None:
        self.beginResetModel()
        if document_id is None:
            self._texts, self._attributions = [], []
        else:
            text = self._project.document(document_id).text
            sentences = self._project.sentences(document_id)
            counts = [0] * len(sentences)
            for attribution in self._project.attributions(document_id):
                if attribution.sentence_index is not None and attribution.sentence_index < len(counts):
                    counts[attribution.sentence_index] += 1
            self._texts = [text[s.start:s.end] for s in sentences]
            self._attributions = counts
        self.endResetModel()

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._texts)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._texts):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Sentence {index.row() + 1}: {self._attributions[index.row()]} attribution(s)"
        return None
