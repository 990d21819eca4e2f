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
read-only and never block the writer.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from plumbing.live_store.versions import STATE_COLUMNS, empty_states
from plumbing.live_store.figures import WindowStats
from schemas import dead_letters as dl
from schemas import live as lv
from schemas import requests as rq

SCHEMA = """
CREATE TABLE IF NOT EXISTS offsets (
    source TEXT, reader TEXT, next_seq INTEGER NOT NULL, PRIMARY KEY (source, reader)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS requests (
    service_request_id TEXT PRIMARY KEY, version_time INTEGER, source_file TEXT, source_position INTEGER,
    requested_datetime INTEGER, closed_datetime INTEGER, district_id TEXT, category TEXT,
    hours_to_close REAL, closed_within_sla INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS windows (
    window TEXT, window_start INTEGER, district_id TEXT, category TEXT,
    new INTEGER, closed INTEGER, closed_within_sla INTEGER,
    closed_with_outcome INTEGER, median_hours_to_close REAL, change_id INTEGER,
    PRIMARY KEY (window, window_start, district_id, category)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segments (
    source TEXT, seq INTEGER, landed_at INTEGER, records_in INTEGER, records_out INTEGER DEFAULT 0,
    too_late INTEGER DEFAULT 0, invalid INTEGER DEFAULT 0, PRIMARY KEY (source, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    source_file TEXT, source_position INTEGER, source TEXT, stage TEXT, reason TEXT, detail TEXT,
    raw_payload TEXT, failed_at INTEGER, PRIMARY KEY (source_file, source_position)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS windows_by_change ON windows (change_id);
CREATE TABLE IF NOT EXISTS window_hours (
    window TEXT, window_start INTEGER, district_id TEXT, category TEXT, hours REAL, sign INTEGER);
CREATE INDEX IF NOT EXISTS window_hours_by_start ON window_hours (window, window_start);
CREATE TABLE IF NOT EXISTS changes (id INTEGER PRIMARY KEY, committed_at INTEGER, payload TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""
CHANGES_KEPT = 2_000  # the feed's replay buffer for clients that reconnect
WRITER_CHECKPOINT_PAGES = 50_000
CACHE_KIB = 131_072
MICROS = 1_000_000
_STATE_TIMES = (lv.VERSION_TIME, rq.REQUESTED_DATETIME, rq.CLOSED_DATETIME)


def micros(moment: datetime) -> int:
    return int(moment.timestamp() * MICROS)


def from_micros(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / MICROS, UTC)


WINDOWS_READER, DEAD_LETTERS_READER, PUBLISHER = "windows", "dead_letters", "datasets"
READERS = (WINDOWS_READER, DEAD_LETTERS_READER, PUBLISHER)


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


@dataclass
class Commit:
    """What one transaction of one reader writes (see the module docstring)."""

    reader: str
    segment: SegmentLedger
    dead_letters: pl.DataFrame
    states: pl.DataFrame | None = None
    windows: dict[tuple, WindowStats] | None = None
    hours: list[tuple] | None = None  # (window, start, district, category, hours to close, +1 | -1)


class LiveStore:
    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path)
        if read_only:
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a killed process loses nothing committed
            # the dataset publisher checkpoints in the background (`checkpoint`); this is the safety net
            self.db.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
            self.db.executescript(SCHEMA)
        self.db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self.db.execute("PRAGMA busy_timeout=10000")

    def close(self) -> None:
        self.db.close()

    def checkpoint(self) -> None:
        """Copy committed pages from the WAL into the database without blocking the writer."""
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    # --- writer ---------------------------------------------------------------------------
    def set_meta(self, **values: str) -> None:
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta").fetchall())

    def offsets(self, reader: str = WINDOWS_READER) -> dict[str, int]:
        return dict(self.db.execute("SELECT source, next_seq FROM offsets WHERE reader = ?", (reader,)).fetchall())

    def set_offsets(self, offsets: dict[str, int], reader: str) -> None:
        self.db.executemany("INSERT OR REPLACE INTO offsets VALUES (?, ?, ?)",
                            [(source, reader, seq) for source, seq in offsets.items()])

    def resume_at(self, source: str) -> int:
        """Where a restarted stream reads from: the first segment some reader still has to commit.

        The windows reader and the publisher advance with every segment that has valid records;
        the dead-letter reader only sees segments with invalid ones, so for it the ledger tells
        which segments after its offset still miss their invalid records.
        """
        windows, published = (self.offsets(r).get(source, 0) for r in (WINDOWS_READER, PUBLISHER))
        dead = self.offsets(DEAD_LETTERS_READER).get(source, 0)
        unfinished = self.db.execute(
            "SELECT min(seq) FROM segments WHERE source = ? AND seq >= ? "
            "AND records_in > records_out + too_late + invalid", (source, dead),
        ).fetchone()[0]
        return min(windows, published, unfinished if unfinished is not None else windows)

    def states_of(self, ids: Iterable[str]) -> pl.DataFrame:
        rows = self.db.execute(
            "SELECT * FROM requests WHERE service_request_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        ).fetchall()
        schema = empty_states().schema
        if not rows:
            return empty_states()
        frame = pl.DataFrame(rows, schema=[(c, pl.Int64 if c in _STATE_TIMES else schema[c]) for c in STATE_COLUMNS],
                             orient="row")
        return frame.with_columns(pl.col(c).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") for c in _STATE_TIMES)

    def window_stats(self, starts: Iterable[tuple[str, int]]) -> dict[tuple, WindowStats]:
        """Every kept window of the given (window kind, start in epoch microseconds) pairs, keyed
        (window, start microseconds, district, category), with its hours to close."""
        pairs = sorted(set(starts))
        found: dict[tuple, WindowStats] = {}
        for window in {w for w, _ in pairs}:
            chosen = (window, json.dumps([start for w, start in pairs if w == window]))
            for start, district, category, new, closed, within in self.db.execute(
                "SELECT window_start, district_id, category, new, closed, closed_within_sla FROM windows "
                "WHERE window = ? AND window_start IN (SELECT value FROM json_each(?))", chosen,
            ):
                found[(window, start, district, category)] = WindowStats(new, closed, within)
            self._add_hours(found, window, "window_start IN (SELECT value FROM json_each(?))", chosen[1])
        return found

    def _add_hours(self, stats: dict[tuple, WindowStats], window: str, where: str, value, key=None) -> None:
        """Hours to close (added and taken back) of the selected windows into `stats`."""
        added: dict[tuple, list[float]] = {}
        removed: dict[tuple, list[float]] = {}
        for start, district, category, hours, sign in self.db.execute(
            f"SELECT window_start, district_id, category, hours, sign FROM window_hours WHERE window = ? AND {where}",
            (window, value),
        ):
            found = key(district) if key else (window, start, district, category)
            (added if sign > 0 else removed).setdefault(found, []).append(hours)
        for found in added.keys() | removed.keys():
            stats.setdefault(found, WindowStats()).add(0, 0, 0, added.get(found, []), removed.get(found, []))

    def commit(self, commit: Commit) -> int | None:
        """Write one reader's commit in one transaction; returns the feed's change id, if any."""
        now = micros(datetime.now(UTC))
        db, segment = self.db, commit.segment
        db.execute("BEGIN IMMEDIATE")
        try:
            change_id = None
            if commit.states is not None and commit.states.height:
                states = commit.states.with_columns(pl.col(c).dt.epoch("us") for c in _STATE_TIMES)
                db.executemany(
                    f"INSERT OR REPLACE INTO requests VALUES ({', '.join('?' * len(STATE_COLUMNS))})",
                    states.select(STATE_COLUMNS).iter_rows(),
                )
            if commit.windows is not None:
                change_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM changes").fetchone()[0]
                window_rows = [_window_row(key, stats, change_id) for key, stats in commit.windows.items()]
                db.executemany(f"INSERT OR REPLACE INTO windows VALUES ({', '.join('?' * 10)})", window_rows)
                db.executemany("INSERT INTO window_hours VALUES (?, ?, ?, ?, ?, ?)", commit.hours or [])
                payload = _change_summary(change_id, now, segment)
                db.execute("INSERT INTO changes VALUES (?, ?, ?)", (change_id, now, json.dumps(payload)))
                db.execute("DELETE FROM changes WHERE id <= ?", (change_id - CHANGES_KEPT,))
            db.execute(
                "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, seq) DO UPDATE SET "
                + ("records_out = excluded.records_out, too_late = excluded.too_late"
                   if commit.reader == WINDOWS_READER else "invalid = excluded.invalid"),
                (segment.source, segment.seq, micros(segment.landed_at), segment.records_in,
                 segment.records_out, segment.too_late, segment.invalid),
            )
            if commit.dead_letters.height:
                dead = commit.dead_letters.with_columns(pl.col(dl.FAILED_AT).dt.epoch("us"))
                db.executemany(
                    "INSERT OR REPLACE INTO dead_letters VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    dead.select(rq.SOURCE_FILE, rq.SOURCE_POSITION, rq.SOURCE, dl.STAGE, dl.REASON,
                                dl.DETAIL, dl.RAW_PAYLOAD, dl.FAILED_AT).iter_rows(),
                )
            self.set_offsets({segment.source: segment.seq + 1}, commit.reader)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return change_id

    # --- readers --------------------------------------------------------------------------
    def changes_after(self, change_id: int, limit: int = 100) -> list[tuple[int, dict]]:
        """Committed changes after `change_id`, each with the windows it left as they are now.

        A window changed again later is reported with that later change (its newest figures), so
        a client applying the changes in order always ends with the store's figures. The windows
        are columnar (`columns`, `rows`) to keep large changes small on the wire.
        """
        changes = []
        for found, payload in self.db.execute(
            "SELECT id, payload FROM changes WHERE id > ? ORDER BY id LIMIT ?", (change_id, limit)
        ).fetchall():
            rows = self.db.execute(
                "SELECT window, window_start, district_id, category, new, closed, closed_within_sla, "
                "closed_with_outcome, median_hours_to_close FROM windows WHERE change_id = ?", (found,),
            ).fetchall()
            changes.append((found, json.loads(payload) | {"windows": {
                "columns": list(CHANGE_COLUMNS),
                "rows": [[w, from_micros(start).isoformat(), d or None, c or None, *rest]
                         for w, start, d, c, *rest in rows],
            }}))
        return changes

    def last_change_id(self) -> int:
        return self.db.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()[0]

    def last_commit(self) -> datetime | None:
        return from_micros(self.db.execute("SELECT max(committed_at) FROM changes").fetchone()[0])

    def district_day(self, window: str, start: datetime) -> list[dict]:
        """Per district, for the window starting at `start`: figures over all categories, and backlog."""
        backlog = dict(self.db.execute(
            "SELECT district_id, sum(new - closed) FROM windows WHERE window = ? AND window_start <= ? "
            "GROUP BY district_id", (window, micros(start)),
        ).fetchall())
        day: dict[str, WindowStats] = {}
        for district, new, closed, within in self.db.execute(
            "SELECT district_id, new, closed, closed_within_sla FROM windows "
            "WHERE window = ? AND window_start = ?", (window, micros(start)),
        ):
            day.setdefault(district, WindowStats()).add(new, closed, within, [], [])
        self._add_hours(day, window, "window_start = ?", micros(start), key=lambda district: district)
        return [
            {rq.DISTRICT_ID: district or None, lv.BACKLOG: backlog.get(district, 0),
             **(day[district].figures() if district in day else WindowStats().figures())}
            for district in sorted(backlog)
        ]

    def ledger(self) -> dict:
        row = self.db.execute(
            "SELECT count(*), coalesce(sum(records_in), 0), coalesce(sum(records_out), 0), "
            "coalesce(sum(too_late), 0), coalesce(sum(invalid), 0), max(landed_at) FROM segments"
        ).fetchone()
        return {"segments": row[0], "records_in": row[1], "records_out": row[2], "too_late": row[3],
                "invalid": row[4], "dead_letters": row[3] + row[4], "last_landed_at": from_micros(row[5])}

    def window_frame(self, window: str | None = None) -> pl.DataFrame:
        """Every kept window row with its figures and backlog (all requests made minus closed)."""
        query = ("SELECT window, window_start, district_id, category, new, closed, closed_with_outcome, "
                 "closed_within_sla, median_hours_to_close FROM windows")
        rows = self.db.execute(query + (" WHERE window = ?" if window else ""), (window,) if window else ()).fetchall()
        frame = pl.DataFrame(rows, schema=[
            (lv.WINDOW, pl.String), (lv.WINDOW_START, pl.Int64), (rq.DISTRICT_ID, pl.String),
            (rq.CATEGORY, pl.String), (lv.NEW, pl.Int64), (lv.CLOSED, pl.Int64),
            (lv.CLOSED_WITH_OUTCOME, pl.Int64), (lv.CLOSED_WITHIN_SLA, pl.Int64),
            (lv.MEDIAN_HOURS_TO_CLOSE, pl.Float64),
        ], orient="row")
        return with_backlog(frame.with_columns(
            pl.col(lv.WINDOW_START).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        ))

    def dead_letter_frame(self, source_files: list[str] | None = None) -> pl.DataFrame:
        query = "SELECT * FROM dead_letters"
        rows = self.db.execute(
            query + (" WHERE source_file IN (SELECT value FROM json_each(?))" if source_files is not None else ""),
            (json.dumps(source_files),) if source_files is not None else (),
        ).fetchall()
        columns = [rq.SOURCE_FILE, rq.SOURCE_POSITION, rq.SOURCE, dl.STAGE, dl.REASON, dl.DETAIL,
                   dl.RAW_PAYLOAD, dl.FAILED_AT]
        frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
        return frame.with_columns(
            pl.col(dl.FAILED_AT).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        ).select(dl.DEAD_LETTER.names) if rows else frame


def with_backlog(windows: pl.DataFrame) -> pl.DataFrame:
    """Backlog at each window's end: running sum of (new - closed) per window kind, district, category."""
    return windows.sort(lv.WINDOW, rq.DISTRICT_ID, rq.CATEGORY, lv.WINDOW_START).with_columns(
        (pl.col(lv.NEW) - pl.col(lv.CLOSED)).cum_sum().over(lv.WINDOW, rq.DISTRICT_ID, rq.CATEGORY)
        .alias(lv.BACKLOG),
        pl.when(pl.col(lv.CLOSED_WITH_OUTCOME) > 0)
        .then(pl.col(lv.CLOSED_WITHIN_SLA) / pl.col(lv.CLOSED_WITH_OUTCOME)).alias(lv.SHARE_WITHIN_SLA),
    )


def _window_row(key: tuple, stats: WindowStats, change_id: int) -> tuple:
    """A `windows` row; `key` holds the window start in epoch microseconds."""
    return (*key, stats.new, stats.closed, stats.within_sla, stats.hours.size, stats.median_hours(), change_id)


CHANGE_COLUMNS = (
    lv.WINDOW, lv.WINDOW_START, rq.DISTRICT_ID, rq.CATEGORY, lv.NEW, lv.CLOSED, lv.CLOSED_WITHIN_SLA,
    lv.CLOSED_WITH_OUTCOME, lv.MEDIAN_HOURS_TO_CLOSE,
)


def _change_summary(change_id: int, now: int, segment: SegmentLedger) -> dict:
    """What a change row keeps; the windows are joined in when the feed reads it (`changes_after`)."""
    return {
        "id": change_id,
        "committed_at": from_micros(now).isoformat(),
        "segment": {"source": segment.source, "seq": segment.seq, "landed_at": segment.landed_at.isoformat(),
                    "records_in": segment.records_in, "records_out": segment.records_out,
                    "too_late": segment.too_late},
    }
