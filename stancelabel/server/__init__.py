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
    return psycopg
