"""Every writer against every kind of target: the project and every input stay byte-identical, and the
run either writes its output whole or refuses in one line (core/outputs.py, issue: nothing lost at the edges).

Writers are run through the command line in this process (``main([...])``), as a user runs them; the
targets are real files, folders, links, FIFOs and read-only folders in a temporary folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers import fill_annotation_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability import FUZZ_EXAMPLES, tally

from stancelabel.cli.main import main
from stancelabel.core.projectfile import is_project_file
from stancelabel.store.project import Project

#: writer -> (arguments, with {project}, {input} and {out}; what a successful output is)
WRITERS = {
    "export jsonl": (["export", "{project}", "-o", "{out}", "--format", "jsonl", "--all"], "file"),
    "export csv": (["export", "{project}", "-o", "{out}", "--format", "csv", "--all"], "file"),
    "export spacy": (["export", "{project}", "-o", "{out}", "--format", "spacy", "--all"], "file"),
    "export brat": (["export", "{project}", "-o", "{out}", "--format", "brat", "--all"], "folder"),
    "merge": (["merge", "-o", "{out}", "{project}", "{input}"], "project"),
    "merge --force": (["merge", "--force", "-o", "{out}", "{project}", "{input}"], "project"),
    "split": (["split", "{project}", "--annotators", "ann,bob", "-o", "{out}"], "split"),
}
TARGETS = ("new", "regular file", "existing project", "the project", "an input", "symlink", "FIFO", "folder",
           "missing parent", "read-only parent", "overlong name", "stray -wal", "companion of the project")


def expected(writer: str, kind: str) -> str:
    """What the policy does with this target: "write" or "refuse" (in one line, writing nothing)."""
    if kind in ("new", "stray -wal"):
        return "write"
    if kind in ("the project", "an input", "missing parent", "read-only parent", "overlong name",
                "companion of the project"):
        return "refuse"
    if writer in ("export jsonl", "export csv", "export spacy"):
        return {"regular file": "write", "symlink": "write",
                "FIFO": "refuse" if writer == "export spacy" else "write"}.get(kind, "refuse")
    if writer == "merge --force":
        return "write" if kind in ("regular file", "existing project", "symlink") else "refuse"
    if writer == "split":
        return "write" if kind == "folder" else "refuse"  # split adds its files to a folder, never replaces one
    return "refuse"  # export brat, merge: only a new target (a BRAT folder of its own files: see test_export)


def _labelled(path: Path, annotator: str) -> Path:
    with Project.open(path, create=True) as project:
        ids = fill_annotation_project(project)
        for n, attribution in enumerate(ids):
            project.set_label(attribution, annotator, ("asserts", "denies", "qualifies")[n % 3])
            project.set_note(attribution, annotator, f"note {n} ✎")
    return path


class _Originals(tuple):
    """The two project files' bytes (with a short repr, for hypothesis' reports)."""

    def __repr__(self) -> str:
        return "<lead and other project bytes>"


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> tuple[bytes, bytes]:
    folder = tmp_path_factory.mktemp("originals")
    return _Originals((_labelled(folder / "lead.stance", "ann").read_bytes(),
                       _labelled(folder / "other.stance", "bob").read_bytes()))


def _read_only(folder: Path) -> None:
    """A folder nothing can be written into, also for root (which ignores permission bits): immutable."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return
    result = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot make a read-only folder as root here (chattr +i: {result.stderr.decode().strip()})")


def _writable_again(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    else:
        folder.chmod(0o755)


def _target(kind: str, root: Path, project: Path, other: Path, suffix: str, companion: str, long_name: int,
            into_folder: bool) -> Path:
    """Make a target of this kind below ``root``; returns the path to name on the command line."""
    plain = root / f"out{suffix}"
    if kind == "new":
        return plain
    if kind == "regular file":
        plain.write_text("an earlier file\n")
        return plain
    if kind == "existing project":
        plain.write_bytes(other.read_bytes())  # a project nobody named as an input
        return plain
    if kind == "the project":
        return project
    if kind == "an input":
        return other
    if kind == "symlink":
        real = root / f"real{suffix}"
        real.write_text("an earlier file\n")
        plain.symlink_to(real)
        return plain
    if kind == "FIFO":
        os.mkfifo(plain)
        return plain
    if kind == "folder":
        plain.mkdir()
        (plain / "keep.docx").write_text("somebody's file")
        return plain
    if kind == "missing parent":
        return root / "no-such-folder" / f"out{suffix}"
    if kind == "read-only parent":
        locked = root / "locked"
        locked.mkdir()
        _read_only(locked)
        return locked / f"out{suffix}"
    if kind == "overlong name":
        return root / ("n" * long_name + suffix)
    if kind == "stray -wal":
        if into_folder:  # a split: the stray lies beside a file written in the folder (a share)
            plain.mkdir()
            Path(f"{plain / 'lead-ann.stance'}{companion}").write_bytes(b"left by a crash" * 100)
            return plain
        Path(f"{plain}{companion}").write_bytes(b"left by a crash" * 100)
        return plain
    if kind == "companion of the project":
        return Path(f"{project}{companion}")
    raise AssertionError(kind)


class _FifoReader(threading.Thread):
    """Reads a FIFO to its end, so a writer that writes straight through it can finish."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.data = path, b""

    def run(self) -> None:
        with open(self.path, "rb") as fifo:
            self.data = fifo.read()

    def release(self) -> None:
        """Unblock the reader when nobody opened the FIFO for writing (the writer refused it)."""
        with contextlib.suppress(OSError):
            os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
        self.join(10)


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            out[name] = f"-> {os.readlink(path)}"
        elif stat.S_ISFIFO(path.lstat().st_mode):
            out[name] = "fifo"
        elif path.is_file():
            out[name] = path.read_bytes()
        else:
            out[name] = "folder"
    return out


@pytest.mark.parametrize("kind", TARGETS)
@pytest.mark.parametrize("writer", list(WRITERS))
@settings(max_examples=max(2, FUZZ_EXAMPLES // 50), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(companion=st.sampled_from(["-wal", "-shm", "-journal"]), long_name=st.integers(256, 400),
       umask=st.sampled_from([0o022, 0o002, 0o077]))
def test_every_writer_against_every_target(writer, kind, companion, long_name, umask, originals, tmp_path_factory,
                                           capsys):
    root = tmp_path_factory.mktemp("case")
    project, other = root / "lead.stance", root / "other.stance"
    project.write_bytes(originals[0])
    other.write_bytes(originals[1])
    arguments, result_kind = WRITERS[writer]
    suffix = {"file": "." + arguments[arguments.index("--format") + 1] if "--format" in arguments else "",
              "folder": "", "project": ".stance", "split": ""}[result_kind]
    target = _target(kind, root, project, other, suffix, companion, long_name, writer == "split")
    before = _snapshot(root)
    reader = _FifoReader(target) if kind == "FIFO" else None
    if reader is not None:
        reader.start()
    old_umask = os.umask(umask)
    try:
        code = main([a.format(project=project, input=other, out=target) for a in arguments])
    finally:
        os.umask(old_umask)
        if reader is not None:
            reader.release()
        if kind == "read-only parent":
            _writable_again(target.parent)
    err = capsys.readouterr().err
    after = _snapshot(root)

    # Whatever happened: the project and the input are as they were, byte for byte (a split that was done
    # records its assignment in the project it split, and only then).
    if not (writer == "split" and code == 0):
        assert project.read_bytes() == originals[0], f"{writer} changed the project it read"
    assert other.read_bytes() == originals[1], f"{writer} changed an input"
    assert "Traceback" not in err
    tally(f"output policy: {kind}", fuzz_cases=1, lost=0)
    if expected(writer, kind) == "refuse":
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 1 and len(lines) == 1 and lines[0].startswith("error: "), (writer, kind, code, err)
        assert after == before, (writer, kind, set(after) ^ set(before))  # nothing written, nothing removed
        return
    assert code == 0, (writer, kind, err)

    # Written: the output is whole, where it was asked for, with nothing beside it.
    landed = Path(os.path.realpath(target))
    if kind == "symlink":
        assert target.is_symlink(), "the link was replaced instead of its target"
    if kind == "FIFO":
        assert reader.data.count(b"\n") >= 5  # every record went through the pipe
        return
    assert not [p for p in root.rglob("*") if p.name.endswith(".partial")]
    expected_mode = 0o666 & ~umask
    if result_kind == "file":
        assert landed.read_bytes() and landed.read_bytes() != b"an earlier file\n"
    elif result_kind == "project":
        assert is_project_file(landed)
        for suffix_ in ("-wal", "-shm", "-journal"):
            assert not Path(f"{landed}{suffix_}").exists(), f"a stray {suffix_} survived beside the new output"
        with contextlib.closing(sqlite3.connect(f"{landed.as_uri()}?mode=ro&immutable=1", uri=True)) as conn:
            # the merged labels only: a stray WAL was not taken in
            assert conn.execute("SELECT count(*) FROM annotation WHERE label_id IS NOT NULL").fetchone()[0] == 10
    elif result_kind == "folder":
        pass  # checked below
    else:  # split: a folder with one project per annotator (and whatever else it held)
        shares = sorted(landed.glob("*.stance"))
        assert len(shares) == 2 and all(is_project_file(p) for p in shares)
        if kind == "folder":
            assert (landed / "keep.docx").read_text() == "somebody's file"
        landed = shares[0]
    for suffix_ in ("-wal", "-shm", "-journal"):
        assert not Path(f"{landed}{suffix_}").exists(), f"a stray {suffix_} survived beside the new output"
    if kind in ("new", "stray -wal") and result_kind != "folder":
        assert stat.S_IMODE(landed.stat().st_mode) == expected_mode
    if result_kind == "folder":
        assert landed.is_dir() and (landed / "annotation.conf").is_file()
        if kind == "new":
            assert stat.S_IMODE(landed.stat().st_mode) == 0o777 & ~umask
        assert all(stat.S_IMODE(p.stat().st_mode) == expected_mode for p in landed.iterdir())


# -- cases a review found, each standing for its class ---------------------------------------------------

def _run(argv: list[str], capsys) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def test_a_companion_name_that_holds_a_database_is_refused_not_swept_away(originals, tmp_path, capsys):
    """A stray -wal/-journal is removed before the rename; a whole project under that name (perhaps the very
    file this run reads) is not a stray."""
    (tmp_path / "q-journal").write_bytes(originals[0])
    code, err = _run(["export", tmp_path / "q-journal", "-o", tmp_path / "q", "--format", "jsonl"], capsys)
    assert code == 1 and "is a database" in err and (tmp_path / "q-journal").read_bytes() == originals[0]
    (tmp_path / "other.stance").write_bytes(originals[1])
    (tmp_path / "out.jsonl-wal").write_bytes(originals[1])
    code, err = _run(["export", tmp_path / "other.stance", "-o", tmp_path / "out.jsonl"], capsys)
    assert code == 1 and (tmp_path / "out.jsonl-wal").read_bytes() == originals[1]
    (tmp_path / "m-journal").write_bytes(originals[0])
    code, err = _run(["merge", "-o", tmp_path / "m", tmp_path / "other.stance", tmp_path / "m-journal"], capsys)
    assert code == 1 and (tmp_path / "m-journal").read_bytes() == originals[0]


def test_dev_stdout_is_the_shells_file_written_where_it_stands(originals, tmp_path):
    project = tmp_path / "lead.stance"
    project.write_bytes(originals[0])
    log = tmp_path / "log.jsonl"
    log.write_text('{"earlier": true}\n')
    command = f"{sys.executable} -m stancelabel export {project} -o /dev/stdout >> {log}"
    assert subprocess.run(command, shell=True, capture_output=True, timeout=300).returncode == 0
    lines = log.read_text().splitlines()
    assert lines[0] == '{"earlier": true}' and len(lines) == 6  # appended, as >> promised
    piped = subprocess.run(f"{sys.executable} -m stancelabel export {project} -o /dev/stdout | wc -l", shell=True,
                           capture_output=True, text=True, timeout=300)
    assert piped.stdout.strip() == "5"
    # standard output sent into the project itself: refused, the project as it was
    clobber = subprocess.run(f"{sys.executable} -m stancelabel export {project} -o - 1<> {project}", shell=True,
                             capture_output=True, text=True, timeout=300)
    assert clobber.returncode == 1 and "is the project being exported" in clobber.stderr
    assert project.read_bytes() == originals[0]


def test_merge_force_keeps_the_permissions_of_the_file_it_replaces(originals, tmp_path, capsys):
    (tmp_path / "in.stance").write_bytes(originals[1])
    private = tmp_path / "private.stance"
    private.write_bytes(originals[0])
    private.chmod(0o600)
    assert _run(["merge", "--force", "-o", private, tmp_path / "in.stance"], capsys)[0] == 0
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_a_folder_of_someone_elses_txt_and_ann_files_is_not_replaced(originals, tmp_path, capsys):
    (tmp_path / "lead.stance").write_bytes(originals[0])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "mine.txt").write_text("text")
    (corpus / "mine_gold.ann").write_text("T1\tCue 0 2\tte\n")
    code, err = _run(["export", tmp_path / "lead.stance", "-o", corpus, "--format", "brat"], capsys)
    assert code == 1 and "not an earlier export" in err
    assert sorted(p.name for p in corpus.iterdir()) == ["mine.txt", "mine_gold.ann"]


@pytest.mark.parametrize("target", ["/", "//", "/.", "/tmp/..", "out.jsonl/", "{link}/../out.jsonl"])
def test_odd_paths_are_refused_in_one_line_or_resolved_as_the_kernel_does(target, originals, tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lead.stance").write_bytes(originals[0])
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "a" / "deep")
    fmt = "brat" if not target.endswith(".jsonl") and "jsonl/" not in target else "jsonl"
    code, err = _run(["export", "lead.stance", "-o", target.format(link="link"), "--format", fmt], capsys)
    if target.startswith("{link}"):
        assert code == 0 and (tmp_path / "a" / "out.jsonl").is_file() and not (tmp_path / "out.jsonl").exists()
    else:
        assert code == 1 and err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err


def test_split_names_leave_room_for_sqlites_files_and_an_empty_folder_name_is_refused(originals, tmp_path, capsys):
    project = tmp_path / ("p" * 150 + ".stance")
    project.write_bytes(originals[0])
    code, err = _run(["split", project, "--annotators", f"{'a' * 100},b", "-o", tmp_path / "shares"], capsys)
    assert code == 0, err
    assert all(len(p.name.encode()) + len("-journal") <= 255 for p in (tmp_path / "shares").iterdir())
    code, err = _run(["split", project, "--annotators", "a,b", "-o", ""], capsys)
    assert code == 1 and "empty path" in err


# -- names at the file system's limit, failures while a project is built, what split leaves ---------------

@pytest.mark.parametrize("fmt", ["jsonl", "csv", "spacy", "brat"])
def test_a_record_file_or_folder_may_use_the_whole_name_limit(fmt, originals, tmp_path, capsys):
    """Only a project needs room beside its name for SQLite's -journal: an export named with 250-255 bytes
    is written (its -journal name is too long to exist, so there is nothing beside it to clear)."""
    (tmp_path / "lead.stance").write_bytes(originals[0])
    name = "é" * 124 + ("" if fmt == "brat" else f".{fmt}")[:7]
    name = name + "x" * (255 - len(name.encode()))
    code, err = _run(["export", tmp_path / "lead.stance", "-o", tmp_path / name, "--format", fmt], capsys)
    assert code == 0, err
    assert (tmp_path / name).exists() and len(name.encode()) == 255


def test_a_new_project_named_too_long_for_its_journal_is_refused_naming_it(originals, tmp_path, capsys):
    project = tmp_path / ("a" * 244 + ".stance")  # 251 bytes: a file, but no room for NAME-journal
    text = tmp_path / "in.txt"
    text.write_text("The minister said the bridge will open in May.\n")
    code, err = _run(["import", project, text, "--no-detect", "--model", "blank:en"], capsys)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {project}:") and "too long" in err and "limit is 247" in err
    assert "-journal:" not in err and not project.exists()


def test_a_project_that_fills_the_disk_while_built_names_its_target_and_keeps_the_earlier_file(originals,
                                                                                                tmp_path):
    from stancelabel.core.outputs import Kind, OutputError, plan_output

    target = tmp_path / "old.stance"
    target.write_bytes(originals[0])
    output = plan_output(target, Kind.PROJECT, replace_project=True)
    with pytest.raises(OutputError) as failure:
        with output.building() as partial:
            with Project.open(partial, create=True) as project:
                pages = project.connection.execute("PRAGMA page_count").fetchone()[0]
                project.connection.execute(f"PRAGMA max_page_count = {pages}")  # as a full disk does
                project.set_guidelines("x" * 200_000)
    message = str(failure.value)
    assert message.startswith(f"{target}: cannot write the project file: the disk is full")
    assert message.endswith("the earlier project file there is unchanged") and ".partial" not in message
    assert target.read_bytes() == originals[0] and [p.name for p in tmp_path.iterdir()] == ["old.stance"]


def test_split_of_a_project_it_cannot_write_makes_no_file_and_leaves_no_folder(originals, tmp_path, capsys):
    """The assignment is recorded in the project first: a read-only project is refused before any share is
    written (it once wrote them all, then said nothing was saved)."""
    from stancelabel.core.errors import StanceLabelError
    from stancelabel.team.split import split

    path = tmp_path / "lead.stance"
    path.write_bytes(originals[0])
    with Project.open(path, readonly=True) as project:
        with pytest.raises(StanceLabelError, match="read-only"):
            split(project, ["ann", "bob"], 0.5, 1, tmp_path / "shares")
    assert not (tmp_path / "shares").exists() and path.read_bytes() == originals[0]
    with Project.open(path) as project:  # and once it can be written, the same split is done
        report = split(project, ["ann", "bob"], 0.5, 1, tmp_path / "shares")
        assert json.loads(project.get_setting("split"))["files"] == {n: Path(f).name for n, f in report.files.items()}


def test_only_a_command_that_has_force_suggests_it(originals, tmp_path, capsys):
    (tmp_path / "lead.stance").write_bytes(originals[0])
    (tmp_path / "in.stance").write_bytes(originals[1])
    assert _run(["split", tmp_path / "lead.stance", "--annotators", "a,b", "-o", tmp_path / "s"], capsys)[0] == 0
    code, err = _run(["split", tmp_path / "lead.stance", "--annotators", "a,b", "-o", tmp_path / "s"], capsys)
    assert code == 1 and "already exists" in err and "--force" not in err
    code, err = _run(["merge", "-o", tmp_path / "in.stance", tmp_path / "lead.stance"], capsys)
    assert code == 1 and "or --force to replace it" in err
