"""Sensor observations: raw (as a feed delivers them), normalised, quality-controlled and aggregated.

Every sensor source adapter delivers `RAW_OBSERVATION` (all text, the feed's own parameter names,
units and times, one row per station x parameter x period); normalisation maps them to the
canonical `PARAMETERS` and units, UTC periods and QC flags (`OBSERVATION`); the aggregates
(`SENSOR_HOURLY`, `SENSOR_DAILY`) follow the air-quality agencies' rules: a mean is valid with at
least `MIN_COVERAGE` of its expected values, ozone and CO also get the maximum daily 8-hour mean.
"""

from __future__ import annotations

import pyarrow as pa

from schemas.requests import (
    DISTRICT_ID,
    DISTRICT_NAME,
    LAT,
    LONG,
    PARENT_ID,
    PARENT_NAME,
    SCHEMA_VERSION_COLUMN,
    SOURCE,
    SOURCE_FILE,
    SOURCE_POSITION,
    UNREADABLE_RECORD,
    UTC_TS,
)

SENSOR_SCHEMA_VERSION = "1.0.0"
# what `urbanpulse ingest sensors --format` reads (pipelines.sources.sensors, one adapter each)
SENSOR_FORMATS = ("uci", "wide-daily", "sensorthings", "mqtt-json", "csv", "jsonl", "parquet")
MIN_COVERAGE = 0.75  # EU air-quality rule: a daily mean needs 75% of its hours

# --- observations ------------------------------------------------------------------------
STATION_ID = "station_id"
STATION_NAME = "station_name"
PARAMETER = "parameter"  # canonical code (PARAMETERS); raw rows carry the feed's own name
VALUE = "value"
UNIT = "unit"
OBSERVED_AT = "observed_at"  # raw: the period's start as written (ISO with offset, or local time)
PERIOD_HOURS = "period_hours"  # raw: length of the averaging period (1 for hourly values)
SOURCE_VALID = "source_valid"  # raw: the feed's own validity flag (V / N, true / false), if any
PERIOD_START = "period_start"  # UTC
PERIOD_END = "period_end"  # UTC
QC_FLAGS = "qc_flags"
DATE = "date"  # local date of the period start in the city's (or station's) time zone
HOUR = "hour"  # local hour of the period start, 0-23

# Canonical parameters and the unit every value is converted to.
PARAMETERS: dict[str, str] = {
    "pm25": "µg/m³", "pm10": "µg/m³", "no2": "µg/m³", "so2": "µg/m³", "o3": "µg/m³", "co": "mg/m³",
    "temperature": "°C", "dew_point": "°C", "humidity": "%", "pressure": "hPa", "rain": "mm",
    "wind_speed": "m/s", "noise_laeq": "dB(A)", "count": "count",
}
MDA8_PARAMETERS = ("o3", "co")  # the daily maximum of 8-hour running means is their daily figure


class QcFlag:
    """Why an observation is left out of the aggregates (it stays in `sensor_observations`)."""

    OUT_OF_RANGE = "out_of_range"  # outside the parameter's physical range
    NEGATIVE = "negative"
    SPIKE = "spike"  # jumps from both neighbours by more than the parameter's spike threshold
    FLATLINE = "flatline"  # the same value for the parameter's flatline hours or more
    SOURCE_INVALID = "source_invalid"  # the feed marked it not valid
    DUPLICATE = "duplicate"  # another observation of the same station, parameter and period
    # kept, not excluded: how a local time was read
    DST_AMBIGUOUS = "dst_ambiguous"  # a repeated hour at the end of summer time: the first (summer) one
    DST_NONEXISTENT = "dst_nonexistent"  # a skipped hour at the start of summer time: shifted forward
    EXCLUDING = (OUT_OF_RANGE, NEGATIVE, SPIKE, FLATLINE, SOURCE_INVALID, DUPLICATE)


class SensorReason:
    """Machine-readable dead-letter reasons of observations."""

    UNREADABLE_ROW = "unreadable_row"
    UNKNOWN_STATION = "unknown_station"
    UNKNOWN_PARAMETER = "unknown_parameter"
    UNPARSEABLE_TIME = "unparseable_observed_at"
    UNIT_MISMATCH = "unit_mismatch"  # a unit that cannot be converted to the parameter's
    NON_NUMERIC = "non_numeric_value"


# --- aggregates ----------------------------------------------------------------------------
MEAN, MINIMUM, MAXIMUM, P50, P98 = "mean", "min", "max", "p50", "p98"
COUNT, EXPECTED_COUNT, COVERAGE, VALID = "count", "expected_count", "coverage", "valid"
MDA8 = "mda8"  # maximum daily 8-hour running mean (o3, co)


def _meta(name: str) -> dict[str, str]:
    return {"urbanpulse.schema": name, "urbanpulse.version": SENSOR_SCHEMA_VERSION}


RAW_OBSERVATION = pa.schema(
    [
        pa.field(STATION_ID, pa.large_string()),
        pa.field(PARAMETER, pa.large_string()),
        pa.field(VALUE, pa.large_string()),
        pa.field(UNIT, pa.large_string()),
        pa.field(OBSERVED_AT, pa.large_string()),
        pa.field(PERIOD_HOURS, pa.float64()),
        pa.field(SOURCE_VALID, pa.large_string()),
        pa.field(SOURCE, pa.large_string(), nullable=False),
        pa.field(SOURCE_FILE, pa.large_string(), nullable=False),
        pa.field(SOURCE_POSITION, pa.int64(), nullable=False),
        pa.field(UNREADABLE_RECORD, pa.large_string()),
    ],
    metadata=_meta("raw_observation"),
)

STATION = pa.schema(
    [
        pa.field(STATION_ID, pa.large_string(), nullable=False),
        pa.field(STATION_NAME, pa.large_string()),
        pa.field(LAT, pa.float64()),
        pa.field(LONG, pa.float64()),
    ],
    metadata=_meta("station"),
)

OBSERVATION = pa.schema(
    [
        pa.field(STATION_ID, pa.large_string(), nullable=False),
        pa.field(PARAMETER, pa.large_string(), nullable=False),
        pa.field(VALUE, pa.float64(), nullable=False),
        pa.field(UNIT, pa.large_string(), nullable=False),
        pa.field(PERIOD_START, UTC_TS, nullable=False),
        pa.field(PERIOD_END, UTC_TS, nullable=False),
        pa.field(QC_FLAGS, pa.list_(pa.large_string())),
        pa.field(SOURCE, pa.large_string(), nullable=False),
        pa.field(SOURCE_FILE, pa.large_string(), nullable=False),
        pa.field(SOURCE_POSITION, pa.int64(), nullable=False),
        pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False),
    ],
    metadata=_meta("observation"),
)

_AGGREGATE_FIELDS = [
    pa.field(MEAN, pa.float64()), pa.field(MINIMUM, pa.float64()), pa.field(MAXIMUM, pa.float64()),
    pa.field(P50, pa.float64()), pa.field(P98, pa.float64()),
    pa.field(COUNT, pa.int64(), nullable=False), pa.field(EXPECTED_COUNT, pa.int64(), nullable=False),
    pa.field(COVERAGE, pa.float64(), nullable=False), pa.field(VALID, pa.bool_(), nullable=False),
]
_PLACE_FIELDS = [
    pa.field(DISTRICT_ID, pa.large_string()), pa.field(DISTRICT_NAME, pa.large_string()),
    pa.field(PARENT_ID, pa.large_string()), pa.field(PARENT_NAME, pa.large_string()),
]

MONTH = "month"  # the first local day of a month (monthly figures)

SENSOR_HOURLY = pa.schema(
    [pa.field(STATION_ID, pa.large_string(), nullable=False), pa.field(PARAMETER, pa.large_string(), nullable=False),
     pa.field(PERIOD_START, UTC_TS, nullable=False), pa.field(DATE, pa.date32(), nullable=False),
     pa.field(HOUR, pa.int8(), nullable=False), *_AGGREGATE_FIELDS, *_PLACE_FIELDS,
     pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False)],
    metadata=_meta("sensor_hourly"),
)

SENSOR_DAILY = pa.schema(
    [pa.field(STATION_ID, pa.large_string(), nullable=False), pa.field(PARAMETER, pa.large_string(), nullable=False),
     pa.field(DATE, pa.date32(), nullable=False), *_AGGREGATE_FIELDS, pa.field(MDA8, pa.float64()),
     *_PLACE_FIELDS, pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False)],
    metadata=_meta("sensor_daily"),
)

SENSOR_MONTHLY = pa.schema(
    [pa.field(STATION_ID, pa.large_string(), nullable=False), pa.field(PARAMETER, pa.large_string(), nullable=False),
     pa.field(MONTH, pa.date32(), nullable=False), *_AGGREGATE_FIELDS, *_PLACE_FIELDS,
     pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False)],
    metadata=_meta("sensor_monthly"),
)

# per district: the spread of its stations' VALID figures of the period (count = stations valid,
# expected_count = stations reporting the parameter, valid = coverage >= MIN_COVERAGE)
_DISTRICT_KEY = [pa.field(DISTRICT_ID, pa.large_string(), nullable=False), pa.field(DISTRICT_NAME, pa.large_string()),
                 pa.field(PARENT_ID, pa.large_string()), pa.field(PARENT_NAME, pa.large_string()),
                 pa.field(PARAMETER, pa.large_string(), nullable=False)]
SENSOR_DISTRICT_HOURLY = pa.schema(
    [*_DISTRICT_KEY, pa.field(PERIOD_START, UTC_TS, nullable=False), pa.field(DATE, pa.date32(), nullable=False),
     pa.field(HOUR, pa.int8(), nullable=False), *_AGGREGATE_FIELDS,
     pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False)],
    metadata=_meta("sensor_district_hourly"),
)
SENSOR_DISTRICT_DAILY = pa.schema(
    [*_DISTRICT_KEY, pa.field(DATE, pa.date32(), nullable=False), *_AGGREGATE_FIELDS,
     pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False)],
    metadata=_meta("sensor_district_daily"),
)
SENSOR_DISTRICT_MONTHLY = pa.schema(
    [*_DISTRICT_KEY, pa.field(MONTH, pa.date32(), nullable=False), *_AGGREGATE_FIELDS,
     pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False)],
    metadata=_meta("sensor_district_monthly"),
)
