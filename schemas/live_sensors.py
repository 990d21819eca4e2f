"""Live sensor figures in the live store: the tables the stream of sensors writes and the feed reads.

    sensor_stations      one row per station: name, coordinates, district (a stations file, or
                         null), and the newest period seen (the reference of the allowed lateness)
    sensor_latest        the newest observation per station x parameter, its QC flags and band
    sensor_hourly        per station x parameter x local clock hour: sum, count, min and max of
                         the values QC keeps, and how many it left out (the mean is sum / count)
    sensor_window_obs    the observations of hours still open (not older than the allowed lateness),
                         one per station x parameter x period start: a repeated one replaces it
    sensor_alerts        an hourly or running 24-hour mean above a standard: once per station x
                         parameter x standard x local day
    sensor_dead_letters  observations refused, per landing source and reason
    sensor_segments      one ledger row per committed landing segment of observations

Times are epoch microseconds (UTC) in the store, as in every live table; `qc_flags` is a JSON list.
"""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa

from schemas import dead_letters as dl
from schemas import ledger
from schemas import live as lv
from schemas import requests as rq
from schemas import sensors as sn

SENSORS_READER = "sensors"  # the stream of sensors' committing reader (offsets table)
KIND = "sensors"  # `kind` of the feed changes it writes
DEFAULT_SENSOR_LATENESS = timedelta(hours=6)

NEWEST_PERIOD = "newest_period"  # the newest period start seen for a station
HOUR_START = "hour_start"  # the local clock hour's start, in UTC
TOTAL = "total"  # sum of the values QC keeps
FLAGGED = "flagged"  # values of the hour QC left out
EXCLUDED = "excluded"  # 1 when QC leaves the observation out of the aggregates
BAND = "band"
STANDARD, AVERAGING, THRESHOLD, DAY = "standard", "averaging", "threshold", "day"
RAISED_AT = "raised_at"
OBSERVATIONS = "observations"
ACCEPTED, REPLACED, DEAD = "accepted", "replaced", "dead"

_TEXT, _INT, _REAL, _TIME = pa.string(), pa.int64(), pa.float64(), rq.UTC_TS
_SERIES = (sn.STATION_ID, sn.PARAMETER)

STATIONS_TABLE = lv.LiveTable("sensor_stations", pa.schema([
    (sn.STATION_ID, _TEXT), (sn.STATION_NAME, _TEXT), (rq.LAT, _REAL), (rq.LONG, _REAL),
    (rq.DISTRICT_ID, _TEXT), (rq.DISTRICT_NAME, _TEXT), (rq.SOURCE, _TEXT), (NEWEST_PERIOD, _TIME),
]), primary_key=(sn.STATION_ID,))
LATEST_TABLE = lv.LiveTable("sensor_latest", pa.schema([
    (sn.STATION_ID, _TEXT), (sn.PARAMETER, _TEXT), (sn.VALUE, _REAL), (sn.UNIT, _TEXT),
    (sn.PERIOD_START, _TIME), (sn.PERIOD_END, _TIME), (sn.QC_FLAGS, _TEXT), (BAND, _TEXT), (lv.CHANGE_ID, _INT),
]), primary_key=_SERIES, indexes={"sensor_latest_by_change": (lv.CHANGE_ID,)})
HOURLY_TABLE = lv.LiveTable("sensor_hourly", pa.schema([
    (sn.STATION_ID, _TEXT), (sn.PARAMETER, _TEXT), (HOUR_START, _TIME), (TOTAL, _REAL), (sn.COUNT, _INT),
    (sn.MINIMUM, _REAL), (sn.MAXIMUM, _REAL), (FLAGGED, _INT), (lv.CHANGE_ID, _INT),
]), primary_key=(*_SERIES, HOUR_START), indexes={"sensor_hourly_by_change": (lv.CHANGE_ID,)})
WINDOW_OBS_TABLE = lv.LiveTable("sensor_window_obs", pa.schema([
    (sn.STATION_ID, _TEXT), (sn.PARAMETER, _TEXT), (HOUR_START, _TIME), (sn.PERIOD_START, _TIME),
    (sn.VALUE, _REAL), (EXCLUDED, _INT),
]), primary_key=(*_SERIES, HOUR_START, sn.PERIOD_START))
ALERTS_TABLE = lv.LiveTable("sensor_alerts", pa.schema([
    (sn.STATION_ID, _TEXT), (sn.PARAMETER, _TEXT), (STANDARD, _TEXT), (DAY, _TEXT), (AVERAGING, _TEXT),
    (HOUR_START, _TIME), (sn.VALUE, _REAL), (THRESHOLD, _REAL), (RAISED_AT, _TIME), (lv.CHANGE_ID, _INT),
]), primary_key=(*_SERIES, STANDARD, DAY), indexes={"sensor_alerts_by_time": (RAISED_AT,)})
DEAD_TABLE = lv.LiveTable("sensor_dead_letters", pa.schema([
    (rq.SOURCE, _TEXT), (dl.REASON, _TEXT), (OBSERVATIONS, _INT),
]), primary_key=(rq.SOURCE, dl.REASON))
SEGMENTS_TABLE = lv.LiveTable("sensor_segments", pa.schema([
    (rq.SOURCE, _TEXT), (lv.SEQ, _INT), (lv.LANDED_AT, _TIME), (lv.COMMITTED_AT, _TIME),
    (ledger.RECORDS_IN, _INT), (ACCEPTED, _INT), (REPLACED, _INT), (DEAD, _INT), (lv.CHANGE_ID, _INT),
]), primary_key=(rq.SOURCE, lv.SEQ))
SENSOR_TABLES = (STATIONS_TABLE, LATEST_TABLE, HOURLY_TABLE, WINDOW_OBS_TABLE, ALERTS_TABLE, DEAD_TABLE,
                 SEGMENTS_TABLE)
