"""The lead's commands on a shared project itself: a temporary copy of everything the role may read.

``stats``, ``agreement``, ``export`` and ``adjudicate`` run on a project file. Given a server's URL
they run on a copy made for the one command, in a temporary folder removed afterwards, so they
compute on the shared project exactly what they compute on a file (one code path, the same
results as on the lead's synced file) and the lead keeps no file of their own. The copy is made as
``join`` makes one, of every document whatever the split, and holds what the connected role may
read: everything for the lead, the annotator's own labels in a blind project for anyone else.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stancelabel.core.errors import StanceLabelError
from stancelabel.server import require_psycopg
from stancelabel.server.schema import quoted
from stancelabel.server.sync import SyncReport, connect, find_schema, join, server_error, sync
from stancelabel.store.project import Project


@contextmanager
def shared_copy(url: str, schema: str | None = None) -> Iterator[Project]:
    """The shared project at ``url`` as a project file that lives as long as the ``with`` block."""
    with tempfile.TemporaryDirectory(prefix="stancelabel-shared-") as folder:
        path = Path(folder) / "shared.stance"
        join(url, path, None, schema=schema, whole=True)
        with Project.open(path) as project:
            yield project


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
