"""AggregateDaily: per local day x district x category - new, closed, open backlog, SLA share.

A request counts as new on its request date and as closed on its close date (never earlier than
its request date, whatever the source says), so a day's closed count includes requests made on
earlier days. The open backlog is the running total of new minus closed up to the end of the day,
which needs the whole history of a district x category. Each batch is reduced to additive daily
partials, sharded by district (a few shards, not one element per key: each Beam element costs a
serialisation), grouped, and each shard's history is reduced to its daily series in one place.
"""

from __future__ import annotations

import apache_beam as beam
import polars as pl

from schemas import aggregates as ag
from schemas import requests as rq

_EVENT_NEW = "_is_new"
_HOURS = "_hours_to_close"
_SLA_MET = "_closed_within_sla"
_SHARD = "_shard"
KEY_COLUMNS = (rq.DISTRICT_ID, rq.CATEGORY)
DEFAULT_SHARDS = 4
# What the aggregation reads from a request dataset (nothing else is needed).
INPUT_COLUMNS = [
    rq.DISTRICT_ID, rq.DISTRICT_NAME, rq.PARENT_NAME, rq.CATEGORY, rq.CLOSED_DATETIME,
    rq.HOURS_TO_CLOSE, rq.CLOSED_WITHIN_SLA,
]


def daily_partials(frame: pl.DataFrame, city_timezone: str) -> pl.DataFrame:
    """Additive per-day partials of one batch: counts, SLA outcomes, and the raw close hours.

    Counts add up across batches; the hours stay a list because a median does not. One row per
    day x key keeps the names once per group instead of once per request.
    """
    names = [rq.DISTRICT_ID, rq.DISTRICT_NAME, rq.PARENT_NAME, rq.CATEGORY]
    new = frame.select(*names, pl.col(rq.REQUEST_DATE).alias(ag.DAY), pl.lit(True).alias(_EVENT_NEW),
                       pl.lit(None, pl.Float64).alias(rq.HOURS_TO_CLOSE),
                       pl.lit(None, pl.Boolean).alias(rq.CLOSED_WITHIN_SLA))
    close_day = pl.max_horizontal(
        pl.col(rq.CLOSED_DATETIME).dt.convert_time_zone(city_timezone).dt.date(), pl.col(rq.REQUEST_DATE)
    )
    closed = frame.filter(pl.col(rq.CLOSED_DATETIME).is_not_null()).select(
        *names, close_day.alias(ag.DAY), pl.lit(False).alias(_EVENT_NEW),
        pl.col(rq.HOURS_TO_CLOSE), pl.col(rq.CLOSED_WITHIN_SLA),
    )
    is_closed = ~pl.col(_EVENT_NEW)
    return (
        pl.concat([new, closed])
        .group_by([ag.DAY, *KEY_COLUMNS])
        .agg(
            pl.col(rq.DISTRICT_NAME).first(),
            pl.col(rq.PARENT_NAME).first(),
            pl.col(_EVENT_NEW).sum().cast(pl.Int64).alias(ag.NEW),
            is_closed.sum().cast(pl.Int64).alias(ag.CLOSED),
            pl.col(rq.HOURS_TO_CLOSE).filter(is_closed).drop_nulls().alias(_HOURS),
            pl.col(rq.CLOSED_WITHIN_SLA).filter(is_closed).count().cast(pl.Int64)
            .alias(ag.CLOSED_WITH_SLA_OUTCOME),
            pl.col(rq.CLOSED_WITHIN_SLA).filter(is_closed).sum().cast(pl.Int64).alias(_SLA_MET),
        )
    )


def daily_series(partials: pl.DataFrame) -> pl.DataFrame:
    """Partials of any set of keys (from any number of batches) -> their request_daily rows."""
    outcomes = pl.col(ag.CLOSED_WITH_SLA_OUTCOME).sum()
    per_day = (
        partials.group_by([ag.DAY, *KEY_COLUMNS])
        .agg(
            pl.col(rq.DISTRICT_NAME).first(),
            pl.col(rq.PARENT_NAME).first(),
            pl.col(ag.NEW).sum(),
            pl.col(ag.CLOSED).sum(),
            pl.col(_HOURS).explode().median().alias(ag.MEDIAN_HOURS_TO_CLOSE),
            outcomes,
            pl.when(outcomes > 0).then(pl.col(_SLA_MET).sum() / outcomes)
            .alias(ag.SHARE_CLOSED_WITHIN_SLA),
        )
        .sort([*KEY_COLUMNS, ag.DAY], nulls_last=True)
    )
    backlog = (pl.col(ag.NEW) - pl.col(ag.CLOSED)).cum_sum().over(list(KEY_COLUMNS), order_by=ag.DAY)
    return per_day.with_columns(backlog.alias(ag.BACKLOG)).select(ag.REQUEST_DAILY.names)


class _PartialsByShard(beam.DoFn):
    def __init__(self, city_timezone: str, shards: int) -> None:
        self.city_timezone = city_timezone
        self.shards = shards

    def process(self, frame: pl.DataFrame):
        partials = daily_partials(frame, self.city_timezone).with_columns(
            (pl.col(rq.DISTRICT_ID).hash(seed=0) % self.shards).alias(_SHARD)
        )
        for (shard,), part in partials.partition_by(_SHARD, as_dict=True, include_key=False).items():
            yield shard, part


def _series_of_shard(keyed) -> pl.DataFrame:
    _shard, parts = keyed
    return daily_series(pl.concat(list(parts)))


class AggregateDaily(beam.PTransform):
    """Enriched request batches (the full history) in; request_daily frames out, one per shard."""

    def __init__(self, city_timezone: str, shards: int = DEFAULT_SHARDS) -> None:
        super().__init__()
        self.city_timezone = city_timezone
        self.shards = shards

    def expand(self, frames):
        return (
            frames
            | "DailyPartialsByShard" >> beam.ParDo(
                _PartialsByShard(self.city_timezone, self.shards)
            ).with_output_types(tuple[int, pl.DataFrame])
            | "GroupByShard" >> beam.GroupByKey()
            | "DailySeries" >> beam.Map(_series_of_shard).with_output_types(pl.DataFrame)
        )
