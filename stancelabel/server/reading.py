"""The lead's commands on a shared project itself, through a reading copy kept up to date.

``stats``, ``agreement``, ``export`` and ``adjudicate`` run on a project file. Given a server's URL
they run on a reading copy of the shared project, so they compute on it exactly what they compute
on a file (one code path, the same results as on the lead's synced file) and the lead keeps no file
of their own. The copy is made as ``join`` makes one, of every document whatever the split, and
holds what the connected role may read: everything for the lead, the annotator's own labels in a
blind project for anyone else.

The copy lives in the user's cache folder (``$XDG_CACHE_HOME/stancelabel/shared``, one file per
server, database, role and publication of a schema) and each command first syncs it, so only the
first command pulls the whole project and later ones pull what is new. A copy that cannot be read
or synced for a reason of its own (damaged, an older format) is made again; anything it has not
yet sent (a lead's gold labels when the server went away during ``adjudicate``) is sent by the next
command's sync. Deleting the folder at any time costs only the next command's time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stancelabel.core.errors import StanceLabelError
from stancelabel.server import require_psycopg
from stancelabel.server.schema import quoted
from stancelabel.server.sync import (
    ServerUnavailable,
    SyncReport,
    connect,
    find_schema,
    join,
    server_error,
    sync,
)
from stancelabel.store.project import Project

log = logging.getLogger(__name__)


def cache_folder() -> Path:
    """Where the reading copies live: ``$XDG_CACHE_HOME/stancelabel/shared`` (else ``~/.cache/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stancelabel" / "shared"


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One command at a time on a reading copy (a second waits); POSIX file locks, none elsewhere."""
    try:
        import fcntl
    except ImportError:  # Windows: two commands at once on one copy both sync it, which is idempotent
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _copy_key(url: str, schema: str | None) -> tuple[str, str]:
    """(schema, cache key): the key names the server, database, connected role, schema and its
    publication, so a schema removed and published again is a new copy."""
    psycopg = require_psycopg()
    try:
        with connect(url) as conn:
            schema = find_schema(conn, schema)
            published = conn.execute(f"SELECT value FROM {quoted(schema)}.meta WHERE key = 'published_at'"
                                     ).fetchone()
            info = conn.info
            ident = [info.host, info.port, info.dbname, info.user, schema, published[0] if published else None]
    except psycopg.Error as error:
        raise server_error(error) from None
    return schema, hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:32]


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def shared_copy(url: str, schema: str | None = None) -> Iterator[Project]:
    """The shared project at ``url`` as a project file, synced now, for the ``with`` block."""
    schema, key = _copy_key(url, schema)
    folder = cache_folder()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{key}.stance"
    with _exclusive(folder / f"{key}.lock"):
        project = _synced(path, url) if path.exists() else None
        if project is None:
            _remove(path)
            join(url, path, None, schema=schema, whole=True)
            project = Project.open(path)
        try:
            yield project
        finally:
            project.close()


def _synced(path: Path, url: str) -> Project | None:
    """The reading copy at ``path`` brought up to date, or None when it must be made again."""
    try:
        project = Project.open(path)
    except StanceLabelError as error:
        log.warning("reading copy %s cannot be used (%s): making it again", path, error)
        return None
    try:
        sync(project, url)
    except ServerUnavailable:
        project.close()
        raise
    except StanceLabelError as error:
        project.close()
        log.warning("reading copy %s cannot be synced (%s): making it again", path, error)
        return None
    except BaseException:
        project.close()
        raise
    return project


def check_lead(url: str, schema: str | None = None) -> None:
    """Refuse, before any work, a role that may not write gold labels (the server would refuse them)."""
    psycopg = require_psycopg()
    try:
        with connect(url) as conn:
            schema = find_schema(conn, schema)
            lead, owner, role = conn.execute(
                f"SELECT {quoted(schema)}.is_lead(), pg_get_userbyid(nspowner) = current_user, current_user "
                "FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    except psycopg.Error as error:
        raise server_error(error) from None
    if not (lead or owner):
        raise StanceLabelError(f"the database role {role!r} may not write gold labels: connect as the "
                               "project's lead (stancelabel server add-annotator URL NAME --lead)")


def send(project: Project, url: str) -> SyncReport:
    """Send what a command added to a shared copy (the lead's gold labels) to its server."""
    return sync(project, url)
