"""Writing live sensor figures into the live store: one transaction per landed segment.

`commit_observations` writes, for one segment of observations: the accepted observations into
the open hours (`sensor_window_obs`; a repeated station x parameter x period start replaces the
stored one), the hours they fall in (new values added; an hour where one replaced a stored value
is recomputed from its stored observations, so the earlier value leaves sum, count, min and max
exactly), each station's newest period, the hours
now older than the allowed lateness closed (their observations dropped, their figures kept), the
newest reading per station x parameter, the alerts of hourly and running 24-hour means above a
standard (once per station x parameter x standard x local day), the dead letters per reason, the
segment's ledger row, one feed change (`kind: sensors`) and the reader's landing offset. Killing
the writer leaves all of it or none of it, and a segment below the offset is never written again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from plumbing.live_store.tables import create_table, from_micros, insert, micros, sql_type, to_rows
from plumbing.live_store.writer import CHANGES_KEPT, LiveStore, SegmentLedger
from plumbing.transactions import write_transaction
from schemas import dead_letters as dl
from schemas import ledger
from schemas import live as lv
from schemas import live_sensors as ls
from schemas import requests as rq
from schemas import sensors as sn

EVENT_ROWS = 500  # rows of each list a change event carries at most (then `truncated`)
HOURS_OF_DAY_MEAN = 24
MIN_DAY_HOURS = 18  # a running 24-hour mean needs 75 % of its hours (`schemas.sensors.MIN_COVERAGE`)
_TOUCHED = "temp.sensor_touched"
_HOUR_KEY = (sn.STATION_ID, sn.PARAMETER, ls.HOUR_START)


@dataclass(frozen=True)
class AlertRule:
    """A standard the stream checks live: an hourly mean (`hour`) or a running 24-hour mean (`day`)."""

    parameter: str
    standard: str
    averaging: str
    threshold: float


@dataclass
class SensorCommit:
    """One landed segment's effect: accepted observations (one per key) and what else changed."""

    segment: SegmentLedger
    observations: pl.DataFrame  # WINDOW_OBS_TABLE columns
    latest: pl.DataFrame  # LATEST_TABLE columns but change_id: the newest per series of the segment
    stations: pl.DataFrame  # station_id, source, newest_period (the segment's newest per station)
    dead: dict[str, int] = field(default_factory=dict)
    replaced_in_segment: int = 0  # earlier rows of a key repeated within the segment


class Checkpointer:
    """Copies committed pages from the WAL into the database every `every_seconds`, from a
    connection of its own, so the WAL stays small while the stream writes (PASSIVE: it never
    blocks the writer or the feed's readers); `with Checkpointer(path):`."""

    def __init__(self, path: Path, every_seconds: float = 1.0) -> None:
        self.path, self.every_seconds, self.done = Path(path), every_seconds, threading.Event()
        self.thread = threading.Thread(target=self._run, name="urbanpulse-checkpoint", daemon=True)

    def __enter__(self) -> Checkpointer:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.done.set()
        self.thread.join()

    def _run(self) -> None:
        store = LiveStore(self.path)
        try:
            while not self.done.wait(self.every_seconds):
                store.checkpoint()
        finally:
            store.close()


def create_sensor_tables(db: sqlite3.Connection) -> None:
    """The sensor tables, where the store does not have them yet."""
    db.executescript("\n".join(create_table(table) for table in ls.SENSOR_TABLES))


def register_stations(store: LiveStore, stations: pl.DataFrame) -> None:
    """Names, coordinates and districts of listed stations (columns of STATIONS_TABLE but the newest
    period); a station's newest period is kept."""
    columns = [c for c in ls.STATIONS_TABLE.columns if c in stations.columns and c != ls.NEWEST_PERIOD]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != sn.STATION_ID)
    with store.db:
        store.db.executemany(insert(ls.STATIONS_TABLE, columns, replace=False) + f" ON CONFLICT ({sn.STATION_ID}) "
                             f"DO UPDATE SET {updates}", to_rows(stations, ls.STATIONS_TABLE, columns))


def commit_observations(store: LiveStore, commit: SensorCommit, reader: str, lateness: timedelta,
                        timezone: str, rules: tuple[AlertRule, ...]) -> int:
    """Write one segment's effect in one transaction (see the module docstring); returns the change id."""
    db, segment = store.db, commit.segment
    now = micros(datetime.now(UTC))
    with write_transaction(db):
        change_id = db.execute(f"SELECT coalesce(max({lv.CHANGE_ROW_ID}), 0) + 1 FROM {lv.CHANGES_TABLE.name}").fetchone()[0]
        replaced = commit.replaced_in_segment + _write_observations(db, commit.observations, change_id)
        _write_stations(db, commit.stations, lateness)
        _write_latest(db, commit.latest, change_id)
        alerts = _raise_alerts(db, change_id, now, ZoneInfo(timezone), rules)
        dead = sum(commit.dead.values())
        db.executemany(
            insert(ls.DEAD_TABLE, replace=False) + f" ON CONFLICT ({rq.SOURCE}, {dl.REASON}) DO UPDATE SET "
            f"{ls.OBSERVATIONS} = {ls.OBSERVATIONS} + excluded.{ls.OBSERVATIONS}",
            [(segment.source, reason, count) for reason, count in commit.dead.items() if count])
        db.execute(insert(ls.SEGMENTS_TABLE), (segment.source, segment.seq, micros(segment.landed_at), now,
                                               segment.records_in, commit.observations.height, replaced, dead, change_id))
        _write_change(db, change_id, now, segment, (commit.observations.height, replaced, dead), alerts)
        store.set_offsets({segment.source: segment.seq + 1}, reader)
    return change_id


def _write_observations(db: sqlite3.Connection, observations: pl.DataFrame, change_id: int) -> int:
    """Insert or replace the observations and update the hours they fall in; returns how many
    stored observations they replaced. An hour with only new observations is updated in place
    (sum and count added, min and max widened); an hour where one replaced a stored observation
    is recomputed from its stored observations, so the earlier value leaves it exactly."""
    table = ls.WINDOW_OBS_TABLE
    typed = {column.name: f"{column.name} {sql_type(column)}" for column in table.schema}
    db.execute(f"CREATE TEMP TABLE IF NOT EXISTS sensor_touched ({', '.join(typed.values())})")
    db.execute(f"CREATE TEMP TABLE IF NOT EXISTS sensor_replaced ({', '.join(typed[k] for k in _HOUR_KEY)})")
    db.execute(f"DELETE FROM {_TOUCHED}")
    db.execute("DELETE FROM temp.sensor_replaced")
    db.executemany(insert(table).replace(f"INSERT OR REPLACE INTO {table.name}", f"INSERT INTO {_TOUCHED}"),
                   to_rows(observations, table))
    same = " AND ".join(f"w.{k} = t.{k}" for k in (*_HOUR_KEY, sn.PERIOD_START))
    replaced = db.execute(f"SELECT count(*) FROM {_TOUCHED} t JOIN {table.name} w ON {same}").fetchone()[0]
    if replaced:
        db.execute(f"INSERT INTO temp.sensor_replaced SELECT DISTINCT {', '.join(f't.{k}' for k in _HOUR_KEY)} "
                   f"FROM {_TOUCHED} t JOIN {table.name} w ON {same}")
    db.executemany(insert(table), to_rows(observations, table))
    _add_new_hours(db, change_id)
    if replaced:
        _recompute_hours(db, change_id)
    return replaced


def _kept(alias: str) -> str:
    """The value of an observation QC keeps (NULL for one it leaves out)."""
    return f"CASE WHEN {alias}.{ls.EXCLUDED} = 0 THEN {alias}.{sn.VALUE} END"


def _add_new_hours(db: sqlite3.Connection, change_id: int) -> None:
    """The hours without a replaced observation: this segment's values added to their figures."""
    hourly, kept = ls.HOURLY_TABLE, _kept("t")
    keys = ", ".join(f"t.{k}" for k in _HOUR_KEY)
    widen = {sn.MINIMUM: "min", sn.MAXIMUM: "max"}
    db.execute(
        f"INSERT INTO {hourly.name} ({', '.join(hourly.columns)}) SELECT {keys}, sum({kept}), count({kept}), "
        f"min({kept}), max({kept}), sum(t.{ls.EXCLUDED}), ? FROM {_TOUCHED} t WHERE NOT EXISTS (SELECT 1 FROM "
        f"temp.sensor_replaced r WHERE {' AND '.join(f'r.{k} = t.{k}' for k in _HOUR_KEY)}) GROUP BY {keys} "
        f"ON CONFLICT ({', '.join(_HOUR_KEY)}) DO UPDATE SET "
        f"{ls.TOTAL} = coalesce({ls.TOTAL}, 0) + coalesce(excluded.{ls.TOTAL}, 0), "
        f"{sn.COUNT} = {sn.COUNT} + excluded.{sn.COUNT}, {ls.FLAGGED} = {ls.FLAGGED} + excluded.{ls.FLAGGED}, "
        + ", ".join(f"{c} = {f}(coalesce({c}, excluded.{c}), coalesce(excluded.{c}, {c}))" for c, f in widen.items())
        + f", {lv.CHANGE_ID} = excluded.{lv.CHANGE_ID}", (change_id,))


def _recompute_hours(db: sqlite3.Connection, change_id: int) -> None:
    """The hours where an observation replaced a stored one, recomputed from their observations."""
    kept, on = _kept("w"), " AND ".join(f"w.{k} = r.{k}" for k in _HOUR_KEY)
    db.execute(
        f"INSERT OR REPLACE INTO {ls.HOURLY_TABLE.name} ({', '.join(ls.HOURLY_TABLE.columns)}) "
        f"SELECT {', '.join(f'w.{k}' for k in _HOUR_KEY)}, sum({kept}), count({kept}), min({kept}), max({kept}), "
        f"sum(w.{ls.EXCLUDED}), ? FROM temp.sensor_replaced r JOIN {ls.WINDOW_OBS_TABLE.name} w ON {on} "
        "GROUP BY 1, 2, 3", (change_id,))


def _write_stations(db: sqlite3.Connection, stations: pl.DataFrame, lateness: timedelta) -> None:
    """Each station's newest period, and its hours older than the lateness closed."""
    table, newest = ls.STATIONS_TABLE, ls.NEWEST_PERIOD
    columns = (sn.STATION_ID, rq.SOURCE, newest)
    db.executemany(insert(table, columns, replace=False) + f" ON CONFLICT ({sn.STATION_ID}) DO UPDATE SET "
                   f"{newest} = max(coalesce({newest}, 0), excluded.{newest}), "
                   f"{rq.SOURCE} = coalesce({rq.SOURCE}, excluded.{rq.SOURCE})", to_rows(stations, table, columns))
    db.executemany(
        f"DELETE FROM {ls.WINDOW_OBS_TABLE.name} WHERE {sn.STATION_ID} = ? AND {ls.HOUR_START} < "
        f"(SELECT {newest} FROM {table.name} WHERE {sn.STATION_ID} = ?) - ?",
        [(station, station, int(lateness.total_seconds() * 1_000_000)) for station in stations[sn.STATION_ID]])


def _write_latest(db: sqlite3.Connection, latest: pl.DataFrame, change_id: int) -> None:
    """The segment's newest readings, where they are not older than the stored ones."""
    table = ls.LATEST_TABLE
    columns = [c for c in table.columns if c != lv.CHANGE_ID]
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*columns[2:], lv.CHANGE_ID))
    rows = [(*row, change_id) for row in to_rows(latest, table, columns)]
    db.executemany(insert(table, replace=False) + f" ON CONFLICT ({sn.STATION_ID}, {sn.PARAMETER}) DO UPDATE SET "
                   f"{updates} WHERE excluded.{sn.PERIOD_START} >= {table.name}.{sn.PERIOD_START}", rows)


def _raise_alerts(db: sqlite3.Connection, change_id: int, now: int, zone: ZoneInfo,
                  rules: tuple[AlertRule, ...]) -> list[dict]:
    """Alerts of the hours this commit changed: their mean (`hour` rules) or the mean of the hourly
    means of the 24 hours ending with them (`day` rules, with at least `MIN_DAY_HOURS` of them)."""
    raised, hourly = [], ls.HOURLY_TABLE.name
    touched = f"t.{lv.CHANGE_ID} = ? AND t.{sn.PARAMETER} = ? AND t.{sn.COUNT} > 0"
    for rule in rules:
        if rule.averaging == "day":
            query = (f"SELECT t.{sn.STATION_ID}, t.{ls.HOUR_START}, avg(h.{ls.TOTAL} / h.{sn.COUNT}) FROM {hourly} t "
                     f"JOIN {hourly} h ON h.{sn.STATION_ID} = t.{sn.STATION_ID} AND h.{sn.PARAMETER} = t.{sn.PARAMETER} "
                     f"AND h.{ls.HOUR_START} > t.{ls.HOUR_START} - {HOURS_OF_DAY_MEAN * 3_600_000_000} "
                     f"AND h.{ls.HOUR_START} <= t.{ls.HOUR_START} AND h.{sn.COUNT} > 0 WHERE {touched} "
                     f"GROUP BY 1, 2 HAVING count(*) >= {MIN_DAY_HOURS}")
        else:
            query = f"SELECT t.{sn.STATION_ID}, t.{ls.HOUR_START}, t.{ls.TOTAL} / t.{sn.COUNT} FROM {hourly} t WHERE {touched}"
        for station, hour, mean in db.execute(query, (change_id, rule.parameter)).fetchall():
            if mean <= rule.threshold:
                continue
            day = from_micros(hour).astimezone(zone).date().isoformat()
            row = {sn.STATION_ID: station, sn.PARAMETER: rule.parameter, ls.STANDARD: rule.standard, ls.DAY: day,
                   ls.AVERAGING: rule.averaging, ls.HOUR_START: hour, sn.VALUE: mean, ls.THRESHOLD: rule.threshold,
                   ls.RAISED_AT: now, lv.CHANGE_ID: change_id}
            if db.execute(insert(ls.ALERTS_TABLE, list(row)).replace("INSERT OR REPLACE", "INSERT OR IGNORE"),
                          list(row.values())).rowcount:
                raised.append(row | {ls.HOUR_START: from_micros(hour).isoformat(),
                                     ls.RAISED_AT: from_micros(now).isoformat()})
    return raised


def _write_change(db: sqlite3.Connection, change_id: int, now: int, segment: SegmentLedger,
                  counts: tuple[int, int, int], alerts: list[dict]) -> None:
    """One row of the feed's change table: the segment, the readings and hours it changed (at most
    `EVENT_ROWS` of each) and the alerts it raised; older rows beyond the replay buffer go."""
    latest = db.execute(f"SELECT {sn.STATION_ID}, {sn.PARAMETER}, {sn.VALUE}, {sn.PERIOD_START}, {ls.BAND} FROM "
                        f"{ls.LATEST_TABLE.name} WHERE {lv.CHANGE_ID} = ? LIMIT ?", (change_id, EVENT_ROWS + 1)).fetchall()
    hours = db.execute(f"SELECT {sn.STATION_ID}, {sn.PARAMETER}, {ls.HOUR_START}, {ls.TOTAL} / {sn.COUNT}, {sn.COUNT}, "
                       f"{sn.MINIMUM}, {sn.MAXIMUM} FROM {ls.HOURLY_TABLE.name} WHERE {lv.CHANGE_ID} = ? LIMIT ?",
                       (change_id, EVENT_ROWS + 1)).fetchall()
    accepted, replaced, dead = counts
    payload = {
        "id": change_id, "committed_at": from_micros(now).isoformat(), "kind": ls.KIND, "event": "observations",
        "segment": {"source": segment.source, "seq": segment.seq, "landed_at": segment.landed_at.isoformat(),
                    ledger.RECORDS_IN: segment.records_in, ls.ACCEPTED: accepted, ls.REPLACED: replaced,
                    ledger.DEAD_LETTERS: dead},
        "latest": {"columns": [sn.STATION_ID, sn.PARAMETER, sn.VALUE, sn.PERIOD_START, ls.BAND],
                   "rows": [[s, p, v, from_micros(t).isoformat(), b] for s, p, v, t, b in latest[:EVENT_ROWS]]},
        "hourly": {"columns": [sn.STATION_ID, sn.PARAMETER, ls.HOUR_START, sn.MEAN, sn.COUNT, sn.MINIMUM, sn.MAXIMUM],
                   "rows": [[s, p, from_micros(t).isoformat(), *rest] for s, p, t, *rest in hours[:EVENT_ROWS]]},
        "alerts": alerts, "truncated": len(latest) > EVENT_ROWS or len(hours) > EVENT_ROWS,
    }
    changes = lv.CHANGES_TABLE
    db.execute(insert(changes, replace=False), (change_id, now, json.dumps(payload)))
    db.execute(f"DELETE FROM {changes.name} WHERE {lv.CHANGE_ROW_ID} <= ?", (change_id - CHANGES_KEPT,))
