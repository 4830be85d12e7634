"""What the window shows of the current attribution (the reading pane, the location line, the target
banner and the label panel), drawn once per batch of changes, and how (font, context, theme).

Every change asks for a redraw (``show_current`` or ``show_panel``); inside a
``batch`` (an action, a committed change coming back from the saver) the asks
are gathered and the window is drawn once when the batch ends, with one read
of the annotator's state. Outside a batch a redraw happens at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont

from stancelabel.core.errors import ProjectFileError
from stancelabel.core.model import Annotation, Attribution, Sentence
from stancelabel.gui.label_panel import review_html
from stancelabel.gui.main_window.widgets import count
from stancelabel.gui.markup import escape
from stancelabel.gui.reading_pane import Mark
from stancelabel.gui.settings import FONT_SIZES
from stancelabel.gui.theme import apply_theme
from stancelabel.nlp.stance import Suggestion, shown

if TYPE_CHECKING:
    from stancelabel.gui.main_window.window import MainWindow

#: How long a change may take to commit before the panel shows it as being saved.
PENDING_SHOWN_AFTER_MS = 60
_ORIGIN = {"auto": "found by the detector", "imported": "imported", "manual": "added or edited by hand"}


class Display:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self._depth = 0
        self._pane = self._panel = False
        self._document: tuple[int, str, list[Sentence], str, str | None] | None = None
        self.paragraph = False  # the whole paragraph shown, not a few sentences around
        self.show_rejected = False  # rejected attributions of the sentence drawn (struck through)
        #: where the caret goes at the next drawing (the end of the span just edited), once
        self.caret: int | None = None
        #: the attributions of the current sentence, in reading order (Tab moves through them)
        self.sentence_attributions: list[Attribution] = []
        #: how many times the label panel was drawn (one per key press: tests count it)
        self.panel_draws = 0
        self._soon = QTimer(window)
        self._soon.setSingleShot(True)
        self._soon.setInterval(PENDING_SHOWN_AFTER_MS)
        self._soon.timeout.connect(self.show_panel)

    # -- batching ------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Gather redraws until the outermost batch ends, then draw once."""
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._pane = self._panel = False
            raise
        self._depth -= 1
        if self._depth == 0:
            self._flush()

    def show_current(self) -> None:
        """Redraw everything: the reading pane, location, target and panel."""
        self._pane = self._panel = True
        if self._depth == 0:
            self._flush()

    def show_panel(self) -> None:
        """Redraw the label panel (the annotator's state changed)."""
        self._panel = True
        if self._depth == 0:
            self._flush()

    def show_panel_soon(self) -> None:
        """Redraw the panel if the change just given is not committed within a moment (a slow or locked
        file): a commit coming back in time draws the window anyway, so a key press draws it once."""
        if not self._soon.isActive():
            self._soon.start()

    def _flush(self) -> None:
        pane, panel = self._pane, self._panel
        self._pane = self._panel = False
        if self.w.project is None:
            return
        if pane or panel:
            self._soon.stop()
        if pane:
            self._draw_current()
        elif panel:
            self._draw_panel()

    # -- the document ----------------------------------------------------------------------

    def document(self, document_id: int) -> tuple[str, list[Sentence], str, str | None]:
        """Text, sentences, title and target of a document (the current one is cached)."""
        if self._document is None or self._document[0] != document_id:
            project = self.w.project
            try:
                document = project.document(document_id)
            except KeyError:  # an attribution whose document is not there: only a damaged file has one
                raise ProjectFileError(project.path, f"the project file is damaged (document {document_id} "
                                       "of an attribution is missing)") from None
            self._document = (document_id, document.text, project.sentences(document_id),
                              document.title or document.external_id, document.target)
        return self._document[1:]

    def suggestion(self, attribution: Attribution) -> Suggestion | None:
        """The suggestion for the question on screen (the document's target, or the content) and why."""
        text, _, _, target = self.document(attribution.document_id)
        return shown(attribution, text, target)

    def forget_document(self) -> None:
        """The cached document changed (its target): read it again when next shown."""
        self._document = None

    # -- drawing ---------------------------------------------------------------------------

    def _draw_current(self) -> None:
        w, attribution = self.w, self.w.queuing.current
        if attribution is None:
            message = ("Nothing in the queue. Change the filter above, or import documents "
                       "(File › Import, or drop files here).") if w.project.document_count() else \
                ("This project has no documents yet. Import text, JSONL, CSV or BRAT files with "
                 "File › Import (Ctrl+I), or drop them on this window.")
            w.pane.show_message(message)
            w.view.target_label.setVisible(False)
            w.view.location_label.setText("Nothing to label")
            self._draw_panel()
            return
        text, sentences, title, target = self.document(attribution.document_id)
        self._draw_target(target)
        caret, self.caret = self.caret, None
        w.pane.show_attribution(text, sentences, attribution, w.settings.context_size, self.paragraph,
                                self._marks(attribution), caret)
        w.view.location_label.setText(self.location_text())
        self._draw_panel()

    def _marks(self, attribution: Attribution) -> list[Mark]:
        """Every attribution of the current one's sentence, with the annotator's (or gold) labels."""
        w = self.w
        same = [a for a in w.project.attributions(attribution.document_id)
                if a.id == attribution.id or (a.sentence_index == attribution.sentence_index
                                              and (a.status == "active"
                                                   or (a.status == "rejected" and self.show_rejected)))]
        same.sort(key=lambda a: (a.cue[0] if a.cue else (a.source + a.content + ((0, 0),))[0], a.id))
        self.sentence_attributions = same
        labels = {item.id: item.label for item in
                  w.project.queue_items([a.id for a in same], w.annotator, gold=w.reviewing.active)}
        colours = {label.name: label.colour for label in w.labels}
        return [Mark(a.id, a.source, a.cue, a.content, labels.get(a.id), colours.get(labels.get(a.id) or ""),
                     a.id == attribution.id, a.status == "rejected") for a in same]

    def _draw_target(self, target: str | None) -> None:
        label, muted = self.w.view.target_label, self.w.roles.muted.name()
        label.setVisible(True)
        if target:
            label.setText(f"<b>Target:</b> {escape(target)} &nbsp;<small style='color:{muted}'>(G changes it)</small>")
            label.setToolTip("Label the source's stance toward this claim, as the guidelines say (F1)")
        else:
            label.setText(f"<span style='color:{muted}'>No target: label the stance toward the content &nbsp;"
                          "<small>(G sets a target)</small></span>")
            label.setToolTip("")

    def location_text(self) -> str:
        queuing = self.w.queuing
        attribution = queuing.current
        _, sentences, title, _ = self.document(attribution.document_id)
        sentence = (attribution.sentence_index or 0) + 1
        here = [a.id for a in self.sentence_attributions]
        several = (f" &nbsp;·&nbsp; attribution {here.index(attribution.id) + 1} of {len(here)} here (Tab)"
                   if len(here) > 1 and attribution.id in here else "")
        return (f"<b>{escape(title)}</b> &nbsp;·&nbsp; sentence {sentence} of {len(sentences)}{several} &nbsp;·&nbsp; "
                f"item {count((queuing.current_row or 0) + 1)} of {count(queuing.queue.rowCount())} "
                f"<span style='color:{self.w.roles.muted.name()}'>&nbsp;·&nbsp; "
                f"{_ORIGIN.get(attribution.origin, '')}</span>")

    def _draw_panel(self) -> None:
        w = self.w
        self.panel_draws += 1
        attribution, panel = w.queuing.current, w.panel
        if attribution is None or w.project is None:
            panel.show_state(None, None)
            return
        saver = w.labelling.saver
        unsaved = saver.error if (saver and attribution.id in saver.unsaved_attributions()) else None
        target = self.document(attribution.document_id)[3]
        review = panel.ui.review_label
        review.setVisible(w.reviewing.active)
        if w.reviewing.active:
            gold = w.project.gold_of(attribution.id)
            review.setText(review_html(w.project.annotations(attribution.id), gold,
                                       {label.name: label.colour for label in w.labels}))
            annotation = Annotation(attribution.id, gold[1], gold[0], gold[2], False, "", "") if gold else None
            panel.show_state(attribution, annotation, unsaved=unsaved, document_target=target)
            panel.ui.suggestion_label.setText("<small>Label keys set the gold label; Enter takes the "
                                              "annotators' majority.</small>")
            panel.ui.flag_box.setVisible(False)
            if gold is None:
                panel.ui.save_state.setText("<span style='color:palette(placeholder-text)'>No gold label yet</span>")
            return
        panel.ui.flag_box.setVisible(True)
        panel.ui.heading.setText("Stance of the source toward the target" if target else
                                 "Stance of the source toward the content")
        annotation = w.project.annotation(attribution.id, w.annotator)
        authors = w.project.attribution_authors(attribution.id)
        details = (f"<small style='color:gray'>{escape(attribution.origin)}"
                   + (f" · by {escape(', '.join(authors))}" if authors else "")
                   + f" · key {attribution.key[:10]}</small>")
        pending = w.labelling.pending.get(attribution.id)
        shown = pending.label if pending is not None and pending.label is not None else \
            (annotation.label if annotation else None)
        colours = {label.name: label.colour for label in w.labels}
        w.pane.set_chip(attribution.id, shown or None, colours.get(shown or ""))
        panel.show_state(attribution, annotation, pending_label=pending.label if pending else None,
                         pending_note=pending.note if pending else None,
                         pending_flag=pending.flag if pending else None, unsaved=unsaved, details=details,
                         document_target=target, suggestion=self.suggestion(attribution))

    # -- view settings: font, context, theme -------------------------------------------------

    def apply_view_settings(self) -> None:
        self.w.roles = apply_theme(self.w.settings.theme)
        self.w.pane.set_roles(self.w.roles)
        font = QFont(self.w.pane.font())
        font.setPointSize(self.w.settings.font_size)
        self.w.pane.setFont(font)
        self.w.pane.document().setDefaultFont(font)
        self.w.actions["paragraph"].setChecked(self.paragraph)
        r = self.w.roles
        self.w.view.target_label.setStyleSheet(
            f"QLabel {{ background: {r.banner.name()}; color: {r.text.name()}; border: 1px solid {r.frame.name()}; "
            "border-radius: 4px; padding: 5px 8px; }")
        self.w.view.legend_label.setText(
            f"<small><span style='background:{r.source.name()}; border:1px solid {r.frame.name()}'>&nbsp;source&nbsp;"
            f"</span> framed &nbsp; <span style='background:{r.cue.name()}'><b><u>&nbsp;cue&nbsp;</u></b></span> bold, "
            f"underlined &nbsp; <span style='background:{r.content.name()}'><i>&nbsp;content&nbsp;</i></span> italic"
            f" &nbsp;·&nbsp; context: {self.w.settings.context_size} sentence(s) each side ([ and ]), P whole "
            "paragraph</small>")

    def change_font(self, step: int) -> None:
        self.w.settings.font_size = min(max(self.w.settings.font_size + step, FONT_SIZES[0]), FONT_SIZES[1])
        self.apply_view_settings()
        self.show_current()

    def change_context(self, step: int) -> None:
        self.w.settings.context_size = self.w.settings.context_size + step
        self.apply_view_settings()
        self.show_current()

    def toggle_paragraph(self) -> None:
        self.paragraph = not self.paragraph
        self.apply_view_settings()
        self.show_current()

    def toggle_rejected(self) -> None:
        self.show_rejected = not self.show_rejected
        self.w.actions["show_rejected"].setChecked(self.show_rejected)
        self.show_current()

    def set_theme(self, theme: str) -> None:
        self.w.settings.theme = theme
        self.w.actions[f"theme_{theme}"].setChecked(True)
        self.apply_view_settings()
        self.w.panel.set_labels(self.w.labels)
        self.show_current()
