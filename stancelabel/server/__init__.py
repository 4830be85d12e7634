"""Shared projects on PostgreSQL: publish a project, join it with a local working copy, sync the event logs."""

from __future__ import annotations

from stancelabel.core.errors import StanceLabelError

INSTALL_HINT = 'this needs psycopg 3: pip install "stancelabel[server]"'


def require_psycopg():
    """The psycopg module, or a one-line error saying how to install it (it is an optional extra)."""
    try:
        import psycopg
    except ImportError:
        raise StanceLabelError(INSTALL_HINT) from None
    import logging

    # psycopg logs a connection lost while a pipeline closes ("error ignored terminating ...") at
    # WARNING; with no handler configured Python would print it on stderr beside our one-line error,
    # which already says the connection went. A configured root logger (-v) still receives it.
    log = logging.getLogger("psycopg")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    return psycopg


def is_server_url(text: str) -> bool:
    """Whether a command's PROJECT argument names a PostgreSQL server rather than a project file: a
    ``postgresql://`` URL, or a libpq ``key=value`` string (``host=... dbname=...``) that is no file."""
    import os
    import re

    if text.startswith(("postgresql://", "postgres://")):
        return True
    return bool(re.match(r"^\s*(host|hostaddr|dbname|user|port|service)\s*=", text)) and not os.path.exists(text)
