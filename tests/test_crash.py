"""A bug in the field leaves a report: an exception raised in a slot, a worker job or the saver reaches
the log with its traceback and the crash dialog; known errors stay one line."""

from __future__ import annotations

import pytest
from helpers import fill_annotation_project, wait_saved
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from stancelabel.gui import logs
from stancelabel.gui.crash import Handler
from stancelabel.gui.jobs import Job


@pytest.fixture
def handler(qapp):
    """The application's hook as run_gui installs it, with dialogs shown (as on a desktop)."""
    log = logs.setup()
    hook = Handler(QApplication.instance(), show_dialogs=lambda: True)
    hook.install()
    yield hook, log
    hook.uninstall()
    if hook.dialog is not None:
        hook.dialog.close()


def _deliberate_bug() -> None:
    raise RuntimeError("a deliberate bug in a slot")


def test_an_exception_in_a_slot_reaches_the_log_and_the_crash_dialog(qtbot, handler, capsys):
    hook, log = handler
    QTimer.singleShot(0, _deliberate_bug)
    qtbot.waitUntil(lambda: hook.dialog is not None and hook.dialog.isVisible(), timeout=5000)
    text = log.read_text(encoding="utf-8")
    assert "RuntimeError: a deliberate bug in a slot" in text and "in _deliberate_bug" in text  # the traceback
    assert "_deliberate_bug" in hook.dialog.details.toPlainText()
    from PySide6.QtWidgets import QLabel

    assert any(str(log) in label.text() for label in hook.dialog.findChildren(QLabel))  # where the log is
    assert "Traceback" in capsys.readouterr().err  # and on the terminal, for whoever started it there


def test_a_bug_in_a_job_comes_back_as_its_error_and_reaches_the_crash_dialog(qtbot, handler):
    hook, log = handler

    def work(_progress, _stop):
        return {}["no such key"]

    job = Job("buggy", work)
    job.start()
    qtbot.waitUntil(lambda: not job.running, timeout=5000)
    result, error = job.result
    assert result is None and error.startswith("failed unexpectedly: KeyError") and "log" in error
    qtbot.waitUntil(lambda: bool(hook.crashes), timeout=5000)
    assert "in work" in hook.crashes[0] and "KeyError" in hook.crashes[0]
    assert "in work" in log.read_text(encoding="utf-8")


def test_a_bug_in_a_change_is_reported_and_the_changes_after_it_are_saved(qtbot, handler, make_project, make_window):
    hook, _log = handler
    project = make_project()
    ids = fill_annotation_project(project)
    window = make_window(project)
    refused = []
    window.saver.submit("buggy", lambda p: 1 / 0, on_refused=refused.append)
    window.label("denies")
    wait_saved(qtbot, window)
    qtbot.waitUntil(lambda: bool(hook.crashes), timeout=5000)
    assert "ZeroDivisionError" in hook.crashes[0] and "lambda p: 1 / 0" in hook.crashes[0]
    assert refused and "bug" in refused[0]
    assert project.annotation(ids[0], "ann").label == "denies"


def test_a_known_error_is_one_line_not_a_crash(qtbot, handler, capsys):
    from stancelabel.core.errors import ProjectFileError

    hook, _log = handler
    hook.show_dialogs = lambda: False
    hook._close_all = lambda: None  # the window's closing is tested with a damaged file elsewhere
    hook(ProjectFileError, ProjectFileError("x.stance", "the project file is damaged"), None)
    assert hook.failure == "x.stance: the project file is damaged" and not hook.crashes
    assert capsys.readouterr().err == "error: x.stance: the project file is damaged\n"
