"""Live sensor figures in the live store: what the feed and the stream of sensors read.

The tables are defined in `schemas.live_sensors`; the stream of sensors writes them with
`writer_sensors`. Every function here only reads, and returns [] / {} / None for a store the
stream of sensors never wrote (no sensor tables yet).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from plumbing.live_store.backend import has_table
from plumbing.live_store.tables import IN_JSON, from_micros, micros, select
from schemas import dead_letters as dl
from schemas import live_sensors as ls
from schemas import requests as rq
from schemas import sensors as sn

_STATION_COLUMNS = (sn.STATION_ID, sn.STATION_NAME, rq.LAT, rq.LONG, rq.DISTRICT_ID, rq.DISTRICT_NAME,
                    ls.NEWEST_PERIOD)


def has_sensor_tables(db: sqlite3.Connection) -> bool:
    """False for a store the stream of sensors never wrote."""
    return has_table(db, ls.STATIONS_TABLE.name)


def newest_periods(db: sqlite3.Connection, stations: list[str]) -> dict[str, datetime]:
    """The newest period start seen per station (those the store knows)."""
    if not has_sensor_tables(db):
        return {}
    query = select(ls.STATIONS_TABLE, (sn.STATION_ID, ls.NEWEST_PERIOD), f"{sn.STATION_ID} {IN_JSON}")
    rows = db.execute(query, (json.dumps(stations),)).fetchall()
    return {station: from_micros(newest) for station, newest in rows if newest is not None}


def stations(db: sqlite3.Connection) -> list[dict]:
    """Every station with its place and its latest reading per parameter (value, unit, period,
    QC flags, band), by station id."""
    if not has_sensor_tables(db):
        return []
    found = {}
    for row in db.execute(select(ls.STATIONS_TABLE, _STATION_COLUMNS) + f" ORDER BY {sn.STATION_ID}"):
        station = dict(zip(_STATION_COLUMNS, row, strict=True))
        station[ls.NEWEST_PERIOD] = _iso(station[ls.NEWEST_PERIOD])
        found[station[sn.STATION_ID]] = station | {"latest": {}}
    columns = (sn.STATION_ID, sn.PARAMETER, sn.VALUE, sn.UNIT, sn.PERIOD_START, sn.PERIOD_END, sn.QC_FLAGS, ls.BAND)
    for row in db.execute(select(ls.LATEST_TABLE, columns) + f" ORDER BY {sn.STATION_ID}, {sn.PARAMETER}"):
        station, parameter, value, unit, start, end, flags, band = row
        if station in found:
            found[station]["latest"][parameter] = {
                sn.VALUE: value, sn.UNIT: unit, sn.PERIOD_START: _iso(start), sn.PERIOD_END: _iso(end),
                sn.QC_FLAGS: json.loads(flags or "[]"), ls.BAND: band}
    return list(found.values())


def station(db: sqlite3.Connection, station_id: str) -> dict | None:
    """One station's row (without its readings), None when the store does not know it."""
    if not has_sensor_tables(db):
        return None
    row = db.execute(select(ls.STATIONS_TABLE, _STATION_COLUMNS, f"{sn.STATION_ID} = ?"), (station_id,)).fetchone()
    return dict(zip(_STATION_COLUMNS, row, strict=True)) if row else None


def station_ids(db: sqlite3.Connection) -> list[str]:
    """Every station id the store knows, sorted."""
    if not has_sensor_tables(db):
        return []
    return [s for (s,) in db.execute(f"SELECT {sn.STATION_ID} FROM {ls.STATIONS_TABLE.name} ORDER BY 1")]


def parameters_of(db: sqlite3.Connection, station_id: str) -> list[str]:
    """The parameters a station has hourly figures of."""
    query = f"SELECT DISTINCT {sn.PARAMETER} FROM {ls.HOURLY_TABLE.name} WHERE {sn.STATION_ID} = ? ORDER BY 1"
    return [p for (p,) in db.execute(query, (station_id,))]


def hourly(db: sqlite3.Connection, station_id: str, parameter: str, since: datetime) -> list[dict]:
    """The station's hours of `parameter` from `since` on, oldest first: mean, min, max, count of
    the values QC keeps, and how many it left out (`flagged`)."""
    columns = (ls.HOUR_START, ls.TOTAL, sn.COUNT, sn.MINIMUM, sn.MAXIMUM, ls.FLAGGED)
    query = select(ls.HOURLY_TABLE, columns, f"{sn.STATION_ID} = ? AND {sn.PARAMETER} = ? AND {ls.HOUR_START} >= ?")
    rows = db.execute(query + f" ORDER BY {ls.HOUR_START}", (station_id, parameter, micros(since))).fetchall()
    return [{sn.PERIOD_START: _iso(start), sn.MEAN: total / count if count else None, sn.MINIMUM: low,
             sn.MAXIMUM: high, sn.COUNT: count, ls.FLAGGED: flagged}
            for start, total, count, low, high, flagged in rows]


def newest_hour(db: sqlite3.Connection, station_id: str, parameter: str) -> datetime | None:
    """The start of the station's newest hour of `parameter` (None without one)."""
    query = f"SELECT max({ls.HOUR_START}) FROM {ls.HOURLY_TABLE.name} WHERE {sn.STATION_ID} = ? AND {sn.PARAMETER} = ?"
    return from_micros(db.execute(query, (station_id, parameter)).fetchone()[0])


def alerts(db: sqlite3.Connection, since: datetime | None, limit: int) -> list[dict]:
    """Alerts raised at or after `since` (all when None), oldest first, at most `limit`."""
    if not has_sensor_tables(db):
        return []
    columns = tuple(c for c in ls.ALERTS_TABLE.columns)
    query = select(ls.ALERTS_TABLE, columns, f"{ls.RAISED_AT} >= ?") + f" ORDER BY {ls.RAISED_AT}, 1, 2, 3 LIMIT ?"
    rows = db.execute(query, (micros(since) if since else 0, limit)).fetchall()
    found = [dict(zip(columns, row, strict=True)) for row in rows]
    for alert in found:
        alert[ls.HOUR_START], alert[ls.RAISED_AT] = _iso(alert[ls.HOUR_START]), _iso(alert[ls.RAISED_AT])
    return found


def dead_letter_counts(db: sqlite3.Connection) -> dict[str, int]:
    """Observations refused per reason, over every sensor source."""
    if not has_sensor_tables(db):
        return {}
    query = f"SELECT {dl.REASON}, sum({ls.OBSERVATIONS}) FROM {ls.DEAD_TABLE.name} GROUP BY 1 ORDER BY 1"
    return dict(db.execute(query).fetchall())


def _iso(value: int | None) -> str | None:
    """Epoch microseconds as ISO text (UTC)."""
    moment = from_micros(value)
    return moment.isoformat() if moment else None
