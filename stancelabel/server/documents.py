"""What a shared project gains after publish besides labels: new documents and the guidelines.

Documents go up from a lead's file (the one published from, or a lead's working copy) and come down
to every copy that should hold them: a copy of every document (the lead's, a reading copy, an
annotator's in a project that was not split) gets each new one; an annotator's share gets the
documents assigned to them (``stancelabel server assign``): a share is exactly its assignment rows,
so a document assigned to nobody yet reaches no share, and nothing ever leaves a file again.

Push: the file's documents after its document push cursor, a batch per server transaction with
``ON CONFLICT DO NOTHING`` on the sha256, the cursor moved after each commit. Pull: the documents
the server has for this copy that the file lacks, a batch per SQLite transaction that also notes
their hashes (``TO_FILL``); at the end of the sync those documents' attributions, authors and
events that the pull cursors had already passed (the document came after them, or its assignment
did) are fetched, and the note is cleared. Every step can be cut off and repeated: what is there
already is recognised by its identity (sha256, attribution key, event ident).

Guidelines: the server's ``meta`` row, and in the file the text the two last agreed on
(``GUIDELINES``). A lead's file whose guidelines differ from that text sends its own; any file
whose server text differs from it takes the server's. Only leads may change the server's (RLS).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from stancelabel.core.errors import StanceLabelError
from stancelabel.server import local
from stancelabel.server.schema import FORMAT, quoted, team_role, upgrade_statements
from stancelabel.store.project import Project

#: Documents per transaction (a document may hold up to a million characters).
DOCUMENT_BATCH = int(os.environ.get("STANCELABEL_SYNC_DOCUMENT_BATCH", "200"))


def _current(conn, s: str) -> bool:
    """Whether the shared project's schema is of this version's format (else an older one's)."""
    row = conn.execute(f"SELECT value FROM {s}.meta WHERE key = 'format'").fetchone()
    return row is not None and row[0].isdigit() and int(row[0]) >= int(FORMAT)


def upgrade(conn, schema: str) -> None:
    """A schema published by an older version (format 1) gets the lead's document, assignment and
    guideline rights; run by its owner, in one transaction."""
    if _current(conn, quoted(schema)):
        return
    team = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (team_role(schema),)).fetchone()
    with conn.transaction():
        for statement in upgrade_statements(schema, team_exists=bool(team)):
            conn.execute(statement)


def writable(conn, s: str, owner: bool, is_lead: bool) -> bool:
    """Whether the connected role may add documents and edit the guidelines (a lead's role needs a schema
    of format 2; the owner upgrades an older one on their next sync)."""
    if owner:
        return True
    return is_lead and _current(conn, s)


def insert_documents(cur, s: str, rows: list[tuple]) -> int:
    """Server document rows (see ``local.documents_after``) in, those already there left; how many were new."""
    if not rows:
        return 0
    cur.executemany(f"INSERT INTO {s}.document (sha256, external_id, title, text, meta, source_file, target, "
                    "sentences) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING", rows)
    return max(cur.rowcount, 0)


def push_documents(conn, s: str, project: Project) -> int:
    """Send the file's documents after its document push cursor; how many were new on the server.

    No cursor yet (a file published or joined by an older version, or a fresh working copy): the
    server's hashes are read once and those documents are not sent again."""
    raw = project.get_setting(local.PUSHED_DOCUMENT)
    leave_out: set[str] = set()
    if not raw:
        leave_out = {r[0] for r in conn.execute(f"SELECT sha256 FROM {s}.document")}
    after, pushed = int(raw or 0), 0
    while True:
        rows, last = local.documents_after(project, after, DOCUMENT_BATCH, leave_out)
        if last == after:
            return pushed
        if rows:
            with conn.transaction(), conn.cursor() as cur:
                pushed += insert_documents(cur, s, rows)
        project.set_setting(local.PUSHED_DOCUMENT, str(last))
        after = last


def unassigned(conn, s: str) -> int:
    """In a split project (any assignment), how many documents are in nobody's share; else 0."""
    return conn.execute(f"SELECT count(*) FROM {s}.document d WHERE EXISTS (SELECT 1 FROM {s}.assignment) AND "
                        f"NOT EXISTS (SELECT 1 FROM {s}.assignment a WHERE a.sha256 = d.sha256)").fetchone()[0]


def pull_documents(conn, s: str, project: Project, refused: list[str]) -> int:
    """Bring in the documents the server has for this copy that the file lacks; how many came.

    Cheap when nothing is new: one count, compared with the count the file last saw."""
    share = json.loads(project.get_setting("assignment") or "null")
    who = share.get("annotator") if isinstance(share, dict) else None
    if who is not None:
        count_sql, list_sql, params = (
            f"SELECT count(*) FROM {s}.assignment WHERE annotator = %s",
            f"SELECT d.sha256 FROM {s}.assignment a JOIN {s}.document d ON d.sha256 = a.sha256 "
            "WHERE a.annotator = %s ORDER BY d.seq", (who,))
    else:
        count_sql, list_sql, params = (f"SELECT count(*) FROM {s}.document",
                                       f"SELECT sha256 FROM {s}.document ORDER BY seq", ())
    count = conn.execute(count_sql, params).fetchone()[0]
    if project.get_setting(local.SEEN_DOCUMENTS) == str(count):
        return 0
    have = project.document_shas()
    missing = [r[0] for r in conn.execute(list_sql, params) if r[0] not in have]
    added = 0
    for i in range(0, len(missing), DOCUMENT_BATCH):
        rows = conn.execute(f"SELECT external_id, title, text, sha256, meta, source_file, target, sentences "
                            f"FROM {s}.document WHERE sha256 = ANY(%s) ORDER BY seq",
                            (missing[i:i + DOCUMENT_BATCH],)).fetchall()
        added += len(local.add_documents(project, rows, refused))
    if added and who is not None:  # the share's size, as stats and the window tell it
        share["documents"] = count
        project.set_setting("assignment", json.dumps(share))
    project.set_setting(local.SEEN_DOCUMENTS, str(count))
    return added


def fill_documents(conn, s: str, project: Project, source_id: int, batch: int,
                   write_turn: Callable[[], AbstractContextManager[Any]]) -> tuple[int, int]:
    """For the documents pulled lately (``TO_FILL``): their attributions, authors and the events on them
    the pull cursors passed while the file did not hold them; then the note is cleared. Returns
    (attributions, events) added."""
    shas = json.loads(project.get_setting(local.TO_FILL) or "[]")
    if not shas:
        return 0, 0
    rows = conn.execute(f"SELECT key, sha256, source, cue, content, origin, source_hint, suggestion, status "
                        f"FROM {s}.attribution WHERE sha256 = ANY(%s) ORDER BY seq", (shas,)).fetchall()
    attributions = local.add_attributions(
        project, rows, (local.PULLED_ATTRIBUTION, int(project.get_setting(local.PULLED_ATTRIBUTION) or 0)),
        int(project.get_setting(local.PUSHED_ATTRIBUTION) or 0))
    authors = conn.execute(f"SELECT x.key, x.annotator FROM {s}.attribution_author x JOIN {s}.attribution a "
                           "ON a.key = x.key WHERE a.sha256 = ANY(%s)", (shas,)).fetchall()
    if authors:
        local.add_authors(project, authors, int(project.get_setting(local.PULLED_AUTHORS) or -1))
    cursor = int(project.get_setting(local.PULLED_EVENT) or 0)  # later events come with the usual pull
    filled = local.Pulled()
    after = 0
    while True:
        events = conn.execute(
            f"SELECT e.seq, e.ident, e.at, e.annotator, e.key, e.kind, e.value, e.previous, e.undoes, e.target "
            f"FROM {s}.event e JOIN {s}.attribution a ON a.key = e.key WHERE a.sha256 = ANY(%s) "
            "AND e.seq > %s AND e.seq <= %s ORDER BY e.seq LIMIT %s", (shas, after, cursor, batch)).fetchall()
        if not events:
            break
        with write_turn():
            local.apply_events(project, [local.ServerEvent(*r[1:]) for r in events], source_id,
                               (local.PULLED_EVENT, cursor), filled)
        after = events[-1][0]
    project.set_setting(local.TO_FILL, "[]")
    return attributions, filled.events


def sync_guidelines(conn, s: str, project: Project, lead: bool, refused: list[str]) -> str | None:
    """Exchange the guidelines: 'sent', 'received' or None (nothing to do)."""
    from stancelabel.io.guidelines import set_guidelines

    row = conn.execute(f"SELECT value FROM {s}.meta WHERE key = 'guidelines'").fetchone()
    if row is None:
        return None
    remote, mine, agreed = row[0], project.guidelines(), project.get_setting(local.GUIDELINES)
    if mine == remote:
        if agreed != mine:
            project.set_setting(local.GUIDELINES, mine)
        return None
    if lead and mine != agreed:
        conn.execute(f"UPDATE {s}.meta SET value = %s WHERE key = 'guidelines'", (mine,))
        project.set_setting(local.GUIDELINES, mine)  # cut off before this: sent again, the same text
        return "sent"
    if remote == agreed:
        return None  # only this file's copy changed (not a lead's): it stays, until the lead's changes
    try:
        with project.transaction():
            set_guidelines(project, remote)
            project.set_setting(local.GUIDELINES, remote)
    except StanceLabelError as error:
        refused.append(f"the server's guidelines: {error}")
        return None
    return "received"
