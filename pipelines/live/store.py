"""The live store: one SQLite database (WAL) per city that the stream writes and anyone may read.

Every commit is one transaction holding, for a run of landing segments: the accepted request
states, the windows they changed, the segments' ledger rows (records in, out, dead), their dead
letters, the new read offsets and one change row for the feed. Killing the writer at any moment
therefore leaves either all of a commit or none of it, and a restart resumes at the committed
offsets. Readers (the HTTP feed, tests) open it read-only and never block the writer.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pipelines.live.changes import STATE_COLUMNS, empty_states
from pipelines.live.stats import WindowStats
from schemas import dead_letters as dl
from schemas import live as lv
from schemas import requests as rq

SCHEMA = """
CREATE TABLE IF NOT EXISTS offsets (source TEXT PRIMARY KEY, next_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dataset_offsets (source TEXT PRIMARY KEY, next_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    service_request_id TEXT PRIMARY KEY, version_time INTEGER, source_file TEXT, source_position INTEGER,
    requested_datetime INTEGER, closed_datetime INTEGER, district_id TEXT, category TEXT,
    hours_to_close REAL, closed_within_sla INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS windows (
    window TEXT, window_start INTEGER, district_id TEXT, category TEXT,
    new INTEGER, closed INTEGER, closed_within_sla INTEGER, hours BLOB, pending BLOB,
    closed_with_outcome INTEGER, median_hours_to_close REAL, change_id INTEGER,
    PRIMARY KEY (window, window_start, district_id, category)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segments (
    source TEXT, seq INTEGER, landed_at INTEGER, records_in INTEGER, records_out INTEGER,
    dead_letters INTEGER, change_id INTEGER, PRIMARY KEY (source, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    source_file TEXT, source_position INTEGER, source TEXT, stage TEXT, reason TEXT, detail TEXT,
    raw_payload TEXT, failed_at INTEGER, PRIMARY KEY (source_file, source_position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (id INTEGER PRIMARY KEY, committed_at INTEGER, payload TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""
CHANGES_KEPT = 2_000  # the feed's replay buffer for clients that reconnect
MICROS = 1_000_000
_STATE_TIMES = (lv.VERSION_TIME, rq.REQUESTED_DATETIME, rq.CLOSED_DATETIME)


def micros(moment: datetime) -> int:
    return int(moment.timestamp() * MICROS)


def from_micros(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / MICROS, UTC)


@dataclass
class SegmentLedger:
    source: str
    seq: int
    landed_at: datetime
    records_in: int
    records_out: int
    dead_letters: int


@dataclass
class Commit:
    """What one transaction writes (see the module docstring)."""

    states: pl.DataFrame
    windows: dict[tuple, WindowStats]
    segments: list[SegmentLedger]
    dead_letters: pl.DataFrame
    offsets: dict[str, int]


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
            self.db.executescript(SCHEMA)
        self.db.execute("PRAGMA busy_timeout=10000")

    def close(self) -> None:
        self.db.close()

    # --- writer ---------------------------------------------------------------------------
    def set_meta(self, **values: str) -> None:
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta").fetchall())

    def next_seq(self, source: str, table: str = "offsets") -> int:
        row = self.db.execute(f"SELECT next_seq FROM {table} WHERE source = ?", (source,)).fetchone()
        return row[0] if row else 0

    def offsets(self, table: str = "offsets") -> dict[str, int]:
        return dict(self.db.execute(f"SELECT source, next_seq FROM {table}").fetchall())

    def set_offsets(self, offsets: dict[str, int], table: str = "offsets") -> None:
        self.db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", offsets.items())

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

    def window_stats(self, keys: Iterable[tuple]) -> dict[tuple, WindowStats]:
        found = {}
        for window, start, district, category in keys:
            row = self.db.execute(
                "SELECT new, closed, closed_within_sla, hours, pending FROM windows "
                "WHERE window = ? AND window_start = ? AND district_id = ? AND category = ?",
                (window, micros(start), district, category),
            ).fetchone()
            if row:
                found[(window, start, district, category)] = WindowStats.from_row(*row)
        return found

    def commit(self, commit: Commit) -> int:
        """Write one commit in one transaction; returns its change id (what the feed pushes)."""
        now = micros(datetime.now(UTC))
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            change_id = (db.execute("SELECT coalesce(max(id), 0) + 1 FROM changes").fetchone()[0])
            states = commit.states.with_columns(pl.col(c).dt.epoch("us") for c in _STATE_TIMES)
            db.executemany(
                f"INSERT OR REPLACE INTO requests VALUES ({', '.join('?' * len(STATE_COLUMNS))})",
                states.select(STATE_COLUMNS).iter_rows(),
            )
            window_rows = [_window_row(key, stats, change_id) for key, stats in commit.windows.items()]
            db.executemany(f"INSERT OR REPLACE INTO windows VALUES ({', '.join('?' * 12)})", window_rows)
            db.executemany(
                "INSERT OR REPLACE INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(s.source, s.seq, micros(s.landed_at), s.records_in, s.records_out, s.dead_letters, change_id)
                 for s in commit.segments],
            )
            dead = commit.dead_letters.with_columns(pl.col(dl.FAILED_AT).dt.epoch("us"))
            db.executemany(
                "INSERT OR REPLACE INTO dead_letters VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                dead.select(rq.SOURCE_FILE, rq.SOURCE_POSITION, rq.SOURCE, dl.STAGE, dl.REASON,
                            dl.DETAIL, dl.RAW_PAYLOAD, dl.FAILED_AT).iter_rows(),
            )
            self.set_offsets(commit.offsets)
            payload = _change_payload(change_id, now, commit, window_rows)
            db.execute("INSERT INTO changes VALUES (?, ?, ?)", (change_id, now, json.dumps(payload)))
            db.execute("DELETE FROM changes WHERE id <= ?", (change_id - CHANGES_KEPT,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return change_id

    # --- readers --------------------------------------------------------------------------
    def changes_after(self, change_id: int, limit: int = 100) -> list[tuple[int, str]]:
        return self.db.execute(
            "SELECT id, payload FROM changes WHERE id > ? ORDER BY id LIMIT ?", (change_id, limit)
        ).fetchall()

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
        for district, *row in self.db.execute(
            "SELECT district_id, new, closed, closed_within_sla, hours, pending FROM windows "
            "WHERE window = ? AND window_start = ?", (window, micros(start)),
        ):
            day.setdefault(district, WindowStats()).merge(WindowStats.from_row(*row))
        return [
            {rq.DISTRICT_ID: district or None, lv.BACKLOG: backlog.get(district, 0),
             **(day[district].figures() if district in day else WindowStats().figures())}
            for district in sorted(backlog)
        ]

    def ledger(self) -> dict[str, int]:
        row = self.db.execute(
            "SELECT count(*), coalesce(sum(records_in), 0), coalesce(sum(records_out), 0), "
            "coalesce(sum(dead_letters), 0), max(landed_at) FROM segments"
        ).fetchone()
        return {"segments": row[0], "records_in": row[1], "records_out": row[2], "dead_letters": row[3],
                "last_landed_at": from_micros(row[4])}

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
    window, start, district, category = key
    figures = stats.figures()
    hours, pending = stats.to_blobs()
    return (window, micros(start), district, category, stats.new, stats.closed, stats.within_sla,
            hours, pending, figures[lv.CLOSED_WITH_OUTCOME], figures[lv.MEDIAN_HOURS_TO_CLOSE], change_id)


def _change_payload(change_id: int, now: int, commit: Commit, window_rows: list[tuple]) -> dict:
    return {
        "id": change_id,
        "committed_at": from_micros(now).isoformat(),
        "segments": [{"source": s.source, "seq": s.seq, "landed_at": s.landed_at.isoformat(),
                      "records_in": s.records_in, "dead_letters": s.dead_letters} for s in commit.segments],
        "windows": [
            {lv.WINDOW: r[0], lv.WINDOW_START: from_micros(r[1]).isoformat(), rq.DISTRICT_ID: r[2] or None,
             rq.CATEGORY: r[3] or None, lv.NEW: r[4], lv.CLOSED: r[5], lv.CLOSED_WITHIN_SLA: r[6],
             lv.CLOSED_WITH_OUTCOME: r[9], lv.MEDIAN_HOURS_TO_CLOSE: r[10]}
            for r in window_rows
        ],
    }
