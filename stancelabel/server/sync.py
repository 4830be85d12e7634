"""publish, join, sync and add-annotator: a shared project on PostgreSQL and the local files that work on it.

Push: the file's new attributions and events go up in one server transaction each batch, with
``ON CONFLICT DO NOTHING`` on their identities; the file's push cursor moves only after the commit,
so a push cut short is sent again and adds nothing the second time. Pull: the server's rows after
the file's pull cursor come down in batches, each written with its cursor in one SQLite transaction
(see server/local.py). Credentials never enter the file: it remembers the connection string
without its password, and libpq finds the password where it always does (PGPASSWORD, ~/.pgpass,
a service file).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import Label
from stancelabel.core.names import clean_name
from stancelabel.core.outputs import Kind, plan_output
from stancelabel.server import documents, local, require_psycopg
from stancelabel.server.schema import (
    FORMAT,
    MARK,
    annotator_role,
    check_schema_name,
    create_statements,
    quoted,
    schema_name_for,
    team_role,
    team_statements,
)
from stancelabel.store.project import Project, utc_now

#: Rows per server transaction (smaller in the tests that kill a sync part-way).
BATCH = int(os.environ.get("STANCELABEL_SYNC_BATCH", "5000"))


# -- connecting ------------------------------------------------------------------------------------


class ServerUnavailable(StanceLabelError):
    """The server could not be reached, or refused or dropped the work: nothing local is at fault."""


def without_password(url: str) -> str:
    """The connection string to remember: the same server, database and user, no password."""
    psycopg = require_psycopg()
    try:
        params = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        raise StanceLabelError(f"not a PostgreSQL connection string or URL: {_first_line(error)}") from None
    params.pop("password", None)
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def connect(url: str):
    """A connection (libpq finds the password); a failure is one line naming the server."""
    psycopg = require_psycopg()
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=int(os.environ.get("PGCONNECT_TIMEOUT", "10")))
    except psycopg.Error as error:
        raise ServerUnavailable(f"cannot reach the server ({_first_line(error)})") from None


def server_error(error: BaseException) -> StanceLabelError:
    return ServerUnavailable(f"the server refused or dropped the work ({_first_line(error)}); nothing was lost: "
                            "run the same command again")


def find_schema(conn, schema: str | None) -> str:
    """The shared project's schema: the one named, or the only one in the database."""
    found = [r[0] for r in conn.execute(
        "SELECT nspname FROM pg_namespace WHERE obj_description(oid, 'pg_namespace') = %s ORDER BY 1", (MARK,))]
    if schema is not None:
        if check_schema_name(schema) not in found:
            raise StanceLabelError(f"no shared project {schema!r} in this database"
                                   + (f" (there is: {', '.join(found)})" if found else ""))
        return schema
    if len(found) != 1:
        raise StanceLabelError("no shared project in this database" if not found else
                               f"this database holds several shared projects ({', '.join(found)}): name one "
                               "with --schema")
    return found[0]


@dataclass
class Location:
    """Where a local file's shared project is: a connection string without password, and a schema."""

    url: str
    schema: str

    def to_json(self) -> str:
        return json.dumps({"url": self.url, "schema": self.schema})

    @classmethod
    def of(cls, project: Project) -> Location:
        raw = project.get_setting(local.SERVER)
        if not raw:
            raise StanceLabelError(f"{project.path}: this project is not on a server; use stancelabel publish, "
                                   "or stancelabel join to make a working copy of a shared project")
        value = json.loads(raw)
        return cls(value["url"], value["schema"])


# -- publish ---------------------------------------------------------------------------------------


@dataclass
class PublishReport:
    schema: str
    documents: int = 0
    attributions: int = 0
    events: int = 0
    annotators: list[str] = field(default_factory=list)


def publish(project: Project, url: str, schema: str | None = None, blind: bool = True,
            lead: str | None = None) -> PublishReport:
    """Create the shared project in its own schema from ``project``; the file then remembers it.

    The whole project goes up in one transaction: the schema is there complete or not at all.
    Published already from this file (an earlier run cut short after its commit): the file syncs."""
    remembered = without_password(url)
    schema = check_schema_name(schema or schema_name_for(project.name))
    report = PublishReport(schema)
    with connect(url) as conn:
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if exists:
            raw = project.get_setting(local.SERVER)
            if raw and json.loads(raw).get("schema") == schema:
                sync(project, url)  # an earlier publish of this file committed; the file did not hear of it
                return report
            raise StanceLabelError(f"the schema {schema!r} is already in this database; choose another "
                                   "with --schema, or join that project (stancelabel join)")
    project.set_setting(local.SERVER, Location(remembered, schema).to_json())  # before: see above
    for key in (local.PUSHED_EVENT, local.PUSHED_ATTRIBUTION, local.PULLED_EVENT, local.PULLED_ATTRIBUTION,
                local.PULLED_AUTHORS):
        project.set_setting(key, "0")  # cursors of an earlier server mean nothing here
    for key in (local.PUSHED_DOCUMENT, local.SEEN_DOCUMENTS, local.GUIDELINES):
        project.set_setting(key, "")  # unknown: the first sync asks the server
    project.set_setting(local.TO_FILL, "[]")
    psycopg = require_psycopg()
    s = quoted(schema)
    try:
        with connect(url) as conn, conn.transaction():
            for statement in create_statements(schema):
                conn.execute(statement)
            meta = {"name": project.name, "guidelines": project.guidelines(), "blind": "true" if blind else "false",
                    "published_at": utc_now(), "format": FORMAT}
            for key in ("split", "pipeline"):
                if project.get_setting(key):
                    meta[key] = project.get_setting(key)
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {s}.meta (key, value) VALUES (%s, %s)", list(meta.items()))
                cur.executemany(f"INSERT INTO {s}.label (name, shortcut, colour, description, position) "
                                "VALUES (%s, %s, %s, %s, %s)",
                                [(x.name, x.shortcut, x.colour, x.description, x.position) for x in project.labels()])
                rows, last_document = local.documents_after(project, 0, -1)
                report.documents = documents.insert_documents(cur, s, rows)
                names = set(project.annotators())
                if lead:
                    names.add(clean_name(lead, "annotator name"))
                cur.executemany(f"INSERT INTO {s}.annotator (name, role, lead) VALUES (%s, %s, %s)",
                                [(n, conn.info.user if n == lead else None, n == lead) for n in sorted(names)])
                report.annotators = sorted(names)
                split = json.loads(project.get_setting("split") or "{}")
                shares = [(name, sha) for name, shas in (split.get("documents") or {}).items() for sha in shas]
                if shares:
                    cur.executemany(f"INSERT INTO {s}.annotator (name) VALUES (%s) ON CONFLICT DO NOTHING",
                                    [(n,) for n in {n for n, _ in shares}])
                    cur.executemany(f"INSERT INTO {s}.assignment (annotator, sha256) VALUES (%s, %s) "
                                    "ON CONFLICT DO NOTHING", shares)
            report.attributions, report.events = _push(conn, s, project, None, None, copy=True)
        project.set_setting(local.PUSHED_DOCUMENT, str(last_document))
        project.set_setting(local.GUIDELINES, meta["guidelines"])
        with connect(url) as conn:  # everything on the server is this file's: nothing to pull back
            project.set_setting(local.PULLED_EVENT, str(conn.execute(
                f"SELECT coalesce(max(seq), 0) FROM {s}.event").fetchone()[0]))
            project.set_setting(local.PULLED_ATTRIBUTION, str(conn.execute(
                f"SELECT coalesce(max(seq), 0) FROM {s}.attribution").fetchone()[0]))
    except psycopg.Error as error:
        raise server_error(error) from None
    return report


def _push(conn, s: str, project: Project, source_id: int | None, annotator: str | None, *,
          copy: bool = False, kept: list[int] | None = None) -> tuple[int, int]:
    """Send the file's attributions and events after its push cursors; (attributions, events) new there.

    Each batch is one server transaction; the cursor moves after its commit. ``copy`` (publish, a whole
    file at once): the events go through ``COPY`` (see ``_copy_events``) rather than a statement each.
    ``kept`` (an annotator's sync): attributions of documents the server does not have (the annotator
    imported them into their own copy; only a lead adds documents), and events on attributions it does
    not have, stay in the file unsent, counted there, instead of stopping every sync."""
    attributions = events = 0
    after = int(project.get_setting(local.PUSHED_ATTRIBUTION) or 0)
    while True:
        rows, authors, last = local.local_attributions(project, after)
        if not rows:
            break
        if kept is not None:
            present = {sha for (sha,) in conn.execute(f"SELECT sha256 FROM {s}.document WHERE sha256 = ANY(%s)",
                                                      (sorted({r[1] for r in rows}),))}
            sent = [r for r in rows if r[1] in present]
            kept[0] += len(rows) - len(sent)
            keys = {r[0] for r in sent}
            rows, authors = sent, [x for x in authors if x[0] in keys]
        with conn.transaction(), conn.cursor() as cur:
            for i in range(0, len(rows), BATCH):
                cur.executemany(
                    f"INSERT INTO {s}.attribution (key, sha256, source, cue, content, origin, source_hint, "
                    "suggestion, status, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING", rows[i:i + BATCH])
                attributions += max(cur.rowcount, 0)
            mine = [x for x in authors if annotator is None or x[1] == annotator]
            cur.executemany(f"INSERT INTO {s}.attribution_author (key, annotator) VALUES (%s, %s) "
                            "ON CONFLICT DO NOTHING", mine)
        project.set_setting(local.PUSHED_ATTRIBUTION, str(last))
        after = last
    after = int(project.get_setting(local.PUSHED_EVENT) or 0)
    while True:
        batch, last = local.local_events(project, after, skip_source=source_id, annotator=annotator, limit=BATCH)
        if last == after:
            break
        if batch and kept is not None:
            present = {key for (key,) in conn.execute(f"SELECT key FROM {s}.attribution WHERE key = ANY(%s)",
                                                      (sorted({e.key for e in batch}),))}
            sent = [e for e in batch if e.key in present]
            kept[1] += len(batch) - len(sent)
            batch = sent
        if batch:
            with conn.transaction(), conn.cursor() as cur:
                if copy:
                    events += _copy_events(cur, s, [e.row() for e in batch])
                else:
                    cur.executemany(
                        f"INSERT INTO {s}.event ({_EVENT_COLUMNS}) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (ident) DO NOTHING",
                        [e.row() for e in batch])
                    events += max(cur.rowcount, 0)
        project.set_setting(local.PUSHED_EVENT, str(last))
        after = last
    return attributions, events


_EVENT_COLUMNS = "ident, at, annotator, key, kind, value, previous, undoes, target"


def _copy_events(cur, s: str, rows: list[tuple]) -> int:
    """Events into the log through ``COPY`` into a temporary table and one ``INSERT … SELECT`` in their
    order, with the same ``ON CONFLICT (ident) DO NOTHING`` (and the same triggers and row security) as
    a statement each: one statement on the server rather than thousands. How many were new there."""
    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS pushing_event (n bigserial, {_EVENT_COLUMNS.replace(',', ' text,')} "
                "text) ON COMMIT DELETE ROWS")
    cur.execute("TRUNCATE pg_temp.pushing_event")  # one publish is many batches in one transaction
    with cur.copy(f"COPY pg_temp.pushing_event ({_EVENT_COLUMNS}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cur.execute(f"INSERT INTO {s}.event ({_EVENT_COLUMNS}) SELECT {_EVENT_COLUMNS} FROM pg_temp.pushing_event "
                "ORDER BY n ON CONFLICT (ident) DO NOTHING")
    return max(cur.rowcount, 0)


# -- join ------------------------------------------------------------------------------------------


@dataclass
class JoinReport:
    output: str
    annotator: str
    documents: int = 0
    attributions: int = 0
    share: bool = False
    sync: SyncReport | None = None


def join(url: str, output: str | Path, annotator: str | None, schema: str | None = None, *,
         whole: bool = False) -> JoinReport:
    """A local project file to work on a shared project: the annotator's share when the lead assigned
    one (else every document), the label schema, guidelines, targets; then the events they may read.

    ``annotator`` None: the connected role's annotator name (else the role's own name); ``whole``:
    every document whatever the assignment, under the project's own name (a reading copy of it all)."""
    psycopg = require_psycopg()
    target = plan_output(output, Kind.PROJECT, replace=False)
    try:
        with connect(url) as conn:
            schema = find_schema(conn, schema)
            s = quoted(schema)
            me, is_lead = conn.execute(f"SELECT {s}.me(), {s}.is_lead()").fetchone()
            annotator = clean_name(annotator if annotator is not None else me or conn.info.user, "annotator name")
            report = JoinReport(str(output), annotator)
            owner = conn.execute("SELECT pg_get_userbyid(nspowner) = current_user FROM pg_namespace "
                                 "WHERE nspname = %s", (schema,)).fetchone()[0]
            if not (owner or is_lead) and me != annotator:
                raise StanceLabelError(
                    f"the database role {conn.info.user!r} is " + (f"annotator {me!r}'s" if me else "nobody's")
                    + f" in this project, not {annotator!r}'s; connect as {annotator!r}'s role")
            meta = dict(conn.execute(f"SELECT key, value FROM {s}.meta").fetchall())
            labels = conn.execute(f"SELECT name, shortcut, colour, description, position FROM {s}.label "
                                  "ORDER BY position").fetchall()
            shas = [] if whole else [r[0] for r in conn.execute(
                f"SELECT sha256 FROM {s}.assignment WHERE annotator = %s", (annotator,))]
            report.share = bool(shas)
            where, params = ("WHERE sha256 = ANY(%s)", (shas,)) if shas else ("", ())
            documents = conn.execute(
                f"SELECT external_id, title, text, sha256, meta, source_file, target, sentences FROM {s}.document "
                f"{where} ORDER BY seq", params).fetchall()
            with target.building() as partial:
                name = meta.get("name", schema) if whole else f"{meta.get('name', schema)} — {annotator}"
                with Project.open(partial, create=True, name=name) as copy:
                    copy.save_labels([Label(*row) for row in labels])
                    if meta.get("guidelines"):
                        copy.set_guidelines(meta["guidelines"])
                    if meta.get("pipeline"):
                        copy.set_setting("pipeline", meta["pipeline"])
                    if whole and meta.get("split"):
                        copy.set_setting("split", meta["split"])
                    # the server is input like any file; what is refused here, the sync below (its pull of the
                    # documents this copy lacks) tries again and reports
                    report.documents = len(copy.copy_documents(local.checked_documents(documents, [])))
                    if not whole:  # a reading copy lists only who labelled, as the file does
                        copy.add_annotator(annotator)
                    if shas:
                        copy.set_setting("assignment", json.dumps({
                            "annotator": annotator, "source_project": meta.get("name", schema),
                            "documents": len(shas), "shared_documents": len(json.loads(meta.get("split", "{}"))
                                                                            .get("shared", [])),
                            "overlap": json.loads(meta.get("split", "{}")).get("overlap"),
                            "seed": json.loads(meta.get("split", "{}")).get("seed"), "created_at": utc_now()}))
                    copy.set_setting(local.SERVER, Location(without_password(url), schema).to_json())
                    copy.set_setting("server_annotator", annotator)
                    report.sync = _sync(conn, copy, schema, fresh=True)
                    report.attributions = report.sync.pulled_attributions
    except psycopg.Error as error:
        raise server_error(error) from None
    return report


# -- sync ------------------------------------------------------------------------------------------


def waiting(project: Project) -> int:
    """How many of a working copy's changes its server has not had yet (0 for a file on no server)."""
    raw = project.get_setting(local.SERVER)
    return local.waiting(project, f"server:{json.loads(raw)['schema']}") if raw else 0



@dataclass
class SyncReport:
    pushed_attributions: int = 0
    pushed_events: int = 0
    pulled_attributions: int = 0
    pulled: local.Pulled = field(default_factory=local.Pulled)
    labels_added: list[str] = field(default_factory=list)
    pushed_documents: int = 0
    pulled_documents: int = 0
    guidelines: str | None = None  # 'sent', 'received' or None
    unassigned: int = 0            # after a lead sent documents to a split project: those in nobody's share
    #: (attributions, events) of an annotator's own documents, which the server does not have: kept, not sent
    kept: list[int] = field(default_factory=lambda: [0, 0])

    def to_json(self) -> dict[str, Any]:
        return {"pushed_attributions": self.pushed_attributions, "pushed_events": self.pushed_events,
                "pulled_attributions": self.pulled_attributions, "pulled_events": self.pulled.events,
                "already_there": self.pulled.already, "other_shares": self.pulled.elsewhere,
                "refused": self.pulled.refused, "labels_added": self.labels_added,
                "pushed_documents": self.pushed_documents, "pulled_documents": self.pulled_documents,
                "guidelines": self.guidelines, "unassigned_documents": self.unassigned,
                "kept_attributions": self.kept[0], "kept_events": self.kept[1]}


def sync(project: Project, url: str | None = None, *, write_batch: int | None = None,
         write_turn: Callable[[], AbstractContextManager[Any]] = nullcontext) -> SyncReport:
    """Push what the server lacks, pull what the file lacks. ``url`` (with a password, or another
    address of the same server) is used for this run; the file keeps remembering its own without one.

    ``write_batch``: at most this many pulled events per SQLite transaction (the window's background
    sync keeps its write lock short, so a label given meanwhile is not kept waiting); ``write_turn``:
    a context each of those transactions runs in (the window's lets its saver go first)."""
    psycopg = require_psycopg()
    location = Location.of(project)
    try:
        with connect(url or location.url) as conn:
            return _sync(conn, project, location.schema, write_batch or BATCH, write_turn)
    except psycopg.Error as error:
        raise server_error(error) from None


def _sync(conn, project: Project, schema: str, write_batch: int = BATCH,
          write_turn: Callable[[], AbstractContextManager[Any]] = nullcontext, fresh: bool = False) -> SyncReport:
    """One sync on ``conn``; ``fresh``: a file being made (join), read by nobody until it is complete,
    so its annotations are computed once at the end rather than batch by batch."""
    s = quoted(schema)
    report = SyncReport()
    found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    if not found:
        raise StanceLabelError(f"the shared project {schema!r} is not in this database (was it removed?)")
    me, is_lead = conn.execute(f"SELECT {s}.me(), {s}.is_lead()").fetchone()
    owner = conn.execute("SELECT pg_get_userbyid(nspowner) = current_user FROM pg_namespace WHERE nspname = %s",
                         (schema,)).fetchone()[0]
    if not (owner or is_lead) and me is None:
        raise StanceLabelError(f"the database role {conn.info.user!r} is nobody's in this project; the lead adds "
                               "annotators with stancelabel server add-annotator")
    source_id = project.merge_source_id(Location.of(project).url, f"server:{schema}")
    report.labels_added = _pull_labels(conn, s, project)
    if owner:
        documents.upgrade(conn, schema)
    lead = documents.writable(conn, s, owner, is_lead)
    report.guidelines = documents.sync_guidelines(conn, s, project, lead, report.pulled.refused)
    if lead:  # documents before the attributions that name them
        report.pushed_documents = documents.push_documents(conn, s, project)
        if report.pushed_documents:
            report.unassigned = documents.unassigned(conn, s)
    try:
        report.pushed_attributions, report.pushed_events = _push(
            conn, s, project, source_id, None if owner or is_lead else me,
            kept=None if owner or is_lead else report.kept)
    except require_psycopg().errors.ForeignKeyViolation:
        raise StanceLabelError(
            f"{project.path}: it holds attributions of documents the server does not have, which cannot be "
            "sent: " + ("the server takes documents from this lead's role once the project's owner has synced "
                        "with this version (it upgrades the shared project); then sync again" if is_lead else
                        "only a lead adds documents to a shared project (import them into the lead's file)")
            + "; nothing was lost") from None
    report.pulled_documents = documents.pull_documents(conn, s, project, report.pulled.refused)
    # attributions, then events (an event names an attribution the file must have first). Events only up to
    # those committed before the attributions are read: one committed later may name an attribution
    # committed later too, which this pull would not have; it comes with the next sync, after its attribution
    # (the server's inserts take one lock, so seq order is commit order).
    events_upto = conn.execute(f"SELECT coalesce(max(seq), 0) FROM {s}.event").fetchone()[0]
    for rows in _after(conn, f"SELECT seq, key, sha256, source, cue, content, origin, source_hint, suggestion, "
                       f"status FROM {s}.attribution", int(project.get_setting(local.PULLED_ATTRIBUTION) or 0)):
        after = rows[-1][0]
        pushed = int(project.get_setting(local.PUSHED_ATTRIBUTION) or 0)
        report.pulled_attributions += local.add_attributions(project, [r[1:] for r in rows],
                                                             (local.PULLED_ATTRIBUTION, after), pushed)
    # authors: the table only grows and has no seq, so it is read again only when it grew
    if conn.execute(f"SELECT count(*) FROM {s}.attribution_author").fetchone()[0] != \
            int(project.get_setting(local.PULLED_AUTHORS) or -1):
        authors = conn.execute(f"SELECT key, annotator FROM {s}.attribution_author").fetchall()
        local.add_authors(project, authors, len(authors))  # those of another share's attributions: left out
    with local.building(project) if fresh else nullcontext() as building:
        for rows in _after(conn, f"SELECT seq, ident, at, annotator, key, kind, value, previous, undoes, target "
                           f"FROM {s}.event", int(project.get_setting(local.PULLED_EVENT) or 0), upto=events_upto):
            for i in range(0, len(rows), write_batch):
                chunk = rows[i:i + write_batch]
                pulled = [local.ServerEvent(*r[1:]) for r in chunk]
                with write_turn():
                    local.apply_events(project, pulled, source_id, (local.PULLED_EVENT, chunk[-1][0]),
                                       report.pulled, annotations=not fresh, fresh=building)
        if fresh and report.pulled.events:
            local.recompute_annotations(project)
    filled = documents.fill_documents(conn, s, project, source_id, write_batch, write_turn)
    report.pulled_attributions += filled[0]
    report.pulled.events += filled[1]
    return report


def _after(conn, select: str, after: int, upto: int | None = None):
    """The server's rows of ``select`` (its first column ``seq``) after ``after`` (and up to ``upto``), a
    batch at a time in order."""
    bound = "" if upto is None else f" AND seq <= {int(upto)}"
    while True:
        rows = conn.execute(f"{select} WHERE seq > %s{bound} ORDER BY seq LIMIT %s", (after, BATCH)).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _pull_labels(conn, s: str, project: Project) -> list[str]:
    """Labels the lead added on the server join the file's schema (with a free key if theirs is taken)."""
    ours = project.labels()
    names = {x.name.casefold() for x in ours}
    keys = {x.shortcut.upper() for x in ours}
    added = []
    for name, shortcut, colour, description in conn.execute(
            f"SELECT name, shortcut, colour, description FROM {s}.label ORDER BY position").fetchall():
        if name.casefold() in names:
            continue
        key = shortcut.upper()
        if key in keys or key.isdigit():
            key = next((k for k in "ABCDEFGHILMORVWYZ" if k not in keys), "")
        keys.add(key)
        added.append(Label(name, key, colour, description))
    if added:
        project.save_labels([*ours, *added])
    return [x.name for x in added]


# -- roles -----------------------------------------------------------------------------------------


def add_annotator(url: str, name: str, role: str | None = None, schema: str | None = None, lead: bool = False,
                  run: bool = True) -> tuple[str, list[str]]:
    """Give an annotator a database role of their own (a member of the project's team role). Returns
    the role and the SQL; with ``run`` it is run with the connected (lead's) rights."""
    name = clean_name(name, "annotator name")
    psycopg = require_psycopg()
    try:
        with connect(url) as conn:
            schema = find_schema(conn, schema)
            s = quoted(schema)
            role = role or annotator_role(schema, name)
            database = conn.info.dbname
            team = team_role(schema)
            has_team = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (team,)).fetchone()
            has_role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            sql = team_statements(schema, database, create=not has_team)
            if not has_role:
                sql.append(f"CREATE ROLE {quoted(role)} LOGIN IN ROLE {quoted(team)}")
            else:
                sql.append(f"GRANT {quoted(team)} TO {quoted(role)}")
            literal = lambda v: "'" + v.replace("'", "''") + "'"  # noqa: E731
            sql.append(f"INSERT INTO {s}.annotator (name, role, lead) VALUES ({literal(name)}, {literal(role)}, "
                       f"{'true' if lead else 'false'}) ON CONFLICT (name) DO UPDATE SET role = excluded.role, "
                       "lead = excluded.lead")
            if run:
                with conn.transaction():
                    for statement in sql:
                        conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege as error:
        raise StanceLabelError(f"your role may not create roles ({_first_line(error)}); run "
                               "stancelabel server add-annotator --print and give the SQL to the database's "
                               "administrator") from None
    except psycopg.Error as error:
        raise server_error(error) from None
    return role, sql


def assign(url: str, annotators: list[str], names: list[str], *, unassigned: bool = False,
           schema: str | None = None) -> tuple[int, int]:
    """Put documents in annotators' shares: those named (external id or sha256) and, with ``unassigned``,
    every document in nobody's share yet. Their next sync brings them. Returns (documents, new
    assignments); one transaction, repeatable (an assignment already there is left)."""
    psycopg = require_psycopg()
    annotators = [clean_name(name, "annotator name") for name in annotators]
    try:
        with connect(url) as conn:
            schema = find_schema(conn, schema)
            s = quoted(schema)
            is_lead, owner = conn.execute(f"SELECT {s}.is_lead(), pg_get_userbyid(nspowner) = current_user "
                                          "FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
            if owner:
                documents.upgrade(conn, schema)
            if not documents.writable(conn, s, owner, is_lead):
                raise StanceLabelError(f"the database role {conn.info.user!r} may not assign documents: connect "
                                       "as the project's lead" + ("" if not is_lead else " who published it (an "
                                                                  "older schema: their next sync upgrades it)"))
            known = {r[0] for r in conn.execute(f"SELECT name FROM {s}.annotator")}
            unknown = [name for name in annotators if name not in known]
            if unknown:
                raise StanceLabelError(f"no annotator {unknown[0]!r} in this project (known: "
                                       f"{', '.join(sorted(known)) or 'none'}); add one with stancelabel server "
                                       "add-annotator")
            found = conn.execute(f"SELECT sha256, external_id FROM {s}.document WHERE external_id = ANY(%s) "
                                 "OR sha256 = ANY(%s) ORDER BY seq", (names, names)).fetchall()
            named = {x for row in found for x in row}
            missing = [name for name in names if name not in named]
            if missing:
                raise StanceLabelError(f"no document {missing[0]!r} on the server"
                                       + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                                       + ": name documents by id or sha256, and sync the file they were "
                                       "imported into first")
            shas = list(dict.fromkeys(row[0] for row in found))
            if unassigned:
                shas += [r[0] for r in conn.execute(
                    f"SELECT sha256 FROM {s}.document d WHERE NOT EXISTS (SELECT 1 FROM {s}.assignment a "
                    "WHERE a.sha256 = d.sha256) ORDER BY seq") if r[0] not in shas]
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {s}.assignment (annotator, sha256) VALUES (%s, %s) "
                                "ON CONFLICT DO NOTHING", [(a, sha) for a in annotators for sha in shas])
                added = max(cur.rowcount, 0)
    except psycopg.Error as error:
        raise server_error(error) from None
    return len(shas), added
