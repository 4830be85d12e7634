"""The GUI shell: forms build, documents are listed lazily, the sample project, File › Open."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from stancelabel.core.model import SourceDocument
from stancelabel.gui.forms import form_names, load_form
from stancelabel.store.project import Project


def fill(project: Project, count: int) -> None:
    with project.transaction():
        for i in range(count):
            text = f"Speaker {i} said the plan works.\nOthers denied it."
            project.add_document(SourceDocument(external_id=f"doc{i:04}", text=text, source_file="x"),
                                 [(0, text.index("\n")), (text.index("\n") + 1, len(text))])


@pytest.mark.parametrize("name", form_names())
def test_every_form_builds(qtbot, name):
    widget = load_form(name)
    qtbot.addWidget(widget)
    assert widget.objectName()


def test_forms_are_found():
    assert {"annotation_view", "label_panel", "schema_editor"} <= set(form_names())


def test_documents_are_fetched_a_page_at_a_time(qtbot, make_project, make_window):
    project = make_project()
    fill(project, 600)
    window = make_window(project)
    model = window.documents
    assert model.total() == 600
    assert model.rowCount() == model.PAGE  # only the first page was read
    assert model.canFetchMore()
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == 600
    assert model.index(599).data() == "doc0599"
    assert "600 sentences" not in model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert window.windowTitle().startswith("test")


def test_sample_project_is_created_on_first_start(qtbot, tmp_path, monkeypatch):
    from stancelabel.gui import app

    target = tmp_path / "data" / "sample.stance"
    monkeypatch.setattr(app, "sample_project_path", lambda: target)
    window = app.open_main_window(None, annotator="ann")
    qtbot.addWidget(window)
    assert target.exists()
    assert window.documents.rowCount() == 1
    assert window.project.stats()["attributions"] >= 8  # detection ran on the sample article
    assert window.queue.rowCount() == window.project.stats()["attributions"]
    assert "Harbourside" in window.view.location_label.text()


def test_a_sample_that_could_not_be_made_leaves_nothing_a_later_start_would_take_for_it(tmp_path):
    """The first start's sample build fails (here the file size limit stands for a full disk): no empty
    project is left at the sample's name, and the next start builds the whole sample."""
    import subprocess

    target = tmp_path / "data" / "sample.stance"
    script = ("import resource, signal, sys; from pathlib import Path; "
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
              "resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000)); "
              "from stancelabel.core.errors import StanceLabelError; "
              "from stancelabel.io.sample import ensure_sample_project\n"
              "try: ensure_sample_project(Path(sys.argv[1]), 'blank:en')\n"
              "except StanceLabelError as error: print(error); sys.exit(1)")
    run = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert run.stdout.startswith(f"{target}: cannot write the project file") and run.stdout.count("\n") == 1
    assert not target.exists() and [p.name for p in target.parent.iterdir()] == []
    from stancelabel.io.sample import ensure_sample_project

    ensure_sample_project(target, "blank:en")
    with Project.open(target, readonly=True) as sample:
        assert sample.stats()["documents"] >= 1


def test_a_log_that_cannot_be_written_says_so_once_and_logs_no_more(qtbot, capfd):
    import logging

    from stancelabel.gui import logs

    path = logs.setup()
    assert path is not None
    handler = logs._handler
    handler.acquire()
    try:
        handler.stream.close()
        handler.stream = open("/dev/full", "w", encoding="utf-8")  # a device that is always full
    finally:
        handler.release()
    for n in range(3):
        logging.getLogger("stancelabel.gui.test").warning("record %d", n)
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "cannot write the log" in err and "Traceback" not in err
    assert logs._handler is None and handler not in logging.getLogger("stancelabel").handlers
    assert logs.setup() == path  # the next window's setup tries again


def test_settings_that_cannot_be_saved_say_so_naming_the_file(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from stancelabel.gui.settings import Settings

    (tmp_path / "not-a-folder").write_text("a file where the settings folder should be")
    broken = Settings(QSettings(str(tmp_path / "not-a-folder" / "StanceLabel.conf"), QSettings.Format.IniFormat))
    broken.add_recent(tmp_path / "a.stance")
    problem = broken.sync()
    assert problem is not None and problem.startswith(str(tmp_path / "not-a-folder" / "StanceLabel.conf"))
    assert "not saved" in problem and broken.recent == [str((tmp_path / "a.stance").resolve())]  # kept this run
    fine = Settings(QSettings(str(tmp_path / "ok" / "StanceLabel.conf"), QSettings.Format.IniFormat))
    fine.add_recent(tmp_path / "a.stance")
    assert fine.sync() is None and (tmp_path / "ok" / "StanceLabel.conf").is_file()


def test_default_sample_location_is_in_user_data(qtbot):
    from stancelabel.gui.app import create_application, sample_project_path

    create_application()
    path = sample_project_path()
    assert path.name == "sample.stance" and "StanceLabel" in str(path)
    assert Path(path).parent != Path.cwd()


def test_file_open_shows_the_other_project_in_the_same_window(qtbot, make_project, make_window, monkeypatch):
    from PySide6.QtWidgets import QApplication, QFileDialog

    first, second = make_project("first.stance"), make_project("second.stance")
    fill(first, 2)
    fill(second, 5)
    second_path = str(second.path)
    second.close()
    window = make_window(first)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (second_path, ""))
    window.open_project()
    assert window.isVisible() and window in QApplication.topLevelWidgets()
    assert window.documents.rowCount() == 5
    assert window.windowTitle().startswith("second")
    assert first.connection is None  # the first project was closed


def test_file_open_of_a_foreign_file_keeps_the_current_project(qtbot, tmp_path, make_project, make_window,
                                                                monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    project = make_project()
    fill(project, 2)
    window = make_window(project)
    foreign = tmp_path / "notes.stance"
    foreign.write_text("not a project")
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, title, text: shown.append(text))
    assert not window.open_path(str(foreign))
    assert shown and "not a StanceLabel project" in shown[0]
    assert window.documents.rowCount() == 2 and window.project is project


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_qt_bindings_keep_none_alive(qtbot):
    """A binding that drops a reference to None per call aborts the app after a few thousand calls."""
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(1000):
        label.setText("x")  # a void method: returns None
        label.setEnabled(True)
    assert sys.getrefcount(None) >= before - 10
