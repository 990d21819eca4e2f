"""Hourly, daily and monthly sensor aggregates per station x parameter x local period (polars).

Rules UrbanPulse applies (the air-quality agencies' own, see schemas.sensors):

- An observation with any flag in `QcFlag.EXCLUDING` is left out of the statistics AND counts
  as missing: it lowers `count`, hence `coverage`, exactly as a gap would. Periods whose values
  are all excluded still appear, with count 0, null statistics and valid False.
- Statistics: mean, min, max, p50, p98 (quantiles with linear interpolation, the pandas default,
  so a pandas recount matches), count of values used, expected_count, coverage = count /
  expected_count, valid = coverage >= MIN_COVERAGE (0.75).
- hourly: the local clock hour of the period start (zones with 30/45-minute offsets are handled
  by the local minute, not the UTC hour). expected_count = 60 / the series' period in minutes
  (hourly data: 1; 10-minute data: 6), the period being the median of period_end - period_start
  or, without period_end, the median step between observations.
- daily: computed from the VALID hourly means (an hour that is invalid counts as missing), so
  sub-hourly feeds follow the same rule; for hourly data it is the same as using the raw values.
  expected_count = hours in the local day: 24, or 23 / 25 on the days clocks change.
- mda8 (o3, co; Directive 2008/50/EC, Annex VII): the maximum over the day of the 8-hour running
  means of hourly values. The windows belong to the day in which they END: the first covers
  17:00 of the previous day to 01:00, the last 16:00 to 24:00. An 8-hour mean needs at least 6
  of its 8 hours (75 %); mda8 is null unless at least 18 of the day's 8-hour means are valid
  (the directive's 75 % of 24, used on DST days too).
- monthly: statistics of the valid hourly means in the local month, expected_count = hours in
  the local month, so coverage is the coverage of hours (not the mean of valid days).
- per district (`district_figures`, of hourly, daily or monthly station figures): statistics of
  the VALID means of the district's stations in the period, count = stations with a valid
  figure, expected_count = the district's stations that have a figure of the parameter in the
  period, valid = coverage >= 75 %. Stations without a district are left out.

The place columns and schema version of SENSOR_HOURLY / SENSOR_DAILY are added by the pipeline.
"""

from __future__ import annotations

import polars as pl

from schemas.requests import DISTRICT_ID, DISTRICT_NAME, PARENT_ID, PARENT_NAME
from schemas.sensors import (
    COUNT,
    COVERAGE,
    DATE,
    EXPECTED_COUNT,
    HOUR,
    MAXIMUM,
    MDA8,
    MDA8_PARAMETERS,
    MEAN,
    MIN_COVERAGE,
    MINIMUM,
    MONTH,
    P50,
    P98,
    PARAMETER,
    PERIOD_END,
    PERIOD_START,
    QC_FLAGS,
    STATION_ID,
    VALID,
    VALUE,
    QcFlag,
)

MDA8_WINDOW_HOURS = 8
MDA8_MIN_HOURS = 6  # 75 % of the 8 hours of a running mean
MDA8_MIN_WINDOWS = 18  # 75 % of the 24 running means of a day
KEYS = [STATION_ID, PARAMETER]


def _used(obs: pl.DataFrame) -> pl.Expr:
    """True for observations the statistics may use (no excluding QC flag)."""
    if QC_FLAGS not in obs.columns:
        return pl.lit(True)
    excluding = pl.element().is_in(list(QcFlag.EXCLUDING))
    return ~pl.col(QC_FLAGS).list.eval(excluding).list.any().fill_null(False)


def _statistics(values: pl.Expr) -> list[pl.Expr]:
    """mean/min/max/p50/p98/count of `values`; nulls (values not used) are skipped by all."""
    return [
        values.mean().alias(MEAN), values.min().alias(MINIMUM), values.max().alias(MAXIMUM),
        values.quantile(0.5, interpolation="linear").alias(P50),
        values.quantile(0.98, interpolation="linear").alias(P98),
        values.count().cast(pl.Int64).alias(COUNT),
    ]


def same_series(offset: int = 1) -> pl.Expr:
    """The row `offset` away belongs to the same station and parameter."""
    return (pl.col(STATION_ID) == pl.col(STATION_ID).shift(offset)) & (
        pl.col(PARAMETER) == pl.col(PARAMETER).shift(offset))


def sorted_by_series(frame: pl.DataFrame, time: str = PERIOD_START) -> pl.DataFrame:
    """`frame` with every station x parameter series in one block, in `time` order (a stable
    sort by station, parameter and time), without a sort when it already is (the usual case
    for stored observations and feeds, in whatever order their series come), checked in one
    pass: no time goes back within a series and no series starts twice."""
    if not frame.height:
        return frame
    t = pl.col(time)
    starts = ~same_series().fill_null(False)
    back = (same_series() & (t < t.shift(1))).fill_null(False).any()
    heads = frame.select(*KEYS, starts.alias("__start")).filter("__start")
    if frame.select(back).item() or heads.select(pl.struct(KEYS).is_duplicated().any()).item():
        return frame.sort([STATION_ID, PARAMETER, time], maintain_order=True)
    return frame


def _coverage(frame: pl.DataFrame) -> pl.DataFrame:
    coverage = pl.col(COUNT) / pl.col(EXPECTED_COUNT)
    return frame.with_columns(coverage.alias(COVERAGE)).with_columns(
        (pl.col(COVERAGE) >= MIN_COVERAGE).alias(VALID))


def _localize(naive: pl.Expr, timezone: str) -> pl.Expr:
    """UTC instant of a local wall time; a skipped time moves forward by an hour."""
    def at(expr: pl.Expr) -> pl.Expr:
        return expr.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    shifted = at(naive + pl.duration(hours=1)) - pl.duration(hours=1)
    return pl.coalesce(at(naive), shifted).dt.convert_time_zone("UTC")


def hours_between(starts: pl.Series, step: str, timezone: str) -> pl.DataFrame:
    """Hours from each local date in `starts` to the same date + `step` ("1d", "1mo")."""
    frame = pl.DataFrame({"__start": starts.unique()})
    naive = pl.col("__start").cast(pl.Datetime("us"))
    end = pl.col("__start").dt.offset_by(step).cast(pl.Datetime("us"))
    hours = (_localize(end, timezone) - _localize(naive, timezone)).dt.total_minutes() / 60
    return frame.with_columns(hours.round().cast(pl.Int64).alias(EXPECTED_COUNT))


def _period_minutes(obs: pl.LazyFrame, has_end: bool) -> pl.LazyFrame:
    """Per station x parameter: the length of its averaging period in minutes (default 60)."""
    if has_end:
        lengths = obs.select(*KEYS, (pl.col(PERIOD_END) - pl.col(PERIOD_START)).alias("__d"))
    else:  # the step between consecutive observations of the (sorted) series
        step = pl.col(PERIOD_START).diff()
        lengths = obs.select(*KEYS, pl.when(same_series() & (step > pl.duration(seconds=0)))
                             .then(step).alias("__d"))
    minutes = pl.col("__d").dt.total_minutes().median()
    return (lengths.group_by(KEYS).agg(minutes.alias("__minutes"))
            .with_columns(pl.col("__minutes").fill_null(60).clip(1, 60)))


def _hour_statistics(frame: pl.DataFrame) -> pl.DataFrame:
    """Statistics per station x parameter x hour of the used values (null = not used), in the
    order of `frame` (series in blocks, hours in order). An hour with one observation (the usual
    case, even in a feed with some repeats) takes its value as every statistic; only hours with
    several observations are grouped."""
    t, v = pl.col(PERIOD_START), pl.col(VALUE)
    shared = ((same_series() & (t == t.shift(1))) | (same_series(-1) & (t == t.shift(-1)))).fill_null(False)
    frame = frame.with_row_index("__row").with_columns(shared.alias("__shared"))
    alone = frame.filter(~pl.col("__shared")).select(
        "__row", *KEYS, PERIOD_START, v.alias(MEAN), v.alias(MINIMUM), v.alias(MAXIMUM),
        v.alias(P50), v.alias(P98), v.is_not_null().cast(pl.Int64).alias(COUNT))
    several = frame.filter("__shared")
    if not several.height:
        return alone.drop("__row")
    grouped = several.group_by([*KEYS, PERIOD_START]).agg(pl.col("__row").min(), *_statistics(v))
    return pl.concat([alone, grouped.select(alone.columns)]).sort("__row").drop("__row")


def hourly(obs: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Per station x parameter x local clock hour (period_start = the hour's start in UTC)."""
    local = pl.col(PERIOD_START).dt.convert_time_zone(timezone)
    hour_start = pl.col(PERIOD_START).dt.truncate("1m") - pl.duration(minutes=local.dt.minute())
    base = sorted_by_series(obs).lazy().with_columns(
        pl.when(_used(obs)).then(pl.col(VALUE)).alias(VALUE), hour_start.alias("__hour"))
    periods = _period_minutes(base, PERIOD_END in obs.columns)
    base = base.select(*KEYS, pl.col("__hour").alias(PERIOD_START), VALUE).collect()
    local = pl.col(PERIOD_START).dt.convert_time_zone(timezone)
    frame = (
        _hour_statistics(base).lazy()
        .join(periods, on=KEYS, how="left", maintain_order="left")
        .with_columns(
            (60 / pl.col("__minutes")).round().cast(pl.Int64).clip(1).alias(EXPECTED_COUNT),
            local.dt.date().alias(DATE), local.dt.hour().cast(pl.Int8).alias(HOUR))
        .drop("__minutes")
        .collect()
    )
    order = [*KEYS, PERIOD_START, DATE, HOUR, MEAN, MINIMUM, MAXIMUM, P50, P98, COUNT,
             EXPECTED_COUNT]
    return _coverage(frame.select(order))


def _valid_hourly_means() -> pl.Expr:
    """Hourly means of valid hours only: an invalid hour counts as missing (null)."""
    return pl.when(pl.col(VALID)).then(pl.col(MEAN)).alias(VALUE)


def daily_from_hourly(hours: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Daily aggregates (with mda8 for o3/co) from `hourly` output."""
    frame = (hours.lazy().select(*KEYS, DATE, _valid_hourly_means())
             .group_by([*KEYS, DATE]).agg(_statistics(pl.col(VALUE))).collect())
    expected = hours_between(frame[DATE], "1d", timezone).rename({"__start": DATE})
    frame = _coverage(frame.join(expected, on=DATE, how="left"))
    frame = frame.join(mda8(hours, timezone), on=[*KEYS, DATE], how="left")
    return frame.sort([*KEYS, DATE])


def daily(obs: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Per station x parameter x local date: statistics of the valid hourly means, and mda8."""
    return daily_from_hourly(hourly(obs, timezone), timezone)


def _hour_grid(h: pl.DataFrame) -> pl.DataFrame:
    """Every hour of each (sorted) series from its first hour to 7 hours after its last, with
    null values where no hour was aggregated, in series order (rows of a series in time order).
    """
    last_window = pl.duration(hours=MDA8_WINDOW_HOURS - 1)
    bounds = h.group_by(KEYS).agg(pl.col(PERIOD_START).min().alias("__lo"),
                                  pl.col(PERIOD_START).max().alias("__hi"))
    step = pl.col(PERIOD_START) - pl.col(PERIOD_START).shift(1)
    gaps = (same_series() & (step != pl.duration(hours=1))).fill_null(False)
    if h.select(gaps.any()).item():  # gaps inside a series: join onto the full hour range
        full = bounds.select(*KEYS, pl.datetime_ranges(
            "__lo", pl.col("__hi") + last_window, "1h").alias(PERIOD_START)).explode(PERIOD_START)
        return full.join(h, on=[*KEYS, PERIOD_START], how="left").sort([*KEYS, PERIOD_START])
    tail = bounds.select(*KEYS, pl.datetime_ranges(
        pl.col("__hi") + pl.duration(hours=1), pl.col("__hi") + last_window, "1h")
        .alias(PERIOD_START)).explode(PERIOD_START)
    return pl.concat([h, tail], how="diagonal")  # `.over` keeps each series' own order


def mda8(hours: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """(station_id, parameter, date, mda8) for the MDA8_PARAMETERS, from `hourly` output.

    Maximum daily 8-hour mean after Directive 2008/50/EC, Annex VII: running 8-hour means of the
    hourly values, each assigned to the local day in which it ends (first window of a day:
    17:00 the day before to 01:00, last: 16:00 to 24:00); a running mean needs 6 of its 8 hours;
    the day's maximum is given only if at least 18 running means are valid.
    """
    h = hours.filter(pl.col(PARAMETER).is_in(list(MDA8_PARAMETERS))).select(
        *KEYS, PERIOD_START, pl.when(pl.col(VALID)).then(pl.col(MEAN)).alias(VALUE))
    grid = _hour_grid(sorted_by_series(h))
    running = pl.col(VALUE).rolling_mean(MDA8_WINDOW_HOURS, min_samples=MDA8_MIN_HOURS)
    # a window is labelled by its last hour's start, so it belongs to that hour's local day
    day = pl.col(PERIOD_START).dt.convert_time_zone(timezone).dt.date()
    windows = grid.with_columns(running.over(KEYS).alias("__mean"), day.alias(DATE))
    enough = pl.col("__mean").count() >= MDA8_MIN_WINDOWS
    return (windows.group_by([*KEYS, DATE])
            .agg(pl.when(enough).then(pl.col("__mean").max()).alias(MDA8))
            .with_columns(pl.col(MDA8).cast(pl.Float64)))


def monthly_from_hourly(hours: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Monthly aggregates from `hourly` output: statistics of the month's valid hourly means."""
    frame = (hours.lazy().select(*KEYS, pl.col(DATE).dt.truncate("1mo").alias(MONTH),
                                 _valid_hourly_means())
             .group_by([*KEYS, MONTH]).agg(_statistics(pl.col(VALUE))).collect())
    expected = hours_between(frame[MONTH], "1mo", timezone).rename({"__start": MONTH})
    return _coverage(frame.join(expected, on=MONTH, how="left")).sort([*KEYS, MONTH])


def monthly(obs: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Per station x parameter x local month (`month` = its first day), coverage of hours."""
    return monthly_from_hourly(hourly(obs, timezone), timezone)


def district_figures(figures: pl.DataFrame, period: list[str]) -> pl.DataFrame:
    """Per district x parameter x `period` columns: the spread of its stations' valid figures."""
    keys = [DISTRICT_ID, DISTRICT_NAME, PARENT_ID, PARENT_NAME, PARAMETER, *period]
    value = pl.when(pl.col(VALID)).then(pl.col(MEAN))
    frame = (figures.lazy().filter(pl.col(DISTRICT_ID).is_not_null())
             .group_by(keys).agg(*_statistics(value), pl.len().cast(pl.Int64).alias(EXPECTED_COUNT)).collect())
    return _coverage(frame).sort([DISTRICT_ID, PARAMETER, *period])
