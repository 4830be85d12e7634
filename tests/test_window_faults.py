"""The annotation window when things go wrong: a locked file, a full disk, a project open twice,
an import cancelled or refused, files dropped on the window, closing with unsaved changes.

What is "in the file" is always read through a separate read-only connection: the window's
promise is that a change is on disk before it moves on, and that nothing is dropped silently.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
from pathlib import Path

import pytest
from helpers import fill_annotation_project, wait_saved, write
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from stancelabel.core.errors import ProjectFileError
from stancelabel.store.project import Project

Key = Qt.Key
NOTE = "The quote is paraphrased in the second paragraph; check the original. " * 300  # ~21 000 characters


# -- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def quick_saver(monkeypatch):
    """Windows created from now on give up on a locked file after 100 ms and retry every 100 ms.

    ``Saver``'s defaults are bound when its ``__init__`` is defined, so patching the module's
    constants would not reach it: the window's own reference to the class is replaced instead.
    """
    from stancelabel.gui.main_window import labelling
    from stancelabel.gui.saver import Saver

    monkeypatch.setattr(labelling, "Saver",
                        functools.partial(Saver, busy_timeout_ms=100, retry_interval_ms=100))


class Warnings(list):
    """QMessageBox.warning calls seen, as (title, text); ``answer`` is the button "clicked"."""

    answer = QMessageBox.StandardButton.Discard


@pytest.fixture
def warnings_shown(monkeypatch) -> Warnings:
    """QMessageBox.warning captured instead of shown (a modal box would block the test)."""
    shown = Warnings()

    def warning(_parent, title, text, *_args, **_kwargs):
        shown.append((title, text))
        return shown.answer

    monkeypatch.setattr(QMessageBox, "warning", warning)
    return shown


@pytest.fixture
def labelled_window(quick_saver, warnings_shown, make_project, make_window):
    """A window over 5 attributions; message boxes are captured, so closing it never blocks a test."""
    project = make_project()
    ids = fill_annotation_project(project)
    window = make_window(project)
    assert window.current.id == ids[0]
    return project, ids, window


class WriteLock:
    """Another program holding the project's write lock (a second connection in BEGIN IMMEDIATE)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(str(path), isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.release()
        self.conn.close()


@pytest.fixture
def write_lock():
    held: list[WriteLock] = []

    def take(path: Path) -> WriteLock:
        lock = WriteLock(path)
        held.append(lock)
        return lock

    yield take
    for lock in held:
        lock.close()


def on_disk(path: Path, attribution_id: int, annotator: str = "ann"):
    with Project.open(path, readonly=True) as other:
        return other.annotation(attribution_id, annotator)


def documents_on_disk(path: Path) -> int:
    with Project.open(path, readonly=True) as other:
        return other.document_count()


def wait_import_done(qtbot, window, job) -> None:
    """Until the job ended and the window has shown the outcome (progress bar gone, lists refreshed).

    ``job.running`` alone is not enough today: it turns False on the import thread before the window
    has handled ``finished`` (see test_import_job_reports_its_end_on_the_gui_thread_after_its_thread_stopped).
    """
    qtbot.waitUntil(lambda: not job.running and not window.import_bar.isVisible(), timeout=20_000)


def wait_failing(qtbot, window, words: str) -> None:
    """Until the saver reports a retriable failure containing ``words``."""
    qtbot.waitUntil(lambda: window.saver.error is not None and words in window.saver.error, timeout=5000)


# -- 1. another program holds the file's write lock -------------------------------------------


def test_label_waits_for_a_locked_file_and_is_saved_once_it_is_free(qtbot, labelled_window, write_lock):
    project, ids, window = labelled_window
    lock = write_lock(project.path)

    qtbot.keyClick(window.pane, Key.Key_A)
    wait_failing(qtbot, window, "locked")

    assert window.current.id == ids[0]  # durable before visible: it did not move on
    assert window.current_row == 0
    assert "Not saved" in window.panel.ui.save_state.text()
    assert "locked" in window.save_label.text()
    assert "1 change(s) not saved" in window.save_label.text()
    assert window.panel.buttons["asserts"].isChecked()  # the label asked for still shows
    assert window.saver.pending == 1
    assert on_disk(project.path, ids[0]) is None

    lock.release()
    wait_saved(qtbot, window)

    assert on_disk(project.path, ids[0]).label == "asserts"
    assert window.current.id == ids[1]  # now it moved on
    assert window.saver.error is None
    assert "All changes saved" in window.save_label.text()
    assert window.progress_label.text() == "1 / 5 labelled"


def test_changes_made_while_locked_are_all_saved_in_order(qtbot, labelled_window, write_lock):
    project, ids, window = labelled_window
    lock = write_lock(project.path)
    qtbot.keyClick(window.pane, Key.Key_A)
    wait_failing(qtbot, window, "locked")
    qtbot.keyClick(window.pane, Key.Key_F)  # flag, queued behind the label
    qtbot.keyClick(window.pane, Key.Key_D)  # and a second thought on the label
    assert window.saver.pending == 3
    assert window.saver.describe_pending() == ["label asserts", "flag", "label denies"]
    assert on_disk(project.path, ids[0]) is None

    lock.release()
    wait_saved(qtbot, window)

    saved = on_disk(project.path, ids[0])
    assert saved.label == "denies" and saved.flagged  # the last word wins: order was kept
    with Project.open(project.path, readonly=True) as other:
        assert other.event_count() == 3


# -- 2. the disk is full ------------------------------------------------------------------------


def test_note_on_a_full_disk_stays_in_view_and_is_saved_once_there_is_room(qtbot, labelled_window):
    project, ids, window = labelled_window
    _limit_worker_file_size(qtbot, window)

    _type_note(qtbot, window, NOTE)
    wait_failing(qtbot, window, "disk is full")

    assert "Not saved" in window.panel.ui.save_state.text()
    assert "disk is full" in window.panel.ui.save_state.text()
    assert "disk is full" in window.save_label.text()
    assert window.saver.describe_pending() == ["note"]
    assert on_disk(project.path, ids[0]) is None
    assert window.current.id == ids[0]
    assert not window.panel.note_edit.hasFocus()
    assert window.panel.note_edit.text() == NOTE.strip()  # the unsaved note stays in view while retried
    window.go_to_row(1)
    assert window.panel.note_edit.text() == ""  # the next attribution has no note
    window.go_to_row(0)
    assert window.panel.note_edit.text() == NOTE.strip()  # and back: still there

    _lift_limit(qtbot, window)

    assert on_disk(project.path, ids[0]).note == NOTE.strip()
    assert window.panel.note_edit.text() == NOTE.strip()
    assert "All changes saved" in window.save_label.text()
    assert "Not saved" not in window.panel.ui.save_state.text()


def _limit_worker_file_size(qtbot, window) -> None:
    """Cap the worker connection's file at its current size: the next write needing a page fails as full."""
    window.saver.submit("limit", lambda p: p.connection.execute(
        f"PRAGMA max_page_count = {p.connection.execute('PRAGMA page_count').fetchone()[0]}").fetchone())
    wait_saved(qtbot, window)


def _lift_limit(qtbot, window) -> None:
    """Room again. The queue is blocked behind the failing change, so the limit is lifted on the worker's
    connection directly (this project's sqlite3 connections allow use from another thread)."""
    window.saver._worker._project.connection.execute("PRAGMA max_page_count = 1000000")
    wait_saved(qtbot, window)


def _type_note(qtbot, window, text: str) -> None:
    qtbot.keyClick(window.pane, Key.Key_N)
    qtbot.waitUntil(window.panel.note_edit.hasFocus, timeout=2000)
    window.panel.note_edit.setText(text)
    qtbot.keyClick(window.panel.note_edit, Key.Key_Return)


# -- 3. the same project in two windows ---------------------------------------------------------


def test_a_project_opens_in_one_window_only(qtbot, make_project):
    from stancelabel.gui.app import open_main_window

    project = make_project()
    fill_annotation_project(project)
    path = project.path
    project.close()

    first = open_main_window(path, annotator="ann")
    qtbot.addWidget(first)
    with pytest.raises(ProjectFileError) as refused:
        open_main_window(path, annotator="ann")
    assert "already open in another StanceLabel window" in str(refused.value)
    assert first.isVisible() and first.project is not None  # the first window is untouched

    assert first.close()
    again = open_main_window(path, annotator="ann")
    qtbot.addWidget(again)
    assert again.queue.rowCount() == 5


def test_opening_a_project_shown_in_another_window_keeps_the_current_one(qtbot, make_project, warnings_shown):
    from stancelabel.gui.app import open_main_window

    one, two = make_project("one.stance"), make_project("two.stance")
    fill_annotation_project(one)
    one_path, two_path = one.path, two.path
    one.close()
    two.close()
    first = open_main_window(one_path, annotator="ann")
    qtbot.addWidget(first)
    second = open_main_window(two_path, annotator="ann")
    qtbot.addWidget(second)

    assert not second.open_path(str(one_path))

    assert len(warnings_shown) == 1
    assert "already open in another StanceLabel window" in warnings_shown[0][1]
    assert second.project is not None and second.project.path == two_path
    assert second.windowTitle().startswith("two")
    assert first.project is not None and first.queue.rowCount() == 5
    # the refused attempt did not take the first window's lock away: a third window is still refused
    with pytest.raises(ProjectFileError):
        open_main_window(one_path, annotator="ann")
    # and the second window's own lock is still held
    with pytest.raises(ProjectFileError):
        open_main_window(two_path, annotator="ann")


# -- 4. importing from the window ---------------------------------------------------------------

SUBJECTS = ["bridge", "school", "harbour", "library", "station", "hospital", "market", "tunnel"]


def _forty_texts(folder: Path) -> Path:
    for i in range(40):
        subject = SUBJECTS[i % len(SUBJECTS)]
        write(folder / f"article{i:02}.txt",
              f"Anna {i} said the {subject} is safe. The council denied that repairs number {i} were late.\n")
    return folder


@pytest.fixture
def import_window(make_project, make_window, warnings_shown):
    project = make_project()
    project.set_setting("pipeline", "blank:en")
    window = make_window(project)
    return project, window


def test_cancelled_import_keeps_what_was_done_and_a_second_run_finishes_it(qtbot, tmp_path, import_window,
                                                                           monkeypatch):
    from stancelabel.gui import importing

    project, window = import_window
    folder = _forty_texts(tmp_path / "articles")

    # Hold the worker after its first committed document until the test has pressed Cancel, so that a
    # fast pipeline cannot finish all forty first (no timing involved).
    pressed = threading.Event()
    real_import_paths = importing.import_paths

    def held_import_paths(*args, progress=None, **kwargs):
        def held(step):
            progress(step)
            if step.done == 1:
                pressed.wait(10)
        return real_import_paths(*args, progress=held, **kwargs)

    monkeypatch.setattr(importing, "import_paths", held_import_paths)
    job = window.files.start_import([folder])
    assert job is not None and job.running
    assert window.import_cancel.isVisible()
    try:
        qtbot.waitUntil(lambda: window.import_bar.value() >= 1, timeout=10_000)  # "Imported 1 / 40"
        window.files.cancel_import()
    finally:
        pressed.set()
    wait_import_done(qtbot, window, job)

    (report, _pipeline), error = job.result
    assert error == ""
    assert report.interrupted
    stored = documents_on_disk(project.path)
    assert 1 <= stored < 40
    assert report.documents_added == stored
    assert window.documents.rowCount() == stored  # the list was refreshed
    assert "Cancelled" in window.statusBar().currentMessage()
    assert not window.import_cancel.isVisible() and not window.import_bar.isVisible()
    assert window.import_cancel.isEnabled()  # ready for the next import

    monkeypatch.setattr(importing, "import_paths", real_import_paths)
    job = window.files.start_import([folder])
    wait_import_done(qtbot, window, job)

    (report, _pipeline), error = job.result
    assert error == "" and not report.interrupted
    assert report.documents_present == stored  # the earlier ones were skipped
    assert report.documents_added == 40 - stored
    assert documents_on_disk(project.path) == 40
    assert window.documents.rowCount() == 40
    assert window.current is not None  # attributions found: labelling can start


@pytest.mark.parametrize("name, content, words", [
    ("picture.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "binary file"),
    ("table.csv", "id,title,body\n1,Bridge,Anna said the bridge is safe.\n", "no column 'text'"),
], ids=["binary-named-txt", "csv-without-text-column"])
def test_import_of_an_unreadable_file_is_reported_and_changes_nothing(qtbot, tmp_path, import_window,
                                                                       warnings_shown, name, content, words):
    project, window = import_window
    bad = write(tmp_path / "in" / name, content)
    events_before = project.event_count()

    job = window.files.start_import([bad])
    wait_import_done(qtbot, window, job)

    assert len(warnings_shown) == 1
    title, text = warnings_shown[0]
    assert "problem" in title.lower() or "failed" in title.lower()
    assert name in text and words in text
    assert documents_on_disk(project.path) == 0
    assert project.imports() == []
    assert project.event_count() == events_before
    assert window.documents.rowCount() == 0 and window.current is None


def test_import_job_reports_its_end_on_the_gui_thread_after_its_thread_stopped(qtbot, make_project, tmp_path):
    from stancelabel.gui.importing import import_job

    project = make_project()
    project.set_setting("pipeline", "blank:en")
    job = import_job(project.path, [write(tmp_path / "a.txt", "Anna said the bridge is safe.\n")])
    seen: list[tuple[bool, bool]] = []
    gui_thread = threading.get_ident()
    job.finished.connect(lambda *_: seen.append((threading.get_ident() == gui_thread, job.thread.isFinished())),
                         Qt.ConnectionType.DirectConnection)  # observed where and when it is emitted
    job.start()
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    qtbot.waitUntil(job.thread.isFinished, timeout=10_000)  # never leave a thread running

    assert seen == [(True, True)]  # on the GUI thread, once the import thread has stopped


# -- 5. files dropped on the window -------------------------------------------------------------


def _mime(*urls: QUrl) -> QMimeData:
    mime = QMimeData()
    mime.setUrls(list(urls))
    return mime


def _drag_enter(window, mime: QMimeData) -> bool:
    event = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    event.ignore()  # events start accepted; the window must accept it itself
    window.dragEnterEvent(event)
    return event.isAccepted()


def test_dragging_local_files_is_accepted_and_other_urls_refused(qtbot, tmp_path, import_window):
    _project, window = import_window
    local = QUrl.fromLocalFile(str(write(tmp_path / "a.txt", "Anna said the bridge is safe.\n")))
    remote = QUrl("https://example.com/b.txt")
    assert window.acceptDrops()
    assert _drag_enter(window, _mime(local))
    assert not _drag_enter(window, _mime(remote))
    assert not _drag_enter(window, _mime(local, remote))
    text_only = QMimeData()
    text_only.setText("Anna said the bridge is safe.")
    assert not _drag_enter(window, text_only)


def test_dropped_files_are_imported(qtbot, tmp_path, import_window):
    project, window = import_window
    first = write(tmp_path / "drop" / "a.txt", "Anna said the bridge is safe. Bob denied it.\n")
    second = write(tmp_path / "drop" / "b.txt", "The mayor claimed that the school is open.\n")
    mime = _mime(QUrl.fromLocalFile(str(first)), QUrl.fromLocalFile(str(second)))  # the event does not own it
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)

    job = window.files.import_job
    assert job is not None
    wait_import_done(qtbot, window, job)
    (report, _pipeline), error = job.result
    assert error == "" and report.documents_added == 2
    assert documents_on_disk(project.path) == 2
    assert window.documents.rowCount() == 2


def test_a_drop_of_remote_urls_starts_nothing(qtbot, import_window):
    _project, window = import_window
    mime = _mime(QUrl("https://example.com/b.txt"))
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.files.import_job is None


# -- 6. the item models keep Qt's rules -----------------------------------------------------------
# One model per test: the qtmodeltester fixture watches a single model.


def _change_everything(qtbot, window) -> None:
    """What an annotator does to the models: label (dataChanged), reject (a row removed), filter (a reset)."""
    qtbot.keyClick(window.pane, Key.Key_A)
    wait_saved(qtbot, window)
    qtbot.keyClick(window.pane, Key.Key_X)
    wait_saved(qtbot, window)
    window.view.show_combo.setCurrentIndex(window.view.show_combo.findData("unlabelled"))
    assert window.queue.rowCount() == 3
    window.view.show_combo.setCurrentIndex(window.view.show_combo.findData("all"))
    assert window.queue.rowCount() == 4


@pytest.mark.parametrize("model", ["queue", "documents"])
def test_models_pass_the_python_model_tester(qtbot, qtmodeltester, labelled_window, model):
    _project, _ids, window = labelled_window
    qtmodeltester.check(getattr(window, model), force_py=True)
    _change_everything(qtbot, window)


@pytest.mark.parametrize("model", ["queue", "documents"])
def test_models_pass_qts_own_model_tester(qtbot, qtmodeltester, qtlog, labelled_window, model):
    _project, _ids, window = labelled_window
    qtmodeltester.check(getattr(window, model))
    _change_everything(qtbot, window)
    assert [r.message for r in qtlog.records if "FAIL" in r.message] == []


# -- 7. closing with a change that cannot be saved -------------------------------------------------


def _short_close_waits(monkeypatch, window) -> None:
    """The window waits up to 3 s for the saver before asking; 0.3 s shows the same behaviour."""
    real = window.saver.wait_until_idle
    monkeypatch.setattr(window.saver, "wait_until_idle", lambda timeout_ms: real(min(timeout_ms, 300)))


def test_closing_with_an_unsaved_change_asks_and_cancel_keeps_the_window(qtbot, labelled_window, write_lock,
                                                                        warnings_shown, monkeypatch):
    project, ids, window = labelled_window
    lock = write_lock(project.path)
    qtbot.keyClick(window.pane, Key.Key_A)
    wait_failing(qtbot, window, "locked")
    _short_close_waits(monkeypatch, window)
    warnings_shown.answer = QMessageBox.StandardButton.Cancel

    assert not window.close()

    assert len(warnings_shown) == 1
    assert "1 change(s) could not be saved" in warnings_shown[0][1] and "locked" in warnings_shown[0][1]
    assert window.isVisible()
    assert window.project is not None and window.saver is not None
    assert window.saver.describe_pending() == ["label asserts"]  # kept, still retried

    lock.release()  # the other program lets go: it is saved, and closing no longer asks
    wait_saved(qtbot, window)
    assert on_disk(project.path, ids[0]).label == "asserts"
    assert window.close()
    assert len(warnings_shown) == 1
    assert not window.isVisible()


def test_closing_with_an_unsaved_change_and_discard_closes(qtbot, labelled_window, write_lock, warnings_shown,
                                                          monkeypatch):
    project, ids, window = labelled_window
    lock = write_lock(project.path)
    qtbot.keyClick(window.pane, Key.Key_A)
    wait_failing(qtbot, window, "locked")
    _short_close_waits(monkeypatch, window)
    warnings_shown.answer = QMessageBox.StandardButton.Discard

    assert window.close()

    assert len(warnings_shown) == 1
    assert not window.isVisible()
    assert window.project is None and window.saver is None  # closed, its worker stopped
    assert project.connection is None
    lock.release()
    assert on_disk(project.path, ids[0]) is None  # discarded, as the user chose


# -- the file is moved away while the window has it open ------------------------------------------


@pytest.mark.parametrize("saved_before", [False, True])
def test_label_waits_while_the_file_is_moved_away_and_is_saved_once_it_is_back(qtbot, labelled_window,
                                                                                 saved_before):
    import os

    from reliability import tally

    project, ids, window = labelled_window
    first = 0
    if saved_before:  # the saver's own connection is open when the file goes away
        qtbot.keyClick(window.pane, Key.Key_D)
        wait_saved(qtbot, window)
        first = 1
    moved = project.path.with_name("elsewhere.stance")
    os.rename(project.path, moved)
    qtbot.keyClick(window.pane, Key.Key_A)
    wait_failing(qtbot, window, "moved")
    assert window.current.id == ids[first] and window.saver.pending == 1  # kept in view, not lost
    assert "Not saved" in window.panel.ui.save_state.text()
    assert window.panel.buttons["asserts"].isChecked()
    os.rename(moved, project.path)
    wait_saved(qtbot, window)  # the saver retries on its own
    assert on_disk(project.path, ids[first]).label == "asserts"
    if saved_before:
        assert on_disk(project.path, ids[0]).label == "denies"
    assert window.saver.error is None
    tally("window: file moved away while open", faults=1, labels_checked=1 + saved_before, lost=0)


# -- a damaged project file ---------------------------------------------------------------------------

def _damaged_attributions(path: Path) -> Path:
    """A project whose attribution table's root page is garbage: it opens, and fails when the window reads it."""
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'attribution'").fetchone()[0]
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    data[(root - 1) * page:root * page] = bytes((i * 37) % 251 for i in range(page))
    path.write_bytes(bytes(data))
    return path


def test_the_window_reports_a_damaged_file_stops_its_threads_and_leaves_nothing_beside_it(
        qtbot, make_project, monkeypatch):
    from PySide6.QtCore import QThread

    from stancelabel.gui import app as gui_app
    from stancelabel.gui.settings import Settings

    project = make_project("damaged.stance")
    fill_annotation_project(project)
    project.close()
    path = _damaged_attributions(project.path)
    before = path.read_bytes()
    boxes = []
    from stancelabel.gui import crash

    monkeypatch.setattr(crash, "can_show_dialogs", lambda _app: True)
    monkeypatch.setattr(QMessageBox, "critical", lambda _parent, title, text, *a, **k: boxes.append(text))
    threads = set(QApplication.instance().findChildren(QThread))
    gui_app.create_application()  # the names Settings are stored under
    Settings().annotator = "ann"  # no dialog asks for a name

    with pytest.raises(ProjectFileError, match="damaged"):
        gui_app.run_gui(str(path))

    assert len(boxes) == 1 and "damaged" in boxes[0]
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith("damaged")) == ["damaged.stance"]
    assert not [t for t in QApplication.instance().findChildren(QThread) if t not in threads and t.isRunning()]
    # the lock went with it: the file is refused again for its damage, not as "already open"
    with pytest.raises(ProjectFileError, match="damaged"):
        gui_app.open_main_window(path, annotator="ann")


def test_opening_a_damaged_file_from_the_window_keeps_the_project_shown(qtbot, make_project, warnings_shown):
    from stancelabel.gui.app import open_main_window

    good, bad = make_project("good.stance"), make_project("bad.stance")
    fill_annotation_project(good)
    fill_annotation_project(bad)
    good_path, bad_path = good.path, bad.path
    good.close()
    bad.close()
    _damaged_attributions(bad_path)
    window = open_main_window(good_path, annotator="ann")
    qtbot.addWidget(window)

    assert not window.open_path(str(bad_path))

    assert len(warnings_shown) == 1 and "damaged" in warnings_shown[0][1]
    assert window.project is not None and window.project.path == good_path and window.queue.rowCount() == 5
    assert sorted(p.name for p in bad_path.parent.iterdir() if p.name.startswith("bad")) == ["bad.stance"]
