"""The Open311 view of the live store: each request's published-safe fields, and its updates.

The stream writes this after `ScrubPersonalData` (`pipelines.sinks.open311_views`), so the texts
are the scrubbed ones the datasets publish, and scrubbing stays off the path from landing to the
feed's windows. A version replaces the kept one only when its version key (version time, landing
segment, row) is at least the kept one's, as in `versions`, so replaying a segment changes
nothing. An accepted version whose status or status notes differ from the kept one's is also one
row of `request_updates` (FixMyStreet's `servicerequestupdates`), keyed by its landing position,
so a replay writes the same update again rather than a second one.
"""

from __future__ import annotations

import json
import sqlite3

import polars as pl

from plumbing.live_store.tables import insert, select, to_frame, to_rows
from plumbing.live_store.versions import VERSION_KEY, version_time
from plumbing.transactions import write_transaction
from schemas import live as lv
from schemas import requests as rq

_PREVIOUS = "_previous"
_CHANGE = (rq.STATUS, rq.STATUS_NOTES)


def view_rows(enriched: pl.DataFrame) -> pl.DataFrame:
    """The latest version of each request in `enriched` (scrubbed rows), as `open311_requests` rows."""
    present = set(enriched.columns)

    def column(name: str, dtype=pl.String) -> pl.Expr:
        return pl.col(name) if name in present else pl.lit(None, dtype)

    frame = enriched.select(
        rq.SERVICE_REQUEST_ID, version_time().alias(lv.VERSION_TIME), rq.SOURCE_FILE, rq.SOURCE_POSITION,
        rq.STATUS, rq.STATUS_NOTES, rq.SERVICE_CODE, rq.SERVICE_NAME, rq.DESCRIPTION,
        pl.coalesce(rq.AGENCY_RESPONSIBLE, column(rq.DEPARTMENT)).alias(rq.AGENCY_RESPONSIBLE),
        rq.ADDRESS, rq.LAT, rq.LONG, rq.REQUESTED_DATETIME, rq.UPDATED_DATETIME,
        pl.coalesce(rq.EXPECTED_DATETIME, column(rq.SLA_DUE_DATETIME, pl.Datetime("us", "UTC")))
        .alias(rq.EXPECTED_DATETIME),
        column(rq.DISTRICT_ID), column(rq.CATEGORY), rq.SOURCE,
    )
    return frame.sort([rq.SERVICE_REQUEST_ID, *VERSION_KEY]).unique(
        rq.SERVICE_REQUEST_ID, keep="last", maintain_order=True)


def commit_views(db: sqlite3.Connection, enriched: pl.DataFrame) -> tuple[int, int]:
    """Upsert the views of `enriched`'s requests and their updates in one transaction;
    (views written, updates written)."""
    if not enriched.height:
        return 0, 0
    incoming = view_rows(enriched)
    table = lv.OPEN311_REQUESTS_TABLE
    with write_transaction(db):
        rows = db.execute(select(table, where=f"{rq.SERVICE_REQUEST_ID} IN (SELECT value FROM json_each(?))"),
                          (json.dumps(incoming[rq.SERVICE_REQUEST_ID].to_list()),)).fetchall()
        previous = to_frame(rows, table).select(rq.SERVICE_REQUEST_ID, *VERSION_KEY, *_CHANGE)
        joined = incoming.join(previous, on=rq.SERVICE_REQUEST_ID, how="left", suffix=_PREVIOUS)
        known = pl.col(lv.VERSION_TIME + _PREVIOUS).is_not_null()
        accepted = joined.filter(~known | _at_least_previous())
        changed = accepted.filter(known & pl.any_horizontal(
            [pl.col(c).ne_missing(pl.col(c + _PREVIOUS)) for c in _CHANGE]))
        updates = changed.select(
            pl.format("{}:{}", rq.SOURCE_FILE, rq.SOURCE_POSITION).alias(lv.UPDATE_ID),
            rq.SERVICE_REQUEST_ID, rq.STATUS, rq.STATUS_NOTES, pl.col(lv.VERSION_TIME).alias(rq.UPDATED_DATETIME),
        )
        db.executemany(insert(table), to_rows(accepted, table))
        db.executemany(insert(lv.REQUEST_UPDATES_TABLE), to_rows(updates, lv.REQUEST_UPDATES_TABLE))
    return accepted.height, updates.height


def _at_least_previous() -> pl.Expr:
    """Version key of the incoming row >= the kept one's (lexicographic)."""
    terms = [(pl.col(c), pl.col(c + _PREVIOUS)) for c in VERSION_KEY]
    result = pl.lit(True)
    for new, old in reversed(terms):
        result = (new > old) | ((new == old) & result)
    return result
