"""The store side of labelling: the queue and its filters, undo and redo through the
event log, span edits, manual and rejected attributions, the label schema editor's rules."""

from __future__ import annotations

import json
import sqlite3

import pytest

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import ImportedAttribution, Label, QueueFilter, SourceDocument
from stancelabel.store import schema
from stancelabel.store.project import Project

TEXT_A = "Anna Berg said the bridge is safe.\nThe mayor denied that the bridge was closed."
TEXT_B = "Zoë Ångström cautioned that repairs may take years. Nobody else spoke."


def spans_of(text: str, part: str, start: int = 0) -> tuple[tuple[int, int], ...]:
    at = text.index(part, start)
    return ((at, at + len(part)),)


def attribution(text: str, source: str, cue: str, content: str) -> ImportedAttribution:
    return ImportedAttribution(spans_of(text, source), spans_of(text, cue), spans_of(text, content))


@pytest.fixture
def project(make_project) -> Project:
    return fill(make_project())


def fill(project: Project) -> Project:
    first = TEXT_A.index("\n")
    project.add_document(
        SourceDocument("a", TEXT_A, "a.txt"), [(0, first), (first + 1, len(TEXT_A))],
        attributions=[(attribution(TEXT_A, "Anna Berg", "said", "the bridge is safe"), "auto"),
                      (attribution(TEXT_A, "The mayor", "denied", "the bridge was closed"), "auto")],
    )
    project.add_document(
        SourceDocument("b", TEXT_B, "b.txt"), [(0, TEXT_B.index(" Nobody")), (TEXT_B.index("Nobody"), len(TEXT_B))],
        attributions=[(attribution(TEXT_B, "Zoë Ångström", "cautioned", "repairs may take years"), "auto")],
    )
    return project


def ids(project: Project, annotator: str = "ann", **kwargs) -> list[int]:
    return list(project.queue_ids(annotator, QueueFilter(**kwargs)))


def test_queue_is_in_reading_order_and_filters_per_annotator(project):
    every = ids(project)
    assert len(every) == 3
    items = project.queue_items(every, "ann")
    assert [(i.external_id, i.source_text, i.cue_text) for i in items] == [
        ("a", "Anna Berg", "said"), ("a", "The mayor", "denied"), ("b", "Zoë Ångström", "cautioned")]
    project.set_label(every[0], "ann", "asserts")
    project.set_flag(every[2], "ann", True)
    project.set_label(every[1], "bob", "denies")  # another annotator's labels do not count for ann
    assert ids(project, show="unlabelled") == every[1:]
    assert ids(project, "bob", show="unlabelled") == [every[0], every[2]]
    assert ids(project, show="flagged") == [every[2]]
    assert ids(project, show="label", label="asserts") == [every[0]]
    assert ids(project, show="label", label="denies") == []
    assert ids(project, show="label", label="no such label") == []
    assert ids(project, document_id=project.document_id_by_sha(SourceDocument("b", TEXT_B, "").sha256)) == [every[2]]
    assert project.progress("ann") == (1, 3)
    assert project.progress("nobody yet") == (0, 3)
    assert ids(project, "nobody yet", show="unlabelled") == every


def test_speaker_and_text_search_are_case_insensitive_beyond_ascii(project):
    every = ids(project)
    assert ids(project, speaker="ZOË") == [every[2]]
    assert ids(project, speaker="mayor") == [every[1]]
    assert ids(project, search="BRIDGE") == every[:2]
    assert ids(project, search="years", speaker="anna") == []
    with pytest.raises(StanceLabelError, match="unknown queue filter"):
        ids(project, show="everything")


def test_undo_and_redo_walk_back_and_forth_and_survive_reopening(project, tmp_path):
    first, second, _ = ids(project)
    project.set_label(first, "ann", "asserts")
    project.set_label(first, "ann", "denies")
    project.set_note(second, "ann", "check the source")
    project.set_label(second, "bob", "qualifies")  # bob's changes are not ann's to undo
    change = project.undo("ann")
    assert (change.attribution_id, change.kind, change.value) == (second, "note", "")
    assert project.annotation(second, "ann").note == ""
    assert project.undo("ann").value == "asserts"
    assert project.annotation(first, "ann").label == "asserts"
    path = project.path
    project.close()
    with Project.open(path) as again:
        assert again.undo("ann").value is None
        assert again.annotation(first, "ann").label is None
        assert again.undo("ann") is None  # nothing older
        assert again.redo("ann").value == "asserts"
        assert again.redo("ann").value == "denies"
        again.set_flag(first, "ann", True)  # a new change ends the redo history
        assert again.redo("ann") is None
        assert again.annotation(second, "bob").label == "qualifies"
        assert again.event_count() == 10
        again.rebuild_annotations()
        assert again.annotation(first, "ann").label == "denies"


def test_span_edit_keeps_key_labels_of_others_and_can_be_undone(project):
    first = ids(project)[0]
    before = project.attribution(first)
    project.set_label(first, "bob", "asserts")
    project.set_spans(first, "ann", source=spans_of(TEXT_A, "Anna"))
    after = project.attribution(first)
    assert after.source == spans_of(TEXT_A, "Anna") and after.cue == before.cue
    assert (after.origin, after.key) == ("manual", before.key)
    assert project.annotation(first, "bob").label == "asserts"
    assert project.attribution_authors(first) == ["ann"]
    assert project.undo("ann").kind == "span"
    assert project.attribution(first).source == before.source
    assert project.attribution(first).origin == "auto"
    with pytest.raises(StanceLabelError, match="needs a cue or a content"):
        project.set_spans(first, "ann", cue=(), content=())
    with pytest.raises(StanceLabelError, match="outside the document"):
        project.set_spans(first, "ann", source=((0, len(TEXT_A) + 5),))
    assert project.attribution(first) == project.attribution(first)  # unchanged by the refusals
    assert project.attribution(first).source == before.source


def test_span_edit_moving_the_cue_moves_the_sentence(project):
    first = ids(project)[0]
    project.set_spans(first, "ann", cue=spans_of(TEXT_A, "denied"))
    assert project.attribution(first).sentence_index == 1


def test_added_attribution_is_manual_authored_and_undoable(project):
    doc = project.document_id_by_sha(SourceDocument("b", TEXT_B, "").sha256)
    new = project.add_attribution(doc, "ann", source=spans_of(TEXT_B, "Nobody"), cue=spans_of(TEXT_B, "spoke"))
    added = project.attribution(new)
    assert (added.origin, added.status, added.sentence_index) == ("manual", "active", 1)
    assert project.attribution_authors(new) == ["ann"]
    assert ids(project)[-1] == new
    undone = project.undo("ann")
    assert (undone.value, undone.replaced) == ("withdrawn", "active")
    assert new not in ids(project)
    assert project.redo("ann").value == "active"
    # the same spans again reuse the attribution instead of duplicating it
    assert project.add_attribution(doc, "bob", source=spans_of(TEXT_B, "Nobody"), cue=spans_of(TEXT_B, "spoke")) == new
    with pytest.raises(StanceLabelError, match="no document"):
        project.add_attribution(9999, "ann", cue=((0, 1),))


def test_adding_the_original_spans_of_an_edited_attribution_makes_a_new_one(project):
    first = ids(project)[0]
    original = project.attribution(first)
    project.set_spans(first, "ann", source=spans_of(TEXT_A, "Anna"))
    again = project.add_attribution(original.document_id, "ann", source=original.source, cue=original.cue,
                                    content=original.content)
    assert again != first
    assert project.attribution(again).key != original.key


def test_not_an_attribution_leaves_the_queue_but_stays_in_the_file(project):
    first = ids(project)[0]
    project.set_label(first, "bob", "asserts")
    project.set_status(first, "ann", "rejected")
    assert first not in ids(project)
    assert project.attribution(first).status == "rejected"
    assert project.annotation(first, "bob").label == "asserts"
    assert project.stats()["rejected_attributions"] == 1
    assert project.progress("bob") == (0, 2)
    project.undo("ann")
    assert first in ids(project)


def test_schema_editor_renames_reorders_adds_and_keeps_given_labels(project):
    first = ids(project)[0]
    project.set_label(first, "ann", "asserts")
    asserts, denies, qualifies = project.labels()
    project.save_labels([
        Label("rejects", "R", "#123456", "Says it is false.", id=denies.id),
        Label("endorses", "E", asserts.colour, asserts.description, id=asserts.id),
        Label("hedges", "H", qualifies.colour, id=qualifies.id),
        Label("unclear", "U", "#777777", "Cannot tell."),
    ])
    assert [(x.name, x.shortcut, x.position) for x in project.labels()] == [
        ("rejects", "R", 0), ("endorses", "E", 1), ("hedges", "H", 2), ("unclear", "U", 3)]
    assert project.annotation(first, "ann").label == "endorses"
    assert project.label_usage() == {"rejects": 0, "endorses": 1, "hedges": 0, "unclear": 0}
    # swapping two names does not trip over the UNIQUE constraint
    rejects, endorses, *rest = project.labels()
    project.save_labels([Label("endorses", "R", "#123456", id=rejects.id),
                         Label("rejects", "E", "#123456", id=endorses.id), *rest])
    assert project.annotation(first, "ann").label == "rejects"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda labels: labels[:2], "cannot remove label 'qualifies': 1 attribution"),
        (lambda labels: [labels[0], labels[1].__class__("denies", "A", "#000000", id=labels[1].id), labels[2]],
         "both use key A"),
        (lambda labels: [*labels, Label("ASSERTS", "Z", "#000000")], "two labels are called"),
        (lambda labels: [*labels, Label("", "Z", "#000000")], "needs a name"),
        (lambda labels: [*labels, Label("x", "1", "#000000")], "digit keys"),
        (lambda labels: [*labels, Label("x", "J", "#000000")], "already used by the labelling window"),
        (lambda labels: [*labels, Label("x", "XY", "#000000")], "single-character key"),
        (lambda labels: [*labels, Label("x", "X", "green")], "not of the form #rrggbb"),
        (lambda labels: [], "at least one label"),
    ],
)
def test_schema_editor_refusals_change_nothing(project, change, message):
    project.set_label(ids(project)[2], "ann", "qualifies")
    before = project.labels()
    with pytest.raises(StanceLabelError, match=message):
        project.save_labels(change(before), reserved_keys={"J", "K"})
    assert project.labels() == before


def test_undo_of_a_label_removed_from_the_schema_is_refused(project):
    first = ids(project)[0]
    project.set_label(first, "ann", "denies")
    project.set_label(first, "ann", "asserts")
    labels = project.labels()
    project.save_labels([labels[0], labels[2]])  # "denies" is no longer given, so it may go
    with pytest.raises(StanceLabelError, match="was removed from the schema"):
        project.undo("ann")
    assert project.annotation(first, "ann").label == "asserts"


def test_a_version_1_file_is_upgraded_and_its_history_can_be_undone(tmp_path):
    path = tmp_path / "old.stance"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    schema.MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    now = "2026-01-01T00:00:00.000000Z"
    conn.execute("INSERT INTO project_meta VALUES ('name', 'old')")
    conn.execute("INSERT INTO label VALUES (1, 'asserts', 'A', '#2e7d32', '', 0)")
    conn.execute("INSERT INTO annotator VALUES (1, 'ann', ?)", (now,))
    conn.execute("INSERT INTO document VALUES (1, 'a', '', ?, 'sha', '{}', '', NULL, ?)", (TEXT_A, now))
    conn.execute("INSERT INTO sentence VALUES (1, 0, 0, 34)")
    conn.execute("INSERT INTO attribution VALUES (1, 1, 0, 'k', '[[0,9]]', '[[10,14]]', '[[15,33]]', 'auto', "
                 "NULL, NULL, 'active', ?)", (now,))
    # version 1 wrote "nothing yet" as null
    conn.execute("INSERT INTO event VALUES (1, ?, 1, 1, 'note', ?, 'null')", (now, json.dumps("hm")))
    conn.execute("INSERT INTO annotation VALUES (1, 1, NULL, 'hm', 0, ?, ?)", (now, now))
    conn.close()
    with Project.open(path) as project:
        assert project.schema_version == len(schema.MIGRATIONS)
        assert project.backup_path is not None and project.backup_path.exists()
        assert project.undo("ann").value == ""
        assert project.annotation(1, "ann").note == ""
        assert list(project.queue_ids("ann")) == [1]


def test_a_removed_labels_id_is_never_given_to_a_new_label(project):
    """Events name labels by id: a new label must not inherit the history of a removed one."""
    first = ids(project)[0]
    labels = project.labels()
    project.save_labels([*labels, Label("neutral", "Z", "#777777")])
    project.set_label(first, "ann", "neutral")
    project.set_label(first, "ann", "asserts")
    project.save_labels(labels)  # "neutral" is no longer given, so it may go
    project.save_labels([*project.labels(), Label("sarcasm", "Y", "#777777")])
    with pytest.raises(StanceLabelError, match="was removed from the schema"):
        project.undo("ann")
    assert project.annotation(first, "ann").label == "asserts"


def test_renaming_a_label_renames_the_suggestions_that_name_it(project):
    first = ids(project)[0]
    project.add_document(SourceDocument("c", "Ola denied it.", "c.txt"), [(0, 14)], attributions=[
        (ImportedAttribution(((0, 3),), ((4, 10),), ((11, 13),), suggestion="denies"), "auto")])
    denies = next(x for x in project.labels() if x.name == "denies")
    renamed = Label("rejects", "R", denies.colour, id=denies.id)
    project.save_labels([x if x.id != denies.id else renamed for x in project.labels()])
    assert [project.attribution(i).suggestion for i in ids(project)][-1] == "rejects"
    assert project.attribution(first).suggestion is None


def test_undo_does_not_wipe_out_a_later_span_edit_by_someone_else(project):
    first = ids(project)[0]
    project.set_spans(first, "ann", source=spans_of(TEXT_A, "Anna"))
    project.set_spans(first, "bob", source=spans_of(TEXT_A, "Anna Berg"))
    with pytest.raises(StanceLabelError, match="changed again since"):
        project.undo("ann")
    assert project.attribution(first).source == spans_of(TEXT_A, "Anna Berg")
    assert project.undo("bob").kind == "span"  # bob's own edit undoes fine
    assert project.attribution(first).source == spans_of(TEXT_A, "Anna")


def test_giving_the_same_label_again_records_nothing_so_undo_goes_further_back(project):
    first = ids(project)[0]
    project.set_label(first, "ann", "asserts")
    events = project.event_count()
    project.set_label(first, "ann", "asserts")
    project.set_note(first, "ann", "")
    project.set_flag(first, "ann", False)
    assert project.event_count() == events
    assert project.undo("ann").value is None


def test_the_undo_history_is_read_incrementally_and_stays_right(project, tmp_path):
    first, second, _ = ids(project)
    project.set_label(first, "ann", "asserts")
    assert project.redo("ann") is None  # nothing to redo; the history is read (and kept) from here
    with Project.open(project.path) as other:  # another connection adds events meanwhile
        other.set_label(second, "ann", "denies")
    assert project.undo("ann").attribution_id == second
    assert project.undo("ann").attribution_id == first
    assert project.redo("ann").attribution_id == first


def test_a_refused_database_error_is_not_retried_forever(project):
    from stancelabel.core.errors import ProjectFileError

    with pytest.raises(ProjectFileError) as raised:
        with project.transaction() as conn:
            conn.execute("INSERT INTO label (id, name, shortcut, colour, position) VALUES (1, 'x', 'X', '#000000', 9)")
    assert not raised.value.retriable  # a constraint failure will fail the same way again


def _exported(capsys, path, *options: str) -> list[dict]:
    from stancelabel.cli.main import main

    assert main(["export", str(path), "-o", "-", "--format", "jsonl", *options]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_undoing_a_new_attribution_withdraws_it_from_queue_counts_and_every_export(project, capsys, tmp_path):
    from stancelabel.team.merge import merge

    doc = project.document_id_by_sha(SourceDocument("b", TEXT_B, "").sha256)
    events = project.event_count()
    new = project.add_attribution(doc, "ann", source=spans_of(TEXT_B, "Nobody"), cue=spans_of(TEXT_B, "spoke"))
    key = project.attribution(new).key
    project.undo("ann")
    assert project.attribution(new).status == "withdrawn"
    assert new not in ids(project)
    stats = project.stats()
    assert (stats["attributions"], stats["rejected_attributions"]) == (3, 0)
    assert project.event_count() == events + 2, "the adding and its undo stay in the log as history"
    for options in ((), ("--all",)):
        assert key not in {record["key"] for record in _exported(capsys, project.path, *options)}, options
    other = tmp_path / "other.stance"
    with Project.open(other, create=True, name="other"):
        pass
    merged = tmp_path / "merged.stance"
    merge(merged, [project.path, other])
    with Project.open(merged) as result:
        assert result.attribution(result.attribution_id(key)).status == "withdrawn"
    assert key not in {record["key"] for record in _exported(capsys, merged, "--all")}
    project.redo("ann")
    assert project.attribution(new).status == "active"
    assert key in {record["key"] for record in _exported(capsys, project.path, "--all")}


def test_a_version_4_file_is_migrated_with_every_row_kept(make_project, monkeypatch):
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:4])
    project = fill(make_project())
    first, second = ids(project)[:2]
    project.set_label(first, "ann", "denies")
    project.set_note(second, "bob", "hm")
    project.set_status(second, "ann", "rejected")
    path = project.path
    tables = ("attribution", "annotation", "event", "attribution_author")
    before = {t: project.connection.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
    indexes = project.connection.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'attribution' ORDER BY name").fetchall()
    project.close()
    monkeypatch.undo()
    with Project.open(path) as upgraded:
        conn = upgraded.connection
        assert upgraded.schema_version == len(schema.MIGRATIONS) == 5
        assert {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables} == before
        assert conn.execute("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'attribution' "
                            "ORDER BY name").fetchall() == indexes
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        doc = upgraded.document_id_by_sha(SourceDocument("b", TEXT_B, "").sha256)
        new = upgraded.add_attribution(doc, "ann", cue=spans_of(TEXT_B, "spoke"))
        upgraded.undo("ann")
        assert upgraded.attribution(new).status == "withdrawn"
