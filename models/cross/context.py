"""Environmental requests set against sensor anomalies nearby: is a complaint corroborated?

* Environmental categories: a configurable mapping of category -> sensor parameters
  (`CATEGORY_PARAMETERS`). Category names are compared normalised (lower case, runs of other
  characters as `_`), and a key also covers its sub-categories: `noise` covers the demo
  taxonomy's `noise` and "Noise - Residential" (`noise_residential`).
* Anomaly: a valid hourly mean strictly above a threshold. Default rule `standard`: the lowest
  value of the parameter's standards (`models.sensors.thresholds.STANDARDS`, preferring an hourly
  limit, else the daily, else the mda8 one: pm25 15, pm10 45, no2 200, so2 350, o3 100 µg/m³;
  noise_laeq 55 dB(A), the WHO 1999 community-noise daytime guideline), read against one hour.
  Option `station_p95`: above the station's own 95th percentile of its valid hours of the
  trailing 30 days (at least `MIN_HISTORY_HOURS` of them, otherwise no threshold).
* Match: stations within `distance_m` (haversine, vectorised over a requests x stations cross
  join made in chunks of `chunk` requests) and hours overlapping [requested - hours_before,
  requested + hours_after]. The supporting anomaly is the one furthest above its threshold
  (relative), the nearer station first on ties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import polars as pl

from models.sensors.thresholds import AVERAGING, STANDARDS, VALUE
from schemas import cross as cx
from schemas import sensors as sn
from schemas.requests import (
    CATEGORY,
    LAT,
    LONG,
    REQUEST_DATE,
    REQUESTED_DATETIME,
    SCHEMA_VERSION_COLUMN,
    SERVICE_REQUEST_ID,
)

AIR = ("pm25", "pm10", "no2", "so2", "o3")
CATEGORY_PARAMETERS: dict[str, tuple[str, ...]] = {
    "air_quality": AIR, "air_pollution": AIR, "air": AIR, "smoke": AIR, "smell": AIR,
    "odor": AIR, "odour": AIR, "dust": ("pm10", "pm25"), "noise": ("noise_laeq",),
}
EXTRA_THRESHOLDS = {"noise_laeq": 55.0}  # WHO 1999 Guidelines for Community Noise, daytime outdoors
EARTH_RADIUS_M = 6_371_008.8
MIN_HISTORY_HOURS = 72
TRAILING = "30d"
PARAMETERS_COLUMN = "_parameters"  # the parameters of a request's category (`environmental_requests`)
_PARAMS, _RATIO, _DIST, _SID = PARAMETERS_COLUMN, "_ratio", "_pair_distance", "_station"


@dataclass(frozen=True)
class ContextSettings:
    """How requests are matched with anomalies (defaults: 2 km, 6 h before, 2 h after)."""

    distance_m: float = 2_000.0
    hours_before: float = 6.0
    hours_after: float = 2.0
    rule: str = cx.AnomalyRule.STANDARD
    chunk: int = 2_000  # requests per cross join with the stations
    categories: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(CATEGORY_PARAMETERS))

    def __post_init__(self) -> None:
        if self.rule not in cx.AnomalyRule.ALL:
            raise ValueError(f"anomaly rule {self.rule!r}: use one of {', '.join(cx.AnomalyRule.ALL)}")
        if self.distance_m <= 0 or self.hours_before < 0 or self.hours_after < 0 or self.chunk < 1:
            raise ValueError("distance_m and chunk must be positive, hours_before/after not negative")

    @property
    def parameters(self) -> list[str]:
        """Every sensor parameter some environmental category needs."""
        return sorted({p for params in self.categories.values() for p in params})


def normalised_category(column: str = CATEGORY) -> pl.Expr:
    """Lower case, runs of other characters as `_`: "Noise - Residential" -> noise_residential."""
    return pl.col(column).str.to_lowercase().str.replace_all(r"[^0-9a-z]+", "_").str.strip_chars("_")


def category_parameters(requests: pl.DataFrame, categories: dict[str, tuple[str, ...]]) -> pl.Series:
    """The sensor parameters of each request's category (null when it is not environmental);
    the longest matching key wins."""
    name = normalised_category()
    expr = pl.lit(None, pl.List(pl.String))
    for key in sorted(categories, key=len):
        matches = (name == key) | name.str.starts_with(key + "_")
        expr = pl.when(matches).then(pl.lit(list(categories[key]), pl.List(pl.String))).otherwise(expr)
    return requests.select(expr.alias(_PARAMS)).to_series()


def environmental_requests(requests: pl.DataFrame, settings: ContextSettings) -> pl.DataFrame:
    """The requests of environmental categories, with their parameters in `_parameters`."""
    with_params = requests.with_columns(category_parameters(requests, settings.categories))
    return with_params.filter(pl.col(_PARAMS).is_not_null())


def standard_thresholds(table: pl.DataFrame = STANDARDS) -> dict[str, float]:
    """parameter -> threshold of the `standard` rule (see the module's docstring)."""
    found: dict[str, float] = dict(EXTRA_THRESHOLDS)
    for averaging in ("mda8", "day", "hour"):  # later ones win: hourly limits first
        rows = table.filter(pl.col(AVERAGING) == averaging).group_by(sn.PARAMETER).agg(pl.col(VALUE).min())
        found.update(dict(zip(rows[sn.PARAMETER].to_list(), rows[VALUE].to_list())))
    return found


def anomaly_hours(hourly: pl.DataFrame, settings: ContextSettings,
                  thresholds: dict[str, float] | None = None) -> pl.DataFrame:
    """Valid hours of the settings' parameters: station_id, parameter, period_start, mean,
    threshold (null when the rule has none), anomaly (mean > threshold)."""
    valid = hourly.filter(pl.col(sn.VALID), pl.col(sn.PARAMETER).is_in(settings.parameters),
                          pl.col(sn.MEAN).is_not_null()).select(sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START, sn.MEAN)
    if settings.rule == cx.AnomalyRule.STANDARD:
        limits = thresholds if thresholds is not None else standard_thresholds()
        threshold = pl.col(sn.PARAMETER).replace_strict(limits, default=None, return_dtype=pl.Float64)
        valid = valid.with_columns(threshold.alias(cx.THRESHOLD))
    else:
        valid = valid.sort(sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START).with_columns(
            pl.col(sn.MEAN).rolling_quantile_by(sn.PERIOD_START, window_size=TRAILING, quantile=0.95,
                                                interpolation="linear", min_samples=MIN_HISTORY_HOURS,
                                                closed="left")
            .over(sn.STATION_ID, sn.PARAMETER).alias(cx.THRESHOLD))
    return valid.with_columns((pl.col(sn.MEAN) > pl.col(cx.THRESHOLD)).fill_null(False).alias("anomaly"))


def haversine_m(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """Great-circle distance in metres between points in degrees."""
    p1, p2 = lat1.radians(), lat2.radians()
    a = ((p2 - p1) / 2).sin().pow(2) + p1.cos() * p2.cos() * ((lon2.radians() - lon1.radians()) / 2).sin().pow(2)
    return 2 * EARTH_RADIUS_M * a.sqrt().clip(upper_bound=1.0).arcsin()


def _pairs(chunk: pl.DataFrame, stations: pl.DataFrame) -> pl.DataFrame:
    """Every located request x station with the distance."""
    located = chunk.filter(pl.col(LAT).is_not_null() & pl.col(LONG).is_not_null()).select(
        SERVICE_REQUEST_ID, REQUESTED_DATETIME, _PARAMS, LAT, LONG)
    station_points = stations.select(pl.col(sn.STATION_ID).alias(_SID), pl.col(LAT).alias("_slat"),
                                     pl.col(LONG).alias("_slong"))
    return located.join(station_points, how="cross").with_columns(
        haversine_m(pl.col(LAT), pl.col(LONG), pl.col("_slat"), pl.col("_slong")).alias(_DIST)
    ).drop(LAT, LONG, "_slat", "_slong")


def _window_hours(pairs: pl.DataFrame, settings: ContextSettings) -> pl.DataFrame:
    """In-range pairs x parameters x the hours overlapping the request's window."""
    before = timedelta(hours=settings.hours_before)
    after = timedelta(hours=settings.hours_after)
    first = (pl.col(REQUESTED_DATETIME) - before).dt.truncate("1h")
    last = (pl.col(REQUESTED_DATETIME) + after).dt.truncate("1h")
    return (pairs.filter(pl.col(_DIST) <= settings.distance_m)
            .explode(_PARAMS).rename({_PARAMS: sn.PARAMETER})
            .with_columns(pl.datetime_ranges(first, last, "1h").alias(sn.PERIOD_START))
            .explode(sn.PERIOD_START))


def _matches(pairs: pl.DataFrame, hours: pl.DataFrame, settings: ContextSettings) -> pl.DataFrame:
    """Per request: whether any valid hour was seen and its best anomaly (ratio to threshold)."""
    joined = _window_hours(pairs, settings).join(
        hours.rename({sn.STATION_ID: _SID}), on=[_SID, sn.PARAMETER, sn.PERIOD_START], how="inner")
    seen = joined.group_by(SERVICE_REQUEST_ID).agg(pl.len().alias("_valid_hours"))
    best = (joined.filter(pl.col("anomaly"))
            .with_columns((pl.col(sn.MEAN) / pl.col(cx.THRESHOLD)).alias(_RATIO))
            .sort([SERVICE_REQUEST_ID, _RATIO, _DIST, sn.PERIOD_START], descending=[False, True, False, False])
            .unique(SERVICE_REQUEST_ID, keep="first", maintain_order=True)
            .select(SERVICE_REQUEST_ID, sn.PARAMETER, pl.col(_SID).alias(cx.ANOMALY_STATION_ID),
                    pl.col(sn.PERIOD_START).alias(cx.ANOMALY_HOUR), pl.col(sn.MEAN).alias(cx.ANOMALY_VALUE),
                    cx.THRESHOLD))
    return seen.join(best, on=SERVICE_REQUEST_ID, how="left")


def _nearest(pairs: pl.DataFrame, distance_m: float) -> pl.DataFrame:
    """Per located request: nearest station, its distance and the stations in range."""
    return pairs.group_by(SERVICE_REQUEST_ID).agg(
        pl.col(_SID).sort_by(_DIST).first().alias(cx.NEAREST_STATION_ID),
        pl.col(_DIST).min().alias(cx.DISTANCE_M),
        (pl.col(_DIST) <= distance_m).sum().cast(pl.Int64).alias(cx.STATIONS_IN_RANGE))


def _context_chunk(chunk: pl.DataFrame, stations: pl.DataFrame, hours: pl.DataFrame,
                   settings: ContextSettings) -> pl.DataFrame:
    pairs = _pairs(chunk, stations)
    found = _nearest(pairs, settings.distance_m).join(_matches(pairs, hours, settings), on=SERVICE_REQUEST_ID,
                                                      how="left")
    rows = chunk.join(found, on=SERVICE_REQUEST_ID, how="left")
    located = pl.col(LAT).is_not_null() & pl.col(LONG).is_not_null()
    in_range = pl.col(cx.STATIONS_IN_RANGE).fill_null(0)
    corroborated = pl.col(cx.ANOMALY_HOUR).is_not_null()
    reason = (pl.when(~located).then(pl.lit(cx.ContextReason.NO_LOCATION))
              .when(in_range == 0).then(pl.lit(cx.ContextReason.NO_STATION_IN_RANGE))
              .when(corroborated).then(pl.lit(None, pl.String))
              .when(pl.col("_valid_hours").fill_null(0) == 0).then(pl.lit(cx.ContextReason.NO_SENSOR_DATA))
              .otherwise(pl.lit(cx.ContextReason.NO_ANOMALY)))
    return rows.with_columns(in_range.alias(cx.STATIONS_IN_RANGE), corroborated.alias(cx.CORROBORATED),
                             reason.alias(cx.REASON))


def located_stations(stations: pl.DataFrame) -> pl.DataFrame:
    """station_id, lat, long of the stations with coordinates."""
    return stations.filter(pl.col(LAT).is_not_null() & pl.col(LONG).is_not_null()).select(
        pl.col(sn.STATION_ID).cast(pl.String), pl.col(LAT).cast(pl.Float64), pl.col(LONG).cast(pl.Float64))


def request_sensor_context(requests: pl.DataFrame, stations: pl.DataFrame, hourly: pl.DataFrame,
                           settings: ContextSettings | None = None) -> pl.DataFrame:
    """One row per environmental request (columns of `schemas.cross.REQUEST_SENSOR_CONTEXT`).

    `requests`: service_request_id, category, requested_datetime (UTC), lat, long, district_id
    (and `date`, the local request date, if known); `stations`: station_id, lat, long;
    `hourly`: station_id, parameter, period_start, mean, valid (`sensor_hourly`).
    """
    settings = settings or ContextSettings()
    stations = located_stations(stations)
    hours = anomaly_hours(hourly, settings)
    env = environmental_requests(requests, settings)
    if REQUEST_DATE not in env.columns:
        env = env.with_columns(pl.lit(None, pl.Date).alias(REQUEST_DATE))
    parts = [_context_chunk(env.slice(start, settings.chunk), stations, hours, settings)
             for start in range(0, env.height, settings.chunk)]
    return finish_context(parts, settings.rule)


def finish_context(parts: list[pl.DataFrame], rule: str) -> pl.DataFrame:
    """Chunks of rows -> the published table (its columns, types and order)."""
    schema = pl.DataFrame(schema=pl.from_arrow(cx.REQUEST_SENSOR_CONTEXT.empty_table()).schema)
    frames = [part.with_columns(pl.lit(rule).alias(cx.ANOMALY_RULE),
                                pl.lit(cx.CROSS_SCHEMA_VERSION).alias(SCHEMA_VERSION_COLUMN))
              .select([pl.col(c).cast(schema.schema[c]) for c in cx.CONTEXT_COLUMNS]) for part in parts]
    table = pl.concat([schema, *frames], how="vertical") if frames else schema
    return table.sort(REQUESTED_DATETIME, SERVICE_REQUEST_ID)

