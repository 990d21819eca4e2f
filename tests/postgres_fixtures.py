"""A real PostgreSQL server for the tests of the server live store: Debian's package (installed
with apt-get when missing), a cluster in a temporary folder, listening on loopback only, stopped
at the end of the session. Each test (or module) gets a database of its own, as each UrbanPulse
home has in production (`plumbing.live_store.backend`)."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from plumbing.live_store.backend import LIVE_STORE_URL_ENV

USER = "urbanpulse"
_APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
_numbers = itertools.count()


def postgres_bin(install: bool = True) -> tuple[Path | None, str]:
    """The folder of Debian's PostgreSQL server programs (installed when missing), or None and why."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent, ""
    if not install or shutil.which("apt-get") is None or os.geteuid() != 0:
        return None, "no PostgreSQL server programs (/usr/lib/postgresql/*/bin) and no root apt-get to install them"
    try:
        for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
            subprocess.run(step, check=True, capture_output=True, timeout=900, env=_APT_ENV)
    except (subprocess.SubprocessError, OSError) as error:
        detail = getattr(error, "stderr", b"") or b""
        return None, f"apt-get install postgresql failed: {error} {detail.decode(errors='replace')[-300:]}"
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return (Path(found[-1]).parent, "") if found else (None, "apt-get installed no PostgreSQL server")


@dataclass
class PostgresServer:
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "home") -> str:
        """A fresh, empty database; its URL."""
        name = f"{prefix}_{os.getpid()}_{next(_numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: CI runs as root, so the cluster belongs to `postgres`."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def running_postgres(folder: Path) -> Iterator[PostgresServer]:
    programs, why = postgres_bin()
    if programs is None:
        pytest.skip(f"PostgreSQL live store tests need a PostgreSQL server: {why}")
    folder.mkdir(parents=True, exist_ok=True)
    data, log = folder / "data", folder / "server.log"
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        for parent in folder.parents:  # the server user must reach its folder
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)
    port = _free_port()
    subprocess.run(_as_server_user([str(programs / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
                                    "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]),
                   check=True, capture_output=True, timeout=120)
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=300"
    subprocess.run(_as_server_user([str(programs / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                                    "-w", "-t", "60", "start"]), check=True, capture_output=True, timeout=90)
    try:
        yield PostgresServer(port)
    finally:
        subprocess.run(_as_server_user([str(programs / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory) -> Iterator[PostgresServer]:
    with running_postgres(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@contextmanager
def live_store_on(url: str | None) -> Iterator[None]:
    """The live store setting for this process and the processes it starts (None: SQLite)."""
    with pytest.MonkeyPatch.context() as patch:
        if url:
            patch.setenv(LIVE_STORE_URL_ENV, url)
        else:
            patch.delenv(LIVE_STORE_URL_ENV, raising=False)
        yield


BACKENDS = ("sqlite", "postgresql")


def store_url(request: pytest.FixtureRequest, backend: str) -> str | None:
    """A fresh database for `backend` "postgresql" (the server started once per session)."""
    if backend == "sqlite":
        return None
    return request.getfixturevalue("postgres_server").new_database()


def store_contents(path: Path) -> bytes:
    """Everything a live store holds, as bytes to search: the SQLite file, or on a server every
    row of every table of the store's schema as text."""
    from plumbing.live_store import postgres
    from plumbing.live_store.backend import server_url

    url = server_url()
    if not url:
        return Path(path).read_bytes()
    db = postgres.connect(url, path, read_only=True)
    try:
        tables = [name for (name,) in db.conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
        return b"\n".join(str(row).encode() for table in tables
                          for row in db.conn.execute(f'SELECT t::text FROM "{table}" t'))
    finally:
        db.close()
