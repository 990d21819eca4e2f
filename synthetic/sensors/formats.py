"""Synthetic observations in the formats UrbanPulse reads.

* `write_long_csv`: `station_id,parameter,period_start,value` (ISO 8601 UTC, `Z`), the long CSV
  of the sensor benchmark;
* `write_uci_csv`: one station in the UCI Beijing multi-site layout (wide local-time rows, `NA`
  for gaps and for parameters not generated, CO in µg/m³ as UCI writes it);
* `mqtt_messages`: JSON lists of observations as sensors publish them, with late (out of
  order) and repeated (re-delivered) messages planted;
* `write_stations_csv`: the stations list (`station_id,station_name,lat,long`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from schemas.requests import LAT, LONG
from schemas.sensors import (
    OBSERVED_AT,
    PARAMETER,
    PERIOD_START,
    STATION_ID,
    STATION_NAME,
    UNIT,
    VALUE,
)

LONG_CSV_COLUMNS = (STATION_ID, PARAMETER, PERIOD_START, VALUE)
UCI_COLUMNS = ("No", "year", "month", "day", "hour", "PM2.5", "PM10", "SO2", "NO2", "CO", "O3",
               "TEMP", "PRES", "DEWP", "RAIN", "wd", "WSPM", "station")
# canonical parameter -> (UCI column, factor from the canonical unit to UCI's)
UCI_NAMES = {"pm25": ("PM2.5", 1.0), "pm10": ("PM10", 1.0), "so2": ("SO2", 1.0),
             "no2": ("NO2", 1.0), "co": ("CO", 1000.0), "o3": ("O3", 1.0),
             "temperature": ("TEMP", 1.0), "pressure": ("PRES", 1.0), "dew_point": ("DEWP", 1.0),
             "rain": ("RAIN", 1.0), "wind_speed": ("WSPM", 1.0)}
LATE_SHARE = 0.02  # of messages, delivered 1-5 messages after their place
REPEAT_SHARE = 0.01  # of messages, delivered again 1-5 messages later
_HOUR = "_hour"


def write_long_csv(observations: pl.DataFrame, path: Path) -> Path:
    """The observations as the long CSV: exactly `station_id,parameter,period_start,value`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    observations.select(LONG_CSV_COLUMNS).write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    return path


def write_stations_csv(stations: pl.DataFrame, path: Path) -> Path:
    """The stations as a CSV list UrbanPulse's station reader takes: id, name and coordinates."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stations.select(STATION_ID, STATION_NAME, LAT, LONG).write_csv(path)
    return path


def write_uci_csv(observations: pl.DataFrame, station_id: str, path: Path, timezone: str) -> Path:
    """One station in the UCI Beijing layout: a row per hour from its first to its last
    observation, local `year,month,day,hour` in `timezone`, `NA` where nothing was observed.
    A duplicated hour keeps its last value (the feed's correction)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = observations.filter(pl.col(STATION_ID) == station_id,
                               pl.col(PARAMETER).is_in(list(UCI_NAMES)))
    if rows.is_empty():
        raise ValueError(f"no UCI parameter observed at station {station_id!r}")
    factor = pl.col(PARAMETER).replace_strict({k: v[1] for k, v in UCI_NAMES.items()},
                                              return_dtype=pl.Float64)
    wide = (rows.with_columns(
        pl.col(PARAMETER).replace_strict({k: v[0] for k, v in UCI_NAMES.items()}),
        (pl.col(VALUE) * factor).round(3))
        .pivot(on=PARAMETER, index=PERIOD_START, values=VALUE, aggregate_function="last"))
    hours = pl.datetime_range(rows.get_column(PERIOD_START).min(),
                              rows.get_column(PERIOD_START).max(), "1h", eager=True,
                              time_zone="UTC").alias(PERIOD_START).to_frame()
    local = pl.col(PERIOD_START).dt.convert_time_zone(timezone)
    frame = hours.join(wide, on=PERIOD_START, how="left").with_columns(
        (pl.int_range(pl.len()) + 1).alias("No"), local.dt.year().alias("year"),
        local.dt.month().alias("month"), local.dt.day().alias("day"),
        local.dt.hour().alias("hour"), pl.lit(None, pl.String).alias("wd"),
        pl.lit(station_id).alias("station"),
    )
    missing = [pl.lit(None, pl.Float64).alias(name) for name in UCI_COLUMNS
               if name not in frame.columns]
    frame.with_columns(missing).select(UCI_COLUMNS).write_csv(
        path, null_value="NA", quote_style="non_numeric")
    return path


def mqtt_messages(observations: pl.DataFrame, per_message: int = 100, seed: int = 0,
                  timezone: str = "UTC") -> list[bytes]:
    """UTF-8 JSON lists of up to `per_message` observations `{"station_id", "parameter",
    "value", "unit", "observed_at"}` in frame order (`observed_at` ISO 8601 with the offset of
    `timezone`). `LATE_SHARE` of the messages arrive 1-5 messages late and `REPEAT_SHARE` are
    delivered twice (at least one of each when there are two messages or more)."""
    if per_message < 1:
        raise ValueError(f"per_message must be positive, got {per_message}")
    local = pl.col(PERIOD_START).dt.convert_time_zone(timezone)
    encoded = observations.select(
        (pl.int_range(pl.len()) // per_message).alias("_message"),
        pl.struct(STATION_ID, PARAMETER, VALUE, UNIT,
                  local.dt.strftime("%Y-%m-%dT%H:%M:%S%:z").alias(OBSERVED_AT))
        .struct.json_encode().alias("_json"),
    ).group_by("_message", maintain_order=True).agg(pl.col("_json").str.join(","))
    bodies = ("[" + encoded.get_column("_json") + "]").to_list()
    return [bodies[i].encode("utf-8") for i in delivery_order(len(bodies), seed)]


def delivery_order(count: int, seed: int = 0) -> list[int]:
    """The order messages 0..count-1 are delivered in: some late, some repeated."""
    rng = np.random.default_rng([seed, 0x3077])
    if count < 2:
        return list(range(count))
    position = np.arange(count, dtype=np.float64)
    late = rng.choice(count - 1, size=max(1, round(LATE_SHARE * count)), replace=False)
    position[late] += rng.integers(1, 6, len(late)) + 0.5
    repeat = rng.choice(count, size=max(1, round(REPEAT_SHARE * count)), replace=False)
    again = repeat + rng.integers(1, 6, len(repeat)) + 0.25
    keys = np.concatenate([position, again])
    ids = np.concatenate([np.arange(count), repeat])
    return ids[np.argsort(keys, kind="stable")].tolist()
