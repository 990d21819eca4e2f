"""DeduplicateRequests: one row per request id, and repeated reports of one problem linked.

Two kinds of duplicates reach a city. The same request re-sent with a newer status: the latest
version wins (by its newest timestamp, then by ingestion, then by position in the source). Several
residents reporting one pothole: reports of the same category in the same H3 cell within
`REPORT_WINDOW` of the first one get `duplicate_of` = that first report's id; they stay rows of
their own, because each is a resident's request that needs an answer.

The request sink (`sinks.requests.MergeRequestsIntoDataset`) applies `deduplicate` to each
partition date: this run's rows together with what earlier runs published, so re-sent versions
and re-ingested files collapse the same way whether they arrive in one run or in many.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from schemas import requests as rq
from schemas.requests import ENRICHED_REQUEST

REPORT_WINDOW = timedelta(hours=48)
_VERSION_TIME = "_version_time"
_FIRST_ID = "_first_id"
_FIRST_TIME = "_first_time"


def latest_versions(frame: pl.DataFrame) -> pl.DataFrame:
    version_time = pl.coalesce(rq.UPDATED_DATETIME, rq.CLOSED_DATETIME, rq.REQUESTED_DATETIME)
    return (
        frame.with_columns(version_time.alias(_VERSION_TIME))
        .sort([rq.SERVICE_REQUEST_ID, _VERSION_TIME, rq.INGESTED_AT, rq.SOURCE_FILE, rq.SOURCE_POSITION])
        .unique(rq.SERVICE_REQUEST_ID, keep="last", maintain_order=True)
        .drop(_VERSION_TIME)
    )


def link_repeated_reports(frame: pl.DataFrame) -> pl.DataFrame:
    place = [rq.CATEGORY, rq.H3_CELL]
    ordered = frame.sort([rq.REQUESTED_DATETIME, rq.SERVICE_REQUEST_ID])
    linked = ordered.with_columns(
        pl.col(rq.SERVICE_REQUEST_ID).first().over(place).alias(_FIRST_ID),
        pl.col(rq.REQUESTED_DATETIME).first().over(place).alias(_FIRST_TIME),
    )
    is_repeat = (
        pl.col(rq.CATEGORY).is_not_null()
        & pl.col(rq.H3_CELL).is_not_null()
        & (pl.col(rq.SERVICE_REQUEST_ID) != pl.col(_FIRST_ID))
        & (pl.col(rq.REQUESTED_DATETIME) - pl.col(_FIRST_TIME) <= REPORT_WINDOW)
    )
    return linked.with_columns(
        pl.when(is_repeat).then(pl.col(_FIRST_ID)).alias(rq.DUPLICATE_OF)
    ).drop(_FIRST_ID, _FIRST_TIME)


def deduplicate(frame: pl.DataFrame) -> pl.DataFrame:
    """Latest version per id, repeated reports linked, columns in the published order."""
    return link_repeated_reports(latest_versions(frame)).select(ENRICHED_REQUEST.names)
