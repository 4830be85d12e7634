"""Export: the JSONL contract, CSV safety, filters, atomic writes, and labels brought back in losslessly."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_import, write
from PySide6.QtCore import Qt

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import QueueFilter
from stancelabel.io.export import ExportOptions, export, iter_records
from stancelabel.store.project import Project

TEXTS = {
    "water": "Harbour council denies lead claim\nThe council denied that the water contains lead. "
             "Mayor Priya Nair said the pipes were replaced in 2019.\n",
    "bridge": "Engineers warned that the bridge may need repairs. Zoë Ångström insisted the bridge is safe.\n",
}
NOTES = ("check 🚧 the source", "שלום: a note in Hebrew", "combining: e\u0301 a\u0308", "=cmd|' /C calc'!A0")
CONTRACT = ["doc_id", "doc_sha256", "sentence", "source", "cue", "content", "source_text", "cue_text",
            "content_text", "source_hint", "suggestion", "target", "label", "annotator", "note", "flagged", "origin",
            "status", "key", "created_at", "updated_at", "text", "spans", "answer", "meta", "_input_hash",
            "_task_hash", "_annotator_id", "_timestamp"]


def texts(folder: Path) -> list[Path]:
    return [write(folder / f"{name}.txt", text) for name, text in TEXTS.items()]


@pytest.fixture
def labelled(make_project, blank_nlp, tmp_path):
    """A project of the two texts, detected with the blank pipeline, labelled by two annotators."""
    nlp, info = _detecting(blank_nlp)
    project = make_project("labelled.stance")
    from stancelabel.io.importer import ImportOptions, import_paths

    import_paths(project, texts(tmp_path / "texts"), ImportOptions(target="Lead is in the water"), nlp, info)
    ids = list(project.queue_ids("x", QueueFilter()))
    assert len(ids) >= 3
    project.set_label(ids[0], "ann", "denies")
    project.set_note(ids[0], "ann", NOTES[0])
    project.set_label(ids[0], "bob", "qualifies")
    project.set_note(ids[0], "bob", NOTES[1])
    project.set_flag(ids[0], "bob", True)
    project.set_label(ids[1], "ann", "asserts")
    project.set_note(ids[1], "ann", NOTES[2])
    project.set_label(ids[2], "bob", "asserts")
    project.set_note(ids[2], "bob", NOTES[3])
    return project, ids


def _detecting(blank_nlp):
    from stancelabel.nlp.pipeline import load_pipeline

    return load_pipeline("blank:en", detect=True)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_records_follow_the_contract(labelled, tmp_path):
    project, ids = labelled
    report = export(project, tmp_path / "out.jsonl", ExportOptions())
    records = read_jsonl(tmp_path / "out.jsonl")
    assert report.records == len(records) == 4 and report.documents >= 1
    for record in records:
        assert list(record) == CONTRACT
        document = project.document(project.document_id_by_sha(record["doc_sha256"]))
        for role in ("source", "cue", "content"):
            assert record[f"{role}_text"] == " … ".join(document.text[s:e] for s, e in record[role])
        for span in record["spans"]:  # Prodigy's spans are relative to "text"
            assert record["text"][span["start"]:span["end"]] == span["text"]
        start = record["meta"]["text_start"]
        assert document.text[start:start + len(record["text"])] == record["text"]
        sentence = record["sentence"]
        assert document.text[sentence["start"]:sentence["end"]] == sentence["text"]
        assert record["answer"] == "accept" and record["_annotator_id"] == record["annotator"]
        assert record["target"] == "Lead is in the water"
        assert record["created_at"].endswith("Z") and isinstance(record["_timestamp"], int)
    bob = next(r for r in records if r["annotator"] == "bob" and r["key"] == records[0]["key"])
    assert (bob["label"], bob["note"], bob["flagged"]) == ("qualifies", NOTES[1], True)


def test_filters_annotator_label_flagged_and_all(labelled, tmp_path):
    project, ids = labelled

    def run(**options) -> list[dict]:
        export(project, tmp_path / "f.jsonl", ExportOptions(**options))
        return read_jsonl(tmp_path / "f.jsonl")

    assert {r["annotator"] for r in run(annotators=["ann"])} == {"ann"}
    assert [r["label"] for r in run(labels=["qualifies"])] == ["qualifies"]
    assert [(r["annotator"], r["flagged"]) for r in run(flagged=True)] == [("bob", True)]
    everything = run(all=True)
    unlabelled = [r for r in everything if r["label"] is None]
    assert len(everything) == 4 + len(ids) - 3 and all(r["annotator"] is None for r in unlabelled)
    assert all(r["answer"] == "ignore" for r in unlabelled)
    project.set_status(ids[-1], "ann", "rejected")
    rejected = [r for r in run(all=True) if r["key"] == project.attribution(ids[-1]).key]
    assert [r["answer"] for r in rejected] == ["reject"]
    assert all(r["key"] != project.attribution(ids[-1]).key for r in run())
    with pytest.raises(StanceLabelError, match="unknown label 'nope'"):
        list(iter_records(project, ExportOptions(labels=["nope"])))


def test_round_trip_through_a_fresh_project_gives_the_same_records(labelled, make_project, blank_nlp, tmp_path):
    project, ids = labelled
    project.set_status(ids[-1], "ann", "rejected")  # "not an attribution" travels too (with --all)
    export(project, tmp_path / "everything.jsonl", ExportOptions(all=True))
    export(project, tmp_path / "first.jsonl", ExportOptions())
    fresh = make_project("fresh.stance")
    nlp, info = _detecting(blank_nlp)
    from stancelabel.io.importer import ImportOptions, import_paths

    import_paths(fresh, texts(tmp_path / "again"), ImportOptions(target="Lead is in the water"), nlp, info)
    report = run_import(fresh, [tmp_path / "everything.jsonl"], blank_nlp)
    assert not report.errors and report.labels_added == 4 and report.documents_from_records == 0
    assert fresh.attribution(fresh.attribution_id(project.attribution(ids[-1]).key)).status == "rejected"
    export(fresh, tmp_path / "second.jsonl", ExportOptions())
    first = sorted((tmp_path / "first.jsonl").read_text(encoding="utf-8").splitlines())
    second = sorted((tmp_path / "second.jsonl").read_text(encoding="utf-8").splitlines())
    assert first == second
    again = run_import(fresh, [tmp_path / "first.jsonl"], blank_nlp)  # importing twice changes nothing
    assert again.labels_added == 0
    export(fresh, tmp_path / "third.jsonl", ExportOptions())
    assert sorted((tmp_path / "third.jsonl").read_text(encoding="utf-8").splitlines()) == first


def test_records_of_an_unknown_document_become_documents_of_their_text(labelled, make_project, blank_nlp, tmp_path):
    project, _ = labelled
    export(project, tmp_path / "out.jsonl", ExportOptions(annotators=["ann"]))
    empty = make_project("empty.stance")
    report = run_import(empty, [tmp_path / "out.jsonl"], blank_nlp)
    assert not report.errors and report.documents_from_records >= 1 and report.labels_added == 2
    for record in read_jsonl(tmp_path / "out.jsonl"):
        document_id = empty.document_id_by_sha(__import__("hashlib").sha256(record["text"].encode()).hexdigest())
        document = empty.document(document_id)
        assert document.text == record["text"]
        (attribution,) = [a for a in empty.attributions(document_id)
                          if document.text[slice(*a.cue[0])] == record["cue_text"]]
        assert empty.annotation(attribution.id, "ann").label == record["label"]


def test_plain_labelled_jsonl_labels_whole_texts(make_project, blank_nlp, tmp_path):
    path = write(tmp_path / "doccano.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"text": "The minister denied everything.", "label": "denies", "annotator": "carla"},
        {"text": "Sources say it may happen.", "label": ["qualifies"]},
        {"text": "Skipped in Prodigy.", "label": "asserts", "answer": "ignore"},
    ]))
    project = make_project()
    report = run_import(project, [path], blank_nlp, annotator="dan")
    assert not report.errors and report.labels_added == 2
    labels = sorted((a.annotator, a.label) for a in project.annotations())
    assert labels == [("carla", "denies"), ("dan", "qualifies")]
    first = project.attributions(project.document_ids()[0])
    assert [(a.source, a.cue, a.content) for a in first] == [((), (), ((0, 31),))]
    bad = write(tmp_path / "bad.jsonl", json.dumps({"text": "x said y", "label": "sarcastic"}) + "\n")
    report = run_import(project, [bad], blank_nlp)
    assert report.errors == [f"{bad}:1: unknown label 'sarcastic' (this project's labels: asserts, denies, "
                             "qualifies)"]


def test_csv_is_spreadsheet_safe_unless_raw(labelled, tmp_path):
    project, _ = labelled
    export(project, tmp_path / "safe.csv", ExportOptions(format="csv"))
    export(project, tmp_path / "raw.csv", ExportOptions(format="csv", raw=True, bom=True))
    safe = list(csv.DictReader((tmp_path / "safe.csv").open(encoding="utf-8", newline="")))
    raw = list(csv.DictReader((tmp_path / "raw.csv").open(encoding="utf-8-sig", newline="")))
    assert [r["note"] for r in safe if r["note"].startswith("'=")] == ["'" + NOTES[3]]
    assert NOTES[3] in [r["note"] for r in raw]
    assert (tmp_path / "raw.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert all(r["source"].count("-") >= 1 for r in safe if r["source"])
    assert {r["note"] for r in raw} >= set(NOTES[:3])


def test_an_export_that_fails_leaves_the_earlier_file_untouched(labelled, tmp_path, monkeypatch):
    project, _ = labelled
    target = tmp_path / "out.jsonl"
    target.write_text("the previous export\n")
    from stancelabel.io import export as export_module

    def broken(records, out, report):
        out.write(b"half a record")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module, "_write_jsonl", broken)
    with pytest.raises(StanceLabelError, match="the disk is full.*earlier file there is unchanged"):
        export(project, target, ExportOptions())
    assert target.read_text() == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_a_killed_export_leaves_the_earlier_file_untouched(labelled, tmp_path):
    """SIGKILL in the middle of writing: the old file stays whole, no temporary file is renamed in."""
    project, _ = labelled
    target = tmp_path / "out.jsonl"
    target.write_text("the previous export\n")
    script = (
        "import os, signal, sys\n"
        "from stancelabel.io import export as e\n"
        "from stancelabel.store.project import Project\n"
        "original = e._write_jsonl\n"
        "def dying(records, out, report):\n"
        "    out.write(b'partial')\n"
        "    out.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "e._write_jsonl = dying\n"
        f"e.export(Project.open({str(project.path)!r}, readonly=True), {str(target)!r}, e.ExportOptions())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == -9
    assert target.read_text() == "the previous export\n"


def test_cli_export_and_its_errors(labelled, tmp_path):
    project, _ = labelled
    path = str(project.path)
    project.close()
    ok = subprocess.run([sys.executable, "-m", "stancelabel", "export", path, "-o", str(tmp_path / "x.csv"),
                         "--annotator", "bob"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "2 record(s)" in ok.stdout and (tmp_path / "x.csv").exists()
    unknown = subprocess.run([sys.executable, "-m", "stancelabel", "export", path, "-o", str(tmp_path / "x.bin")],
                             capture_output=True, text=True)
    assert unknown.returncode == 1 and "give --format" in unknown.stderr
    folder = subprocess.run([sys.executable, "-m", "stancelabel", "export", path, "-o", str(tmp_path),
                             "--format", "jsonl"], capture_output=True, text=True)
    assert folder.returncode == 1 and "is a folder" in folder.stderr


def test_spacy_docbin_has_cats_and_spans_and_trains_a_textcat(labelled, tmp_path):
    import spacy
    from spacy.tokens import DocBin

    project, _ = labelled
    export(project, tmp_path / "train.spacy", ExportOptions(format="spacy"))
    records = list(iter_records(project, ExportOptions()))
    docs = list(DocBin().from_disk(tmp_path / "train.spacy").get_docs(spacy.blank("en").vocab))
    assert len(docs) == len(records) == 4
    for doc, record in zip(docs, records):
        assert doc.text == record["text"]
        assert doc.cats == {name: float(name == record["label"]) for name in ("asserts", "denies", "qualifies")}
        assert {(span.label_, span.text) for span in doc.spans["attribution"]} >= {
            ("CUE", record["cue_text"])}
        assert doc.user_data["target"] == "Lead is in the water" and doc.user_data["key"] == record["key"]
    export(project, tmp_path / "docs.spacy", ExportOptions(format="spacy", per_doc=True))
    per_doc = list(DocBin().from_disk(tmp_path / "docs.spacy").get_docs(spacy.blank("en").vocab))
    assert len(per_doc) == len({r["doc_sha256"] for r in records})
    assert sum(len(doc.spans["stance"]) for doc in per_doc) == 4
    config = tmp_path / "textcat.cfg"
    made = subprocess.run([sys.executable, "-m", "spacy", "init", "config", "-l", "en", "-p", "textcat",
                           "-o", "efficiency", str(config)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    trained = subprocess.run([sys.executable, "-m", "spacy", "train", str(config), "--paths.train",
                              str(tmp_path / "train.spacy"), "--paths.dev", str(tmp_path / "train.spacy"),
                              "--training.max_steps", "1", "--training.eval_frequency", "1",
                              "-o", str(tmp_path / "model")], capture_output=True, text=True)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert (tmp_path / "model" / "model-last" / "textcat").is_dir()


def test_brat_export_reads_back_to_the_same_attributions_and_labels(labelled, make_project, blank_nlp, tmp_path):
    project, _ = labelled
    report = export(project, tmp_path / "brat", ExportOptions(format="brat", all=True))
    assert report.records >= 4
    names = sorted(p.name for p in (tmp_path / "brat").iterdir())
    assert "annotation.conf" in names and "bridge.txt" in names and "water_ann.ann" in names
    conf = (tmp_path / "brat" / "annotation.conf").read_text()
    assert "Value:asserts|denies|qualifies" in conf
    back = make_project("back.stance")
    imported = run_import(back, [tmp_path / "brat"], blank_nlp)
    assert not imported.errors

    def labels(p: Project) -> set:
        out = set()
        for annotation in p.annotations():
            attribution = p.attribution(annotation.attribution_id)
            document = p.document(attribution.document_id)
            spans = tuple(tuple(document.text[s:e] for s, e in getattr(attribution, role))
                          for role in ("source", "cue", "content"))
            out.add((document.sha256, spans, annotation.annotator, annotation.label, " ".join(annotation.note.split()),
                     annotation.flagged, annotation.target))
        return out

    assert labels(back) == labels(project)
    keys = {a.key for d in project.document_ids() for a in project.attributions(d)}
    assert {a.key for d in back.document_ids() for a in back.attributions(d)} == keys
    again = export(project, tmp_path / "brat", ExportOptions(format="brat"))  # replaces the earlier export
    assert again.records == 4 and not (tmp_path / "brat" / "water.ann").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("not ours")
    with pytest.raises(StanceLabelError, match="holds 'thesis.docx', which this export does not write"):
        export(project, tmp_path / "mine", ExportOptions(format="brat"))
    assert (tmp_path / "mine" / "thesis.docx").read_text() == "not ours"


def test_export_from_the_window_with_filters_progress_and_cancel(qtbot, labelled, make_window, tmp_path):
    project, _ = labelled
    window = make_window(project)
    dialog = window.files.export_labels()
    qtbot.addWidget(dialog)
    dialog.ui.format_combo.setCurrentIndex(dialog.ui.format_combo.findData("csv"))
    assert dialog.ui.path_edit.text().endswith("labelled-labels.csv")
    dialog.ui.path_edit.setText(str(tmp_path / "from-window.csv"))
    for i in range(dialog.ui.annotators_list.count()):
        item = dialog.ui.annotators_list.item(i)
        item.setCheckState(Qt.CheckState.Checked if item.text() == "bob" else Qt.CheckState.Unchecked)
    dialog.ui.button_box.button(dialog.ui.button_box.StandardButton.Save).click()
    qtbot.waitUntil(lambda: window.files.export_job is not None and not window.files.export_job.running, timeout=10_000)
    rows = list(csv.DictReader((tmp_path / "from-window.csv").open(encoding="utf-8", newline="")))
    assert {r["annotator"] for r in rows} == {"bob"} and len(rows) == 2
    assert "2 record(s)" in window.statusBar().currentMessage()
    (tmp_path / "kept.jsonl").write_text("earlier\n")
    job = window.files.start_export(tmp_path / "kept.jsonl", ExportOptions())
    job.cancel()
    qtbot.waitUntil(lambda: not job.running, timeout=10_000)
    report, error = job.result
    assert not error
    if report.interrupted:  # cancelled before the end: the earlier file is as it was
        assert (tmp_path / "kept.jsonl").read_text() == "earlier\n"
    else:
        assert len(read_jsonl(tmp_path / "kept.jsonl")) == 4


def test_the_export_dialog_refuses_an_empty_choice(qtbot, labelled, make_window):
    project, _ = labelled
    window = make_window(project)
    dialog = window.files.export_labels()
    qtbot.addWidget(dialog)
    for i in range(dialog.ui.labels_list.count()):
        dialog.ui.labels_list.item(i).setCheckState(Qt.CheckState.Unchecked)
    dialog.ui.button_box.button(dialog.ui.button_box.StandardButton.Save).click()
    assert dialog.isVisible() and "at least one label" in dialog.ui.error_label.text()
    dialog.reject()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "spacy", "brat"])
def test_a_cancelled_export_leaves_the_earlier_output(labelled, tmp_path, fmt):
    project, _ = labelled
    target = tmp_path / ("out" if fmt == "brat" else f"out.{fmt}")
    export(project, target, ExportOptions(format=fmt, annotators=["ann"]))
    before = sorted(p.read_bytes() for p in target.iterdir()) if fmt == "brat" else target.read_bytes()
    calls = []
    report = export(project, target, ExportOptions(format=fmt), should_stop=lambda: bool(calls.append(1)) or
                    len(calls) > 2)
    assert report.interrupted and report.records == 0
    after = sorted(p.read_bytes() for p in target.iterdir()) if fmt == "brat" else target.read_bytes()
    assert after == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_brat_keeps_label_names_with_spaces_and_notes_on_several_lines(make_project, blank_nlp, tmp_path):
    from helpers import fill_annotation_project

    from stancelabel.core.model import Label

    project = make_project("spaces.stance")
    ids = fill_annotation_project(project)
    project.save_labels([*project.labels(), Label("strongly asserts", "Z", "#1b5e20", "Very sure.")])
    note = "first line\nsecond\tline with a \\ backslash and 100% sure"
    project.set_label(ids[0], "ann", "strongly asserts")
    project.set_note(ids[0], "ann", note)
    export(project, tmp_path / "brat", ExportOptions(format="brat"))
    back = make_project("back.stance")
    back.save_labels([*back.labels(), Label("strongly asserts", "Z", "#1b5e20", "Very sure.")])
    report = run_import(back, [tmp_path / "brat"], blank_nlp)
    assert not report.errors and not report.warnings
    (annotation,) = back.annotations()
    assert (annotation.label, annotation.note) == ("strongly asserts", note)


def test_brat_names_that_join_ambiguously_get_files_of_their_own_and_come_back_exact(make_project, blank_nlp,
                                                                                      tmp_path):
    """story + annotator x_y and story_x + annotator y both make story_x_y.ann by the plain rule; and "Ann" and
    "ann" are one file name on macOS and Windows."""
    from stancelabel.core.model import SourceDocument

    project = make_project("amb.stance")
    for doc_id, annotators in (("story", ["x_y", "Ann", "ann"]), ("story_x", ["y"]), ("Story", ["a b"])):
        text = f"{doc_id}: Officials said the plan works."
        document_id, _ = project.add_document(SourceDocument(doc_id, text, "f"), [(0, len(text))])
        start = len(doc_id) + 2
        attribution = project.add_attribution(document_id, "lead", source=[(start, start + 9)],
                                              cue=[(start + 10, start + 14)], content=[(start + 15, len(text) - 1)])
        for annotator in annotators:
            project.set_label(attribution, annotator, "asserts")
    report = export(project, tmp_path / "brat", ExportOptions(format="brat"))
    files = [p.name for p in (tmp_path / "brat").iterdir()]
    assert report.records == 5 and len([f for f in files if f.endswith(".ann")]) == 5
    assert len({f.casefold() for f in files}) == len(files)  # distinct even where case does not count
    assert report.renamed  # and the changed names were said
    back = make_project("back.stance")
    run_import(back, [tmp_path / "brat"], blank_nlp)
    labels = sorted((back.document(back.attributions(d)[0].document_id).external_id, a.annotator)
                    for d in back.document_ids() for a in back.annotations(back.attributions(d)[0].id))
    assert labels == [("Story", "a b"), ("story", "Ann"), ("story", "ann"), ("story", "x_y"), ("story_x", "y")]


def test_brat_export_into_a_folder_with_a_subfolder_refuses_and_removes_nothing(labelled, tmp_path):
    project, _ = labelled
    target = tmp_path / "brat"
    (target / "notes.txt").mkdir(parents=True)
    (target / "notes.txt" / "mine.md").write_text("a user's own file")
    (target / "old_ann.ann").write_text("")
    with pytest.raises(StanceLabelError, match="holds 'notes.txt' \\(a folder\\)"):
        export(project, target, ExportOptions(format="brat"))
    assert (target / "notes.txt" / "mine.md").read_text() == "a user's own file"
    assert (target / "old_ann.ann").exists()


def test_brat_folder_is_swapped_in_whole_and_keeps_the_umask(labelled, tmp_path):
    import os
    import stat

    project, _ = labelled
    old = os.umask(0o027)
    try:
        export(project, tmp_path / "brat", ExportOptions(format="brat"))
        first = sorted(p.name for p in (tmp_path / "brat").iterdir())
        export(project, tmp_path / "brat", ExportOptions(format="brat", annotators=["ann"]))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "brat").stat().st_mode) == 0o750
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o640 for p in (tmp_path / "brat").iterdir())
    second = sorted(p.name for p in (tmp_path / "brat").iterdir())
    assert second != first and not any("bob" in name for name in second)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging or old folder left
