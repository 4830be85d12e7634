"""The window's background sync with a real PostgreSQL: labels reach the server, labelling goes on
while it is away ("Offline since …"), everything arrives when it is back, and others' work shows up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import fill_annotation_project, wait_saved
from PySide6.QtCore import QSettings

from stancelabel.gui.settings import Settings
from stancelabel.server.sync import add_annotator, join, publish, sync
from stancelabel.store.project import Project

pytestmark = pytest.mark.slow


@pytest.fixture
def shared(team_db, tmp_path: Path):
    """A published project (not blind) and alice's working copy of it."""
    with Project.open(tmp_path / "news.stance", create=True) as lead:
        fill_annotation_project(lead)
        publish(lead, team_db.lead_url, lead="lead", blind=False)
    role = add_annotator(team_db.lead_url, "alice")[0]
    join(team_db.url_for(role), tmp_path / "alice.stance", "alice")
    return team_db


def _settings(tmp_path: Path) -> Settings:
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.sync_interval_ms = 1000
    return settings


def _labels_on_server(team_db, tmp_path: Path) -> dict[str, str]:
    import psycopg

    with Project.open(tmp_path / "news.stance", readonly=True) as lead:
        schema = json.loads(lead.get_setting("server"))["schema"]
    with psycopg.connect(team_db.lead_url) as conn:
        rows = conn.execute(f'SELECT key, value FROM "{schema}".event WHERE kind = %s AND annotator = %s '
                            "ORDER BY seq", ("label", "alice")).fetchall()
    return {key: json.loads(value) for key, value in rows}


def test_labels_reach_the_server_and_wait_while_it_is_away(qtbot, make_window, shared, tmp_path: Path) -> None:
    team_db = shared
    window = make_window(Project.open(tmp_path / "alice.stance"), annotator="alice", settings=_settings(tmp_path))
    status = window.sync_label
    qtbot.waitUntil(lambda: status.text().startswith("Synced"), timeout=20_000)
    window.label("denies")
    wait_saved(qtbot, window)
    qtbot.waitUntil(lambda: len(_labels_on_server(team_db, tmp_path)) == 1, timeout=20_000)

    team_db.server.stop()
    try:
        qtbot.waitUntil(lambda: "Offline since" in status.text(), timeout=20_000)
        for label in ("asserts", "qualifies"):  # labelling goes on, at the same pace
            window.label(label)
            wait_saved(qtbot, window)
        assert len(window.project.annotations()) == 3
        qtbot.waitUntil(lambda: "2 change(s) waiting" in status.text(), timeout=20_000)
        assert "not saved" not in window.save_label.text()
        assert window.grab().save(str(tmp_path / "offline.png"))  # looked at: docs/screenshot-offline.png
    finally:
        team_db.server.start()
    qtbot.waitUntil(lambda: status.text().startswith("Synced") and "waiting" not in status.text(), timeout=30_000)
    on_server = _labels_on_server(team_db, tmp_path)
    with Project.open(tmp_path / "alice.stance", readonly=True) as mine:
        given = {mine.attribution(a.attribution_id).key: a.label for a in mine.annotations()}
    assert on_server == given and len(given) == 3


def test_others_labels_arrive_in_the_leads_window(qtbot, make_window, shared, tmp_path: Path) -> None:
    window = make_window(Project.open(tmp_path / "news.stance"), annotator="lead", settings=_settings(tmp_path))
    qtbot.waitUntil(lambda: window.sync_label.text().startswith("Synced"), timeout=20_000)
    with Project.open(tmp_path / "alice.stance") as alice:
        key = window.current.key
        alice.set_label(alice.attribution_id(key), "alice", "qualifies")
        sync(alice)
    qtbot.waitUntil(lambda: window.project.annotation(window.project.attribution_id(key), "alice") is not None,
                    timeout=20_000)
    assert window.project.annotation(window.project.attribution_id(key), "alice").label == "qualifies"
    assert window.current.key == key  # the item shown stays


def test_the_lead_opens_the_shared_project_and_reviews_it(qtbot, make_window, shared, tmp_path: Path) -> None:
    import psycopg

    team_db = shared
    with Project.open(tmp_path / "alice.stance") as alice:
        first = alice.attributions(alice.document_ids()[0])[0].key
        alice.set_label(alice.attribution_id(first), "alice", "denies")
        sync(alice)
    window = make_window(Project.open(tmp_path / "other.stance", create=True), annotator="someone",
                         settings=_settings(tmp_path))
    window.files.start_join(team_db.lead_url, tmp_path / "lead-copy.stance")
    qtbot.waitUntil(lambda: window.project.path.name == "lead-copy.stance", timeout=20_000)
    assert window.annotator == "lead" and window.syncing.active
    qtbot.waitUntil(lambda: window.sync_label.text().startswith("Synced"), timeout=20_000)
    view = window.reviewing.show_agreement()  # everyone's labels are in the working copy
    qtbot.addWidget(view)
    assert window.project.annotation(window.project.attribution_id(first), "alice").label == "denies"
    window.reviewing.show_items([window.project.attribution_id(first)], "alice's label")  # as the view's cells do
    assert window.review and window.current.key == first
    window.label("denies")  # in review mode: the gold label, a lead's event like any other
    wait_saved(qtbot, window)
    schema = json.loads(window.project.get_setting("server"))["schema"]

    def gold_on_server() -> list[tuple]:
        with psycopg.connect(team_db.lead_url) as conn:
            return conn.execute(f'SELECT annotator, key FROM "{schema}".event WHERE kind = %s', ("gold",)).fetchall()

    qtbot.waitUntil(lambda: gold_on_server() == [("lead", first)], timeout=20_000)


def test_the_agreement_view_follows_the_sync(qtbot, make_window, shared, tmp_path: Path) -> None:
    """The lead keeps the agreement view open; as annotators' labels arrive by the background sync its
    figures move, without reopening it, and the pair chosen stays chosen."""
    team_db = shared
    with Project.open(tmp_path / "news.stance") as lead:
        keys = sorted(x.key for d in lead.document_ids() for x in lead.attributions(d))
    window = make_window(Project.open(tmp_path / "news.stance"), annotator="lead", settings=_settings(tmp_path))
    qtbot.waitUntil(lambda: window.sync_label.text().startswith("Synced"), timeout=20_000)
    view = window.reviewing.show_agreement()
    qtbot.addWidget(view)
    assert view.result.items == 0 and "needs them" in view.figures.text()
    assert "shared project" in view.updated.text()
    bob = add_annotator(team_db.lead_url, "bob")[0]
    join(team_db.url_for(bob), tmp_path / "bob.stance", "bob")
    for name, labels in (("alice", ["denies", "asserts"]), ("bob", ["denies", "qualifies"])):
        with Project.open(tmp_path / f"{name}.stance") as mine:
            for key, label in zip(keys, labels):
                mine.set_label(mine.attribution_id(key), name, label)
            sync(mine)
    qtbot.waitUntil(lambda: view.result.items == 2, timeout=20_000)
    assert view.result.observed_agreement == 0.5
    assert view.pair.count() == 1 and view.pair.currentText().startswith("alice × bob")
    assert view.matrix.item(view.result.labels.index("denies"), view.result.labels.index("denies")).text() == "1"
    assert view.grab().save(str(tmp_path / "agreement-live.png"))
    # the bars: a share of 50 % fills half its cell, 0 % none (a gradient brush once filled whole cells)
    image = view.bars.viewport().grab().toImage()
    labels = view.result.labels

    def filled(row: int, label: str, at: float) -> bool:
        rect = view.bars.visualItemRect(view.bars.item(row, labels.index(label)))
        colour = image.pixelColor(rect.left() + int(rect.width() * at), rect.center().y())
        return colour.saturation() > 40

    assert filled(0, "denies", 0.25) and not filled(0, "denies", 0.75)
    assert not filled(0, "qualifies", 0.25) and not filled(0, "qualifies", 0.75)


def test_a_document_the_lead_adds_appears_in_the_window_after_its_sync(qtbot, make_window, shared,
                                                                      tmp_path: Path) -> None:
    from stancelabel.core.model import ImportedAttribution, SourceDocument

    window = make_window(Project.open(tmp_path / "alice.stance"), annotator="alice", settings=_settings(tmp_path))
    qtbot.waitUntil(lambda: window.sync_label.text().startswith("Synced"), timeout=20_000)
    documents, queue = window.queuing.documents.rowCount(), window.queuing.queue.rowCount()
    shown = window.current.key
    text = "The minister said that the bridge will open in May. Nobody else spoke."
    with Project.open(tmp_path / "news.stance") as lead:
        lead.add_document(SourceDocument("bridge", text, "bridge.txt"), [(0, 51), (52, len(text))], attributions=[
            (ImportedAttribution(((0, 12),), ((13, 17),), ((23, 50),)), "auto")])
        lead.set_guidelines("# Bridges\n\nLabel what the source says about the bridge.\n")
        sync(lead)
    qtbot.waitUntil(lambda: window.queuing.documents.rowCount() == documents + 1, timeout=20_000)
    qtbot.waitUntil(lambda: window.queuing.queue.rowCount() == queue + 1, timeout=20_000)
    qtbot.waitUntil(lambda: "Bridges" in window.guidelines_view.toPlainText(), timeout=20_000)
    assert window.current.key == shown  # the item shown stays


def test_a_working_copy_opens_as_its_annotator_without_asking(qtbot, shared, tmp_path: Path, monkeypatch) -> None:
    """alice's working copy, opened from the command line by someone whose usual name is another, labels
    as alice without a name prompt (the server would refuse labels under another name from her role);
    switching the name is explained, not done; another project opened after it is labelled under the
    usual name again."""
    from PySide6.QtWidgets import QMessageBox

    from stancelabel.gui import app, dialogs
    from stancelabel.gui.main_window import window as window_module
    from stancelabel.gui.settings import Settings

    def no_prompt(*_args, **_kwargs):
        raise AssertionError("asked for a name")

    monkeypatch.setattr(dialogs, "ask_annotator", no_prompt)
    monkeypatch.setattr(window_module, "ask_annotator", no_prompt)
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda _parent, _title, text, *a, **k: told.append(text))
    Settings().annotator = "Usual Name"
    window = app.open_main_window(tmp_path / "alice.stance")
    qtbot.addWidget(window)
    assert window.annotator == "alice" and window.annotator_button.text() == "Annotator: alice"
    assert "no documents imported" not in window.pipeline_label.text()  # they came with the working copy
    tip = window.annotator_button.toolTip()
    assert "alice's working copy" in tip and "Ctrl+Shift+U" not in tip
    window.switch_annotator()
    assert window.annotator == "alice" and "alice's working copy" in told[0]
    with Project.open(tmp_path / "plain.stance", create=True) as plain:
        fill_annotation_project(plain)
    assert window.open_path(str(tmp_path / "plain.stance"))
    assert window.annotator == "Usual Name" and not window.annotator_fixed
    assert "Ctrl+Shift+U switches" in window.annotator_button.toolTip()
    assert Settings().annotator == "Usual Name"  # the usual name was never replaced
    window.close()
