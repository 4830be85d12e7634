"""An import killed or interrupted part-way leaves a consistent project, and running it again continues."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stancelabel.store.project import Project

DOCUMENTS = 3000


def write_corpus(folder: Path, count: int = DOCUMENTS) -> None:
    folder.mkdir()
    for i in range(count):
        body = " ".join(f"Witness {i} said that bridge {j} was closed on day {j}." for j in range(12))
        (folder / f"article{i:05}.txt").write_text(f"Report {i}\n\n{body}\n", encoding="utf-8")


def start_import(project: Path, corpus: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "stancelabel", "import", str(project), str(corpus), "--model", "blank:en", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for_documents(project: Path, at_least: int, process: subprocess.Popen, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"import ended early: {process.communicate()}"
        if project.exists():
            try:
                conn = sqlite3.connect(f"{project.as_uri()}?mode=ro", uri=True, timeout=1)
                count = conn.execute("SELECT count(*) FROM document").fetchone()[0]
                conn.close()
                if count >= at_least:
                    return count
            except sqlite3.OperationalError:
                pass  # the schema is still being created
        time.sleep(0.02)
    raise AssertionError("the import made no progress")


def check_consistent(project: Path) -> int:
    """Integrity holds, every stored document has its sentences; returns the document count."""
    conn = sqlite3.connect(project)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    without = conn.execute(
        "SELECT count(*) FROM document d WHERE NOT EXISTS (SELECT 1 FROM sentence s WHERE s.document_id = d.id)"
    ).fetchone()[0]
    assert without == 0
    count = conn.execute("SELECT count(*) FROM document").fetchone()[0]
    conn.close()
    with Project.open(project) as opened:  # and the app opens it
        assert opened.document_count() == count
    return count


@pytest.mark.slow
def test_killed_import_is_consistent_and_resumes_without_duplicates(tmp_path):
    corpus, project = tmp_path / "corpus", tmp_path / "p.stance"
    write_corpus(corpus)
    process = start_import(project, corpus)
    wait_for_documents(project, 20, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = check_consistent(project)
    assert 20 <= done < DOCUMENTS, "the kill must land part-way through the import"

    rerun = subprocess.run(
        [sys.executable, "-m", "stancelabel", "import", str(project), str(corpus), "--model", "blank:en"],
        capture_output=True, text=True, timeout=600,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"{DOCUMENTS - done} document(s) imported" in rerun.stdout
    assert f"{done} skipped as duplicate text" in rerun.stdout
    assert check_consistent(project) == DOCUMENTS
    conn = sqlite3.connect(project)
    assert conn.execute("SELECT count(DISTINCT external_id) FROM document").fetchone()[0] == DOCUMENTS
    assert conn.execute("SELECT count(*) FROM sentence").fetchone()[0] == DOCUMENTS * 13
    conn.close()
    from reliability import tally

    tally("import killed (SIGKILL) part-way, then resumed", kills=1, labels_checked=0, lost=0)


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
@pytest.mark.parametrize("processes", ["1", "2"])
def test_ctrl_c_stops_cleanly_with_a_message(tmp_path, processes):
    corpus, project = tmp_path / "corpus", tmp_path / "p.stance"
    write_corpus(corpus)
    process = start_import(project, corpus, "--n-process", processes)
    wait_for_documents(project, 20, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Interrupted: run the same command again to continue." in err
    assert "Traceback" not in err
    stored = check_consistent(project)
    assert 20 <= stored < DOCUMENTS
    assert f"{stored} document(s) imported" in err  # the summary counts what is in the file


@pytest.mark.parametrize("stop_after", [None, 5])
def test_an_imports_commits_are_forced_to_disk_at_its_end(tmp_path, stop_after):
    """Each document is its own commit; the import does not force each one to disk (synchronous
    NORMAL while it runs: a killed import keeps them, see above) but ends with one that is, and the
    file is back to forcing every commit (a label) whether the import finished or was stopped."""
    from stancelabel.io.importer import ImportOptions, import_paths
    from stancelabel.nlp.pipeline import load_pipeline

    corpus = tmp_path / "corpus"
    write_corpus(corpus, 12)
    nlp, info = load_pipeline("blank:en")
    seen: list[int] = []
    with Project.open(tmp_path / "p.stance", create=True) as project:
        synchronous = lambda: project.connection.execute("PRAGMA synchronous").fetchone()[0]  # noqa: E731
        assert synchronous() == 2  # FULL
        report = import_paths(project, [corpus], ImportOptions(), nlp, info,
                              progress=lambda _p: seen.append(synchronous()),
                              should_stop=lambda: stop_after is not None and len(seen) >= stop_after)
        assert seen and set(seen) == {1}  # NORMAL while documents are committed
        assert synchronous() == 2
        assert report.documents_added == (12 if stop_after is None else stop_after)
        assert project.document_count() == report.documents_added
