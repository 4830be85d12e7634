"""A real PostgreSQL for the tests: a throw-away cluster on a random loopback port, in a temporary folder.

initdb and postgres refuse to run as root, so under root the cluster belongs to an unprivileged
user (the Debian package's ``postgres``, else ``stancelabel-pg``, made here). The server listens on
127.0.0.1 only, with no Unix socket. Tests that need it skip, saying why, only when no PostgreSQL
binaries are installed (``apt-get install postgresql``) or psycopg is missing.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "postgres"
_databases = itertools.count(1)


def _bindir() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian keeps them outside PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _os_user() -> pwd.struct_passwd | None:
    """Who runs the cluster: ourselves, or under root an unprivileged user (made when missing)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "stancelabel-pg"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "stancelabel-pg"],
                   check=True, capture_output=True)
    return pwd.getpwnam("stancelabel-pg")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    bindir: Path
    folder: Path
    port: int
    user: pwd.struct_passwd | None

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []} if self.user else {}
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], check=check, capture_output=True,
                              text=True, cwd=self.folder, **kwargs)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-locale",
                  "--no-sync")

    def start(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' "
                   "-c fsync=off -c full_page_writes=off -c max_connections=100")
        result = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options,
                           "-w", "-t", "60", "start", check=False)
        if result.returncode != 0:
            log = (self.folder / "log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash): the next start recovers from the WAL."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):  # its backends notice and exit
            if self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode != 0:
                break
            time.sleep(0.05)
        time.sleep(0.2)
        (self.data / "postmaster.pid").unlink(missing_ok=True)

    def conninfo(self, user: str = SUPERUSER, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={user} dbname={dbname} connect_timeout=10"

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.conninfo(dbname=dbname), autocommit=True) as conn:
            conn.execute(sql)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session, started on a random port of 127.0.0.1."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'stancelabel[server]')")
    bindir = _bindir()
    if bindir is None or not (bindir / "postgres").exists():
        pytest.skip("no PostgreSQL server installed (apt-get install postgresql); the server tests need one")
    user = _os_user()
    folder = Path(tempfile.mkdtemp(prefix="stancelabel-pg-"))
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    server = PostgresServer(bindir, folder, _free_port(), user)
    try:
        server.init()
        for attempt in range(3):
            try:
                server.start()
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                server.port = _free_port()  # taken meanwhile by another program
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class TeamDatabase:
    """A fresh database of its own for one test, owned by a lead role that may create roles."""

    server: PostgresServer
    name: str
    lead: str

    @property
    def lead_url(self) -> str:
        return self.server.conninfo(self.lead, self.name)

    def url_for(self, role: str) -> str:
        return self.server.conninfo(role, self.name)


@pytest.fixture
def team_db(postgres_server: PostgresServer) -> TeamDatabase:
    n = next(_databases)
    name, lead = f"team{n}", f"lead{n}"
    postgres_server.execute(f"CREATE ROLE {lead} LOGIN CREATEROLE")
    postgres_server.execute(f"CREATE DATABASE {name} OWNER {lead}")
    postgres_server.execute(f"REVOKE ALL ON DATABASE {name} FROM PUBLIC")
    postgres_server.execute(f"GRANT CONNECT ON DATABASE {name} TO {lead}")
    return TeamDatabase(postgres_server, name, lead)
