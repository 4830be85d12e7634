"""Render StanceLabel's windows offscreen into docs/ for the README.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> int:
    from stancelabel.gui.app import create_application
    from stancelabel.gui.main_window import MainWindow
    from stancelabel.io.sample import ensure_sample_project
    from stancelabel.store.project import Project

    app = create_application()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sample.stance"
        ensure_sample_project(path)
        window = MainWindow(Project.open(path))
        window.resize(1100, 640)
        window.show()
        app.processEvents()
        target = DOCS / "screenshot-documents.png"
        window.grab().save(str(target))
        print(target)
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
