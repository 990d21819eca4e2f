"""Owner-only SQLite files of the restricted store (API keys, Open311 submitters)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_owner_only(path: Path) -> sqlite3.Connection:
    """`path` as an autocommit SQLite connection, the file 0600 in a 0700 folder (created so
    before SQLite opens it, so it is never readable by others even for a moment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout=10000")
    return db
