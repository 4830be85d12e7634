"""Shared fixtures: offscreen Qt, spaCy pipelines, project factories, the ../shared data."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Before anything imports Qt: tests never need a screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pg import postgres_server, team_db  # noqa: F401 (a real PostgreSQL for the server tests)

from stancelabel.store.project import Project

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout; tests using it skip on a user's fresh clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is not present (only beside the development checkout)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def blank_nlp():
    """The blank English fallback pipeline: always available, fast."""
    from stancelabel.nlp.pipeline import load_pipeline

    return load_pipeline("blank:en")


@pytest.fixture(scope="session")
def trained_nlp():
    """The best installed trained English pipeline; skips when there is none."""
    from stancelabel.nlp.pipeline import BLANK_ENGLISH, choose_pipeline, load_pipeline

    name = choose_pipeline(None)
    if name == BLANK_ENGLISH:
        pytest.skip("no trained English spaCy pipeline installed (pip install 'stancelabel[model]')")
    return load_pipeline(name)


@pytest.fixture
def make_project(tmp_path: Path) -> Iterator[Callable[..., Project]]:
    """Factory for fresh project files in tmp_path; closes them all at the end."""
    opened: list[Project] = []

    def factory(name: str = "test.stance") -> Project:
        project = Project.open(tmp_path / name, create=True)
        opened.append(project)
        return project

    yield factory
    for project in opened:
        project.close()


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep QSettings, QStandardPaths and the sample project out of the real home folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home))  # project locks
    # Qt reads the settings folder once per process: point it at this test's folder.
    from PySide6.QtCore import QSettings

    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(home / "config"))


@pytest.fixture
def make_window(qtbot, tmp_path: Path):
    """Factory: a shown annotation window over a project, with its own settings file."""
    from PySide6.QtCore import QSettings

    from stancelabel.gui.main_window import MainWindow
    from stancelabel.gui.settings import Settings

    settings_file = tmp_path / "settings.ini"

    def factory(project: Project, annotator: str = "ann", settings: Settings | None = None) -> MainWindow:
        settings = settings or Settings(QSettings(str(settings_file), QSettings.Format.IniFormat))
        window = MainWindow(project, annotator=annotator, settings=settings)
        qtbot.addWidget(window)
        window.show()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)  # shortcuts only reach the active window
        window.pane.setFocus()
        return window

    return factory

