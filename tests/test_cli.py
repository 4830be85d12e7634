"""The command line: help without heavy imports, exit codes, stats, the gui command's display check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stancelabel.cli.main import main
from stancelabel.store.project import Project

ARTICLE = (
    "Officials said the road will reopen on Friday.\n\n"
    "Local traders denied that the closure had hurt business.\n"
)


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stancelabel", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=300)


def test_help_is_answered_without_importing_qt_or_spacy():
    code = (
        "import sys\n"
        "from stancelabel.cli.main import main\n"
        "for argv in (['--help'], ['import', '--help'], ['stats', '--help'], ['gui', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, e.code\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('spacy', 'PySide6', 'thinc', 'torch')]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "stancelabel import" in result.stdout or "PROJECT" in result.stdout


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as error:
        main(["import"])
    assert error.value.code == 2
    with pytest.raises(SystemExit) as error:
        main(["import", "p.stance", "x.txt", "--n-process", "0"])
    assert error.value.code == 2
    assert "must be 1 or more" in capsys.readouterr().err


def test_import_then_stats_json(tmp_path, capsys):
    (tmp_path / "road.txt").write_text(ARTICLE, encoding="utf-8")
    project = tmp_path / "p.stance"
    assert main(["import", str(project), str(tmp_path / "road.txt"), "--model", "blank:en"]) == 0
    out = capsys.readouterr().out
    assert "1 document(s) imported (2 sentences, 2 attributions" in out
    assert main(["stats", str(project), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert {k: stats[k] for k in ("documents", "sentences", "attributions", "labels")} == {
        "documents": 1, "sentences": 2, "attributions": 2, "labels": 0}
    assert stats["by_origin"] == {"auto": 2}
    assert all(isinstance(stats[k], int) for k in ("documents", "sentences", "attributions", "labels"))
    assert stats["by_label"] == {"asserts": 0, "denies": 0, "qualifies": 0}
    assert stats["imports"][0]["pipeline_name"] == "blank:en"
    # the project remembers the pipeline it was made with
    with Project.open(project) as opened:
        assert opened.get_setting("pipeline") == "blank:en"


def test_stats_text_output(tmp_path, capsys):
    (tmp_path / "road.txt").write_text(ARTICLE, encoding="utf-8")
    project = tmp_path / "p.stance"
    main(["import", str(project), str(tmp_path), "--model", "blank:en", "--no-detect"])
    capsys.readouterr()
    assert main(["stats", str(project)]) == 0
    assert "1 documents, 2 sentences, 0 attributions, 0 labels" in capsys.readouterr().out


def test_errors_are_one_line_without_traceback(tmp_path):
    not_a_project = tmp_path / "notes.stance"
    not_a_project.write_text("my shopping list\n" * 10)
    result = run_cli("stats", str(not_a_project))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {not_a_project}: not a StanceLabel project (not an SQLite database)"]
    verbose = run_cli("-v", "stats", str(not_a_project))
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr


def test_unknown_model_is_a_user_error(tmp_path):
    (tmp_path / "road.txt").write_text(ARTICLE, encoding="utf-8")
    result = run_cli("import", str(tmp_path / "p.stance"), str(tmp_path / "road.txt"), "--model", "xx_nothing")
    assert result.returncode == 1
    assert "'xx_nothing' is not installed" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("argv", [["gui"], [], ["some.stance"]], ids=["gui", "no-command", "project-file-only"])
def test_gui_without_display_says_so_in_one_line(tmp_path, argv):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "stancelabel", *argv], capture_output=True, text=True,
                            env=env, timeout=120, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0]


def test_verbose_flag_works_after_the_command(tmp_path):
    not_a_project = tmp_path / "notes.stance"
    not_a_project.write_text("shopping list\n" * 10)
    result = run_cli("stats", str(not_a_project), "-v")
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_fallback_pipeline_is_not_pinned_to_the_project(tmp_path):
    """A project first imported without a trained pipeline uses one as soon as it is installed."""
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "b.txt").write_text("Another article said something else.\n", encoding="utf-8")
    project = tmp_path / "p.stance"
    code = (
        "import sys\n"
        "from stancelabel.nlp import pipeline\n"
        "pipeline.installed_pipelines = lambda: []\n"
        "from stancelabel.cli.main import main\n"
        f"sys.exit(main(['import', {str(project)!r}, {str(tmp_path / 'a.txt')!r}]))\n"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120).returncode == 0
    with Project.open(project) as opened:
        assert opened.get_setting("pipeline") is None


def test_fallback_pipeline_is_announced(tmp_path):
    """With no trained pipeline installed, import says what it runs with instead."""
    (tmp_path / "road.txt").write_text(ARTICLE, encoding="utf-8")
    code = (
        "import sys\n"
        "from stancelabel.nlp import pipeline\n"
        "pipeline.installed_pipelines = lambda: []\n"
        "from stancelabel.cli.main import main\n"
        f"sys.exit(main(['import', {str(tmp_path / 'p.stance')!r}, {str(tmp_path / 'road.txt')!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "warning: no trained English spaCy pipeline is installed" in result.stderr
    assert "with blank:en" in result.stdout


def test_project_pipeline_missing_here_says_how_to_go_on(tmp_path):
    (tmp_path / "road.txt").write_text(ARTICLE, encoding="utf-8")
    project = tmp_path / "p.stance"
    with Project.open(project, create=True) as created:
        created.set_setting("pipeline", "xx_colleagues_pipeline")
    result = run_cli("import", str(project), str(tmp_path / "road.txt"))
    assert result.returncode == 1
    assert "'xx_colleagues_pipeline' is not installed" in result.stderr and "--model" in result.stderr
    assert run_cli("import", str(project), str(tmp_path / "road.txt"), "--model", "blank:en").returncode == 0


def test_gui_with_a_stale_display_says_so_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["DISPLAY"] = ":947"  # no X server there
    result = subprocess.run([sys.executable, "-m", "stancelabel", "gui"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no X server is running on display :947" in lines[0]


# -- paths at the edges: one line naming the path, exit 1, nothing changed -------------------------------

@pytest.fixture
def small_project(tmp_path: Path, make_project) -> Path:
    from helpers import fill_annotation_project

    project = make_project("news.stance")
    for attribution in fill_annotation_project(project):
        project.set_label(attribution, "ann", "asserts")
    project.close()
    return project.path


def _one_line(capsys, path_part: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and path_part in lines[0], err
    return lines[0]


@pytest.mark.parametrize("argv", [
    ["export", "{p}", "-o", "{p}", "--format", "jsonl"],
    ["export", "{p}", "-o", ".", "--format", "brat"],
    ["export", "{p}", "-o", "", "--format", "brat"],
    ["export", "{p}", "-o", "-", "--format", "spacy"],
    ["split", "{p}", "--annotators", "a,b", "-o", "{p}"],
    ["split", "{p}", "--annotators", "a,b", "-o", "no/such/folder"],
    ["split", "{p}", "--annotators", "a,b", "-o", "x" * 300],
    ["merge", "-o", "{p}", "{p}"],
    ["import", "{p}-wal", "{t}"],
])
def test_what_used_to_be_a_traceback_is_one_line_and_changes_nothing(argv, small_project, tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = tmp_path / "story.txt"
    text.write_text(ARTICLE)
    before = small_project.read_bytes()
    listing = sorted(p.name for p in tmp_path.iterdir())
    assert main([a.format(p=small_project, t=text) for a in argv]) == 1
    _one_line(capsys, "")
    assert small_project.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing


def test_export_to_standard_output_pipes_records_and_the_summary_goes_to_stderr(small_project, tmp_path):
    result = subprocess.run(f"{sys.executable} -m stancelabel export {small_project} -o - | head -2",
                            shell=True, capture_output=True, text=True, timeout=300)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 2 and records[0]["annotator"] == "ann"
    assert "Traceback" not in result.stderr
    full = subprocess.run([sys.executable, "-m", "stancelabel", "export", str(small_project), "-o", "-", "--format",
                           "csv"], capture_output=True, timeout=300)
    assert full.returncode == 0 and full.stdout.startswith(b"doc_id,doc_sha256")
    assert full.stdout.count(b"\r\n") == 6 and b"written to standard output" in full.stderr


def test_guidelines_from_an_endless_standard_input_are_refused_without_reading_it_all(small_project):
    with open("/dev/zero", "rb") as endless:
        result = subprocess.run([sys.executable, "-m", "stancelabel", "guidelines", str(small_project), "--set", "-"],
                                stdin=endless, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stderr.startswith("error: <stdin>: guidelines longer than")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["stats"], ["export", "-o", "out.jsonl"], ["agreement"],
                                     ["split", "--annotators", "a,b", "-o", "shares"], ["detect"],
                                     ["adjudicate", "--auto", "majority"], ["guidelines"], ["gui"]])
def test_a_project_path_that_is_a_fifo_is_refused_at_once(command, tmp_path):
    fifo = tmp_path / "project.stance"
    os.mkfifo(fifo)
    argv = [command[0], str(fifo), *command[1:]]
    result = run_cli(*argv, env={"QT_QPA_PLATFORM": "offscreen"}, cwd=tmp_path)  # a hang fails by timeout
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == f"error: {fifo}: is a named pipe (FIFO), not a project file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project.stance"]


def test_importing_into_a_fifo_or_from_one_is_refused(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    result = run_cli("import", str(tmp_path / "new.stance"), str(fifo), "--model", "blank:en")
    assert result.returncode == 1 and f"{fifo}: not a regular file" in result.stderr
    assert not (tmp_path / "new.stance").exists()
    guidelines = run_cli("guidelines", str(tmp_path / "new.stance"), "--set", str(fifo))
    assert guidelines.returncode == 1 and "named pipe" in guidelines.stderr
