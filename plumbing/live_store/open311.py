"""Reading the live store's Open311 view: what `GET requests` and `servicerequestupdates` answer.

The view holds only published-safe fields (`schemas.live.OPEN311_REQUESTS_TABLE`); the stream
writes it (`writer_open311`). These queries take a read-only connection (`LiveStoreReader.db`).
A store created before the view existed has no such table until the stream opens it again:
that reads as no requests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import polars as pl

from plumbing.live_store.backend import STORE_ERRORS, no_such_table
from plumbing.live_store.tables import IN_JSON, micros, select, to_frame
from schemas import live as lv
from schemas import requests as rq


def _rows(db, table: lv.LiveTable, where: str, params: Sequence,
          tail: str = "") -> pl.DataFrame:
    try:
        rows = db.execute(select(table, where=where) + tail, tuple(params)).fetchall()
    except STORE_ERRORS as error:
        if no_such_table(error):
            rows = []
        else:
            raise
    return to_frame(rows, table)


def requests_by_id(db, ids: Sequence[str]) -> pl.DataFrame:
    """The views of `ids` the store knows, in the order asked."""
    found = _rows(db, lv.OPEN311_REQUESTS_TABLE, f"{rq.SERVICE_REQUEST_ID} {IN_JSON}", [json.dumps(list(ids))])
    order = pl.DataFrame({rq.SERVICE_REQUEST_ID: list(dict.fromkeys(ids))}, schema={rq.SERVICE_REQUEST_ID: pl.String})
    return order.join(found, on=rq.SERVICE_REQUEST_ID, how="inner", maintain_order="left")


def requests_between(db, start: datetime, end: datetime, service_codes: Sequence[str] = (),
                     statuses: Sequence[str] = (), limit: int = 1_000, offset: int = 0) -> pl.DataFrame:
    """Views requested in [start, end], newest first, filtered by service codes and statuses."""
    where = [f"{rq.REQUESTED_DATETIME} >= ?", f"{rq.REQUESTED_DATETIME} <= ?"]
    params: list = [micros(start), micros(end)]
    for column, values in ((rq.SERVICE_CODE, service_codes), (rq.STATUS, statuses)):
        if values:
            where.append(f"{column} {IN_JSON}")
            params.append(json.dumps(list(values)))
    tail = f" ORDER BY {rq.REQUESTED_DATETIME} DESC, {rq.SERVICE_REQUEST_ID} LIMIT ? OFFSET ?"
    return _rows(db, lv.OPEN311_REQUESTS_TABLE, " AND ".join(where), [*params, limit, offset], tail)


def updates_between(db, start: datetime, end: datetime, limit: int = 1_000,
                    offset: int = 0) -> pl.DataFrame:
    """Updates (status or notes changes) with `updated_datetime` in [start, end], oldest first."""
    tail = f" ORDER BY {rq.UPDATED_DATETIME}, {lv.UPDATE_ID} LIMIT ? OFFSET ?"
    return _rows(db, lv.REQUEST_UPDATES_TABLE, f"{rq.UPDATED_DATETIME} >= ? AND {rq.UPDATED_DATETIME} <= ?",
                 [micros(start), micros(end), limit, offset], tail)
