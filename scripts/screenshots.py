"""Render StanceLabel's windows offscreen into docs/ for the README.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py

Makes the sample project in a temporary folder (with the trained spaCy
pipeline when it is installed), labels a few attributions as an annotator
would, and saves: the main window in the light and the dark theme, span
editing, the label schema editor and the shortcut overview.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
DOCS = Path(__file__).resolve().parents[1] / "docs"
SIZE = (1360, 800)


def main() -> int:
    from PySide6.QtCore import QCoreApplication, QSettings, QThread
    from PySide6.QtGui import QGuiApplication

    from stancelabel.gui.app import create_application
    from stancelabel.gui.main_window import MainWindow
    from stancelabel.gui.settings import Settings
    from stancelabel.io.sample import ensure_sample_project
    from stancelabel.store.project import Project

    app = create_application()  # noqa: F841 (kept alive for the whole run)
    QGuiApplication.setFont(QGuiApplication.font())

    def settle(window) -> None:
        while not window.saver.idle:
            QCoreApplication.processEvents()
            QThread.msleep(2)
        for _ in range(5):
            QCoreApplication.processEvents()

    def save(widget, name: str) -> None:
        target = DOCS / name
        widget.grab().save(str(target))
        print(target)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sample.stance"
        ensure_sample_project(path)
        settings = Settings(QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat))
        settings.theme = "light"
        window = MainWindow(Project.open(path), annotator="Alice", settings=settings)
        window.resize(*SIZE)
        window.show()
        settle(window)
        for name in ("denies", "denies", "asserts"):
            window.label(name)
            settle(window)
        window.go_to_row(3)
        window.panel.note_edit.setText("Quote or paraphrase? Check with the lead.")
        window.labelling.save_note()
        settle(window)
        window.labelling.toggle_flag()
        settle(window)
        window.view.side_tabs.setCurrentIndex(0)
        save(window, "screenshot-light.png")

        window.display.set_theme("dark")
        window.guidelines_dock.show()
        window.resize(SIZE[0] + 300, SIZE[1])
        settle(window)
        save(window, "screenshot-dark.png")
        window.guidelines_dock.hide()
        window.resize(*SIZE)
        window.display.set_theme("light")

        window.go_to_row(4)
        text = window.display.document(window.current.document_id)[0]
        source = window.current.source[0]
        start = text.rfind(" ", 0, source[0] - 1) + 1  # select one word more than the detector found
        window.pane.select_document_span(start, source[1])
        window.statusBar().showMessage("Selecting text: arrows move, Shift+arrows select; S, C, T set a role; "
                                       "Esc leaves.")
        QCoreApplication.processEvents()
        save(window, "screenshot-span-editing.png")

        editor = window.dialogs.edit_schema()
        editor.ui.table.selectRow(1)
        editor.resize(780, 360)
        QCoreApplication.processEvents()
        save(editor, "screenshot-schema-editor.png")
        editor.reject()

        shortcuts = window.dialogs.show_shortcuts()
        shortcuts.resize(620, 760)
        QCoreApplication.processEvents()
        save(shortcuts, "screenshot-shortcuts.png")
        shortcuts.close()

        # Team work: two more annotators' labels, the agreement view and review mode.
        import random

        rng = random.Random(3)
        names = [x.name for x in window.labels]
        for attribution_id in window.project.queue_ids("Alice"):
            suggestion = window.project.attribution(attribution_id).suggestion or "asserts"
            for annotator in ("Bashir", "Chiara"):
                label = suggestion if rng.random() < 0.75 else rng.choice(names)
                window.project.set_label(attribution_id, annotator, label)
        window.project.set_note(window.project.queue_ids("Alice")[5], "Chiara", "Reyes hedges: 'may'")
        view = window.reviewing.show_agreement()
        view.resize(720, 720)
        QCoreApplication.processEvents()
        save(view, "screenshot-agreement.png")
        view.close()
        window.reviewing.toggle_review()
        window.go_to_row(1)
        window.statusBar().clearMessage()
        settle(window)
        save(window, "screenshot-review.png")
        window.reviewing.toggle_review()
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
