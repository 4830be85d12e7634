"""Starting the GUI: display check, QApplication, the project to open."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from stancelabel import __version__
from stancelabel.core.errors import StanceLabelError

APP_NAME = "StanceLabel"
SAMPLE_FILE = "sample.stance"


def check_display() -> None:
    """Refuse early, in one line, when there is no screen to show a window on.

    Qt itself would abort the process with several lines of output instead.
    """
    if os.environ.get("QT_QPA_PLATFORM") or not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return
    display, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    if not display and not wayland:
        raise StanceLabelError(
            "no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset); run StanceLabel "
            "in a desktop session, or use the command line (stancelabel --help)"
        )
    if wayland:
        runtime = os.environ.get("XDG_RUNTIME_DIR", "")
        if Path(runtime, wayland).exists() or Path(wayland).is_absolute():
            return
    if display and display.startswith(":"):  # a local X server has a socket
        number = display[1:].split(".")[0]
        if number.isdigit() and not Path(f"/tmp/.X11-unix/X{number}").exists():
            raise StanceLabelError(f"no X server is running on display {display}; start StanceLabel in a "
                                   "desktop session, or use the command line (stancelabel --help)")


def sample_project_path() -> Path:
    """Where the sample project lives: the per-user application data folder."""
    from PySide6.QtCore import QStandardPaths

    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(folder) / SAMPLE_FILE


def create_application(argv: list[str] | None = None):
    """The QApplication with the names QSettings and QStandardPaths use."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    return app


def open_main_window(project_path: str | Path | None, sample: bool = False, annotator: str | None = None):
    """Open a project in a new main window, shown.

    With no project named: the most recent project, else the sample project
    (created on first start). The annotator is asked for on first start.
    """
    from stancelabel.core.projectfile import no_new_companions
    from stancelabel.gui.dialogs import ask_annotator
    from stancelabel.gui.lock import ProjectLock
    from stancelabel.gui.main_window import MainWindow
    from stancelabel.gui.settings import Settings
    from stancelabel.io.sample import ensure_sample_project
    from stancelabel.store.project import Project, check_project_path

    settings = Settings()
    note = None
    if project_path is None and not sample:
        recent = [p for p in settings.recent if Path(p).is_file()]
        project_path = recent[0] if recent else None
    if project_path is None or sample:
        project_path = sample_project_path()
        info, _ = ensure_sample_project(project_path)
        if info is not None and info.warning:
            note = f"spaCy: {info.name} (fallback)"
    path = Path(project_path)
    check_project_path(path)  # before the lock or SQLite touch it: a FIFO would hang the window for ever
    lock = ProjectLock(path)
    lock.acquire()
    try:
        # A file that cannot be shown is left as it was found: no connection, no thread, no new file beside it.
        with no_new_companions(path):
            project = Project.open(path)
            try:
                from stancelabel.server.local import working_copy_annotator

                # a shared project's working copy is labelled as its annotator, whatever the usual name
                name = annotator or working_copy_annotator(project) or settings.annotator
                if not name:
                    name = ask_annotator(project.annotators())
                    if not name:
                        raise StanceLabelError("no annotator name given; StanceLabel needs one to save labels under")
                    settings.annotator = name
                window = MainWindow(project, pipeline_note=note, annotator=name, settings=settings, lock=lock)
            except BaseException:
                project.close()  # MainWindow closed it (and stopped its threads) already if it got that far
                raise
    except BaseException:
        lock.release()
        raise
    window.show()
    return window


def run_gui(project_path: str | None = None, sample: bool = False) -> int:
    """Run the GUI until its last window closes; returns the exit code."""
    from stancelabel.gui import logs
    from stancelabel.gui.crash import Handler, can_show_dialogs

    check_display()
    app = create_application()
    where = logs.setup()
    logging.getLogger(__name__).info("StanceLabel %s starting (log: %s)", __version__, where)
    try:
        window = open_main_window(project_path, sample)  # noqa: F841 (kept alive until exec returns)
    except StanceLabelError as error:
        # Started from a file manager, nobody reads stderr: say it in a window too.
        if can_show_dialogs(app):
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.critical(None, "StanceLabel", str(error))
        raise
    handler = Handler(app)
    handler.install()
    try:
        code = app.exec()
    finally:
        handler.uninstall()
    return 1 if code != 0 or handler.failure else 0
