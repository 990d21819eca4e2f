"""Requests per 1,000 residents per district and local day.

Every district of the city pack gets a row for every day from the first to the last request
date (a day without requests is a rate of 0, not a gap); a district the requests name but the
pack does not, and requests placed in no district (null `district_id`), get rows of their own
with a null population, so the `requests` column always sums to the requests counted. The
rate is null whenever the population is unknown or not positive.
"""

from __future__ import annotations

import polars as pl

from schemas import cross as cx
from schemas.citypack import DISTRICT_ID, DISTRICT_NAME, POPULATION
from schemas.requests import REQUEST_DATE, SCHEMA_VERSION_COLUMN

_KEY = (DISTRICT_ID, REQUEST_DATE)


def district_day_counts(requests: pl.DataFrame) -> pl.DataFrame:
    """district_id, date, requests: requests filed per district and local day (`date`)."""
    return (requests.group_by(pl.col(DISTRICT_ID).cast(pl.String), pl.col(REQUEST_DATE).cast(pl.Date))
            .agg(pl.len().cast(pl.Int64).alias(cx.REQUESTS)))


def add_counts(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Counts of several batches of requests -> one count per district and day."""
    empty = pl.DataFrame(schema={DISTRICT_ID: pl.String, REQUEST_DATE: pl.Date, cx.REQUESTS: pl.Int64})
    return pl.concat([empty, *parts], how="vertical").group_by(*_KEY).agg(pl.col(cx.REQUESTS).sum())


def request_rates(counts: pl.DataFrame, districts: pl.DataFrame) -> pl.DataFrame:
    """Rows of `schemas.cross.REQUEST_RATE` from counts (`district_day_counts`) and the pack's
    districts (district_id, district_name, population: `CityPack.districts_frame()`)."""
    districts = districts.select(pl.col(DISTRICT_ID).cast(pl.String), pl.col(DISTRICT_NAME).cast(pl.String),
                                 pl.col(POPULATION).cast(pl.Float64))
    if counts.is_empty():
        return _published(counts.join(districts, on=DISTRICT_ID, how="left"))
    days = pl.date_range(counts[REQUEST_DATE].min(), counts[REQUEST_DATE].max(), "1d", eager=True)
    grid = districts.select(DISTRICT_ID).join(days.alias(REQUEST_DATE).to_frame(), how="cross")
    unknown = counts.join(districts, on=DISTRICT_ID, how="anti").select(*_KEY)
    keys = pl.concat([grid, unknown], how="vertical")
    rows = (keys.join(counts, on=list(_KEY), how="left", nulls_equal=True)
            .with_columns(pl.col(cx.REQUESTS).fill_null(0))
            .join(districts, on=DISTRICT_ID, how="left"))
    return _published(rows)


def _published(rows: pl.DataFrame) -> pl.DataFrame:
    population = pl.col(POPULATION)
    rate = pl.when(population > 0).then(pl.col(cx.REQUESTS) / population * 1000.0).otherwise(None)
    return (rows.with_columns(rate.alias(cx.REQUESTS_PER_1000),
                              pl.lit(cx.CROSS_SCHEMA_VERSION).alias(SCHEMA_VERSION_COLUMN))
            .select(pl.col(DISTRICT_ID).cast(pl.String), pl.col(DISTRICT_NAME).cast(pl.String),
                    pl.col(REQUEST_DATE).cast(pl.Date), pl.col(cx.REQUESTS).cast(pl.Int64),
                    pl.col(POPULATION).cast(pl.Float64), pl.col(cx.REQUESTS_PER_1000).cast(pl.Float64),
                    SCHEMA_VERSION_COLUMN)
            .sort(DISTRICT_ID, REQUEST_DATE, nulls_last=True))


def requests_per_1000(requests: pl.DataFrame, districts: pl.DataFrame) -> pl.DataFrame:
    """`request_rates` of a frame of requests (district_id, date)."""
    return request_rates(district_day_counts(requests), districts)
