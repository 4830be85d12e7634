"""The project file: creation, refusal of foreign and newer files, migrations, the event log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from stancelabel.core.errors import ProjectFileError, StanceLabelError
from stancelabel.core.model import ImportedAttribution, SourceDocument
from stancelabel.store import schema
from stancelabel.store.project import Project

TEXT = "The minister said the bridge is safe. Engineers denied it. Nobody else spoke."
SENTENCES = [(0, 37), (38, 58), (59, 77)]


def add_sample(project: Project) -> list[int]:
    """One document with two attributions; returns the attribution ids."""
    source = SourceDocument(external_id="d1", text=TEXT, source_file="d1.txt")
    attributions = [
        (ImportedAttribution(source=((0, 12),), cue=((13, 17),), content=((18, 36),)), "auto"),
        (ImportedAttribution(source=((38, 47),), cue=((48, 54),), content=((55, 57),)), "auto"),
    ]
    project.add_document(source, SENTENCES, attributions=attributions)
    return [a.id for a in project.attributions(project.document_id_by_sha(source.sha256))]


def file_state(path: Path) -> dict[str, bytes]:
    """Bytes of a file and its WAL/SHM companions, to show nothing changed."""
    return {p.name: p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file()}


def test_new_project_has_pragmas_strict_tables_and_default_labels(make_project):
    project = make_project()
    conn = sqlite3.connect(project.path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = conn.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'table'").fetchall()
    assert tables and all("STRICT" in sql for _, sql in tables)
    conn.close()
    assert [label.name for label in project.labels()] == ["asserts", "denies", "qualifies"]
    assert all(label.colour.startswith("#") and label.description for label in project.labels())
    assert project.connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert project.connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_strict_tables_refuse_wrong_types(make_project):
    project = make_project()
    with pytest.raises(ProjectFileError):
        with project.transaction() as conn:
            conn.execute("INSERT INTO label (name, shortcut, colour, position) VALUES ('x', 'X', '#000', 'first')")


def test_document_sentences_and_attributions_round_trip(make_project):
    project = make_project()
    ids = add_sample(project)
    project.close()
    with Project.open(project.path) as reopened:
        (summary,) = reopened.document_summaries()
        assert (summary.sentences, summary.attributions) == (3, 2)
        document = reopened.document(summary.id)
        assert document.text == TEXT and document.external_id == "d1"
        assert [TEXT[s.start:s.end] for s in reopened.sentences(summary.id)] == [
            "The minister said the bridge is safe.", "Engineers denied it.", "Nobody else spoke."]
        first, second = reopened.attributions(summary.id)
        assert first.id == ids[0] and first.sentence_index == 0 and second.sentence_index == 1
        assert TEXT[slice(*first.cue[0])] == "said"
        assert first.origin == "auto" and first.status == "active" and len(first.key) == 32


def test_same_text_is_stored_once_and_keys_are_stable(make_project):
    one, two = make_project("one.stance"), make_project("two.stance")
    add_sample(one)
    add_sample(one)
    add_sample(two)
    assert one.document_count() == 1 and one.stats()["attributions"] == 2
    keys = lambda p: [a.key for a in p.attributions(1)]  # noqa: E731
    assert keys(one) == keys(two)


def test_missing_file_is_not_created_without_create(tmp_path):
    with pytest.raises(ProjectFileError, match="no such project file"):
        Project.open(tmp_path / "missing.stance")
    assert not (tmp_path / "missing.stance").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "the file is empty"),
        (b"just some text\n" * 20, "not an SQLite database"),
        (bytes(range(256)) * 8, "not an SQLite database"),
    ],
)
def test_foreign_files_are_refused_and_unchanged(tmp_path, content, message):
    path = tmp_path / "foreign.stance"
    path.write_bytes(content)
    with pytest.raises(ProjectFileError, match=message) as error:
        Project.open(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    assert file_state(path) == {"foreign.stance": content}


def test_sqlite_database_of_another_program_is_refused_and_unchanged(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.close()
    before = file_state(path)
    with pytest.raises(ProjectFileError, match="another program"):
        Project.open(path)
    assert file_state(path) == before


def test_newer_schema_version_is_refused_and_unchanged(make_project):
    project = make_project()
    add_sample(project)
    path = project.path
    project.close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(schema.MIGRATIONS) + 5}")
    conn.commit()
    conn.close()
    before = file_state(path)
    with pytest.raises(ProjectFileError, match="newer StanceLabel"):
        Project.open(path)
    assert file_state(path) == before


def _add_reviewed_column(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE document ADD COLUMN reviewed INTEGER NOT NULL DEFAULT 0")


def test_older_file_is_backed_up_then_migrated(make_project, monkeypatch):
    project = make_project()
    add_sample(project)
    path = project.path
    project.close()
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, _add_reviewed_column])
    with Project.open(path) as upgraded:
        assert upgraded.schema_version == len(schema.MIGRATIONS)
        assert upgraded.connection.execute("SELECT reviewed FROM document").fetchall() == [(0,)]
        backup = upgraded.backup_path
    assert backup is not None and backup.exists() and backup.parent == path.parent
    old = sqlite3.connect(backup)
    assert old.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS) - 1
    assert old.execute("SELECT text FROM document").fetchone()[0] == TEXT
    old.close()


def _broken_migration(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE document ADD COLUMN half_done INTEGER")
    conn.execute("THIS IS NOT SQL")


def test_failed_migration_changes_nothing(make_project, monkeypatch):
    project = make_project()
    add_sample(project)
    path = project.path
    project.close()
    version = len(schema.MIGRATIONS)
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, _broken_migration])
    with pytest.raises(ProjectFileError, match="nothing was changed"):
        Project.open(path)
    monkeypatch.undo()
    with Project.open(path) as again:
        assert again.schema_version == version
        columns = [row[1] for row in again.connection.execute("PRAGMA table_info(document)")]
        assert "half_done" not in columns
        assert again.document_count() == 1


def test_labels_notes_flags_and_event_log_rebuild(make_project):
    project = make_project()
    first, second = add_sample(project)
    project.set_label(first, "alice", "asserts")
    project.set_label(first, "alice", "denies")
    project.set_note(first, "alice", "cue is ironic 🙃")
    project.set_flag(first, "alice", True)
    project.set_label(first, "bob", "qualifies")
    project.set_label(second, "bob", "denies")
    project.set_label(second, "bob", None)
    project.set_flag(first, "alice", False)
    state = [(a.attribution_id, a.annotator, a.label, a.note, a.flagged) for a in project.annotations()]
    assert state == [
        (first, "alice", "denies", "cue is ironic 🙃", False),
        (first, "bob", "qualifies", "", False),
        (second, "bob", None, "", False),
    ]
    assert project.event_count() == 8
    full = project.annotations()
    with project.transaction() as conn:  # damage the current state; the log is the truth
        conn.execute("UPDATE annotation SET label_id = NULL, note = 'garbage'")
    project.rebuild_annotations()
    assert project.annotations() == full
    stats = project.stats()
    assert stats["labels"] == 2
    assert stats["by_label"] == {"asserts": 0, "denies": 1, "qualifies": 1}
    assert stats["by_annotator"] == {"alice": 1, "bob": 1}


def test_unknown_label_is_refused_without_writing(make_project):
    project = make_project()
    first, _ = add_sample(project)
    with pytest.raises(StanceLabelError, match="unknown label 'maybe'"):
        project.set_label(first, "alice", "maybe")
    assert project.event_count() == 0 and project.annotations() == []


def test_disk_full_gives_clear_error_and_keeps_saved_labels(make_project):
    project = make_project()
    first, second = add_sample(project)
    project.set_label(first, "alice", "asserts")
    pages = project.connection.execute("PRAGMA page_count").fetchone()[0]
    project.connection.execute(f"PRAGMA max_page_count = {pages}")
    big = SourceDocument(external_id="big", text="word " * 200_000, source_file="big.txt")
    with pytest.raises(ProjectFileError, match="disk is full"):
        project.add_document(big, [(0, 999_999)])
    assert project.document_count() == 1
    assert [a.label for a in project.annotations()] == ["asserts"]
    project.set_label(second, "alice", "denies")  # small writes still fit


def test_locked_file_gives_clear_error(make_project, monkeypatch):
    project = make_project()
    first, _ = add_sample(project)
    monkeypatch.setattr("stancelabel.store.connection.BUSY_TIMEOUT_MS", 50)
    other = sqlite3.connect(project.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        project.connection.execute("PRAGMA busy_timeout = 50")
        with pytest.raises(ProjectFileError, match="locked by another program"):
            project.set_label(first, "alice", "asserts")
    finally:
        other.execute("ROLLBACK")
        other.close()
    project.set_label(first, "alice", "asserts")
    assert [a.label for a in project.annotations()] == ["asserts"]


def test_nested_transactions_roll_back_only_the_inner_part(make_project):
    project = make_project()
    with project.transaction():
        project.add_annotator("kept")
        with pytest.raises(RuntimeError):
            with project.transaction():
                project.add_annotator("dropped")
                raise RuntimeError("inner failure")
    assert project.annotators() == ["kept"]


def test_blank_annotator_name_is_a_user_error(make_project):
    project = make_project()
    first, _ = add_sample(project)
    with pytest.raises(StanceLabelError, match="annotator name .* is empty"):
        project.set_label(first, "   ", "asserts")
    assert project.event_count() == 0


def test_event_log_is_append_only(make_project):
    project = make_project()
    first, _ = add_sample(project)
    project.set_label(first, "alice", "asserts")
    for statement in ("UPDATE event SET value = 'null'", "DELETE FROM event"):
        with pytest.raises(ProjectFileError, match="append-only"):
            with project.transaction() as conn:
                conn.execute(statement)
    assert project.event_count() == 1
    with pytest.raises(ProjectFileError):  # an attribution with history cannot vanish
        with project.transaction() as conn:
            conn.execute("DELETE FROM attribution WHERE id = ?", (first,))


def test_creation_is_all_or_nothing(tmp_path, monkeypatch):
    path = tmp_path / "new.stance"

    def fail(*_args):
        raise RuntimeError("power cut")

    monkeypatch.setattr("stancelabel.store.connection.initial_rows", fail)
    with pytest.raises(RuntimeError):
        Project.open(path, create=True)
    assert list(tmp_path.iterdir()) == []


def test_file_whose_creation_never_finished_is_refused(tmp_path):
    path = tmp_path / "half.stance"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    conn.execute("CREATE TABLE x (y)")
    conn.commit()
    conn.close()
    before = file_state(path)
    with pytest.raises(ProjectFileError, match="incomplete"):
        Project.open(path)
    assert file_state(path) == before


def test_file_with_missing_tables_is_refused(make_project):
    project = make_project()
    path = project.path
    project.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("DROP TABLE gold")
    conn.commit()
    conn.close()
    with pytest.raises(ProjectFileError, match="missing table gold"):
        Project.open(path)


def test_read_only_open_writes_nothing(make_project):
    project = make_project()
    add_sample(project)
    path = project.path
    project.close()
    before = file_state(path)
    with Project.open(path, readonly=True) as reader:
        assert reader.stats()["documents"] == 1
        with pytest.raises(ProjectFileError, match="read-only"):
            reader.add_annotator("mallory")
    assert file_state(path) == before
