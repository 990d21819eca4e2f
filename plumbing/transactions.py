"""One way to write to an SQLite store: a whole transaction or nothing.

Every writer of the live store (requests, votes, sensors, Open311 views) and of the Open311
intake files takes the write lock at the start (`BEGIN IMMEDIATE`, waiting up to the
connection's busy timeout, so two writers never deadlock upgrading a read lock) and either
commits everything it wrote or, when anything raises (Ctrl-C included), rolls all of it back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def write_transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` ... `COMMIT` around the block; `ROLLBACK` if it raises. The connection
    must be in autocommit mode (`isolation_level=None`), as every UrbanPulse store opens it."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
