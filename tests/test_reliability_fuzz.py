"""Hostile and broken input, generated: every importer (txt, JSONL, CSV, BRAT), opening a project file and
merging one. The only outcomes allowed are success or one clear line naming the file (and the line, where
the format has lines): never a traceback, a hang or a half-written project. Examples per test:
STANCELABEL_FUZZ_EXAMPLES (make reliability raises it)."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from helpers import fill_annotation_project, run_import
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability import FUZZ_EXAMPLES, tally

from stancelabel.core.errors import StanceLabelError
from stancelabel.store.project import Project

FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=timedelta(seconds=60), derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

#: Things that have broken parsers: byte order marks, JSON's and Unicode's odd line breaks, lone
#: surrogates, NaN, duplicate keys, deep nesting, NUL, mixed newlines, a very long line.
NASTY = [b"\xef\xbb\xbf", "\u2028".encode(), b'"\\ud800"', b"NaN", b'"text": "x", "text": "y", ',
         b"[" * 3000, b"{" * 3000, b"\x00", b"\r", b"\r\n", b"\n\n", b"\xff\xfe", b'"', b",", b"\t", b"\\",
         b"x" * 300_000, "\U0001F4DD\u0301\u202e".encode(), b"\x1b[31m", b"=cmd|' /C calc'!A0"]

VALID = {
    "txt": b"The council denied that the water contains lead. Mayor Priya Nair said the pipes were new.\n"
           b"Residents claimed the tests came too late.\n",
    "jsonl": b'{"id": "a", "text": "Anna said it rained.", "meta": {"source": "x"}}\n'
             b'{"id": "b", "text": "Bob denied it.", "label": "denies", "annotator": "bob"}\n'
             b'{"text": "Carol wondered aloud.", "target": "rain"}\n',
    "csv": b'id,text,title\n1,"Anna said it rained.",One\n2,"Bob denied it, twice.",Two\n',
    "ann": b"T1\tSource 0 4\tAnna\nT2\tCue 5 9\tsaid\nT3\tContent 10 19\tit rained\n"
           b"E1\tAttribution:T2 Source:T1 Content:T3\nA1\tStance E1 asserts\n",
}


def mutate(data: bytes, flips: list[tuple[int, int]], cut: int | None, inserts: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, nasty in inserts:
        where = position % (len(out) + 1)
        out[where:where] = NASTY[nasty % len(NASTY)]
    for position, value in flips:
        if out:
            out[position % len(out)] = value
    if cut is not None and out:
        del out[cut % len(out):]
    return bytes(out)


mutations = st.tuples(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    st.none() | st.integers(0, 10**6),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, len(NASTY) - 1)), max_size=3),
)


def consistent(path: Path) -> None:
    """The project file is whole: SQLite's checks pass and every document has its sentences."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM document d WHERE length(d.text) > 0 AND NOT EXISTS "
                            "(SELECT 1 FROM sentence s WHERE s.document_id = d.id)").fetchone()[0] == 0
    finally:
        conn.close()


def one_clear_line(message: str, path: Path) -> None:
    assert message.startswith(f"{path}:"), message
    assert "\n" not in message and "Traceback" not in message and len(message) < len(str(path)) + 400, message


@pytest.mark.parametrize("kind", ["txt", "jsonl", "csv", "ann"])
def test_importers_take_a_broken_file_or_refuse_it_in_one_line(kind, blank_nlp):
    cases = 0

    @FUZZ
    @given(mutation=mutations)
    def check(mutation):
        nonlocal cases
        cases += 1
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if kind == "ann":  # BRAT: a text and its standoff annotations
                (folder / "doc.txt").write_bytes(b"Anna said it rained. Bob agreed.\n")
                path = folder / "doc.ann"
                source = folder
            else:
                path = source = folder / f"input.{kind}"
            path.write_bytes(mutate(VALID[kind], *mutation))
            with Project.open(folder / "p.stance", create=True) as project:
                report = run_import(project, [source], blank_nlp)
                for message in report.errors:
                    assert message.startswith(f"{source}") or message.startswith(f"{path}"), message
                    assert "\n" not in message and "Traceback" not in message, message
                if report.errors:
                    assert len(report.errors) == 1
                    assert project.document_count() == 0  # a refused file is skipped whole
            consistent(folder / "p.stance")

    check()
    tally(f"fuzz: {kind} import", fuzz_cases=cases, lost=0)


def damage_of(valid: bytes):
    """Up to a dozen flipped bytes anywhere in a file, and perhaps a cut."""
    return st.tuples(st.lists(st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 255)), min_size=1,
                              max_size=12), st.none() | st.integers(0, len(valid)))


def damaged_copy(valid: bytes, damage: tuple, folder: str) -> Path:
    """The valid file's bytes with the generated damage, as damaged.stance in ``folder``."""
    path = Path(folder) / "damaged.stance"
    path.write_bytes(mutate(valid, *damage, []))
    return path


def _valid_project(folder: Path) -> Path:
    with Project.open(folder / "valid.stance", create=True) as project:
        ids = fill_annotation_project(project)
        for i, a in enumerate(ids):
            project.set_label(a, "ann", ("asserts", "denies", "qualifies")[i % 3])
        project.set_note(ids[0], "ann", "a note")
    return folder / "valid.stance"


def test_opening_a_damaged_project_file_works_or_says_so_in_one_line(tmp_path):
    valid = _valid_project(tmp_path).read_bytes()
    cases = 0

    @FUZZ
    @given(damage=damage_of(valid))
    def check(damage):
        nonlocal cases
        cases += 1
        with tempfile.TemporaryDirectory() as tmp:
            path = damaged_copy(valid, damage, tmp)
            try:
                with Project.open(path) as project:  # what the app does with a file: open, show, label
                    ids = list(project.queue_ids("ann"))
                    project.labels()
                    project.annotations()
                    if ids:
                        project.set_label(ids[0], "ann", "denies")
            except StanceLabelError as error:
                one_clear_line(str(error), path)

    check()
    tally("fuzz: opening damaged project files", fuzz_cases=cases, lost=0)


def test_merging_a_damaged_project_file_works_or_refuses_it_and_writes_nothing(tmp_path):
    from stancelabel.team.merge import merge

    good = _valid_project(tmp_path)
    valid = good.read_bytes()
    cases = 0

    @FUZZ
    @given(damage=damage_of(valid))
    def check(damage):
        nonlocal cases
        cases += 1
        with tempfile.TemporaryDirectory() as tmp:
            bad = damaged_copy(valid, damage, tmp)
            before = bad.read_bytes()
            out = Path(tmp) / "merged.stance"
            try:
                merge(out, [good, bad])
            except StanceLabelError as error:
                one_clear_line(str(error), bad)
                assert not out.exists()
            else:
                consistent(out)
            assert bad.read_bytes() == before and good.read_bytes() == valid

    check()
    tally("fuzz: merging damaged project files", fuzz_cases=cases, lost=0)


@pytest.mark.parametrize("statement", [
    "CREATE TRIGGER spy AFTER INSERT ON event BEGIN DELETE FROM annotation; END",
    "CREATE VIEW spy AS SELECT * FROM event",
    "CREATE VIRTUAL TABLE spy USING fts5(text)",
    "CREATE TABLE spy (x)",
    "CREATE INDEX spy ON event (value)",
    "UPDATE event SET value = '" + "[" * 5000 + "' WHERE id = 1",
    "UPDATE annotator SET name = 'bad' || char(55296) WHERE id = 1",
    "UPDATE event SET value = 'NaN' WHERE id = 1",
    "UPDATE document SET text = text || char(8232)",
])
def test_merging_a_file_with_a_changed_schema_or_hostile_rows_refuses_it(tmp_path, statement):
    from stancelabel.team.merge import merge

    good = _valid_project(tmp_path)
    bad = tmp_path / "hostile.stance"
    shutil.copy(good, bad)
    conn = sqlite3.connect(bad)
    for trigger in ("event_no_update", "event_no_delete"):
        conn.execute(f"DROP TRIGGER {trigger}")
    try:
        conn.execute(statement)
    except sqlite3.OperationalError as error:  # e.g. no FTS5 in this SQLite
        pytest.skip(f"this SQLite cannot make the hostile file: {error}")
    conn.execute("CREATE TRIGGER event_no_update BEFORE UPDATE ON event\n"
                 "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END")
    conn.execute("CREATE TRIGGER event_no_delete BEFORE DELETE ON event\n"
                 "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END")
    conn.commit()
    conn.close()
    before = bad.read_bytes()
    with pytest.raises(StanceLabelError) as refused:
        merge(tmp_path / "out.stance", [good, bad])
    one_clear_line(str(refused.value), bad)
    assert not (tmp_path / "out.stance").exists() and bad.read_bytes() == before
    tally("hostile merge input", faults=1, lost=0)


#: The window as `stancelabel gui FILE` runs it, closed a moment after it is shown (the annotator is set,
#: so no dialog waits for a person).
_WINDOW = """
import sys
from PySide6.QtCore import QTimer
from stancelabel.cli.main import main
from stancelabel.gui.app import create_application
from stancelabel.gui.settings import Settings

app = create_application()
Settings().annotator = "fuzz"
QTimer.singleShot(800, lambda: [w.close() for w in app.topLevelWidgets()])
sys.exit(main(["gui", sys.argv[1]]))
"""


def page_damage(valid: bytes):
    """One whole page (past the header) overwritten with a pattern: damage SQLite meets only on reading it."""
    pages = len(valid) // 4096
    return st.tuples(st.integers(1, max(1, pages - 1)), st.integers(1, 255), st.integers(3, 97))


def test_the_window_on_a_damaged_file_opens_it_or_exits_1_in_one_line_leaving_nothing(tmp_path):
    """Never an abort (a QThread destroyed while running), a hang or a traceback; the file as it was, and
    no -wal, -shm or lock file left beside it."""
    import subprocess
    import sys

    from reliability import child_env

    valid = _valid_project(tmp_path).read_bytes()
    outcomes = {0: 0, 1: 0}

    @settings(max_examples=max(6, FUZZ_EXAMPLES // 4), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                     HealthCheck.data_too_large])
    @given(damage=st.one_of(page_damage(valid).map(lambda d: ("page", d)),
                            damage_of(valid).map(lambda d: ("bytes", d))))
    def check(damage):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "damaged.stance"
            if damage[0] == "page":
                page, value, step = damage[1]
                data = bytearray(valid)
                for i in range(page * 4096 + 8, (page + 1) * 4096, step):
                    data[i] ^= value
                path.write_bytes(bytes(data))
            else:
                path = damaged_copy(valid, damage[1], tmp)
            before = path.read_bytes()
            env = dict(child_env(), XDG_CONFIG_HOME=str(Path(tmp) / "config"),
                       XDG_DATA_HOME=str(Path(tmp) / "data"), XDG_RUNTIME_DIR=tmp)
            result = subprocess.run([sys.executable, "-c", _WINDOW, str(path)], capture_output=True, text=True,
                                    env=env, timeout=120, cwd=tmp)
            assert result.returncode in (0, 1), f"exit {result.returncode}: {result.stderr[-2000:]}"
            lines = [line for line in result.stderr.splitlines()
                     if line.strip() and "propagateSizeHints" not in line]
            assert "Traceback" not in result.stderr and "QThread" not in result.stderr, result.stderr[-2000:]
            if result.returncode == 1:
                assert len(lines) == 1 and lines[0].startswith(f"error: {path}:"), lines
            else:
                assert not lines, lines
            assert path.read_bytes() == before
            assert sorted(p.name for p in Path(tmp).iterdir() if p.name.startswith("damaged")) == \
                ["damaged.stance"]
            assert not list(Path(tmp).glob("stancelabel-*.lock"))
            outcomes[result.returncode] += 1

    check()
    assert outcomes[1] >= 1  # the fuzz reached files the window refuses, not only ones it opens
    tally("fuzz: the window on damaged project files", fuzz_cases=sum(outcomes.values()), lost=0)
