"""Air-quality standards, exceedances and the map colour band of a daily value.

Sources:
- WHO global air quality guidelines (2021): 24-hour guidelines are 99th percentiles, i.e. 3-4
  exceedance days a year; UrbanPulse allows 3. The o3 peak-season guideline (60 µg/m³, mean of
  the daily mda8 over the six consecutive months with the highest mean) is listed but not
  evaluated by `exceedances`.
- EU limit and target values, Directive 2008/50/EC, Annexes XI and VII (the o3 target's 25 days
  are averaged over three years there; UrbanPulse counts them per calendar year).
- Bands: the European Air Quality Index (EAQI) of the European Environment Agency, pm2.5 and
  pm10 breakpoints of its 24-hour bands as adopted by UrbanPulse (lower bound inclusive).

An exceedance is a value strictly above the threshold, of a VALID aggregate. Annual means are
the means of the valid daily means of a local calendar year, given only when at least 75 % of
the year's days are valid.
"""

from __future__ import annotations

import polars as pl

from schemas.sensors import DATE, MDA8, MEAN, MIN_COVERAGE, PARAMETER, STATION_ID, VALID

STANDARD, AVERAGING, THRESHOLD, UNIT = "standard", "averaging", "threshold", "unit"
ALLOWED, YEAR, DAYS, EXCEEDANCES, BREACHED = "allowed", "year", "days", "exceedances", "breached"
VALUE, BAND = "value", "band"
WHO_2021, EU_2008 = "WHO 2021", "EU 2008/50/EC"

_ROWS = [  # standard, parameter, averaging, value, unit, allowed exceedances a year
    (WHO_2021, "pm25", "day", 15, "µg/m³", 3), (WHO_2021, "pm25", "year", 5, "µg/m³", 0),
    (WHO_2021, "pm10", "day", 45, "µg/m³", 3), (WHO_2021, "pm10", "year", 15, "µg/m³", 0),
    (WHO_2021, "no2", "day", 25, "µg/m³", 3), (WHO_2021, "no2", "year", 10, "µg/m³", 0),
    (WHO_2021, "o3", "peak_season", 60, "µg/m³", 0), (WHO_2021, "o3", "mda8", 100, "µg/m³", 3),
    (WHO_2021, "so2", "day", 40, "µg/m³", 3), (WHO_2021, "co", "day", 4, "mg/m³", 3),
    (EU_2008, "pm10", "day", 50, "µg/m³", 35), (EU_2008, "pm10", "year", 40, "µg/m³", 0),
    (EU_2008, "pm25", "year", 25, "µg/m³", 0),
    (EU_2008, "no2", "hour", 200, "µg/m³", 18), (EU_2008, "no2", "year", 40, "µg/m³", 0),
    (EU_2008, "so2", "hour", 350, "µg/m³", 24), (EU_2008, "so2", "day", 125, "µg/m³", 3),
    (EU_2008, "co", "mda8", 10, "mg/m³", 0), (EU_2008, "o3", "mda8", 120, "µg/m³", 25),
]
STANDARDS = pl.DataFrame(
    [dict(zip((STANDARD, PARAMETER, AVERAGING, VALUE, UNIT, ALLOWED), r)) for r in _ROWS],
    schema={STANDARD: pl.String, PARAMETER: pl.String, AVERAGING: pl.String,
            VALUE: pl.Float64, UNIT: pl.String, ALLOWED: pl.Int64},
)

# EEA EAQI: (upper bound, band) in µg/m³; above the last bound stays "extremely poor"
BANDS = ("good", "fair", "moderate", "poor", "very poor", "extremely poor")
BREAKPOINTS = {"pm25": (10, 20, 25, 50, 75), "pm10": (20, 40, 50, 100, 150)}


def _candidates(daily: pl.DataFrame, hourly: pl.DataFrame | None) -> pl.DataFrame:
    """(station_id, parameter, averaging, date, value) of every valid aggregate."""
    valid = daily.filter(pl.col(VALID))
    parts = [valid.select(STATION_ID, PARAMETER, pl.lit("day").alias(AVERAGING), DATE,
                          pl.col(MEAN).alias(VALUE))]
    if MDA8 in daily.columns:
        parts.append(daily.filter(pl.col(MDA8).is_not_null()).select(
            STATION_ID, PARAMETER, pl.lit("mda8").alias(AVERAGING), DATE,
            pl.col(MDA8).alias(VALUE)))
    if hourly is not None:
        parts.append(hourly.filter(pl.col(VALID)).select(
            STATION_ID, PARAMETER, pl.lit("hour").alias(AVERAGING), DATE,
            pl.col(MEAN).alias(VALUE)))
    year = pl.col(DATE).dt.year()
    leap = pl.date(pl.col(YEAR), 12, 31).dt.ordinal_day() == 366
    days_in_year = pl.when(leap).then(366).otherwise(365)
    annual = (valid.group_by(STATION_ID, PARAMETER, year.alias(YEAR))
              .agg(pl.col(MEAN).mean().alias(VALUE), pl.len().alias("__n"))
              .filter(pl.col("__n") >= MIN_COVERAGE * days_in_year))
    parts.append(annual.select(STATION_ID, PARAMETER, pl.lit("year").alias(AVERAGING),
                               pl.date(pl.col(YEAR), 1, 1).alias(DATE), VALUE))
    return pl.concat(parts, how="vertical_relaxed")


def exceedances(daily: pl.DataFrame, hourly: pl.DataFrame | None = None,
                table: pl.DataFrame = STANDARDS) -> pl.DataFrame:
    """(station_id, parameter, standard, averaging, date, value, threshold) of every valid
    aggregate above a standard; hourly standards give one row per exceeding hour, annual ones
    the year's 1 January as date."""
    thresholds = table.select(STANDARD, PARAMETER, AVERAGING, pl.col(VALUE).alias(THRESHOLD))
    rows = _candidates(daily, hourly).join(thresholds, on=[PARAMETER, AVERAGING])
    return (rows.filter(pl.col(VALUE) > pl.col(THRESHOLD))
            .select(STATION_ID, PARAMETER, STANDARD, AVERAGING, DATE, VALUE, THRESHOLD)
            .sort(STATION_ID, PARAMETER, STANDARD, AVERAGING, DATE))


def exceedance_days_per_year(daily: pl.DataFrame, hourly: pl.DataFrame | None = None,
                             table: pl.DataFrame = STANDARDS) -> pl.DataFrame:
    """(station_id, parameter, standard, averaging, year, exceedances, days, allowed, breached):
    `exceedances` counts hours for hourly standards and days otherwise, `days` distinct days;
    breached when exceedances > allowed."""
    rows = exceedances(daily, hourly, table).with_columns(pl.col(DATE).dt.year().alias(YEAR))
    counted = rows.group_by(STATION_ID, PARAMETER, STANDARD, AVERAGING, YEAR).agg(
        pl.len().cast(pl.Int64).alias(EXCEEDANCES), pl.col(DATE).n_unique().cast(pl.Int64)
        .alias(DAYS))
    allowed = table.select(STANDARD, PARAMETER, AVERAGING, ALLOWED)
    return (counted.join(allowed, on=[STANDARD, PARAMETER, AVERAGING], how="left")
            .with_columns((pl.col(EXCEEDANCES) > pl.col(ALLOWED)).alias(BREACHED))
            .sort(STATION_ID, PARAMETER, STANDARD, AVERAGING, YEAR))


def band(daily: pl.DataFrame) -> pl.DataFrame:
    """`daily` with `band` (EAQI band of the daily mean) for pm25 / pm10, null otherwise."""
    expr = pl.lit(None, pl.String)
    for parameter, bounds in BREAKPOINTS.items():
        chain = pl.when(pl.col(MEAN) < bounds[0]).then(pl.lit(BANDS[0]))
        for upper, name in zip(bounds[1:], BANDS[1:]):
            chain = chain.when(pl.col(MEAN) < upper).then(pl.lit(name))
        chain = chain.otherwise(pl.lit(BANDS[-1]))
        expr = pl.when(pl.col(PARAMETER) == parameter).then(chain).otherwise(expr)
    return daily.with_columns(pl.when(pl.col(MEAN).is_not_null()).then(expr).alias(BAND))
