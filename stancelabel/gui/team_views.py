"""Team work in the window: the agreement view, and the split and merge dialogs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from PySide6.QtCore import QObject, QRectF, QSignalBlocker, Qt
from PySide6.QtGui import QBrush, QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stancelabel.core.model import Label
from stancelabel.gui.jobs import Job
from stancelabel.gui.markup import escape
from stancelabel.server.local import SERVER
from stancelabel.store.project import Project
from stancelabel.team.agreement import Agreement, AgreementReport, project_agreement


def _show(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


class BarDelegate(QStyledItemDelegate):
    """A cell with a bar across the given share of its width, in the label's colour, under its text.

    (A gradient brush in the item's background is laid out against the view rather than the cell
    in some styles: the bars of the later columns came out full.)"""

    SHARE = Qt.ItemDataRole.UserRole + 1

    def paint(self, painter: QPainter, option, index) -> None:
        bar = index.data(self.SHARE)
        if bar:
            share, colour = bar
            fill = QColor(colour)
            fill.setAlphaF(0.55)
            rect = QRectF(option.rect).adjusted(1, 2, -1, -2)
            rect.setWidth(rect.width() * max(0.0, min(1.0, share)))
            painter.fillRect(rect, fill)
        super().paint(painter, option, index)


class AgreementFigures(NamedTuple):
    """What the agreement view shows, read from the project at one moment."""

    labels: list[Label]
    items: dict[int, dict[str, str]]  # attribution id -> annotator -> label: the items behind a matrix cell
    report: AgreementReport  # the figures `stancelabel agreement` prints
    shared: bool  # a shared project's working copy: the figures follow its sync
    at: float  # when they were read (time.time())


def agreement_figures(project: Project) -> AgreementFigures:
    return AgreementFigures(project.labels(), project.labels_by_item(), project_agreement(project),
                            bool(project.get_setting(SERVER)), time.time())


def agreement_job(path, parent: QObject | None = None) -> Job:
    """``agreement_figures`` with its own read-only connection, off the GUI thread (on a project of a
    million labels they take seconds); the job's result is the AgreementFigures."""

    def work(_progress, _stop):
        with Project.open(path, readonly=True) as project:
            return agreement_figures(project)

    return Job("agreement", work, parent)


class AgreementView(QDialog):
    """The figures, a confusion matrix per pair as a heat map, each annotator's labels as bars;
    a click on a matrix cell (or Enter) shows the items behind it (``show_items``)."""

    def __init__(self, project: Project, show_items: Callable[[list[int], str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Agreement")
        self._show_items = show_items
        layout = QVBoxLayout(self)
        self.figures = QLabel()
        self.figures.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.figures)
        layout.addWidget(QLabel("<b>Confusion matrix</b> (rows: the first annotator; click a cell for its items)"))
        self.pair = QComboBox()
        self.pair.currentIndexChanged.connect(self._fill_matrix)
        layout.addWidget(self.pair)
        self.matrix = QTableWidget()
        self.matrix.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.matrix.cellActivated.connect(self._open_cell)
        self.matrix.cellClicked.connect(self._open_cell)
        layout.addWidget(self.matrix)
        layout.addWidget(QLabel("<b>Labels given</b> (among the items labelled by at least two)"))
        self.bars = QTableWidget()
        self.bars.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.bars.setItemDelegate(BarDelegate(self.bars))
        layout.addWidget(self.bars)
        self.spans = QLabel()
        self.spans.setWordWrap(True)
        layout.addWidget(self.spans)
        self.updated = QLabel()
        self.updated.setEnabled(False)  # drawn greyed: a note, not a figure
        layout.addWidget(self.updated)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.refresh(project)
        self.resize(720, 720)

    def refresh(self, project: Project) -> None:
        """Compute the figures again from the project, on this thread, keeping the pair shown."""
        self.show_figures(agreement_figures(project))

    def show_figures(self, figures: AgreementFigures) -> None:
        """Show figures computed from the project (here, or by ``agreement_job`` on a thread of its own
        when a shared project's sync brought labels), keeping the pair shown."""
        shown = self.pair.currentText().split("  (")[0]
        self.labels = [label.name for label in figures.labels]
        self.colours = {label.name: label.colour for label in figures.labels}
        self.items = figures.items
        self.report = figures.report
        self.result: Agreement = self.report.overall
        names = [f"{pair.a} × {pair.b}" for pair in self.result.pairs]
        with QSignalBlocker(self.pair):
            self.pair.clear()
            for name, pair in zip(names, self.result.pairs):
                self.pair.addItem(f"{name}  ({pair.n} items, Cohen's kappa {_show(pair.cohen_kappa)})")
            if shown in names:
                self.pair.setCurrentIndex(names.index(shown))
        rows = self.report.spans
        self.spans.setText("<b>Attributions themselves</b> (overlap F1, as evaluate scores them): " + "; ".join(
            f"{escape(r['a'])} / {escape(r['b'])} {r['attribution_f1']:.3f}" for r in rows) if rows else "")
        self.updated.setText(f"As of {time.strftime('%H:%M:%S', time.localtime(figures.at))}"
                             + (": a shared project's figures follow its sync" if figures.shared else ""))
        self._fill_figures()
        self._fill_matrix()
        self._fill_bars()

    def _fill_figures(self) -> None:
        r = self.result
        if not r.items:
            self.figures.setText("No attribution has labels from two annotators yet: agreement needs them.")
            return
        specific = ", ".join(f"{escape(k)} {_show(v)}" for k, v in r.specific_agreement.items())
        self.figures.setText(
            f"<b>{r.items}</b> item(s) labelled by at least two of {escape(', '.join(r.annotators))}<br>"
            "<table cellspacing='0' cellpadding='2'>"
            f"<tr><td>Observed agreement</td><td><b>{_show(r.observed_agreement)}</b></td></tr>"
            f"<tr><td>Krippendorff's alpha (nominal)</td><td><b>{_show(r.krippendorff_alpha)}</b></td></tr>"
            f"<tr><td>Fleiss' kappa ({r.fleiss_items} item(s) labelled by all)</td>"
            f"<td><b>{_show(r.fleiss_kappa)}</b></td></tr>"
            f"<tr><td>Gwet's AC1</td><td><b>{_show(r.gwet_ac1)}</b></td></tr>"
            f"<tr><td>Specific agreement</td><td>{specific}</td></tr></table>")

    def _fill_matrix(self) -> None:
        if not self.result.pairs:
            return
        pair = self.result.pairs[self.pair.currentIndex()]
        labels = self.result.labels
        self.matrix.setRowCount(len(labels))
        self.matrix.setColumnCount(len(labels))
        self.matrix.setVerticalHeaderLabels([f"{pair.a}: {x}" for x in labels])
        self.matrix.setHorizontalHeaderLabels([f"{pair.b}: {y}" for y in labels])
        top = max([pair.confusion[x][y] for x in labels for y in labels] + [1])
        base = self.palette().highlight().color()
        for i, x in enumerate(labels):
            for j, y in enumerate(labels):
                count = pair.confusion[x][y]
                cell = QTableWidgetItem(str(count))
                cell.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                shade = QColor(base)
                shade.setAlphaF(0.08 + 0.8 * count / top if count else 0.0)
                cell.setBackground(QBrush(shade))
                cell.setToolTip(f"{count} item(s): {pair.a} said {x}, {pair.b} said {y}"
                                + (" (agreement)" if x == y else ""))
                self.matrix.setItem(i, j, cell)
        self.matrix.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

    def cell_items(self, row: int, column: int) -> tuple[list[int], str]:
        pair = self.result.pairs[self.pair.currentIndex()]
        x, y = self.result.labels[row], self.result.labels[column]
        ids = [item for item, ratings in self.items.items()
               if ratings.get(pair.a) == x and ratings.get(pair.b) == y]
        return ids, f"{pair.a} said {x}, {pair.b} said {y}"

    def _open_cell(self, row: int, column: int) -> None:
        ids, title = self.cell_items(row, column)
        if ids:
            self._show_items(ids, title)

    def _fill_bars(self) -> None:
        counts = self.result.label_counts
        labels = self.result.labels
        self.bars.setRowCount(len(counts))
        self.bars.setColumnCount(len(labels))
        self.bars.setVerticalHeaderLabels(list(counts))
        self.bars.setHorizontalHeaderLabels(labels)
        for i, given in enumerate(counts.values()):
            total = sum(given.values()) or 1
            for j, label in enumerate(labels):
                share = given.get(label, 0) / total
                cell = QTableWidgetItem(f"{given.get(label, 0)}  ({share:.0%})")
                cell.setData(BarDelegate.SHARE, (share, self.colours.get(label, "#607d8b")))
                self.bars.setItem(i, j, cell)
        self.bars.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)


def merge_job(output, inputs, parent: QObject | None = None) -> Job:
    """``stancelabel.team.merge`` on its own thread; the job's result is the MergeReport."""
    from stancelabel.team.merge import merge

    # the window's save dialog already asked about replacing an existing file
    return Job("merge", lambda _progress, _stop: merge(output, inputs, replace=True), parent)


def filter_job(path, annotator: str, queue, parent: QObject | None = None) -> Job:
    """A queue query (a text search over a big project) with its own read-only connection; result: the ids."""

    def work(_progress, _stop):
        with Project.open(path, readonly=True) as project:
            return project.queue_ids(annotator, queue)

    return Job("filter", work, parent)
