"""The lead's commands (stats, agreement, export, adjudicate --auto) given a shared project's URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import fill_annotation_project

from stancelabel.cli.main import main
from stancelabel.server import is_server_url
from stancelabel.server.reading import cache_folder
from stancelabel.server.sync import add_annotator, join, publish, sync
from stancelabel.store.project import Project

pytestmark = pytest.mark.slow


@pytest.fixture
def labelled(team_db, tmp_path: Path):
    """A published project that alice and bob labelled and synced (they agree on two items of three)."""
    with Project.open(tmp_path / "news.stance", create=True) as lead:
        fill_annotation_project(lead)
        publish(lead, team_db.lead_url, lead="lead")
    add_annotator(team_db.lead_url, "lead", role=team_db.lead, lead=True)
    for name, labels in (("alice", ["denies", "asserts", "asserts"]), ("bob", ["denies", "asserts", "qualifies"])):
        role = add_annotator(team_db.lead_url, name)[0]
        join(team_db.url_for(role), tmp_path / f"{name}.stance", name)
        with Project.open(tmp_path / f"{name}.stance") as mine:
            keys = sorted(x.key for d in mine.document_ids() for x in mine.attributions(d))
            for key, label in zip(keys, labels):
                mine.set_label(mine.attribution_id(key), name, label)
            sync(mine)
    with Project.open(tmp_path / "news.stance") as lead:
        sync(lead)  # the lead's file, to compare with: what the commands read from the server must match it
    return team_db


def _run(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_urls_are_told_from_files(tmp_path: Path) -> None:
    assert is_server_url("postgresql://lead@db.example.org/stance")
    assert is_server_url("host=127.0.0.1 port=5432 dbname=stance")
    assert not is_server_url(str(tmp_path / "news.stance"))
    (tmp_path / "host=x").write_text("")
    assert not is_server_url(str(tmp_path / "host=x"))  # a file of that name is a file


def test_stats_and_agreement_read_the_server_as_the_synced_file(labelled, tmp_path: Path, capsys) -> None:
    url, lead_file = labelled.lead_url, str(tmp_path / "news.stance")
    for command in (["stats", "--json"], ["agreement", "--json"]):
        from_server = json.loads(_run(capsys, command[0], url, *command[1:]))
        from_file = json.loads(_run(capsys, command[0], lead_file, *command[1:]))
        assert from_server == from_file
    assert json.loads(_run(capsys, "stats", url, "--json"))["by_annotator"] == {"alice": 3, "bob": 3}
    assert _run(capsys, "agreement", url) == _run(capsys, "agreement", lead_file)  # the text form too
    assert len(list(cache_folder().glob("*.stance"))) == 1  # one reading copy, kept in the user's cache


def test_later_commands_pull_only_what_is_new(labelled, tmp_path: Path, capsys) -> None:
    url = labelled.lead_url
    assert json.loads(_run(capsys, "stats", url, "--json"))["by_annotator"] == {"alice": 3, "bob": 3}
    (copy,) = cache_folder().glob("*.stance")
    made = copy.stat().st_ino
    with Project.open(tmp_path / "alice.stance") as mine:
        key = sorted(x.key for d in mine.document_ids() for x in mine.attributions(d))[2]
        mine.set_label(mine.attribution_id(key), "alice", "qualifies")  # now she agrees with bob on all three
        sync(mine)
    assert json.loads(_run(capsys, "agreement", url, "--json"))["observed_agreement"] == 1.0
    assert copy.stat().st_ino == made  # synced in place, not made again
    with Project.open(copy, readonly=True) as reading:
        assert reading.get_setting("server_annotator") == "lead"


def test_a_damaged_reading_copy_is_made_again(labelled, capsys) -> None:
    expected = _run(capsys, "stats", labelled.lead_url, "--json")
    (copy,) = cache_folder().glob("*.stance")
    copy.write_bytes(b"not a project file at all" * 100)
    Path(f"{copy}-wal").unlink(missing_ok=True)
    assert _run(capsys, "stats", labelled.lead_url, "--json") == expected
    with Project.open(copy, readonly=True) as reading:
        assert reading.name == "news"


def test_a_stopped_server_is_reported_and_the_copy_kept(labelled, capsys) -> None:
    _run(capsys, "stats", labelled.lead_url, "--json")
    (copy,) = cache_folder().glob("*.stance")
    made = copy.stat().st_ino
    labelled.server.stop()
    try:
        assert main(["stats", labelled.lead_url]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "server" in err
    finally:
        labelled.server.start()
    assert copy.stat().st_ino == made


def test_export_from_the_server_writes_what_the_file_would(labelled, tmp_path: Path, capsys) -> None:
    _run(capsys, "export", labelled.lead_url, "-o", str(tmp_path / "server.jsonl"))
    _run(capsys, "export", str(tmp_path / "news.stance"), "-o", str(tmp_path / "file.jsonl"))
    server = (tmp_path / "server.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(server) == 6
    assert server == (tmp_path / "file.jsonl").read_text(encoding="utf-8").splitlines()


def test_adjudicate_on_the_server_writes_gold_as_the_leads_events(labelled, tmp_path: Path, capsys) -> None:
    out = _run(capsys, "adjudicate", labelled.lead_url, "--auto", "unanimous")
    assert "2 gold label(s)" in out and "as lead's" in out and "2 sent" in out
    with Project.open(tmp_path / "news.stance") as lead:
        assert sync(lead).pulled.events == 2  # the gold labels, by the server, into the lead's file
        gold = {lead.attribution(i).key: g for i, g in lead.gold().items()}
        assert sorted(label for label, _ in gold.values()) == ["asserts", "denies"]
        assert {who for _, who in gold.values()} == {"lead"}
    assert "0 gold label(s)" in _run(capsys, "adjudicate", labelled.lead_url, "--auto", "unanimous")


def test_an_annotator_cannot_adjudicate_on_the_server(labelled, capsys) -> None:
    role = add_annotator(labelled.lead_url, "carol")[0]
    assert main(["adjudicate", labelled.url_for(role), "--auto", "majority"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "may not write gold labels" in err
    # and in a blind project an annotator's stats count only their own labels
    alice = labelled.url_for([r for r in _roles(labelled) if r.endswith("_alice")][0])
    assert json.loads(_run(capsys, "stats", alice, "--json"))["by_annotator"] == {"alice": 3}


def _roles(team_db) -> list[str]:
    import psycopg

    with psycopg.connect(team_db.lead_url) as conn:
        return [r[0] for r in conn.execute("SELECT rolname FROM pg_roles")]
