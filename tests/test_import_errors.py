"""Importing bad input: each bad file gives one clear error naming it, is skipped whole, and harms nothing else."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import run_import, write

from stancelabel.io.importer import ImportReport
from stancelabel.store.project import Project

BOM = b"\xef\xbb\xbf"
GOOD_TEXT = "A good file was imported too. It sits beside the bad one.\n"
KEPT_TEXT = "This document was in the project before. Nothing may change it.\n"
BRAT_TEXT = "Anna said it rained. Bob agreed.\n"
GOOD_JSONL = '{"id": "j1", "text": "A good first line."}\n\n'  # the bad line comes third
BRAT_GOOD_LINES = "T1\tSource 0 4\tAnna\nT2\tCue 5 9\tsaid\n"  # the bad line comes third

# -- helpers -------------------------------------------------------------------------------


def snapshot(project: Project) -> list[tuple]:
    """Every document with its sentences and attributions, for before/after comparisons."""
    return [
        (project.document(s.id), project.sentences(s.id), project.attributions(s.id))
        for s in project.document_summaries()
    ]


def texts(project: Project) -> list[str]:
    return [project.document(s.id).text for s in project.document_summaries()]


def seeded_project(make_project, blank_nlp, tmp_path: Path) -> Project:
    """A project that already holds one document."""
    project = make_project()
    report = run_import(project, [write(tmp_path / "before" / "kept.txt", KEPT_TEXT)], blank_nlp)
    assert report.errors == [] and report.documents_added == 1
    return project


def assert_one_error(report: ImportReport, path: Path, line: int | None, fragment: str | None = None) -> str:
    """Exactly one error: one line, starting with 'PATH:LINE: ' (or 'PATH: ' when no line applies)."""
    assert len(report.errors) == 1, report.errors
    message = report.errors[0]
    prefix = f"{path}:{line}: " if line is not None else f"{path}: "
    assert message.startswith(prefix), f"{message!r} does not start with {prefix!r}"
    reason = message[len(prefix):]
    assert reason.strip() and not re.match(r"\d+: ", reason), message  # no line number where none was asked
    assert "\n" not in message and "\r" not in message
    assert "Traceback" not in message and len(message) < len(str(path)) + 300
    if fragment:
        assert fragment.lower() in message.lower(), message
    return message


@dataclass(frozen=True)
class BadFile:
    """One bad input: a file name under the 'bad' folder, its content, the line the error must name."""

    name: str
    content: str | bytes | None  # None: the path does not exist
    line: int | None
    fragment: str | None = None

    def build(self, root: Path) -> tuple[Path, Path]:
        """Write the input; returns (the path the error must name, the path to import)."""
        folder = root / "bad"
        path = folder / self.name
        if self.content is None:
            return path, path
        write(path, self.content)
        if path.suffix == ".ann":  # a BRAT pair: the text beside its bad annotation file
            write(folder / "story.txt", BRAT_TEXT)
            return path, folder
        return path, path


def case(case_id: str, name: str, content: str | bytes | None, line: int | None, fragment: str | None = None):
    return pytest.param(BadFile(name, content, line, fragment), id=case_id)


BAD_FILES = [
    # plain text
    case("txt-binary", "image.txt", b"Some text.\n\x89PNG\x00\x00\x01 binary", 2, "binary"),
    case("txt-not-utf8", "latin.txt", b"ok\n\xff\xfe bad", 2, "UTF-8"),
    case("txt-not-utf8-after-bom", "bom-latin.txt", BOM + b"ok\n\xff bad", 2, "0xff"),
    case("txt-empty", "empty.txt", b"", None, "empty"),
    case("txt-only-whitespace", "blank.txt", b"  \r\n\n\t \n", None, "empty"),
    case("txt-utf16", "wide.txt", "Some text saved as UTF-16.\n".encode("utf-16"), 1, "UTF-16"),
    case("txt-too-long", "huge.txt", "word " * 250_000, None, "too long"),
    # JSON Lines (the first line is good, the second blank)
    case("jsonl-malformed", "feed.jsonl", GOOD_JSONL + '{"text": "unfinished",\n', 3, "JSON"),
    case("jsonl-not-utf8", "feed.jsonl", GOOD_JSONL.encode() + b'{"text": "caf\xe9"}\n', 3, "UTF-8"),
    case("jsonl-not-object", "feed.jsonl", GOOD_JSONL + '["text", "in a list"]\n', 3, "object"),
    case("jsonl-no-text", "feed.jsonl", GOOD_JSONL + '{"id": "q", "body": "Not called text."}\n', 3, "text"),
    case("jsonl-text-not-string", "feed.jsonl", GOOD_JSONL + '{"text": 42}\n', 3, "string"),
    case("jsonl-empty-text", "feed.jsonl", GOOD_JSONL + '{"text": "  "}\n', 3, "empty"),
    case("jsonl-meta-not-object", "feed.jsonl", GOOD_JSONL + '{"text": "Fine text.", "meta": ["a"]}\n', 3, "meta"),
    case("jsonl-id-not-scalar", "feed.jsonl", GOOD_JSONL + '{"text": "Fine text.", "id": 1.5}\n', 3, "id"),
    case("jsonl-nan", "feed.jsonl", GOOD_JSONL + '{"text": "Fine text.", "meta": {"score": NaN}}\n', 3, "NaN"),
    case("jsonl-duplicate-key", "feed.jsonl", GOOD_JSONL + '{"text": "One.", "text": "Two."}\n', 3, "duplicate"),
    case("jsonl-lone-surrogate", "feed.jsonl", GOOD_JSONL + '{"text": "Bad \\ud800 here."}\n', 3, "surrogate"),
    case("jsonl-deeply-nested", "feed.jsonl", GOOD_JSONL + "[" * 100_000 + "\n", 3, "nested"),
    case("jsonl-only-blank-lines", "feed.jsonl", "\n  \n\n", None, "no documents"),
    # CSV
    case("csv-no-text-column", "table.csv", "id,body,outlet\n1,Some body text.,Daily\n", 1, "id, body, outlet"),
    case("csv-wrong-field-count", "table.csv",
         'id,text\n1,"Line one.\nLine two."\n2,"Another\n\nmulti-line cell."\n3,A good row.,extra\n', 7, "fields"),
    case("csv-wrong-field-count-multiline-row", "table.csv",
         'id,text\n1,A good row.\n2,"Line one.\nLine two.",extra\n3,Another good row.\n', 3, "fields"),
    case("csv-empty-text-cell", "table.csv", 'id,text\n1,A good row.\n2,"  "\n', 3, "empty"),
    case("csv-unterminated-quote", "table.csv", 'id,text\n1,"hello world\n2,more\n', 2, "malformed"),
    case("csv-stray-quote", "table.csv", 'id,text\n1,"He said "no" twice"\n', 2, "malformed"),
    case("csv-header-only", "table.csv", "id,text\n", None, "no documents"),
    case("csv-repeated-column", "table.csv", "text,text\nOne.,Two.\n", 1, "more than once"),
    # BRAT (story.txt beside the .ann; the first two lines are good)
    case("brat-offsets-outside-text", "story_x.ann", BRAT_GOOD_LINES + "T3\tContent 10 500\tit rained\n", 3,
         "outside"),
    case("brat-end-before-start", "story_x.ann", BRAT_GOOD_LINES + "T3\tContent 19 10\tit rained\n", 3, "before"),
    case("brat-bad-offsets", "story_x.ann", BRAT_GOOD_LINES + "T3\tContent a b\tit rained\n", 3),
    case("brat-text-mismatch", "story_x.ann", BRAT_GOOD_LINES + "T3\tContent 10 19\tit snowed\n", 3,
         "does not match"),
    case("brat-event-undefined-argument", "story_x.ann",
         BRAT_GOOD_LINES + "T3\tContent 10 19\tit rained\nE1\tAttribution:T2 Cue:T2 Content:T9\n", 4, "T9"),
    case("brat-event-undefined-trigger", "story_x.ann",
         BRAT_GOOD_LINES + "E1\tAttribution:T9 Source:T1 Cue:T2\n", 3, "T9"),
    case("brat-malformed-t-line", "story_x.ann", BRAT_GOOD_LINES + "T3\tContent\tit rained\n", 3),
    case("brat-malformed-t-line-without-tabs", "story_x.ann", BRAT_GOOD_LINES + "T3 Content 10 19 it rained\n", 3),
    # paths
    case("path-missing", "nowhere.txt", None, None, "no such"),
    case("unknown-extension", "notes.docx", "Looks like text, but the type is unknown.\n", None, ".docx"),
]


# -- every bad file: one error, skipped whole, nothing else harmed --------------------------


@pytest.mark.parametrize("bad", BAD_FILES)
def test_bad_file_alone_changes_nothing(make_project, blank_nlp, tmp_path, bad):
    project = seeded_project(make_project, blank_nlp, tmp_path)
    stats, documents = project.stats(), snapshot(project)
    named, target = bad.build(tmp_path)

    report = run_import(project, [target], blank_nlp)

    assert_one_error(report, named, bad.line, bad.fragment)
    assert (report.documents_added, report.attributions_added) == (0, 0)
    assert project.stats() == stats
    assert snapshot(project) == documents


@pytest.mark.parametrize("bad", BAD_FILES)
def test_bad_file_is_skipped_and_the_good_file_beside_it_imported(make_project, blank_nlp, tmp_path, bad):
    project = seeded_project(make_project, blank_nlp, tmp_path)
    documents = snapshot(project)
    named, target = bad.build(tmp_path)
    good = write(tmp_path / "good" / "fine.txt", GOOD_TEXT)

    report = run_import(project, [target, good], blank_nlp)

    assert_one_error(report, named, bad.line, bad.fragment)
    assert report.documents_added == 1
    assert texts(project) == [KEPT_TEXT, GOOD_TEXT]  # nothing at all from the bad file
    assert snapshot(project)[0] == documents[0]


# -- BRAT: a bad annotation file spoils only its own text ------------------------------------


def brat_story(folder: Path, name: str, text: str, ann_body: str) -> Path:
    write(folder / f"{name}.txt", text)
    return write(folder / f"{name}_x.ann", ann_body)


def test_brat_bad_pair_does_not_stop_the_other_texts_of_the_folder(make_project, blank_nlp, tmp_path):
    project = seeded_project(make_project, blank_nlp, tmp_path)
    folder = tmp_path / "brat"
    bad = brat_story(folder, "a-first", BRAT_TEXT, BRAT_GOOD_LINES + "T3\tContent 10 500\tit rained\n")
    brat_story(folder, "b-second", "Carl said no. Dora left.\n",
               "T1\tSource 0 4\tCarl\nT2\tCue 5 9\tsaid\nE1\tAttribution:T2 Source:T1 Cue:T2\n")
    brat_story(folder, "c-third", "Eve wrote back.\n", "")

    report = run_import(project, [folder], blank_nlp)

    assert_one_error(report, bad, 3, "outside")
    assert texts(project) == [KEPT_TEXT, "Carl said no. Dora left.\n", "Eve wrote back.\n"]
    assert report.attributions_added == 1


def test_brat_one_bad_annotator_file_keeps_the_other_annotators(make_project, blank_nlp, tmp_path):
    """All-or-nothing per .ann file: a bad one adds nothing, its text and the good files stay."""
    project = make_project()
    folder = tmp_path / "brat"
    brat_story(folder, "story", BRAT_TEXT, BRAT_GOOD_LINES + "E1\tAttribution:T2 Source:T1 Cue:T2\n")
    bad = write(folder / "story_zed.ann", BRAT_GOOD_LINES + "T3\tContent 10 500\tit rained\n")

    report = run_import(project, [folder], blank_nlp)

    assert_one_error(report, bad, 3, "outside")
    assert texts(project) == [BRAT_TEXT]
    assert report.attributions_added == 1
    (attribution,) = project.attributions(project.document_summaries()[0].id)
    assert "zed" not in project.attribution_authors(attribution.id)


def test_brat_error_line_counts_spilled_span_text(make_project, blank_nlp, tmp_path):
    """A span whose text holds a line break takes two .ann lines; later errors still name the right line."""
    project = make_project()
    text = "Anna said it\nrained. Bob agreed.\n"
    bad = brat_story(tmp_path / "brat", "story", text,
                     "T1\tContent 10 20\tit\nrained.\nT2\tCue 5 9\tsaid\nT3\tSource 0 4\tBob\n")

    report = run_import(project, [tmp_path / "brat"], blank_nlp)

    assert_one_error(report, bad, 4, "does not match")
    assert project.document_count() == 0


# -- the command line ----------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from stancelabel.cli.main import main

    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_bad_file_among_good_ones_exits_1_and_imports_the_good_ones(tmp_path, capsys):
    project_path = tmp_path / "cli.stance"
    good = [write(tmp_path / "one.txt", "The first good text.\n"),
            write(tmp_path / "two.jsonl", '{"id": "two", "text": "The second good text."}\n')]
    bad = write(tmp_path / "bad.txt", b"ok\n\xff\xfe bad")
    missing = tmp_path / "missing.txt"

    code, out, err = run_cli(capsys, "import", str(project_path), str(good[0]), str(bad), str(missing),
                             str(good[1]), "--model", "blank:en")

    assert code == 1
    assert "2 document(s) imported" in out
    lines = err.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), err
    assert "Traceback" not in err
    assert any(line.startswith(f"error: {bad}:2: ") for line in lines)
    assert any(line.startswith(f"error: {missing}: ") for line in lines)
    with Project.open(project_path) as project:
        assert texts(project) == ["The first good text.\n", "The second good text."]


def test_cli_only_bad_input_exits_1_without_traceback(tmp_path, capsys):
    project_path = tmp_path / "cli.stance"
    bad = write(tmp_path / "feed.jsonl", GOOD_JSONL + "{oops}\n")

    code, out, err = run_cli(capsys, "import", str(project_path), str(bad), "--model", "blank:en")

    assert code == 1
    assert out == ""
    assert err.splitlines()[0].startswith(f"error: {bad}:3: ")
    assert err.splitlines()[-1] == "error: nothing to import; the project was not changed"
    assert all(line.startswith("error: ") for line in err.splitlines())
    assert "Traceback" not in err
    assert not project_path.exists()  # nothing to import: no project file is created


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param([], id="no-path"),
        pytest.param(["some.txt", "--format", "docx"], id="unknown-format"),
        pytest.param(["some.txt", "--n-process", "0"], id="zero-processes"),
        pytest.param(["some.txt", "--batch-size", "many"], id="batch-size-not-a-number"),
    ],
)
def test_cli_usage_error_exits_2_and_creates_nothing(tmp_path, capsys, extra):
    from stancelabel.cli.main import main

    project_path = tmp_path / "cli.stance"
    with pytest.raises(SystemExit) as exit_info:
        main(["import", str(project_path), *extra, "--model", "blank:en"])

    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err
    assert not project_path.exists()


def test_brat_zero_width_span_is_dropped_not_fatal(make_project, blank_nlp, tmp_path):
    project = make_project()
    folder = tmp_path / "brat"
    brat_story(folder, "story", BRAT_TEXT, "T1\tCue 10 10\t\nE1\tAttribution:T1 Cue:T1\n")
    write(folder / "other.txt", "Carl said no.\n")
    write(folder / "other_x.ann", "T1\tSource 0 4\tCarl\nT2\tCue 5 9\tsaid\nE1\tAttribution:T2 Source:T1 Cue:T2\n")
    report = run_import(project, [folder], blank_nlp)
    assert report.errors == []
    assert any("neither a cue nor a content" in w for w in report.warnings)
    assert project.document_count() == 2 and report.attributions_added == 1


def test_brat_text_that_is_empty_is_refused(make_project, blank_nlp, tmp_path):
    project = make_project()
    folder = tmp_path / "brat"
    write(folder / "void.txt", "")
    write(folder / "void_x.ann", "")
    report = run_import(project, [folder], blank_nlp)
    assert_one_error(report, folder / "void.txt", None, "empty text")
    assert project.document_count() == 0


def test_brat_file_name_with_blank_annotator_uses_the_default(make_project, blank_nlp, tmp_path):
    project = make_project()
    folder = tmp_path / "brat"
    write(folder / "story.txt", BRAT_TEXT)
    write(folder / "story_ .ann", BRAT_GOOD_LINES + "E1\tAttribution:T2 Source:T1 Cue:T2\n")
    report = run_import(project, [folder], blank_nlp, annotator="lead")
    assert report.errors == []
    assert project.annotators() == ["lead"]


def test_text_and_annotation_folders_named_side_by_side_without_format(make_project, blank_nlp, tmp_path):
    project = make_project()
    write(tmp_path / "text" / "story.txt", BRAT_TEXT)
    write(tmp_path / "attributions" / "story_ann1.ann", BRAT_GOOD_LINES + "E1\tAttribution:T2 Source:T1 Cue:T2\n")
    report = run_import(project, [tmp_path / "text", tmp_path / "attributions"], blank_nlp)
    assert report.errors == [] and report.attributions_added == 1
    assert project.annotators() == ["ann1"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_refused_without_hanging(make_project, blank_nlp, tmp_path):
    project = make_project()
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    report = run_import(project, [fifo], blank_nlp)
    assert_one_error(report, fifo, None, "not a regular file")


def test_path_too_long_is_an_error_not_a_traceback(make_project, blank_nlp, tmp_path):
    project = make_project()
    too_long = tmp_path / ("x" * 300 + ".txt")
    report = run_import(project, [too_long], blank_nlp)
    assert len(report.errors) == 1 and str(too_long) in report.errors[0]


@pytest.mark.parametrize(("name", "content", "line"), [
    ("blob.txt", "Officials said so.\nDATA:" + "A" * 6000 + "\n", 2),
    ("blob.jsonl", '{"text": "x"}\n{"text": "data:' + "B" * 6000 + '"}\n', 2),
    ("blob.csv", "id,text\n1,fine\n2,data:" + "C" * 6000 + "\n", 3),
])
def test_a_run_of_thousands_of_characters_without_a_space_is_refused_at_once(name, content, line, make_project,
                                                                             blank_nlp, tmp_path):
    """Data, not text: spaCy's tokenizer takes time quadratic in a token's length (minutes for 300,000)."""
    project = make_project()
    report = run_import(project, [write(tmp_path / name, content)], blank_nlp)
    assert_one_error(report, tmp_path / name, line, "characters without a space")
    assert project.document_count() == 0
