"""The live store: one SQLite database (WAL) per city that the stream writes and anyone may read.

Window counts are rows of `windows`; the hours to close behind each window's median are kept as
an append-only multiset (`window_hours`, +1 added / -1 taken back), so a commit writes what
changed, never a whole window's history again.

The stream has two committing readers of the landing log, one per output of validation:
`windows` (valid requests) and `dead_letters` (invalid records). Each commit is one transaction
holding, for one landing segment and one reader: what the reader derived from it (accepted
request states, the windows they changed, versions refused as too late, and one change row for
the feed; or the dead letters), its share of the segment's ledger row, and the reader's new
offset. Killing the writer at any moment therefore leaves all of a commit or none of it, and a
restart resumes where the least advanced reader stopped (`resume_at`). The dataset publisher
keeps an offset of its own (`datasets`). Readers of the store (the HTTP feed, tests) open it
read-only (`reader.LiveStoreReader`) and never block the writer.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from plumbing.live_store import backend
from plumbing.live_store.backend import OWNER_ONLY  # noqa: F401  (the store file's mode, as tests check)
from plumbing.live_store.figures import WindowStats
from plumbing.live_store.reader import LiveStoreReader
from plumbing.live_store.tables import from_micros, insert, micros, schema_script, sql_type, to_rows
from plumbing.transactions import write_transaction
from schemas import ledger
from schemas import live as lv

CHANGES_KEPT = 2_000  # the feed's replay buffer for clients that reconnect
WRITER_CHECKPOINT_PAGES = 50_000
_LEDGER_SHARE = {  # what each committing reader writes into a segment's ledger row
    lv.WINDOWS_READER: (ledger.RECORDS_OUT, ledger.TOO_LATE, ledger.ENRICH_FAILED),
    lv.DEAD_LETTERS_READER: (ledger.INVALID,),
}


@dataclass
class SegmentLedger:
    """One reader's share of a segment's accounting: records_in = out + too_late + invalid."""

    source: str
    seq: int
    landed_at: datetime
    records_in: int
    records_out: int = 0
    too_late: int = 0
    invalid: int = 0
    enrich_failed: int = 0


@dataclass
class Commit:
    """What one transaction of one reader writes (see the module docstring)."""

    reader: str
    segment: SegmentLedger
    dead_letters: pl.DataFrame
    states: pl.DataFrame | None = None
    windows: dict[tuple, WindowStats] | None = None
    hours: list[tuple] | None = None  # (window, start, district, category, hours to close, +1 | -1)


class LiveStore(LiveStoreReader):
    """The store opened for writing (one writer per city: the stream holds a lock beside it).
    On a PostgreSQL server (`backend`) the PRAGMAs below do nothing."""

    def __init__(self, path: Path, changes_kept: int = CHANGES_KEPT) -> None:
        path = Path(path)
        self.changes_kept = changes_kept  # the feed's history; a client further behind gets `resync`
        db = backend.connect(path, read_only=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a killed process loses nothing committed
        # the dataset publisher checkpoints in the background (`checkpoint`); this is the safety net
        db.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
        db.executescript(schema_script())
        _add_missing_columns(db)
        # what tells a rebuilt store from the one before (a reused inode or change id cannot)
        db.execute(insert(lv.META_TABLE).replace("OR REPLACE", "OR IGNORE"), (lv.STORE_ID, secrets.token_hex(8)))
        super().__init__(db, path)

    def checkpoint(self) -> None:
        """Copy committed pages from the WAL into the database without blocking the writer."""
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def set_meta(self, **values: str) -> None:
        self.db.executemany(insert(lv.META_TABLE), values.items())

    def set_offsets(self, offsets: dict[str, int], reader: str) -> None:
        self.db.executemany(insert(lv.OFFSETS_TABLE), [(source, reader, seq) for source, seq in offsets.items()])

    def commit(self, commit: Commit) -> int | None:
        """Write one reader's commit in one transaction; returns the feed's change id, if any."""
        now = micros(datetime.now(UTC))
        db = self.db
        with write_transaction(db):
            if commit.states is not None and commit.states.height:
                db.executemany(insert(lv.REQUESTS_TABLE), to_rows(commit.states, lv.REQUESTS_TABLE))
            change_id = self._write_windows(commit, now) if commit.windows is not None else None
            self._write_ledger(commit)
            if commit.dead_letters.height:
                db.executemany(insert(lv.DEAD_LETTERS_TABLE), to_rows(commit.dead_letters, lv.DEAD_LETTERS_TABLE))
            self.set_offsets({commit.segment.source: commit.segment.seq + 1}, commit.reader)
        return change_id

    def _write_windows(self, commit: Commit, now: int) -> int:
        """The changed windows, their hours, and one feed change row (older ones beyond the buffer go)."""
        db, changes = self.db, lv.CHANGES_TABLE
        change_id = db.execute(f"SELECT coalesce(max({lv.CHANGE_ROW_ID}), 0) + 1 FROM {changes.name}").fetchone()[0]
        db.executemany(insert(lv.WINDOWS_TABLE),
                       [_window_row(key, stats, change_id) for key, stats in commit.windows.items()])
        db.executemany(insert(lv.WINDOW_HOURS_TABLE, replace=False), commit.hours or [])
        payload = _change_summary(change_id, now, commit.segment)
        db.execute(insert(changes, replace=False), (change_id, now, json.dumps(payload)))
        db.execute(f"DELETE FROM {changes.name} WHERE {lv.CHANGE_ROW_ID} <= ?", (change_id - self.changes_kept,))
        return change_id

    def _write_ledger(self, commit: Commit) -> None:
        """The segment's ledger row: created by whichever reader comes first, each fills its share."""
        segment, table = commit.segment, lv.SEGMENTS_TABLE
        shares = ", ".join(f"{column} = excluded.{column}" for column in _LEDGER_SHARE[commit.reader])
        columns = [c for c in table.columns if c != lv.FOLDED_SEGMENTS]  # one segment: the default 1
        self.db.execute(
            insert(table, columns, replace=False) + f" ON CONFLICT ({', '.join(table.primary_key)}) DO UPDATE SET {shares}",
            (segment.source, segment.seq, micros(segment.landed_at), segment.records_in,
             segment.records_out, segment.too_late, segment.invalid, segment.enrich_failed),
        )


class StreamBusyError(RuntimeError):
    """Another stream (or replay) of the same kind and city holds its live store."""


@contextmanager
def writing_store(store_path: Path, lock_suffix: str, busy: str, fresh: bool = False) -> Iterator[LiveStore]:
    """The live store, opened for writing by one stream of one kind: the lock file
    `<store>.<lock_suffix>` beside it is held for the run, so a second stream of that kind fails
    at once with `busy`, while streams of other kinds (own lock files) share the store, SQLite
    serialising their transactions. `fresh` deletes the store first (a rebuild). On a
    PostgreSQL server the lock is the server's (`backend.stream_lock`)."""
    with backend.stream_lock(store_path, lock_suffix, StreamBusyError(busy)):
        if fresh:
            backend.remove_store(store_path)
        store = LiveStore(store_path)
        try:
            yield store
        finally:
            store.close()


def _add_missing_columns(db) -> None:
    """Columns added to a table after a store was created (`enrich_failed` in the ledger)."""
    for table in lv.LIVE_TABLES:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table.name})")}
        for column in table.schema:
            if column.name not in present:
                default = f" DEFAULT {table.defaults[column.name]}" if column.name in table.defaults else ""
                db.execute(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {sql_type(column)}{default}")


def _window_row(key: tuple, stats: WindowStats, change_id: int) -> tuple:
    """A `windows` row; `key` holds the window start in epoch microseconds."""
    return (*key, stats.new, stats.closed, stats.within_sla, stats.hours.size, stats.median_hours(), change_id)


def _change_summary(change_id: int, now: int, segment: SegmentLedger) -> dict:
    """What a change row keeps; the windows are joined in when the feed reads it (`changes_after`)."""
    return {
        "id": change_id,
        "committed_at": from_micros(now).isoformat(),
        "segment": {"source": segment.source, "seq": segment.seq, "landed_at": segment.landed_at.isoformat(),
                    ledger.RECORDS_IN: segment.records_in, ledger.RECORDS_OUT: segment.records_out,
                    ledger.TOO_LATE: segment.too_late},
    }
