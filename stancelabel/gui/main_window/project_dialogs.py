"""The project's own settings and the window's overviews: guidelines, the document's target, the label
schema, the keyboard shortcuts and About."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from stancelabel.core.labels import RESERVED_KEYS
from stancelabel.gui import logs
from stancelabel.gui.dialogs import GuidelinesEditor, SchemaEditor, ShortcutsDialog, TargetDialog
from stancelabel.gui.main_window import actions
from stancelabel.gui.markup import escape, show_markdown

if TYPE_CHECKING:
    from stancelabel.gui.main_window.window import MainWindow


class ProjectDialogs:
    def __init__(self, window: MainWindow) -> None:
        self.w = window

    def show_shortcuts(self) -> ShortcutsDialog:
        groups = list(actions.shortcut_groups(self.w, set(self.w.label_actions)))
        dialog = ShortcutsDialog(groups, self.w.labels, self.w)
        dialog.setModal(False)
        dialog.show()
        self._shortcuts_dialog = dialog
        return dialog

    def toggle_guidelines(self) -> None:
        self.w.guidelines_dock.setVisible(not self.w.guidelines_dock.isVisible())

    def edit_guidelines(self) -> GuidelinesEditor:
        editor = GuidelinesEditor(self.w.project.guidelines(), self.w)
        editor.accepted.connect(lambda: self._save_guidelines(editor.value()))
        editor.open()
        self._guidelines_editor = editor
        return editor

    def _save_guidelines(self, markdown: str) -> None:
        from stancelabel.io.guidelines import set_guidelines

        def done(found: list[str]) -> None:
            show_markdown(self.w.guidelines_view, markdown)
            self.w.load_labels()
            self.w.display.show_current()
            self.w.statusBar().showMessage("Guidelines saved" + (f"; label descriptions from their sections: "
                                                                 f"{', '.join(found)}" if found else "") + ".", 6000)

        self.w.labelling.submit("guidelines", lambda p: set_guidelines(p, markdown), None, done)

    def edit_target(self) -> TargetDialog | None:
        current = self.w.queuing.current
        if current is None:
            return None
        document_id = current.document_id
        known = [text for text, _ in self.w.project.targets()]
        dialog = TargetDialog(known, self.w.display.document(document_id)[3], self.w)
        dialog.accepted.connect(lambda: self._save_target(document_id, dialog.value()))
        dialog.open()
        self._target_dialog = dialog
        return dialog

    def _save_target(self, document_id: int, target: str | None) -> None:
        def done(_result) -> None:
            self.w.display.forget_document()
            self.w.display.show_current()
            self.w.statusBar().showMessage(f"Target of this document: {target}." if target else
                                           "This document has no target now.", 6000)

        self.w.labelling.submit("target", lambda p: p.set_document_target(document_id, target), None, done)

    def show_about(self) -> None:
        from stancelabel import __version__

        QMessageBox.about(self.w, "About StanceLabel",
                          f"<b>StanceLabel {__version__}</b><p>Stance labelling of attributions in news text: "
                          "who says what, through which cue, and do they assert, deny or qualify it.</p>"
                          f"<p>Project file: {escape(str(self.w.project.path))}</p>"
                          f"<p>Log file (attach it to a bug report): {escape(str(logs.log_path()))}</p>")

    def edit_schema(self) -> SchemaEditor:
        editor = SchemaEditor(self.w.project.labels(), self.w.project.label_usage(), set(RESERVED_KEYS), self.w)
        editor.accepted.connect(lambda: self._save_schema(editor.result_labels))
        editor.open()
        self._schema_editor = editor
        return editor

    def _save_schema(self, labels) -> None:
        def done(_result) -> None:
            self.w.load_labels()
            self.w.queuing.queue.refresh_all()
            self.w.queuing.reload_current()  # suggestions follow renamed labels
            self.w.display.show_current()
            self.w.statusBar().showMessage("Label schema saved.", 4000)

        self.w.labelling.submit("label schema", lambda p: p.save_labels(labels, RESERVED_KEYS), None, done)

    # -- what the status bar says of the project -------------------------------------------------

    def show_assignment(self) -> None:
        """A copy made by split (or joined from a server) says whose share it is, how much of it everyone
        else has too, and whether the name may be switched."""
        try:
            assignment = json.loads(self.w.project.get_setting("assignment") or "null")
        except ValueError:
            assignment = None
        fixed = self.w.annotator_fixed
        switching = (f" Its labels go to the server as {self.w.annotator}'s." if fixed
                     else " Ctrl+Shift+U switches annotator.")
        if isinstance(assignment, dict) and {"annotator", "documents", "shared_documents"} <= assignment.keys():
            # documents the lead assigned later arrive with the sync: the file's own count is the share's
            self.w.annotator_button.setToolTip(
                f"This file is {assignment['annotator']}'s share of {assignment.get('source_project', 'a project')}: "
                f"{self.w.project.document_count()} documents, {assignment['shared_documents']} of them given to "
                f"every annotator (for agreement).{switching}")
            if self.w.annotator != assignment["annotator"]:
                self.w.statusBar().showMessage(
                    f"Note: this file is {assignment['annotator']}'s share, and you are labelling as "
                    f"{self.w.annotator} (Ctrl+Shift+U switches).", 15000)
        elif fixed:
            self.w.annotator_button.setToolTip(f"This file is {self.w.annotator}'s working copy of a shared "
                                               f"project.{switching}")
        else:
            self.w.annotator_button.setToolTip("The annotator labelling now (Ctrl+Shift+U switches)")

    def pipeline_text(self) -> str:
        imports = self.w.project.imports()
        if not imports:
            if self.w.project.document_count():  # a working copy or a split share: documents came with the file
                chosen = self.w.project.get_setting("pipeline")
                return f"spaCy: {chosen} (the project's)" if chosen else ""
            return "no documents imported yet"
        last = imports[-1]
        return f"spaCy: {last['pipeline_name']} {last['pipeline_version']}"
