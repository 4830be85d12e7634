"""The GUI so far: forms build, the document browser lists documents and sentences lazily."""

from __future__ import annotations

from pathlib import Path

import pytest

from stancelabel.core.model import SourceDocument
from stancelabel.gui.forms import form_names, load_form
from stancelabel.store.project import Project


@pytest.fixture
def make_main_window(qtbot):
    """Factory: a shown MainWindow over a project, registered with qtbot."""
    from stancelabel.gui.main_window import MainWindow

    def factory(project: Project) -> MainWindow:
        window = MainWindow(project)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    return factory


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
    assert "document_browser" in form_names()


def test_document_browser_lists_documents_and_sentences(qtbot, make_project, make_main_window, qtmodeltester):
    project = make_project()
    fill(project, 3)
    window = make_main_window(project)
    qtmodeltester.check(window.documents)
    qtmodeltester.check(window.sentences)
    assert window.documents.rowCount() == 3
    assert "doc0000" in window.ui.document_title.text()
    assert [window.sentences.index(i).data() for i in range(2)] == ["Speaker 0 said the plan works.",
                                                                   "Others denied it."]
    window.ui.document_list.setCurrentIndex(window.documents.index(2))
    assert window.sentences.index(0).data() == "Speaker 2 said the plan works."
    assert "3 documents · 6 sentences" in window.statusBar().currentMessage()
    assert window.windowTitle().startswith("test")


def test_documents_are_fetched_a_page_at_a_time(qtbot, make_project, make_main_window):
    project = make_project()
    fill(project, 600)
    window = make_main_window(project)
    model = window.documents
    assert model.total() == 600
    assert model.rowCount() == model.PAGE  # only the first page was read
    assert model.canFetchMore()
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == 600
    assert model.index(599).data().startswith("doc0599")


def test_sample_project_is_created_on_first_start(qtbot, tmp_path, monkeypatch):
    from stancelabel.gui import app

    target = tmp_path / "data" / "sample.stance"
    monkeypatch.setattr(app, "sample_project_path", lambda: target)
    window = app.open_main_window(None)
    qtbot.addWidget(window)
    assert target.exists()
    assert window.documents.rowCount() == 1
    assert window.sentences.rowCount() >= 10
    assert "Harbourside" in window.ui.document_title.text()
    assert window.project.stats()["attributions"] >= 8  # detection ran on the sample article


def test_default_sample_location_is_in_user_data(qtbot):
    from stancelabel.gui.app import create_application, sample_project_path

    create_application()
    path = sample_project_path()
    assert path.name == "sample.stance" and "StanceLabel" in str(path)
    assert Path(path).parent != Path.cwd()


def test_file_open_shows_the_other_project_in_the_same_window(qtbot, make_project, make_main_window, monkeypatch):
    from PySide6.QtWidgets import QApplication, QFileDialog

    first, second = make_project("first.stance"), make_project("second.stance")
    fill(first, 2)
    fill(second, 5)
    second_path = str(second.path)
    second.close()
    window = make_main_window(first)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (second_path, ""))
    window._on_open()
    assert window.isVisible() and window in QApplication.topLevelWidgets()
    assert window.documents.rowCount() == 5
    assert window.windowTitle().startswith("second")


def test_file_open_of_a_foreign_file_keeps_the_current_project(qtbot, tmp_path, make_project, make_main_window,
                                                                monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    project = make_project()
    fill(project, 2)
    window = make_main_window(project)
    foreign = tmp_path / "notes.stance"
    foreign.write_text("not a project")
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, title, text: shown.append(text))
    assert not window.open_path(str(foreign))
    assert shown and "not a StanceLabel project" in shown[0]
    assert window.documents.rowCount() == 2 and window.project is project
