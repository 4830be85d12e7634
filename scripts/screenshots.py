"""Render StanceLabel's windows offscreen into docs/ for the README.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py

Makes the sample project in a temporary folder (with the trained spaCy
pipeline when it is installed), labels a few attributions as an annotator
would, and saves: the README's walk-through (the first item, the sentence's
attributions, a word jumped to), the main window in the light and the dark
theme, span editing, the label schema editor and the shortcut overview.
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
        window.activateWindow()
        settle(window)
        save(window, "walk-1-first-item.png")  # the reading pane has the keyboard: D labels this one
        window.label("denies")
        settle(window)
        window.queuing.step_in_sentence(1)  # Tab: the other attribution of the sentence
        settle(window)
        save(window, "walk-2-the-sentence.png")
        window.go_to_row(1)
        for name in ("denies", "asserts"):
            window.label(name)
            settle(window)
        window.go_to_row(3)
        window.panel.note_edit.setText("Quote or paraphrase? Check with the lead.")
        window.labelling.save_note()
        settle(window)
        window.labelling.toggle_flag()
        settle(window)
        window.view.side_tabs.setCurrentIndex(0)
        window.go_to_row(1)
        settle(window)
        save(window, "screenshot-light.png")

        window.display.set_theme("dark")
        window.guidelines_dock.show()
        window.resize(SIZE[0] + 300, SIZE[1])
        settle(window)
        save(window, "screenshot-dark.png")
        window.guidelines_dock.hide()
        window.resize(*SIZE)
        window.display.set_theme("light")

        from PySide6.QtTest import QTest

        window.go_to_row(4)
        settle(window)
        from PySide6.QtCore import Qt

        window.spans.start_jump()  # "/", then "m": only "Maria" starts so; Ctrl+Shift+Right takes "Okafor"
        QTest.keyClicks(window.pane, "m")
        QTest.keyClick(window.pane, Qt.Key.Key_Right,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        window.statusBar().showMessage("“Maria Okafor” selected: S, C or T sets a role.")
        QCoreApplication.processEvents()
        save(window, "screenshot-span-editing.png")
        window.spans.leave_edit_mode()

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
