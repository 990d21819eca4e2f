"""One landed segment of normalised observations -> what the stream of sensors commits for it.

`segment_effect` takes the OBSERVATION rows of one segment and returns the accepted rows of the
open hours (one per station x parameter x period start: within the segment the LAST row of a key
counts, as `models.sensors.quality` keeps the feed's later row), the newest reading per series,
each station's newest period, and how many rows were refused `too_late` or replaced within the
segment. An observation is too late when its hour starts more than the allowed lateness before
the newest period the store had seen for its station BEFORE this segment: a segment carrying a
backlog (a day of one station's hours in one file) is taken whole, and the hours it leaves behind
the new horizon are closed right after it. QC is what can be decided from one value: the feed's own `source_invalid`, and
`negative` / `out_of_range` by `models.sensors.quality.DEFAULT_RULES`; spikes and flatlines
need neighbours and are left to the batch path. Hours follow the local clock of `timezone`
(`models.sensors.aggregates.hourly`): the hour's start, in UTC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from models.sensors.quality import DEFAULT_RULES
from models.sensors.thresholds import band
from schemas import live as lv
from schemas import live_sensors as ls
from schemas import requests as rq
from schemas import sensors as sn

_LO = {p: float(r.lo) for p, r in DEFAULT_RULES.items()}
_HI = {p: float(r.hi) for p, r in DEFAULT_RULES.items()}
_NEGATIVE_OK = {p: r.negative_allowed for p, r in DEFAULT_RULES.items()}
_KEY = (sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START)


@dataclass
class SegmentEffect:
    """What one segment changes (see the module docstring)."""

    observations: pl.DataFrame  # WINDOW_OBS_TABLE columns
    latest: pl.DataFrame  # LATEST_TABLE columns but change_id
    stations: pl.DataFrame  # station_id, source, newest_period
    too_late: int
    replaced: int


def with_flags(observations: pl.DataFrame) -> pl.DataFrame:
    """`qc_flags` with `negative` and `out_of_range` added, and `excluded` (1 when a flag leaves
    the value out of the aggregates)."""
    value, parameter = pl.col(sn.VALUE), pl.col(sn.PARAMETER)
    lo = parameter.replace_strict(_LO, default=None, return_dtype=pl.Float64)
    hi = parameter.replace_strict(_HI, default=None, return_dtype=pl.Float64)
    negative = (value < 0) & ~parameter.replace_strict(_NEGATIVE_OK, default=True, return_dtype=pl.Boolean)
    out = ~negative & ((value < lo) | (value > hi)).fill_null(False)
    flags = pl.col(sn.QC_FLAGS).fill_null(pl.lit([], pl.List(pl.String)))
    flags = pl.when(negative).then(flags.list.concat(pl.lit([sn.QcFlag.NEGATIVE]))).otherwise(flags)
    flags = pl.when(out).then(flags.list.concat(pl.lit([sn.QcFlag.OUT_OF_RANGE]))).otherwise(flags)
    frame = observations.with_columns(flags.alias(sn.QC_FLAGS))
    excluding = pl.col(sn.QC_FLAGS).list.eval(pl.element().is_in(sn.QcFlag.EXCLUDING)).list.any()
    return frame.with_columns(excluding.fill_null(False).cast(pl.Int64).alias(ls.EXCLUDED))


def hour_start(timezone: str) -> pl.Expr:
    """The start (UTC) of the local clock hour a period starts in."""
    local = pl.col(sn.PERIOD_START).dt.convert_time_zone(timezone)
    return (pl.col(sn.PERIOD_START).dt.truncate("1m") - pl.duration(minutes=local.dt.minute())).alias(ls.HOUR_START)


def segment_effect(observations: pl.DataFrame, timezone: str, lateness: timedelta,
                   newest: dict[str, datetime]) -> SegmentEffect:
    """See the module docstring; `newest` is the newest period the store has seen per station."""
    frame = with_flags(observations).with_columns(hour_start(timezone))
    stations = frame.group_by(sn.STATION_ID).agg(pl.col(rq.SOURCE).first(), pl.col(sn.PERIOD_START).max()
                                                 .alias(ls.NEWEST_PERIOD))
    stored = pl.DataFrame({sn.STATION_ID: list(newest), "_stored": list(newest.values())},
                          schema={sn.STATION_ID: pl.String, "_stored": pl.Datetime("us", "UTC")})
    stations = stations.join(stored, on=sn.STATION_ID, how="left").with_columns(
        pl.max_horizontal(ls.NEWEST_PERIOD, "_stored").alias(ls.NEWEST_PERIOD)).drop("_stored")
    frame = frame.join(stored.select(sn.STATION_ID, (pl.col("_stored") - lateness).alias("_horizon")),
                       on=sn.STATION_ID, how="left", maintain_order="left")
    late = (pl.col(ls.HOUR_START) < pl.col("_horizon")).fill_null(False)
    too_late = int(frame.select(late.sum()).item())
    frame = frame.filter(~late).sort(rq.SOURCE_POSITION)
    kept = frame.unique(list(_KEY), keep="last", maintain_order=True)
    latest = kept.sort(sn.PERIOD_START, rq.SOURCE_POSITION).unique([sn.STATION_ID, sn.PARAMETER], keep="last")
    latest = band(latest.with_columns(pl.col(sn.VALUE).alias(sn.MEAN))).with_columns(
        pl.col(sn.QC_FLAGS).map_elements(lambda flags: json.dumps(list(flags)), return_dtype=pl.String))
    columns = [c for c in ls.LATEST_TABLE.columns if c != lv.CHANGE_ID]
    return SegmentEffect(kept.select(ls.WINDOW_OBS_TABLE.columns), latest.select(columns), stations,
                         too_late, frame.height - kept.height)
