"""Reading the live store: what the feed, the dashboard, tests and the stream's restart ask of it.

`LiveStoreReader.open(path)` opens the city's store read-only (SQLite in WAL mode, or a read-only
session on the PostgreSQL server the settings name: `backend`), so readers never block the
stream's writer. The writer (`writer.LiveStore`) is a reader too: a restart asks
the same questions before it writes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import polars as pl

from plumbing.live_store import backend
from plumbing.live_store.figures import WindowStats
from plumbing.live_store.tables import IN_JSON, from_micros, micros, select, to_frame
from plumbing.live_store.versions import empty_states
from schemas import dead_letters as dl
from schemas import ledger
from schemas import live as lv
from schemas import requests as rq

CACHE_KIB = 131_072
# what a feed change carries per window it touched (columnar: `columns`, `rows`)
CHANGE_COLUMNS = (
    lv.WINDOW, lv.WINDOW_START, rq.DISTRICT_ID, rq.CATEGORY, lv.NEW, lv.CLOSED, lv.CLOSED_WITHIN_SLA,
    lv.CLOSED_WITH_OUTCOME, lv.MEDIAN_HOURS_TO_CLOSE,
)
WINDOW_FRAME_COLUMNS = (
    lv.WINDOW, lv.WINDOW_START, rq.DISTRICT_ID, rq.CATEGORY, lv.NEW, lv.CLOSED, lv.CLOSED_WITH_OUTCOME,
    lv.CLOSED_WITHIN_SLA, lv.MEDIAN_HOURS_TO_CLOSE,
)


class LiveStoreReader:
    """Read-only queries over one city's live store."""

    def __init__(self, db: sqlite3.Connection, path: Path, cache_kib: int = CACHE_KIB) -> None:
        self.db, self.path = db, Path(path)
        self.db.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        self.db.execute("PRAGMA busy_timeout=10000")

    @classmethod
    def open(cls, path: Path, cache_kib: int = CACHE_KIB) -> LiveStoreReader:
        """`cache_kib` bounds this connection's page cache (a long-lived reader wants less)."""
        return cls(backend.connect(path, read_only=True), path, cache_kib)

    def close(self) -> None:
        self.db.close()

    def meta(self) -> dict[str, str]:
        return dict(self.db.execute(select(lv.META_TABLE)).fetchall())

    def offsets(self, reader: str = lv.WINDOWS_READER) -> dict[str, int]:
        query = select(lv.OFFSETS_TABLE, (rq.SOURCE, lv.NEXT_SEQ), f"{lv.READER} = ?")
        return dict(self.db.execute(query, (reader,)).fetchall())

    def resume_at(self, source: str) -> int:
        """Where a restarted stream reads from: the first segment some reader still has to commit.

        The windows reader and the publisher advance with every segment that has valid records;
        the dead-letter reader only sees segments with invalid ones, so for it the ledger tells
        which segments after its offset still miss their invalid records.
        """
        windows, published = (self.offsets(r).get(source, 0) for r in (lv.WINDOWS_READER, lv.PUBLISHER))
        dead = self.offsets(lv.DEAD_LETTERS_READER).get(source, 0)
        unfinished = self.db.execute(
            f"SELECT min({lv.SEQ}) FROM {lv.SEGMENTS_TABLE.name} WHERE {rq.SOURCE} = ? AND {lv.SEQ} >= ? "
            f"AND {ledger.RECORDS_IN} > {' + '.join((ledger.RECORDS_OUT, *lv.LEDGER_DEAD))}",
            (source, dead),
        ).fetchone()[0]
        return min(windows, published, unfinished if unfinished is not None else windows)

    def states_of(self, ids: Iterable[str]) -> pl.DataFrame:
        """The kept version of each of `ids` that the store knows."""
        query = select(lv.REQUESTS_TABLE, where=f"{rq.SERVICE_REQUEST_ID} {IN_JSON}")
        rows = self.db.execute(query, (json.dumps(list(ids)),)).fetchall()
        return to_frame(rows, lv.REQUESTS_TABLE) if rows else empty_states()

    def window_stats(self, starts: Iterable[tuple[str, int]]) -> dict[tuple, WindowStats]:
        """Every kept window of the given (window kind, start in epoch microseconds) pairs, keyed
        (window, start microseconds, district, category), with its hours to close."""
        pairs = sorted(set(starts))
        found: dict[tuple, WindowStats] = {}
        columns = (lv.WINDOW_START, rq.DISTRICT_ID, rq.CATEGORY, lv.NEW, lv.CLOSED, lv.CLOSED_WITHIN_SLA)
        where = f"{lv.WINDOW} = ? AND {lv.WINDOW_START} {IN_JSON}"
        for window in {w for w, _ in pairs}:
            chosen = (window, json.dumps([start for w, start in pairs if w == window]))
            for start, district, category, new, closed, within in self.db.execute(
                select(lv.WINDOWS_TABLE, columns, where), chosen,
            ):
                found[(window, start, district, category)] = WindowStats(new, closed, within)
            self._add_hours(found, window, f"{lv.WINDOW_START} {IN_JSON}", chosen[1])
        return found

    def _add_hours(self, stats: dict[tuple, WindowStats], window: str, where: str, value, key=None) -> None:
        """Hours to close (added and taken back) of the selected windows into `stats`."""
        added: dict[tuple, list[float]] = {}
        removed: dict[tuple, list[float]] = {}
        columns = (lv.WINDOW_START, rq.DISTRICT_ID, rq.CATEGORY, lv.HOURS, lv.SIGN)
        for start, district, category, hours, sign in self.db.execute(
            select(lv.WINDOW_HOURS_TABLE, columns, f"{lv.WINDOW} = ? AND {where}"), (window, value),
        ):
            found = key(district) if key else (window, start, district, category)
            (added if sign > 0 else removed).setdefault(found, []).append(hours)
        for found in added.keys() | removed.keys():
            stats.setdefault(found, WindowStats()).add(0, 0, 0, added.get(found, []), removed.get(found, []))

    def changes_after(self, change_id: int, limit: int = 100) -> list[tuple[int, dict]]:
        """Committed changes after `change_id`, each with the windows it left as they are now.

        A window changed again later is reported with that later change (its newest figures), so
        a client applying the changes in order always ends with the store's figures. The windows
        are columnar (`columns`, `rows`) to keep large changes small on the wire.
        """
        changes = []
        query = select(lv.CHANGES_TABLE, (lv.CHANGE_ROW_ID, lv.PAYLOAD), f"{lv.CHANGE_ROW_ID} > ?")
        for found, payload in self.db.execute(f"{query} ORDER BY {lv.CHANGE_ROW_ID} LIMIT ?",
                                              (change_id, limit)).fetchall():
            rows = self.db.execute(
                select(lv.WINDOWS_TABLE, CHANGE_COLUMNS, f"{lv.CHANGE_ID} = ?"), (found,),
            ).fetchall()
            changes.append((found, json.loads(payload) | {"windows": {
                "columns": list(CHANGE_COLUMNS),
                "rows": [[w, from_micros(start).isoformat(), d or None, c or None, *rest]
                         for w, start, d, c, *rest in rows],
            }}))
        return changes

    def district_ids(self) -> list[str]:
        """The districts the windows name (not the unknown one), sorted."""
        query = f"SELECT DISTINCT {rq.DISTRICT_ID} FROM {lv.WINDOWS_TABLE.name} WHERE {rq.DISTRICT_ID} != ?"
        return sorted(d for (d,) in self.db.execute(query, (lv.UNKNOWN_KEY,)))

    def has_district(self, district_id: str) -> bool:
        query = select(lv.WINDOWS_TABLE, (rq.DISTRICT_ID,), f"{rq.DISTRICT_ID} = ?")
        return self.db.execute(f"{query} LIMIT 1", (district_id,)).fetchone() is not None

    def last_change_id(self) -> int:
        return self.db.execute(f"SELECT coalesce(max({lv.CHANGE_ROW_ID}), 0) FROM {lv.CHANGES_TABLE.name}").fetchone()[0]

    def first_change_id(self) -> int | None:
        """The oldest change the feed still keeps (None before the first)."""
        return self.db.execute(f"SELECT min({lv.CHANGE_ROW_ID}) FROM {lv.CHANGES_TABLE.name}").fetchone()[0]

    def last_commit(self) -> datetime | None:
        return from_micros(self.db.execute(
            f"SELECT max({lv.COMMITTED_AT}) FROM {lv.CHANGES_TABLE.name}").fetchone()[0])

    def district_day(self, window: str, start: datetime) -> list[dict]:
        """Per district, for the window starting at `start`: figures over all categories, and backlog."""
        windows, carry = lv.WINDOWS_TABLE.name, lv.WINDOW_CARRY_TABLE.name
        backlog: dict[str, int] = {}
        for district, open_requests in self.db.execute(
            f"SELECT {rq.DISTRICT_ID}, sum({lv.NEW} - {lv.CLOSED}) FROM {windows} "
            f"WHERE {lv.WINDOW} = ? AND {lv.WINDOW_START} <= ? GROUP BY {rq.DISTRICT_ID} UNION ALL "
            f"SELECT {rq.DISTRICT_ID}, sum({lv.NEW} - {lv.CLOSED}) FROM {carry} WHERE {lv.WINDOW} = ? "
            f"GROUP BY {rq.DISTRICT_ID}", (window, micros(start), window),
        ).fetchall():
            backlog[district] = backlog.get(district, 0) + open_requests
        day: dict[str, WindowStats] = {}
        for district, new, closed, within in self.db.execute(
            select(lv.WINDOWS_TABLE, (rq.DISTRICT_ID, lv.NEW, lv.CLOSED, lv.CLOSED_WITHIN_SLA),
                   f"{lv.WINDOW} = ? AND {lv.WINDOW_START} = ?"), (window, micros(start)),
        ):
            day.setdefault(district, WindowStats()).add(new, closed, within, [], [])
        self._add_hours(day, window, f"{lv.WINDOW_START} = ?", micros(start), key=lambda district: district)
        return [
            {rq.DISTRICT_ID: district or None, lv.BACKLOG: backlog.get(district, 0),
             **(day[district].figures() if district in day else WindowStats().figures())}
            for district in sorted(backlog)
        ]

    def ledger(self) -> dict:
        """Sums of the segment ledger: records in = out + dead letters (too late, invalid, enrich failed)."""
        counts = (ledger.RECORDS_IN, ledger.RECORDS_OUT, *lv.LEDGER_DEAD)
        segments, *sums, last = self.db.execute(
            f"SELECT coalesce(sum({lv.FOLDED_SEGMENTS}), 0), " + ", ".join(f"coalesce(sum({c}), 0)" for c in counts)
            + f", max({lv.LANDED_AT}) FROM {lv.SEGMENTS_TABLE.name}"
        ).fetchone()
        totals = dict(zip(counts, sums, strict=True))
        return {ledger.SEGMENTS: segments, **totals,
                ledger.DEAD_LETTERS: sum(totals[c] for c in lv.LEDGER_DEAD),
                ledger.LAST_LANDED_AT: from_micros(last)}

    def window_frame(self, window: str | None = None) -> pl.DataFrame:
        """Every kept window row with its figures and backlog (all requests made minus closed)."""
        query = select(lv.WINDOWS_TABLE, WINDOW_FRAME_COLUMNS, f"{lv.WINDOW} = ?" if window else "")
        rows = self.db.execute(query, (window,) if window else ()).fetchall()
        carry = to_frame(self.db.execute(select(lv.WINDOW_CARRY_TABLE)).fetchall(), lv.WINDOW_CARRY_TABLE)
        return with_backlog(to_frame(rows, lv.WINDOWS_TABLE, WINDOW_FRAME_COLUMNS), carry)

    def dead_letter_frame(self, source_files: list[str] | None = None) -> pl.DataFrame:
        where = f"{rq.SOURCE_FILE} {IN_JSON}" if source_files is not None else ""
        rows = self.db.execute(select(lv.DEAD_LETTERS_TABLE, where=where),
                               (json.dumps(source_files),) if source_files is not None else ()).fetchall()
        return to_frame(rows, lv.DEAD_LETTERS_TABLE).select(dl.DEAD_LETTER.names)


def with_backlog(windows: pl.DataFrame, carry: pl.DataFrame | None = None) -> pl.DataFrame:
    """Backlog at each window's end: running sum of (new - closed) per window kind, district,
    category, from what retention carried out of the store's older windows (`carry`) on."""
    keys = [lv.WINDOW, rq.DISTRICT_ID, rq.CATEGORY]
    carried = pl.lit(0, pl.Int64)
    if carry is not None and carry.height:
        windows = windows.join(carry.select(*keys, (pl.col(lv.NEW) - pl.col(lv.CLOSED)).alias("_carried")),
                               on=keys, how="left")
        carried = pl.col("_carried").fill_null(0)
    return windows.sort(*keys, lv.WINDOW_START).with_columns(
        ((pl.col(lv.NEW) - pl.col(lv.CLOSED)).cum_sum().over(keys) + carried).alias(lv.BACKLOG),
        pl.when(pl.col(lv.CLOSED_WITH_OUTCOME) > 0)
        .then(pl.col(lv.CLOSED_WITHIN_SLA) / pl.col(lv.CLOSED_WITH_OUTCOME)).alias(lv.SHARE_WITHIN_SLA),
    ).drop("_carried", strict=False)
