"""Two processes labelling one project file at once: the window's saver in one, the store as the command
line uses it in the other, 1,000 writes interleaved. Nothing is lost, the file stays whole, and the writer
that has to wait longer than it is willing to is told so in one clear line, then retries."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time

from helpers import fill_annotation_project
from reliability import PYTHON, REPO, child_env, tally

from stancelabel.store.project import Project

WRITES = 500  # per process

GUI_WRITER = f"""
import json, sys
sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
from PySide6.QtCore import QCoreApplication
from stancelabel.gui.saver import Saver

path, ids, count = Path(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
app = QCoreApplication([])
saver = Saver(path, retry_interval_ms=5)
left = count
print("ready", flush=True)
sys.stdin.readline()

def done(_result, n):
    global left
    print(n, flush=True)
    left -= 1
    if left == 0:
        saver.shutdown()
        app.quit()

for n in range(count):
    a = ids[n % len(ids)]
    saver.submit(f"note {{n}}", lambda p, a=a, n=n: p.set_note(a, "window", f"window {{n}}"),
                 on_done=lambda r, n=n: done(r, n))
app.exec()
"""

CLI_WRITER = f"""
import json, sys, time
sys.path.insert(0, {str(REPO)!r})
from stancelabel.core.errors import ProjectFileError
from stancelabel.store.project import Project

path, ids, count = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
with Project.open(path) as project:
    project.set_busy_timeout(2)  # impatient on purpose: it has to wait now and then
    print("ready", flush=True)
    sys.stdin.readline()
    for n in range(count):
        while True:
            try:
                project.set_note(ids[n % len(ids)], "cli", f"cli {{n}}")
                break
            except ProjectFileError as error:
                print("waited:", error, flush=True)
                if not error.retriable:
                    raise
                time.sleep(0.001)
        print(n, flush=True)
        time.sleep(0.001)  # a (very fast) person: the other writer gets its turns
"""


def test_two_processes_writing_one_project_lose_nothing(make_project):
    project = make_project("shared.stance")
    ids = fill_annotation_project(project)
    path = project.path
    project.close()
    writers = {name: subprocess.Popen([PYTHON, "-c", script, str(path), json.dumps(ids), str(WRITES)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=child_env())
               for name, script in (("window", GUI_WRITER), ("cli", CLI_WRITER))}
    for child in writers.values():  # both set up, then both start at once
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # a third program holds the file as they start: both have to wait
    for child in writers.values():
        child.stdin.write("go\n")
        child.stdin.flush()
    time.sleep(0.2)
    blocker.execute("ROLLBACK")
    blocker.close()
    outputs = {name: child.communicate(timeout=300) for name, child in writers.items()}
    for name, child in writers.items():
        assert child.returncode == 0, outputs[name][1][-2000:]
    saved = {name: [int(x) for x in out.split("\n") if x.strip().isdigit()] for name, (out, _) in outputs.items()}
    assert all(sorted(numbers) == list(range(WRITES)) for numbers in saved.values())
    waits = [line for line in outputs["cli"][0].splitlines() if line.startswith("waited:")]
    assert waits and all(str(path) in line and "locked" in line for line in waits)  # one clear line each time
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    per_writer = dict(conn.execute("SELECT u.name, count(*) FROM event e JOIN annotator u ON u.id = e.annotator_id "
                                   "WHERE e.kind = 'note' GROUP BY u.name").fetchall())
    conn.close()
    assert per_writer == {"window": WRITES, "cli": WRITES}  # every write is in the log, once
    order = [row[0] for row in sqlite3.connect(path).execute(
        "SELECT u.name FROM event e JOIN annotator u ON u.id = e.annotator_id WHERE e.kind = 'note' ORDER BY e.id")]
    switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
    assert switches >= 20, f"the two writers hardly interleaved ({switches} switches)"
    with Project.open(path, readonly=True) as again:
        for who in ("window", "cli"):
            for i, a in enumerate(ids):
                last = max(n for n in range(WRITES) if n % len(ids) == i)
                assert again.annotation(a, who).note == f"{who} {last}"
    tally("two processes writing one project", faults=len(waits), labels_checked=2 * WRITES, lost=0,
          interleavings=switches)
