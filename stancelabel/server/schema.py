"""The shared project's tables in PostgreSQL (one schema per project), its roles and its row-level security.

Rows name things by their stable identities (document sha256, attribution key, annotator and label
names), never by a file's row ids. The event log is append-only (a trigger) and each event has an
``ident`` (a hash of time, annotator, attribution key, kind, value and previous value, the identity
``merge`` uses) that is unique, so a push repeated after an interruption adds nothing.

``seq`` numbers rows in commit order: every insert into ``event`` and ``attribution`` first takes
one transaction-level advisory lock (a statement trigger, so no client can forget it), so a row
with a lower ``seq`` is never committed after one with a higher: a reader that has seen ``seq`` N
has seen everything before it, and a cursor is enough to pull what is new.
"""

from __future__ import annotations

import hashlib
import re

#: The comment that marks a schema as a StanceLabel project (join finds projects by it).
MARK = "stancelabel project v1"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
EVENT_KINDS = ("label", "note", "flag", "span", "status", "gold")


def check_schema_name(name: str) -> str:
    from stancelabel.core.errors import StanceLabelError

    if not _NAME.match(name):
        raise StanceLabelError(f"{name!r} cannot name a shared project's schema: use lower-case letters, digits and "
                               "_ (at most 41, not starting with a digit)")
    return name


def schema_name_for(project_name: str) -> str:
    """A schema name from a project's name: ``news-2024`` -> ``news_2024``."""
    slug = re.sub(r"[^a-z0-9_]+", "_", project_name.lower()).strip("_")[:32] or "project"
    return f"p_{slug}" if slug[0].isdigit() else slug


def team_role(schema: str) -> str:
    """The group role holding the annotators' rights on one shared project."""
    return f"{schema}_team"


def annotator_role(schema: str, name: str) -> str:
    """A database role name for an annotator: ``news_alice``; a name that is not plain ASCII gets a hash."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if slug != name.lower() or not slug:
        slug = f"{slug[:20]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}".strip("_")
    return f"{schema}_{slug}"[:63]


def lock_key(schema: str) -> int:
    """The advisory lock that puts one project's inserts in commit order."""
    return int.from_bytes(hashlib.sha256(f"stancelabel:{schema}".encode()).digest()[:8], "big", signed=True)


_DDL = r"""
CREATE SCHEMA {s};
COMMENT ON SCHEMA {s} IS '{mark}';
CREATE TABLE {s}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE {s}.label (
    name text PRIMARY KEY, shortcut text NOT NULL, colour text NOT NULL,
    description text NOT NULL DEFAULT '', position integer NOT NULL);
CREATE TABLE {s}.document (
    sha256 text PRIMARY KEY, external_id text NOT NULL, title text NOT NULL DEFAULT '', text text NOT NULL,
    meta text NOT NULL DEFAULT '{{}}', source_file text NOT NULL DEFAULT '', target text,
    sentences text NOT NULL,  -- JSON [[start, end], ...]
    seq bigserial UNIQUE);
CREATE TABLE {s}.attribution (
    key text PRIMARY KEY CHECK (key ~ '^[0-9a-f]{{32}}$'),
    sha256 text NOT NULL REFERENCES {s}.document,
    source text NOT NULL, cue text NOT NULL, content text NOT NULL,
    origin text NOT NULL CHECK (origin IN ('auto', 'imported', 'manual')),
    source_hint text, suggestion text,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'rejected', 'withdrawn')),
    created_at text NOT NULL,
    added_by name NOT NULL DEFAULT current_user,
    seq bigserial UNIQUE);
CREATE TABLE {s}.attribution_author (
    key text NOT NULL REFERENCES {s}.attribution, annotator text NOT NULL, PRIMARY KEY (key, annotator));
CREATE TABLE {s}.annotator (name text PRIMARY KEY, role name UNIQUE, lead boolean NOT NULL DEFAULT false);
CREATE TABLE {s}.assignment (
    annotator text NOT NULL, sha256 text NOT NULL REFERENCES {s}.document, PRIMARY KEY (annotator, sha256));
CREATE TABLE {s}.event (
    seq bigserial PRIMARY KEY,
    ident text NOT NULL UNIQUE,
    at text NOT NULL CHECK (at ~ '^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{{1,9}})?Z$'),
    annotator text NOT NULL,
    key text NOT NULL REFERENCES {s}.attribution,
    kind text NOT NULL CHECK (kind IN ('label', 'note', 'flag', 'span', 'status', 'gold')),
    value text NOT NULL,     -- JSON, labels by name
    previous text NOT NULL,
    undoes text,             -- the ident of the event this one reverts
    target text,             -- the target claim a label was given under
    pushed_by name NOT NULL DEFAULT current_user,
    pushed_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX event_by_annotator ON {s}.event (annotator, seq);

CREATE FUNCTION {s}.in_commit_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_advisory_xact_lock({lock}); RETURN NULL; END $$;
CREATE TRIGGER event_in_commit_order BEFORE INSERT ON {s}.event
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.in_commit_order();
CREATE TRIGGER attribution_in_commit_order BEFORE INSERT ON {s}.attribution
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.in_commit_order();
CREATE FUNCTION {s}.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the event log is append-only'; END $$;
CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON {s}.event
    FOR EACH ROW EXECUTE FUNCTION {s}.append_only();
CREATE TRIGGER event_no_truncate BEFORE TRUNCATE ON {s}.event
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.append_only();

-- Who the connected role is: an annotator's name, and whether they lead the project.
CREATE FUNCTION {s}.me() RETURNS text LANGUAGE sql STABLE AS
    $$ SELECT name FROM {s}.annotator WHERE role = current_user $$;
CREATE FUNCTION {s}.is_lead() RETURNS boolean LANGUAGE sql STABLE AS
    $$ SELECT coalesce((SELECT lead FROM {s}.annotator WHERE role = current_user), false) $$;
CREATE FUNCTION {s}.blind() RETURNS boolean LANGUAGE sql STABLE AS
    $$ SELECT coalesce((SELECT value = 'true' FROM {s}.meta WHERE key = 'blind'), true) $$;

-- The owner (the lead who published) is not subject to these policies; everyone else is.
ALTER TABLE {s}.event ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_read ON {s}.event FOR SELECT USING (
    annotator = {s}.me() OR kind IN ('span', 'status') OR {s}.is_lead() OR NOT {s}.blind());
CREATE POLICY event_write ON {s}.event FOR INSERT WITH CHECK (
    {s}.is_lead() OR (annotator = {s}.me() AND kind <> 'gold'));
ALTER TABLE {s}.attribution_author ENABLE ROW LEVEL SECURITY;
CREATE POLICY author_read ON {s}.attribution_author FOR SELECT USING (true);
CREATE POLICY author_write ON {s}.attribution_author FOR INSERT WITH CHECK (
    {s}.is_lead() OR annotator = {s}.me());
"""

#: What only a lead may change after publish: add documents, assign them, edit the guidelines. The
#: team role holds the privileges (a lead's role is a team member like an annotator's); these
#: policies let only lead roles use them, so an annotator's document insert is refused by the server.
#: Part of every new schema; run once by the owner's sync on a schema published before (format 1).
_LEAD_WRITES = r"""
ALTER TABLE {s}.document ENABLE ROW LEVEL SECURITY;
CREATE POLICY document_read ON {s}.document FOR SELECT USING (true);
CREATE POLICY document_write ON {s}.document FOR INSERT WITH CHECK ({s}.is_lead());
ALTER TABLE {s}.assignment ENABLE ROW LEVEL SECURITY;
CREATE POLICY assignment_read ON {s}.assignment FOR SELECT USING (true);
CREATE POLICY assignment_write ON {s}.assignment FOR INSERT WITH CHECK ({s}.is_lead());
ALTER TABLE {s}.meta ENABLE ROW LEVEL SECURITY;
CREATE POLICY meta_read ON {s}.meta FOR SELECT USING (true);
CREATE POLICY meta_write ON {s}.meta FOR UPDATE USING ({s}.is_lead() AND key = 'guidelines')
    WITH CHECK (key = 'guidelines');
"""

#: The schema's format (meta ``format``): 2 lets leads add documents, assignments and guidelines.
FORMAT = "2"

_TEAM_GRANTS = """
GRANT USAGE ON SCHEMA {s} TO {team};
GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {team};
GRANT INSERT ON {s}.event, {s}.attribution, {s}.attribution_author, {s}.document, {s}.assignment TO {team};
GRANT UPDATE (value) ON {s}.meta TO {team};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {team};
"""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def statements(template: str, **names: str) -> list[str]:
    """A script's statements, with its names quoted as identifiers (dollar-quoted bodies keep their ``;``)."""
    text = template.format(**{k: _quoted(v) for k, v in names.items()}, mark=MARK, lock=lock_key(names["s"]))
    parts = (part.strip() for part in re.split(r";[ \t]*\n", text))
    return [part for part in parts if any(line.strip() and not line.strip().startswith("--")
                                          for line in part.splitlines())]


def create_statements(schema: str) -> list[str]:
    """The DDL of a new shared project in ``schema``."""
    return statements(_DDL, s=schema) + statements(_LEAD_WRITES, s=schema)


def upgrade_statements(schema: str, team_exists: bool) -> list[str]:
    """What brings a format-1 schema to format 2 (run by its owner, in one transaction)."""
    team = team_role(schema)
    return [*statements(_LEAD_WRITES, s=schema),
            *(statements(_TEAM_GRANTS, s=schema, team=team) if team_exists else []),
            f"UPDATE {_quoted(schema)}.meta SET value = '{FORMAT}' WHERE key = 'format'"]


def team_statements(schema: str, database: str, create: bool) -> list[str]:
    """What gives the team's group role its rights (run by the lead, who owns the schema); ``create``: the
    role is not there yet (roles belong to the whole server: another database may have made it)."""
    team = team_role(schema)
    return [*([f"CREATE ROLE {_quoted(team)} NOLOGIN"] if create else []),
            f"GRANT CONNECT, TEMPORARY ON DATABASE {_quoted(database)} TO {_quoted(team)}",
            *statements(_TEAM_GRANTS, s=schema, team=team)]


def quoted(name: str) -> str:
    """An identifier quoted for SQL (names checked by check_schema_name or made by annotator_role)."""
    return _quoted(name)
