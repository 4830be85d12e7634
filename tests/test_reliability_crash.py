"""Crash safety: processes killed with SIGKILL at random moments lose nothing they reported saved.

Every kill is followed by the checks a user relies on: each change whose save was
reported done is in the file (the one in flight may or may not be: either is fine),
``PRAGMA integrity_check`` passes, and the application opens the file. See
docs/reliability.md for every case; ``make reliability`` runs them at full strength.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from helpers import fill_annotation_project
from reliability import KILLS, PYTHON, REPO, child_env, expected_state, stored_state, tally

from stancelabel.store.project import Project

#: Labels through the window's own saver (a Qt worker thread with its own connection),
#: printing the number of each change once the saver reports it committed.
LABELLER = f"""
import json, sys
sys.path.insert(0, {str(REPO / "tests")!r})
from pathlib import Path
from PySide6.QtCore import QCoreApplication
from reliability import operation
from stancelabel.gui.saver import Saver

path, start, ids = Path(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
app = QCoreApplication([])
saver = Saver(path)
count = start

def submit():
    global count
    n, count = count, count + 1
    saver.submit(f"change {{n}}", operation(n, ids), on_done=lambda _result, n=n: (print(n, flush=True), submit()))

submit()
app.exec()
"""


def rest_of(child: subprocess.Popen) -> str:
    """What a killed child printed that was not read yet. Not ``communicate()``: it reads the pipe's
    descriptor and misses the lines ``readline`` had already taken into the file object's buffer (a
    fast child then looks as if its saved changes had not been reported)."""
    child.wait()
    rest = child.stdout.read()
    child.stderr.read()
    return rest


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_labels_reported_saved_survive_sigkill_at_random_moments(make_project, tmp_path):
    project = make_project("crash.stance")
    ids = fill_annotation_project(project)
    path = project.path
    project.close()
    rng = random.Random(7)
    applied, lost = -1, 0  # changes 0..applied are in the file
    for _ in range(KILLS):
        child = subprocess.Popen([PYTHON, "-c", LABELLER, str(path), str(applied + 1), json.dumps(ids)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
        reported = applied
        for _ in range(rng.randint(1, 40)):
            line = child.stdout.readline()
            if not line:
                pytest.fail(f"the labelling process stopped by itself: {child.stderr.read()[-2000:]}")
            reported = int(line)
        time.sleep(rng.random() * 0.004)  # somewhere inside the next change's transaction, or just after it
        child.send_signal(signal.SIGKILL)
        rest = rest_of(child)
        for line in rest.split():
            reported = int(line)
        assert integrity(path) == "ok"
        with Project.open(path) as reopened:  # as the application opens it (recovering the WAL)
            state = stored_state(reopened, ids)
            assert len(reopened.queue_ids("crash")) == len(ids)
        # Every reported change is there; the one in flight at the kill may be there too.
        if state == expected_state(reported, ids):
            applied = reported
        elif state == expected_state(reported + 1, ids):
            applied = reported + 1
        else:
            lost = sum(1 for a in ids if state[a] != expected_state(reported, ids)[a])
            break
    tally("labelling killed (SIGKILL) at random moments", kills=KILLS, labels_checked=applied + 1, lost=lost)
    assert lost == 0, f"changes reported saved are missing after a kill (attributions differing: {lost})"


def test_the_window_opens_a_file_left_by_a_killed_labeller(make_project, make_window, qtbot):
    project = make_project("crash.stance")
    ids = fill_annotation_project(project)
    path = project.path
    project.close()
    child = subprocess.Popen([PYTHON, "-c", LABELLER, str(path), "0", json.dumps(ids)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    for _ in range(12):
        reported = int(child.stdout.readline())
    child.send_signal(signal.SIGKILL)
    rest = rest_of(child)
    for line in rest.split():
        reported = int(line)
    assert Path(str(path) + "-wal").exists(), "a killed writer leaves its WAL behind"
    reopened = Project.open(path)
    window = make_window(reopened, annotator="crash")
    assert window.queue.rowCount() == len(ids)
    assert stored_state(reopened, ids) in (expected_state(reported, ids), expected_state(reported + 1, ids))
    reopened.close()
    tally("window opens a file left by a killed labeller", kills=1, labels_checked=reported + 1, lost=0)


def _synthetic(path: Path, attributions: int, seed: int) -> Path:
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    from synthetic import make_synthetic_project

    return make_synthetic_project(path, attributions, seed=seed)


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


MERGER = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from stancelabel.team.merge import merge
print("merging", flush=True)
merge(sys.argv[1], sys.argv[2:])
print("merged", flush=True)
"""


def test_a_merge_killed_at_any_moment_leaves_no_output_or_a_complete_one(tmp_path):
    base = _synthetic(tmp_path / "base.stance", 3000, seed=1)
    inputs = []
    for i, annotator in enumerate(("ann", "bob", "cat")):
        path = tmp_path / f"{annotator}.stance"
        path.write_bytes(base.read_bytes())
        with Project.open(path) as project, project.transaction():
            for n, attribution in enumerate(project.queue_ids(annotator)):
                project.set_label(attribution, annotator, ("asserts", "denies", "qualifies")[(n + i) % 3])
        inputs.append(path)
    before = {path: _digest(path) for path in inputs}
    from stancelabel.team.merge import merge

    start = time.perf_counter()
    merge(tmp_path / "reference.stance", inputs)
    duration = time.perf_counter() - start
    with Project.open(tmp_path / "reference.stance", readonly=True) as reference:
        expected = (reference.event_count(), sorted(map(repr, reference.annotations())))
    rng = random.Random(3)
    kills = max(3, KILLS // 3)
    outcomes = {"none": 0, "complete": 0}
    for k in range(kills):
        moment = 0.05 if k == 0 else rng.random() * 1.2  # the first kill surely inside the merge
        out = tmp_path / f"merged{k}.stance"
        child = subprocess.Popen([PYTHON, "-c", MERGER, str(out), *map(str, inputs)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=child_env())
        assert child.stdout.readline().strip() == "merging", child.stderr.read()
        time.sleep(moment * duration)
        child.send_signal(signal.SIGKILL)
        child.communicate()
        assert {path: _digest(path) for path in inputs} == before, "a merge changed one of its inputs"
        if not out.exists():
            outcomes["none"] += 1
            continue
        assert integrity(out) == "ok"
        with Project.open(out, readonly=True) as merged:
            assert (merged.event_count(), sorted(map(repr, merged.annotations()))) == expected
        outcomes["complete"] += 1
    assert outcomes["none"] >= 1, "some kill must land inside the merge"
    tally("merge killed (SIGKILL) at random moments", kills=kills, labels_checked=outcomes["complete"] * 9000,
          lost=0)


MIGRATOR = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from stancelabel.store import schema
from stancelabel.store.project import Project

def reviewed(conn):
    conn.execute("ALTER TABLE attribution ADD COLUMN reviewed INTEGER NOT NULL DEFAULT 0")
    for _ in range(20):
        conn.execute("UPDATE attribution SET reviewed = reviewed + 1")

schema.MIGRATIONS = [*schema.MIGRATIONS, reviewed]
print("opening", flush=True)
with Project.open(sys.argv[1]):
    print("migrated", flush=True)
"""


def test_a_schema_upgrade_killed_at_any_moment_leaves_the_old_file_or_the_new_one_and_a_whole_backup(tmp_path):
    from stancelabel.store import schema

    version = len(schema.MIGRATIONS)
    original = _synthetic(tmp_path / "original.stance", 20000, seed=2)
    with Project.open(original, readonly=True) as project:
        attributions = len(project.queue_ids("x"))
    timing = tmp_path / "timing.stance"
    timing.write_bytes(original.read_bytes())
    child = subprocess.Popen([PYTHON, "-c", MIGRATOR, str(timing)], stdout=subprocess.PIPE, text=True,
                             env=child_env())
    child.stdout.readline()
    start = time.perf_counter()
    assert child.stdout.readline().strip() == "migrated"
    duration = time.perf_counter() - start
    child.communicate()
    rng = random.Random(5)
    kills = max(3, KILLS // 3)
    seen = {"old": 0, "new": 0, "backups": 0}
    for k in range(kills):
        path = tmp_path / f"upgrade{k}.stance"
        path.write_bytes(original.read_bytes())
        child = subprocess.Popen([PYTHON, "-c", MIGRATOR, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=child_env())
        assert child.stdout.readline().strip() == "opening", child.stderr.read()
        time.sleep((0.05 if k == 0 else rng.random() * 1.2) * duration)  # the first surely before the commit
        child.send_signal(signal.SIGKILL)
        child.communicate()
        assert integrity(path) == "ok"
        conn = sqlite3.connect(path)
        at = conn.execute("PRAGMA user_version").fetchone()[0]
        columns = [row[1] for row in conn.execute("PRAGMA table_info(attribution)")]
        conn.close()
        if at == version:  # the upgrade's transaction never committed: the old file, whole
            assert "reviewed" not in columns
            with Project.open(path) as reopened:
                assert len(reopened.queue_ids("x")) == attributions
            seen["old"] += 1
        else:
            assert at == version + 1 and "reviewed" in columns
            assert list(tmp_path.glob(f"upgrade{k}.stance.v{version}-*.bak")), "upgraded without a backup"
            seen["new"] += 1
        assert not list(tmp_path.glob(f"upgrade{k}.stance*.partial")) or at == version
        for backup in tmp_path.glob(f"upgrade{k}.stance.v{version}-*.bak"):  # only ever a whole one
            assert integrity(backup) == "ok"
            restored = tmp_path / f"restored{k}.stance"
            restored.write_bytes(backup.read_bytes())
            with Project.open(restored) as project:
                assert project.schema_version == version and len(project.queue_ids("x")) == attributions
            seen["backups"] += 1
    assert seen["old"] >= 1
    tally("schema upgrade killed (SIGKILL) at random moments", kills=kills, labels_checked=0, lost=0)


EXPORTER = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from stancelabel.io.export import ExportOptions, export
from stancelabel.store.project import Project
print("exporting", flush=True)
with Project.open(sys.argv[1], readonly=True) as project:
    export(project, sys.argv[2], ExportOptions(format=sys.argv[3]))
print("exported", flush=True)
"""


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_export_killed_at_any_moment_leaves_the_previous_file_or_the_new_one(tmp_path, fmt):
    path = _synthetic(tmp_path / "labelled.stance", 20000, seed=4)
    with Project.open(path) as project, project.transaction():
        for n, attribution in enumerate(project.queue_ids("ann")):
            project.set_label(attribution, "ann", ("asserts", "denies", "qualifies")[n % 3])
    target = tmp_path / f"out.{fmt}"
    start = time.perf_counter()
    subprocess.run([PYTHON, "-c", EXPORTER, str(path), str(target), fmt], check=True, capture_output=True,
                   env=child_env())
    duration, complete = time.perf_counter() - start, target.read_bytes()
    rng = random.Random(6)
    kills = max(3, KILLS // 3)
    outcomes = {"previous": 0, "new": 0}
    for k in range(kills):
        target.write_bytes(b"the previous export\n")
        child = subprocess.Popen([PYTHON, "-c", EXPORTER, str(path), str(target), fmt], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=child_env())
        assert child.stdout.readline().strip() == b"exporting"
        time.sleep((0.05 if k == 0 else rng.random()) * duration)
        child.send_signal(signal.SIGKILL)
        child.communicate()
        now = target.read_bytes()
        if now == b"the previous export\n":
            outcomes["previous"] += 1
        else:  # the whole new export, never a part of it
            assert now == complete
            outcomes["new"] += 1
    assert outcomes["previous"] >= 1
    tally(f"{fmt} export killed (SIGKILL) at random moments", kills=kills, labels_checked=outcomes["new"] * 20000,
          lost=0)


def test_a_later_merge_removes_what_killed_merges_left_in_the_temporary_folder(tmp_path, monkeypatch):
    """A killed merge or export cannot clean up its private copies and partial files; the next merge (or
    export to the same target) removes those of processes that are gone, and leaves live ones' alone."""
    import tempfile

    from stancelabel.core import tempfiles

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    gone = subprocess.run([PYTHON, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    stale = [tmp_path / "tmp" / f"stancelabel-{kind}-{dead_pid}-abc" for kind in ("merge", "staging")]
    live = tmp_path / "tmp" / f"stancelabel-merge-{os.getpid()}-xyz"
    other = tmp_path / "tmp" / "stancelabel-notes"
    for folder in (*stale, live, other):
        folder.mkdir()
        (folder / "input.stance").write_bytes(b"x" * 1000)
    assert tempfiles.sweep_stale_folders() == 2
    assert not any(folder.exists() for folder in stale) and live.exists() and other.exists()
    # Partial files beside a target: the next export or merge to it removes those of processes gone.
    from stancelabel.io.export import ExportOptions, export

    project_path = tmp_path / "p.stance"
    with Project.open(project_path, create=True) as project:
        ids = fill_annotation_project(project)
        project.set_label(ids[0], "ann", "denies")
    target = tmp_path / "out.jsonl"
    left = [tmp_path / f".out.jsonl.{dead_pid}.k2j3.partial", tmp_path / f".m.stance.{dead_pid}.q1.partial"]
    mine = tmp_path / f".out.jsonl.{os.getpid()}.zz.partial"
    for path in (*left, mine):
        path.write_bytes(b"half an export")
    with Project.open(project_path, readonly=True) as project:
        export(project, target, ExportOptions())
    from stancelabel.team.merge import merge

    merge(tmp_path / "m.stance", [project_path])
    assert not any(path.exists() for path in left) and mine.exists() and target.exists()
    tally("temporary folders of killed merges removed", faults=4, lost=0)
