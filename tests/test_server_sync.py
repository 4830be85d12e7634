"""Shared projects through a real PostgreSQL: publish, join, sync, and what the server refuses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import fill_annotation_project

from stancelabel.core.errors import StanceLabelError
from stancelabel.server.sync import add_annotator, join, publish, sync, without_password
from stancelabel.store.project import Project

pytestmark = pytest.mark.slow


def _state(project: Project) -> list[tuple]:
    """What a file holds that a sync must get right: every annotation, gold label and attribution state."""
    rows = [(a.annotator, project.attribution(a.attribution_id).key, a.label, a.note, a.flagged)
            for a in project.annotations()]
    attributions = sorted((x.key, x.status, x.cue) for d in project.document_ids() for x in project.attributions(d))
    gold = sorted((project.attribution(i).key, label) for i, (label, _) in project.gold().items())
    return [sorted(rows), attributions, gold]


@pytest.fixture
def team(team_db, tmp_path: Path):
    """A lead's project published to a fresh database, and roles for alice and bob."""
    lead = Project.open(tmp_path / "news.stance", create=True)
    fill_annotation_project(lead)
    publish(lead, team_db.lead_url, lead="lead")
    roles = {name: add_annotator(team_db.lead_url, name)[0] for name in ("alice", "bob")}
    yield team_db, lead, roles
    lead.close()


def _join(team_db, roles, name: str, tmp_path: Path) -> Project:
    join(team_db.url_for(roles[name]), tmp_path / f"{name}.stance", name)
    return Project.open(tmp_path / f"{name}.stance")


def test_two_annotators_and_a_lead_see_each_others_work_through_the_server(team, tmp_path: Path) -> None:
    team_db, lead, roles = team
    alice, bob = _join(team_db, roles, "alice", tmp_path), _join(team_db, roles, "bob", tmp_path)
    ids = {x.key: x.id for d in alice.document_ids() for x in alice.attributions(d)}
    keys = sorted(ids)
    alice.set_label(alice.attribution_id(keys[0]), "alice", "denies")
    alice.set_label(alice.attribution_id(keys[1]), "alice", "asserts")
    alice.set_note(alice.attribution_id(keys[1]), "alice", "sure?")
    bob.set_label(bob.attribution_id(keys[0]), "bob", "asserts")
    bob.set_status(bob.attribution_id(keys[2]), "bob", "rejected")
    assert sync(alice).pushed_events == 3
    assert sync(bob).pushed_events == 2
    report = sync(lead)
    assert report.pulled.events == 5
    labels = {(a.annotator, lead.attribution(a.attribution_id).key): a.label for a in lead.annotations()}
    assert labels == {("alice", keys[0]): "denies", ("alice", keys[1]): "asserts", ("bob", keys[0]): "asserts"}
    assert lead.attribution(lead.attribution_id(keys[2])).status == "rejected"
    # blind: alice sees bob's rejection (shared) but not his label
    sync(alice)
    assert {a.annotator for a in alice.annotations()} == {"alice"}
    assert alice.attribution(alice.attribution_id(keys[2])).status == "rejected"
    # the lead's gold label reaches nobody in a blind project, and syncs like any event
    lead.set_gold(lead.attribution_id(keys[0]), "lead", "denies")
    assert sync(lead).pushed_events == 1
    # syncing again changes nothing, anywhere
    before = [_state(p) for p in (alice, bob, lead)]
    for project in (alice, bob, lead):
        again = sync(project)
        assert (again.pushed_events, again.pulled.events, again.pulled_attributions) == (0, 0, 0)
    assert [_state(p) for p in (alice, bob, lead)] == before
    for project in (alice, bob):
        project.close()


def test_the_later_label_wins_whichever_arrives_first(team, tmp_path: Path) -> None:
    team_db, lead, roles = team
    alice = _join(team_db, roles, "alice", tmp_path)
    join(team_db.url_for(roles["alice"]), tmp_path / "alice-laptop.stance", "alice")
    laptop = Project.open(tmp_path / "alice-laptop.stance")
    key = sorted(x.key for d in alice.document_ids() for x in alice.attributions(d))[0]
    alice.set_label(alice.attribution_id(key), "alice", "denies")
    time.sleep(0.01)
    laptop.set_label(laptop.attribution_id(key), "alice", "qualifies")  # later, synced first
    sync(laptop)
    sync(alice)
    sync(laptop)
    assert alice.annotation(alice.attribution_id(key), "alice").label == "qualifies"
    assert laptop.annotation(laptop.attribution_id(key), "alice").label == "qualifies"
    assert _state(alice) == _state(laptop)
    alice.close()
    laptop.close()


def test_new_attributions_their_authors_and_undos_reach_the_lead(team, tmp_path: Path) -> None:
    team_db, lead, roles = team
    alice = _join(team_db, roles, "alice", tmp_path)
    document = alice.document_ids()[0]
    text = alice.document(document).text
    new = alice.add_attribution(document, "alice", source=[[0, 3]], cue=[[4, 11]], content=[[12, len(text) // 2]])
    key = alice.attribution(new).key
    first = sorted(x.key for x in alice.attributions(document))[0]
    alice.set_label(alice.attribution_id(first), "alice", "denies")
    alice.set_label(alice.attribution_id(first), "alice", "asserts")
    alice.undo("alice")  # back to denies: an event that names the one it reverts
    sync(alice)
    assert sync(lead).pulled_attributions == 1
    assert lead.attribution_authors(lead.attribution_id(key)) == ["alice"]
    assert lead.annotation(lead.attribution_id(first), "alice").label == "denies"
    undo = lead.connection.execute("SELECT e.undoes, u.value FROM event e JOIN event u ON u.id = e.undoes "
                                   "WHERE e.undoes IS NOT NULL").fetchall()
    asserts = lead.connection.execute("SELECT id FROM label WHERE name = 'asserts'").fetchone()[0]
    assert len(undo) == 1 and undo[0][1] == str(asserts)  # it reverts the 'asserts' label
    # the documents and sentences join brought are the published ones
    assert [(lead.document(d).sha256, lead.document(d).meta, lead.sentences(d)) for d in lead.document_ids()] == \
        [(alice.document(d).sha256, alice.document(d).meta, alice.sentences(d)) for d in alice.document_ids()]
    alice.close()


def test_sync_after_merge_changes_nothing(team, tmp_path: Path) -> None:
    from stancelabel.team.merge import merge

    team_db, lead, roles = team
    alice, bob = _join(team_db, roles, "alice", tmp_path), _join(team_db, roles, "bob", tmp_path)
    keys = sorted(x.key for d in alice.document_ids() for x in alice.attributions(d))
    alice.set_label(alice.attribution_id(keys[0]), "alice", "denies")
    bob.set_label(bob.attribution_id(keys[0]), "bob", "asserts")
    bob.set_flag(bob.attribution_id(keys[1]), "bob", True)
    sync(alice)
    sync(bob)
    alice.close()
    bob.close()
    merge(tmp_path / "merged.stance", [tmp_path / "alice.stance", tmp_path / "bob.stance"])
    sync(lead)
    with Project.open(tmp_path / "merged.stance") as merged:
        assert _state(merged)[0] == _state(lead)[0]  # the same labels by merge as by sync


def test_join_gives_the_annotator_their_share(team_db, tmp_path: Path) -> None:
    from stancelabel.team.split import split

    lead = Project.open(tmp_path / "news.stance", create=True)
    fill_annotation_project(lead)
    split(lead, ["alice", "bob"], 0.0, 1, tmp_path / "shares")
    publish(lead, team_db.lead_url)
    role, _ = add_annotator(team_db.lead_url, "alice")
    report = join(team_db.url_for(role), tmp_path / "alice.stance", "alice")
    assert report.share and report.documents == 1
    with Project.open(tmp_path / "alice.stance") as alice:
        assert alice.document_count() == 1
        assert json.loads(alice.get_setting("assignment"))["annotator"] == "alice"
    lead.close()


def test_the_file_remembers_its_server_without_the_password(team, tmp_path: Path) -> None:
    team_db, lead, _ = team
    remembered = json.loads(lead.get_setting("server"))
    assert "password" not in remembered["url"]
    assert "secret" not in without_password("postgresql://ann:secret@127.0.0.1:5/db")
    with pytest.raises(StanceLabelError, match="already in this database"):
        other = Project.open(tmp_path / "other.stance", create=True)
        try:
            publish(other, team_db.lead_url, schema=remembered["schema"])
        finally:
            other.close()


def test_join_refuses_another_annotators_name(team, tmp_path: Path) -> None:
    team_db, _, roles = team
    with pytest.raises(StanceLabelError, match="not 'bob'"):
        join(team_db.url_for(roles["alice"]), tmp_path / "x.stance", "bob")
    assert not (tmp_path / "x.stance").exists()


# -- interruptions ------------------------------------------------------------------------------------


def _label_many(project: Project, annotator: str, rounds: int) -> None:
    ids = [x.id for d in project.document_ids() for x in project.attributions(d)]
    labels = ["asserts", "denies", "qualifies"]
    for n in range(rounds):
        for i, attribution_id in enumerate(ids):
            project.set_note(attribution_id, annotator, f"round {n} item {i}")
        project.set_label(ids[n % len(ids)], annotator, labels[n % 3])


def _server_events(team_db, schema: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(team_db.lead_url) as conn:
        return conn.execute(f'SELECT ident, count(*) FROM "{schema}".event GROUP BY ident').fetchall()


def test_a_sync_killed_part_way_loses_nothing_and_doubles_nothing(team, tmp_path: Path) -> None:
    team_db, lead, roles = team
    schema = json.loads(lead.get_setting("server"))["schema"]
    alice = _join(team_db, roles, "alice", tmp_path)
    _label_many(alice, "alice", 60)  # 360 events
    total = alice.event_count()
    alice.close()
    env = {**os.environ, "STANCELABEL_SYNC_BATCH": "7", "PGUSER": roles["alice"]}
    seen = []
    for threshold in (total // 6, total // 2, total - 20):  # killed when the server holds this many
        child = subprocess.Popen([sys.executable, "-m", "stancelabel", "sync", str(tmp_path / "alice.stance")],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(_server_events(team_db, schema)) < threshold and child.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait()
        seen.append(len(_server_events(team_db, schema)))
    assert any(0 < n < total for n in seen), seen  # at least one kill came part-way through the push
    with Project.open(tmp_path / "alice.stance") as alice:
        sync(alice)
        sync(alice)
        assert alice.event_count() == total  # nothing pulled back twice
    events = _server_events(team_db, schema)
    assert len(events) == total and all(n == 1 for _, n in events)
    sync(lead)
    assert lead.event_count() == total
    with Project.open(tmp_path / "alice.stance") as alice:
        assert _state(alice)[0] == _state(lead)[0]


def _sync_a_third_of(team, tmp_path: Path):
    """Alice labels 40 items; a sync of hers runs in a process until a third of her events are on the server."""
    team_db, lead, roles = team
    schema = json.loads(lead.get_setting("server"))["schema"]
    alice = _join(team_db, roles, "alice", tmp_path)
    _label_many(alice, "alice", 40)
    total = alice.event_count()
    alice.close()
    env = {**os.environ, "STANCELABEL_SYNC_BATCH": "5", "PGUSER": roles["alice"]}
    child = subprocess.Popen([sys.executable, "-m", "stancelabel", "sync", str(tmp_path / "alice.stance")],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while len(_server_events(team_db, schema)) < total // 3 and child.poll() is None:
        time.sleep(0.005)
    return team_db, roles, schema, total, child


def test_a_sync_cut_off_by_the_server_stopping_completes_the_next_time(team, tmp_path: Path) -> None:
    team_db, roles, schema, total, child = _sync_a_third_of(team, tmp_path)
    team_db.server.kill()  # a crash, not a polite shutdown
    _, stderr = child.communicate(timeout=60)
    team_db.server.start()
    assert 0 < len(_server_events(team_db, schema)) < total
    assert child.returncode == 1 and stderr.count("\n") == 1 and "nothing was lost" in stderr
    with Project.open(tmp_path / "alice.stance") as alice:
        sync(alice)
        assert alice.event_count() == total
    events = _server_events(team_db, schema)
    assert len(events) == total and all(n == 1 for _, n in events)


def test_a_sync_whose_connection_is_dropped_completes_the_next_time(team, tmp_path: Path) -> None:
    import psycopg

    team_db, roles, schema, total, child = _sync_a_third_of(team, tmp_path)
    with psycopg.connect(team_db.server.conninfo(), autocommit=True) as conn:  # the network drops her connection
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (roles["alice"],))
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 1 and stderr.count("\n") == 1 and "nothing was lost" in stderr, stderr
    assert 0 < len(_server_events(team_db, schema)) < total
    with Project.open(tmp_path / "alice.stance") as alice:
        sync(alice)
        assert alice.event_count() == total
    events = _server_events(team_db, schema)
    assert len(events) == total and all(n == 1 for _, n in events)


# -- what the server refuses ----------------------------------------------------------------------------


def test_the_server_refuses_what_an_annotators_role_may_not_do(team, tmp_path: Path) -> None:
    import psycopg

    team_db, lead, roles = team
    schema = json.loads(lead.get_setting("server"))["schema"]
    alice, bob = _join(team_db, roles, "alice", tmp_path), _join(team_db, roles, "bob", tmp_path)
    key = sorted(x.key for d in bob.document_ids() for x in bob.attributions(d))[0]
    bob.set_label(bob.attribution_id(key), "bob", "denies")
    sync(bob)
    s = f'"{schema}"'
    insert = (f"INSERT INTO {s}.event (ident, at, annotator, key, kind, value, previous) "
              "VALUES (%s, '2024-01-01T00:00:00Z', %s, %s, %s, '\"denies\"', 'null')")
    with psycopg.connect(team_db.url_for(roles["alice"]), autocommit=True) as conn:
        conn.execute(insert, ("a" * 32, "alice", key, "label"))  # her own: allowed
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(insert, ("b" * 32, "bob", key, "label"))  # as another annotator
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(insert, ("c" * 32, "alice", key, "gold"))  # gold is the lead's
        assert conn.execute(f"SELECT count(*) FROM {s}.event WHERE annotator = 'bob'").fetchone()[0] == 0
        for statement in (f"DELETE FROM {s}.event", f"UPDATE {s}.event SET annotator = 'alice'",
                          f"TRUNCATE {s}.event", f"ALTER TABLE {s}.event DISABLE ROW LEVEL SECURITY",
                          f"DROP POLICY event_write ON {s}.event", f"CREATE TABLE {s}.mine (x int)",
                          f"UPDATE {s}.annotator SET lead = true", f"INSERT INTO {s}.meta VALUES ('blind', 'false')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    with psycopg.connect(team_db.lead_url, autocommit=True) as conn:  # the lead reads everyone's
        assert conn.execute(f"SELECT count(*) FROM {s}.event WHERE annotator = 'bob'").fetchone()[0] == 1
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(f"DELETE FROM {s}.event")
    alice.close()
    bob.close()


# -- the command line --------------------------------------------------------------------------------


def test_the_commands_without_psycopg_say_how_to_install_it(tmp_path: Path, monkeypatch, capsys) -> None:
    from stancelabel.cli.main import main

    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now fails
    for argv in (["sync", str(tmp_path / "x.stance")], ["join", "dbname=x", "-o", str(tmp_path / "y.stance"),
                                                        "--annotator", "a"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and 'pip install "stancelabel[server]"' in err
    assert not (tmp_path / "y.stance").exists()


def test_publish_add_annotator_join_and_sync_on_the_command_line(team_db, tmp_path: Path, capsys) -> None:
    from stancelabel.cli.main import main

    with Project.open(tmp_path / "news.stance", create=True) as lead:
        fill_annotation_project(lead)
    url = f"postgresql://{team_db.lead}:unused@127.0.0.1:{team_db.server.port}/{team_db.name}"
    assert main(["publish", str(tmp_path / "news.stance"), url, "--schema", "cli_news"]) == 0
    assert "5 attribution(s)" in capsys.readouterr().out
    assert main(["server", "add-annotator", url, "Zoë", "--print"]) == 0
    assert 'CREATE ROLE "cli_news_zo' in capsys.readouterr().out
    assert main(["server", "add-annotator", team_db.lead_url, "ann", "--role", "cli_ann"]) == 0
    capsys.readouterr()
    assert main(["join", team_db.url_for("cli_ann"), "-o", str(tmp_path / "ann.stance"), "--annotator", "ann"]) == 0
    with Project.open(tmp_path / "ann.stance") as ann:
        first = ann.document_ids()[0]
        ann.set_label(ann.attributions(first)[0].id, "ann", "denies")
        assert "unused" not in ann.get_setting("server")
    capsys.readouterr()
    assert main(["sync", str(tmp_path / "ann.stance"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pushed_events"] == 1
    with Project.open(tmp_path / "news.stance") as lead:
        assert "unused" not in lead.get_setting("server")
    assert main(["sync", str(tmp_path / "news.stance"), "--url", team_db.lead_url]) == 0
    assert "brought in 1 event(s)" in capsys.readouterr().out


# -- documents and guidelines after publish -------------------------------------------------------------


def _add_article(project: Project, name: str, words: str = "the harbour is safe") -> str:
    """A document imported after publish, with one attribution the import detected; returns its sha256."""
    from stancelabel.core.model import ImportedAttribution, SourceDocument

    text = f"Officials in {name} said that {words}. Nobody else spoke."
    cue, content = text.index("said"), text.index(words)
    source = SourceDocument(name, text, f"{name}.txt", meta={"day": name})
    project.add_document(source, [(0, text.index(".") + 1), (text.index(".") + 2, len(text))], attributions=[
        (ImportedAttribution(((0, cue - 1),), ((cue, cue + 4),), ((content, content + len(words)),),
                             suggestion="asserts"), "auto")])
    return source.sha256


def _documents(project: Project) -> dict[str, tuple]:
    return {project.document(d).sha256: (project.document(d).external_id, project.document(d).meta,
                                         [(s.start, s.end) for s in project.sentences(d)],
                                         sorted(x.key for x in project.attributions(d)))
            for d in project.document_ids()}


def test_documents_the_lead_imports_later_reach_every_copy_of_the_whole_project(team, tmp_path: Path) -> None:
    team_db, lead, roles = team
    alice = _join(team_db, roles, "alice", tmp_path)
    _add_article(lead, "monday")
    _add_article(lead, "tuesday")
    report = sync(lead)
    assert (report.pushed_documents, report.pushed_attributions, report.unassigned) == (2, 2, 0)
    report = sync(alice)
    assert (report.pulled_documents, report.pulled_attributions) == (2, 2)
    assert _documents(alice) == _documents(lead)
    # she labels a new one; the lead sees it
    key = alice.attributions(alice.document_ids()[-1])[0].key
    alice.set_label(alice.attribution_id(key), "alice", "denies")
    sync(alice)
    sync(lead)
    assert lead.annotation(lead.attribution_id(key), "alice").label == "denies"
    # syncing again changes nothing, anywhere
    before = [(_state(p), _documents(p)) for p in (alice, lead)]
    for project in (alice, lead, alice):
        again = sync(project)
        assert (again.pushed_documents, again.pulled_documents, again.pushed_attributions, again.pushed_events,
                again.pulled_attributions, again.pulled.events) == (0, 0, 0, 0, 0, 0)
    assert [(_state(p), _documents(p)) for p in (alice, lead)] == before
    # a lead's own working copy adds documents too
    join(team_db.url_for(add_annotator(team_db.lead_url, "chief", lead=True)[0]), tmp_path / "chief.stance", "chief")
    with Project.open(tmp_path / "chief.stance") as chief:
        assert len(_documents(chief)) == 4
        _add_article(chief, "wednesday")
        assert sync(chief).pushed_documents == 1
    assert sync(alice).pulled_documents == 1 and sync(lead).pulled_documents == 1
    assert _documents(alice) == _documents(lead)
    alice.close()


def test_a_share_gets_the_new_documents_assigned_to_it_and_only_those(team_db, tmp_path: Path) -> None:
    from stancelabel.server.sync import assign
    from stancelabel.team.split import split

    lead = Project.open(tmp_path / "news.stance", create=True)
    fill_annotation_project(lead)
    split(lead, ["alice", "bob"], 0.0, 1, tmp_path / "shares")
    publish(lead, team_db.lead_url, lead="lead")
    roles = {name: add_annotator(team_db.lead_url, name)[0] for name in ("alice", "bob")}
    alice, bob = _join(team_db, roles, "alice", tmp_path), _join(team_db, roles, "bob", tmp_path)
    assert alice.document_count() == bob.document_count() == 1
    mon, tue = _add_article(lead, "monday"), _add_article(lead, "tuesday")
    assert sync(lead).unassigned == 2
    assert sync(alice).pulled_documents == 0 and sync(bob).pulled_documents == 0  # nobody's share yet
    # the lead rejects tuesday's attribution before anyone has it: it must still arrive rejected
    tuesday = lead.attributions(lead.document_id_by_sha(tue))[0]
    lead.set_status(tuesday.id, "lead", "rejected")
    sync(lead)
    sync(bob)  # his pull cursors pass that event and the attribution
    assert assign(team_db.lead_url, ["alice"], ["monday"]) == (1, 1)
    assert assign(team_db.lead_url, ["alice"], ["monday"]) == (1, 0)  # again: nothing new
    assert assign(team_db.lead_url, ["bob"], [], unassigned=True) == (1, 1)  # tuesday
    assert sync(alice).pulled_documents == 1 and sync(bob).pulled_documents == 1
    assert mon in _documents(alice) and tue not in _documents(alice)
    assert tue in _documents(bob) and mon not in _documents(bob)
    assert bob.attribution(bob.attribution_id(tuesday.key)).status == "rejected"
    assert json.loads(bob.get_setting("assignment"))["documents"] == 2
    assert bob.get_setting("server_documents_to_fill") == "[]"
    for project in (alice, bob):
        again = sync(project)
        assert (again.pulled_documents, again.pulled_attributions, again.pulled.events) == (0, 0, 0)
    # what the lead may not do wrong, in one line each
    with pytest.raises(StanceLabelError, match="no document 'friday'"):
        assign(team_db.lead_url, ["alice"], ["friday"])
    with pytest.raises(StanceLabelError, match="no annotator 'carol'"):
        assign(team_db.lead_url, ["carol"], ["monday"])
    with pytest.raises(StanceLabelError, match="may not assign documents"):
        assign(team_db.url_for(roles["alice"]), ["alice"], ["tuesday"])
    for project in (alice, bob, lead):
        project.close()


def test_the_server_refuses_documents_assignments_and_guidelines_from_an_annotator(team, tmp_path: Path) -> None:
    import psycopg

    team_db, lead, roles = team
    schema = json.loads(lead.get_setting("server"))["schema"]
    s = f'"{schema}"'
    alice = _join(team_db, roles, "alice", tmp_path)
    sha = next(iter(_documents(alice)))
    with psycopg.connect(team_db.url_for(roles["alice"]), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(f"INSERT INTO {s}.document (sha256, external_id, text, sentences) "
                         "VALUES ('abc', 'mine', 'My own article.', '[[0, 15]]')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(f"INSERT INTO {s}.assignment (annotator, sha256) VALUES ('alice', %s)", (sha,))
        updated = conn.execute(f"UPDATE {s}.meta SET value = 'mine' WHERE key = 'guidelines'")
        assert updated.rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"UPDATE {s}.meta SET key = 'guidelines' WHERE key = 'blind'")
        assert conn.execute(f"SELECT count(*) FROM {s}.document WHERE external_id = 'mine'").fetchone()[0] == 0
    # a document she imports into her own copy is not sent, nor its attribution and her label on it: they
    # stay in her file, counted, and the rest of her work goes on syncing
    _add_article(alice, "private")
    private = max(x.id for d in alice.document_ids() for x in alice.attributions(d))
    shared = alice.attributions(alice.document_ids()[0])[0].id
    alice.set_label(private, "alice", "asserts")
    alice.set_label(shared, "alice", "denies")
    report = sync(alice)
    assert report.kept == [1, 1] and report.pushed_events == 1 and report.pushed_attributions == 0
    alice.set_label(private, "alice", "qualifies")
    again = sync(alice)
    assert again.kept == [0, 1] and again.pushed_events == 0
    with psycopg.connect(team_db.lead_url) as conn:
        assert conn.execute(f"SELECT count(*) FROM {s}.document").fetchone()[0] == 2
        assert conn.execute(f"SELECT kind, value FROM {s}.event WHERE annotator = 'alice'").fetchall() == \
            [("label", '"denies"')]
    assert alice.annotation(private, "alice").label == "qualifies"  # kept in her file
    alice.close()


def test_the_leads_guidelines_reach_everyone(team, tmp_path: Path) -> None:
    from stancelabel.io.guidelines import set_guidelines

    team_db, lead, roles = team
    alice = _join(team_db, roles, "alice", tmp_path)
    assert sync(alice).guidelines is None
    text = "# Our rules\n\n## denies\n\nThe source says the content is false.\n"
    set_guidelines(lead, text)
    assert sync(lead).guidelines == "sent"
    assert sync(lead).guidelines is None
    assert sync(alice).guidelines == "received"
    assert alice.guidelines() == text
    assert {x.name: x.description for x in alice.labels()}["denies"] == "The source says the content is false."
    assert sync(alice).guidelines is None
    # an annotator's own edit is not sent; the lead's next edit replaces it
    set_guidelines(alice, "# My notes\n")
    assert sync(alice).guidelines is None and sync(lead).guidelines is None
    assert lead.guidelines() == text
    set_guidelines(lead, text + "\n## asserts\n\nThe source says it is true.\n")
    sync(lead)
    assert sync(alice).guidelines == "received" and alice.guidelines() == lead.guidelines()
    alice.close()


def test_a_document_sync_killed_part_way_loses_nothing_and_doubles_nothing(team, tmp_path: Path) -> None:
    import psycopg

    team_db, lead, roles = team
    schema = json.loads(lead.get_setting("server"))["schema"]
    alice = _join(team_db, roles, "alice", tmp_path)
    alice.close()
    shas = [_add_article(lead, f"day{n}", f"the harbour is safe on day {n}") for n in range(120)]
    lead.close()
    total = len(shas) + 2

    def on_server() -> int:
        with psycopg.connect(team_db.lead_url) as conn:
            return conn.execute(f'SELECT count(*) FROM "{schema}".document').fetchone()[0]

    def in_file(path: Path) -> int:
        import sqlite3

        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM document").fetchone()[0]

    env = {**os.environ, "STANCELABEL_SYNC_DOCUMENT_BATCH": "3"}
    seen = []
    for path, count, role in ((tmp_path / "news.stance", on_server, team_db.lead),
                              (tmp_path / "alice.stance", lambda: in_file(tmp_path / "alice.stance"), roles["alice"])):
        for threshold in (total // 4, total // 2):
            child = subprocess.Popen([sys.executable, "-m", "stancelabel", "sync", str(path)],
                                     env={**env, "PGUSER": role}, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while count() < threshold and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            child.send_signal(signal.SIGKILL)
            child.wait()
            seen.append(count())
        if path.name == "news.stance":
            assert any(2 < n < total for n in seen), seen  # a kill came part-way through the push
            with Project.open(path) as project:
                sync(project)
            assert on_server() == total
    assert any(2 < n < total for n in seen[2:]), seen  # and one part-way through alice's pull
    with Project.open(tmp_path / "alice.stance") as alice, Project.open(tmp_path / "news.stance") as lead:
        sync(alice)
        again = sync(alice)
        assert (again.pulled_documents, again.pulled_attributions) == (0, 0)
        assert _documents(alice) == _documents(lead)
        assert len(_documents(alice)) == total
    with psycopg.connect(team_db.lead_url) as conn:
        assert conn.execute(f'SELECT count(*) FROM "{schema}".attribution').fetchone()[0] == 5 + len(shas)


def test_a_schema_published_by_an_older_version_is_upgraded_by_its_owners_sync(team, tmp_path: Path) -> None:
    import psycopg

    team_db, lead, roles = team
    schema = json.loads(lead.get_setting("server"))["schema"]
    s, team_role = f'"{schema}"', f'"{schema}_team"'
    with psycopg.connect(team_db.lead_url, autocommit=True) as conn:  # back to format 1
        for table in ("document", "assignment", "meta"):
            for policy in ("read", "write"):
                conn.execute(f"DROP POLICY {table}_{policy} ON {s}.{table}")
            conn.execute(f"ALTER TABLE {s}.{table} DISABLE ROW LEVEL SECURITY")
        conn.execute(f"REVOKE INSERT ON {s}.document, {s}.assignment FROM {team_role}")
        conn.execute(f"REVOKE UPDATE ON {s}.meta FROM {team_role}")
        conn.execute(f"UPDATE {s}.meta SET value = '1' WHERE key = 'format'")
    join(team_db.url_for(add_annotator(team_db.lead_url, "chief", lead=True)[0]), tmp_path / "chief.stance", "chief")
    with Project.open(tmp_path / "chief.stance") as chief:
        _add_article(chief, "monday")
        with pytest.raises(StanceLabelError, match="once the project's owner has synced"):
            sync(chief)  # a lead's role may not add documents yet: said in one line, nothing lost
        sync(lead)  # the owner's sync upgrades the schema
        assert sync(chief).pushed_documents == 1
    assert sync(lead).pulled_documents == 1
    with psycopg.connect(team_db.url_for(roles["alice"]), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(f"INSERT INTO {s}.document (sha256, external_id, text, sentences) "
                         "VALUES ('a', 'b', 'c', '[]')")


def test_assign_and_sync_tell_the_lead_about_new_documents_on_the_command_line(team_db, tmp_path: Path,
                                                                                capsys) -> None:
    from stancelabel.cli.main import main
    from stancelabel.team.split import split

    with Project.open(tmp_path / "news.stance", create=True) as lead:
        fill_annotation_project(lead)
        split(lead, ["alice", "bob"], 0.0, 1, tmp_path / "shares")
        publish(lead, team_db.lead_url, lead="lead")
        _add_article(lead, "monday")
    role = add_annotator(team_db.lead_url, "alice")[0]
    join(team_db.url_for(role), tmp_path / "alice.stance", "alice")
    capsys.readouterr()
    assert main(["sync", str(tmp_path / "news.stance")]) == 0
    out = capsys.readouterr().out
    assert "documents: 1 sent" in out and "1 document(s) on the server are in nobody's share" in out
    assert main(["server", "assign", team_db.lead_url, "--annotator", "alice"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["server", "assign", team_db.lead_url, "--annotator", "alice", "--unassigned"]) == 0
    assert "1 new assignment(s)" in capsys.readouterr().out
    assert main(["server", "assign", team_db.lead_url, "nosuch", "--annotator", "alice"]) == 1
    assert capsys.readouterr().err.startswith("error: no document 'nosuch' on the server")
    assert main(["sync", str(tmp_path / "alice.stance"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pulled_documents"] == 1


def test_an_event_on_an_attribution_sent_during_a_sync_is_not_lost(team, tmp_path: Path, monkeypatch) -> None:
    """The lead sends a new attribution and its rejection while alice's sync runs, after its pull of
    attributions and before its pull of events: the rejection must not be taken before its attribution
    (and then passed over for good); it comes with her next sync, after the attribution."""
    from stancelabel.core.model import ImportedAttribution
    from stancelabel.server import sync as sync_module

    team_db, lead, roles = team
    alice = _join(team_db, roles, "alice", tmp_path)
    document = lead.document_ids()[0]
    read_after = sync_module._after
    sent: list[str] = []

    def lead_sends_meanwhile(conn, select, *args, **kwargs):
        if " FROM " in select and select.split(" FROM ")[1].endswith(".event") and not sent:
            sent.append("now")
            lead.add_attributions(document, [ImportedAttribution(((0, 3),), ((4, 9),), ((10, 20),))], "manual")
            new = max(x.id for x in lead.attributions(document))
            lead.set_status(new, "lead", "rejected")
            sent.append(lead.attribution(new).key)
            sync(lead)
        return read_after(conn, select, *args, **kwargs)

    monkeypatch.setattr(sync_module, "_after", lead_sends_meanwhile)
    sync(alice)
    monkeypatch.setattr(sync_module, "_after", read_after)
    assert len(sent) == 2, "the lead's sync must land inside alice's"
    sync(alice)
    rejected = alice.attribution_id(sent[1])
    assert alice.attribution(rejected).status == "rejected"
    events = alice.connection.execute("SELECT kind, value FROM event WHERE attribution_id = ?", (rejected,)).fetchall()
    assert events == [("status", '"rejected"')]  # the event itself, not only the row's state, in her log
    assert sync(alice).pulled.events == 0
    alice.close()


def test_hostile_rows_on_the_server_are_refused_one_by_one_and_the_sync_goes_on(team, tmp_path: Path) -> None:
    """The server is input like any file: events a tampered or buggy server holds (a span that is null, an
    annotator name with a terminal escape, a value that is not JSON, a time far ahead) are each refused
    in one line naming the event, the events around them arrive, and the next sync does not stumble on
    them again."""
    import psycopg

    team_db, lead, _ = team
    key = sorted(x.key for d in lead.document_ids() for x in lead.attributions(d))[0]
    schema = json.loads(lead.get_setting("server"))["schema"]
    at = "2026-01-02T03:04:05Z"
    rows = [("bad-span", at, "bob", "span", "null", "null"),
            ("bad-name", at, "bob\x1b[31m", "flag", "true", "null"),
            ("bad-json", at, "bob", "note", "{not json", "null"),
            ("bad-time", "2999-01-01T00:00:00Z", "bob", "flag", "true", "null"),
            ("good", at, "lead", "status", '"rejected"', '"active"')]
    with psycopg.connect(team_db.lead_url, autocommit=True) as conn:  # the schema's owner, past the policies
        for ident, when, who, kind, value, previous in rows:
            conn.execute(f'INSERT INTO "{schema}".event (ident, at, annotator, key, kind, value, previous) '
                         "VALUES (%s, %s, %s, %s, %s, %s, %s)", (ident, when, who, key, kind, value, previous))
    report = sync(lead)  # the lead reads every annotator's events
    refused = report.pulled.refused
    assert len(refused) == 4 and all("\n" not in line for line in refused)
    assert [line.split()[1] for line in refused] == ["bad-span", "bad-name", "bad-json", "bad-time"]
    assert lead.attribution(lead.attribution_id(key)).status == "rejected"  # the good one arrived
    assert "bob\x1b[31m" not in lead.annotators()
    again = sync(lead)
    assert again.pulled.events == 0 and again.pulled.refused == []


def test_hostile_documents_on_the_server_are_left_out_of_a_join_and_a_sync(team, tmp_path: Path, capsys) -> None:
    """Documents are input too, through both doors: one whose text does not have the hash it is named by,
    and one whose sentences are not JSON, are each left out in one line by join and by sync; the others
    arrive."""
    import psycopg

    from stancelabel.cli.main import main
    from stancelabel.core.model import text_sha256

    team_db, lead, roles = team
    schema = json.loads(lead.get_setting("server"))["schema"]
    with psycopg.connect(team_db.lead_url, autocommit=True) as conn:  # the schema's owner, past the policies
        for sha, name, sentences in (("0" * 64, "forged", "[[0, 5]]"), (None, "garbled", "{not json")):
            text = f"The {name} text."
            conn.execute(f'INSERT INTO "{schema}".document (sha256, external_id, text, sentences) '
                         "VALUES (%s, %s, %s, %s)", (sha or text_sha256(text), name, text, sentences))
    out = tmp_path / "alice.stance"
    assert main(["join", team_db.url_for(roles["alice"]), "-o", str(out), "--annotator", "alice"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "'forged'" in err[0] and "hash" in err[0] and "'garbled'" in err[1]
    with Project.open(out) as alice:
        assert sorted(alice.document(d).external_id for d in alice.document_ids()) == \
            sorted(lead.document(d).external_id for d in lead.document_ids())
    refused = sync(lead).pulled.refused  # the lead's file pulls them as new documents
    assert [line.split("'")[1] for line in refused] == ["forged", "garbled"]
