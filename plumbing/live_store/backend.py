"""Where a city's live store lives: an SQLite file in the home (the embedded default) or a schema
of a PostgreSQL database, chosen by one setting.

`URBANPULSE_LIVE_STORE_URL=postgresql://user:password@host:5432/urbanpulse` puts every city's store
in that database (one schema per city and home), so feed servers on several machines read one
store; unset (or empty), each store is `<home>/state/live/<city>.sqlite`. A store is named by its
path (`Workspace.live_store(city)`) either way: on a server, the file `<city>.postgres` beside it
names its schema (`postgres.claim_schema`), so every process that shares the home (streams,
publisher, feed servers: they read the published datasets there too) finds the same store. All of
them must see the same setting.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from plumbing.live_store import postgres
from plumbing.locks import at_once

LIVE_STORE_URL_ENV = "URBANPULSE_LIVE_STORE_URL"
OWNER_ONLY = 0o600  # SQLite gives its -wal and -shm files the database's permissions
# what a reader catches where a store is being created or has no table of some stream yet
STORE_ERRORS = (sqlite3.Error, psycopg.Error, postgres.StoreServerError)


def no_such_table(error: Exception) -> bool:
    """Whether a read failed because a writer has not created that table yet (either backend)."""
    return isinstance(error, psycopg.errors.UndefinedTable) or "no such table" in str(error)


def server_url() -> str | None:
    """The PostgreSQL URL of the live stores, if the settings name one."""
    url = os.environ.get(LIVE_STORE_URL_ENV, "").strip()
    if url and not url.startswith(("postgresql://", "postgres://")):
        raise postgres.StoreServerError(
            f"{LIVE_STORE_URL_ENV}={url!r} is not a PostgreSQL URL: write it as "
            "postgresql://user:password@host:5432/database, or unset it for the embedded SQLite store")
    return url or None


def describe(path: Path) -> str:
    """The store as messages name it."""
    url = server_url()
    return f"schema {postgres.schema_of(path) or '(none yet)'} on {postgres._safe(url)}" if url else str(path)


def connect(path: Path, read_only: bool) -> sqlite3.Connection | postgres.PostgresConnection:
    """A connection in autocommit mode (transactions are explicit: `plumbing.transactions`)."""
    url = server_url()
    if url:
        return postgres.connect(url, path, read_only=read_only, create=not read_only)
    if read_only:
        return sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True, check_same_thread=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=OWNER_ONLY, exist_ok=True)
    path.chmod(OWNER_ONLY)  # it holds live votes' pseudonymised ballots: the owner's, like `restricted/`
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


def is_server(db) -> bool:
    return isinstance(db, postgres.PostgresConnection)


def has_table(db, name: str) -> bool:
    """Whether the store has table `name` (a stream of that kind has written it)."""
    if is_server(db):
        query = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
    else:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return db.execute(query, (name,)).fetchone() is not None


def store_exists(path: Path) -> bool:
    """Whether a stream has created this store (a reader before that has nothing to read)."""
    return (postgres.schema_file(path) if server_url() else Path(path)).exists()


def remove_store(path: Path) -> None:
    """Delete the store (a rebuild starts from nothing)."""
    url = server_url()
    if not url:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    db = postgres.connect(url, path, create=True)
    try:
        postgres.drop_schema(db)
    finally:
        db.close()


@contextmanager
def stream_lock(path: Path, kind: str, busy: Exception) -> Iterator[None]:
    """Held by the one stream of `kind` that writes this store; a second one gets `busy` at once.
    On SQLite a lock file beside the store (`<store>.<kind>`); on PostgreSQL an advisory lock of
    the store's schema, so streams on different machines exclude each other too."""
    url = server_url()
    if not url:
        with at_once(Path(path).with_suffix(kind), busy):
            yield
        return
    db = postgres.connect(url, path, create=True)
    try:
        if not postgres.try_stream_lock(db, kind):
            raise busy
        yield
    finally:
        db.close()
