"""Faults under a project file: each gives one clear line naming the file, loses nothing already saved,
and the same change succeeds once the fault is gone. (The window's side of these, an unsaved change kept
in view and retried, is in test_window_faults.py.)"""

from __future__ import annotations

import os
import sqlite3
import subprocess

import pytest
from helpers import fill_annotation_project
from reliability import PYTHON, REPO, child_env, tally

from stancelabel.core.errors import ProjectFileError
from stancelabel.store.project import Project


@pytest.fixture
def labelled(make_project):
    project = make_project("faults.stance")
    ids = fill_annotation_project(project)
    project.set_label(ids[0], "ann", "asserts")
    project.set_note(ids[0], "ann", "saved before the fault")
    return project, ids


def saved(path, ids) -> list:
    with Project.open(path, readonly=True) as again:
        return [(a.attribution_id, a.label, a.note) for a in again.annotations() if a.attribution_id in ids]


def test_a_full_disk_refuses_the_change_clearly_and_keeps_what_was_saved(labelled):
    project, ids = labelled
    before = saved(project.path, ids)
    pages = project.connection.execute("PRAGMA page_count").fetchone()[0]
    project.connection.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(ProjectFileError, match="disk is full") as failure:
        project.set_note(ids[1], "ann", "x" * 200_000)
    assert str(project.path) in str(failure.value) and failure.value.retriable
    assert saved(project.path, ids) == before
    project.connection.execute("PRAGMA max_page_count = 1000000")
    project.set_note(ids[1], "ann", "x" * 200_000)  # the same change, once there is room
    assert len(saved(project.path, ids)) == 2
    tally("disk full", faults=1, labels_checked=2, lost=0)


def test_a_read_only_file_refuses_the_change_clearly_and_keeps_what_was_saved(labelled, tmp_path):
    project, ids = labelled
    before = saved(project.path, ids)
    if os.geteuid() != 0:  # a real read-only file and folder
        project.close()
        os.chmod(project.path, 0o444)
        os.chmod(tmp_path, 0o555)
        try:
            with pytest.raises(ProjectFileError, match="read-only|readonly|cannot") as failure:
                with Project.open(project.path) as again:
                    again.set_label(ids[1], "ann", "denies")
        finally:
            os.chmod(tmp_path, 0o755)
            os.chmod(project.path, 0o644)
    else:  # root writes through permissions: SQLite's own read-only mode gives the same error
        project.connection.execute("PRAGMA query_only = ON")
        with pytest.raises(ProjectFileError, match="read-only") as failure:
            project.set_label(ids[1], "ann", "denies")
        project.connection.execute("PRAGMA query_only = OFF")
    assert str(project.path) in str(failure.value)
    assert saved(project.path, ids) == before
    tally("read-only file or folder", faults=1, labels_checked=1, lost=0)


def test_a_file_locked_past_the_busy_timeout_refuses_clearly_then_saves(labelled):
    project, ids = labelled
    other = sqlite3.connect(project.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program writing, for longer than we wait
    project.set_busy_timeout(50)
    with pytest.raises(ProjectFileError, match="locked") as failure:
        project.set_label(ids[1], "ann", "denies")
    assert failure.value.retriable and str(project.path) in str(failure.value)
    other.execute("ROLLBACK")
    other.close()
    project.set_label(ids[1], "ann", "denies")
    assert [x[1] for x in saved(project.path, ids)] == ["asserts", "denies"]
    tally("file locked past the busy timeout", faults=1, labels_checked=2, lost=0)


@pytest.mark.parametrize("fault", ["moved", "deleted"])
def test_a_file_moved_or_deleted_while_open_refuses_changes_instead_of_losing_them(labelled, fault):
    """SQLite would write on into the unlinked file, or into the moved one without its WAL: both lost
    to the next opening. The store notices and refuses (retriable) until the file is back."""
    project, ids = labelled
    away = project.path.with_name("away.stance")
    os.rename(project.path, away)
    if fault == "deleted":
        os.unlink(away)
    with pytest.raises(ProjectFileError, match="moved, renamed or deleted") as failure:
        project.set_label(ids[1], "ann", "denies")
    assert failure.value.retriable and str(project.path) in str(failure.value)
    if fault == "moved":
        os.rename(away, project.path)
        project.set_label(ids[1], "ann", "denies")
        assert [x[1] for x in saved(project.path, ids)] == ["asserts", "denies"]
    tally(f"file {fault} while open", faults=1, labels_checked=1, lost=0)


def test_a_wal_left_by_a_killed_writer_is_taken_in_on_opening(labelled, tmp_path):
    project, ids = labelled
    path = project.path
    project.close()
    script = (f"import os, signal, sys\nsys.path.insert(0, {str(REPO)!r})\n"
              "from stancelabel.store.project import Project\n"
              "p = Project.open(sys.argv[1])\n"
              "for i, a in enumerate(map(int, sys.argv[2:])):\n"
              "    p.set_label(a, 'kim', 'denies')\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    subprocess.run([PYTHON, "-c", script, str(path), *map(str, ids)], env=child_env())
    assert os.path.getsize(str(path) + "-wal") > 0  # the labels are only in the WAL
    with Project.open(path, readonly=True) as again:
        assert [a.label for a in again.annotations() if a.annotator == "kim"] == ["denies"] * len(ids)
    tally("WAL left by a killed writer", faults=1, labels_checked=len(ids), lost=0)
