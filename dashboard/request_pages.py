"""Pages of `/api/v1/requests`: the listed columns, a stable sort and cursors that survive inserts.

The cursor is a keyset cursor: it holds the sort key and `service_request_id` of the last row
served, and the next page is the rows after that key in the same order (ties broken by
`service_request_id`, ascending, whatever the direction; empty keys last). Rows landing while a
client pages through do not shift the pages as an offset would: every row there from the first
page to the last is served exactly once, as long as its own sort key does not change meanwhile
(`requested_datetime` and `service_request_id` never do; a request closed between two pages can
move when sorted by `status`, `closed_datetime` or `hours_overdue`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from schemas import requests as rq

HOURS_OVERDUE = "hours_overdue"
LISTED = (
    rq.SERVICE_REQUEST_ID, rq.REQUESTED_DATETIME, rq.CLOSED_DATETIME, rq.STATUS, rq.CATEGORY, rq.DEPARTMENT,
    rq.DISTRICT_ID, rq.DISTRICT_NAME, rq.DESCRIPTION, rq.ADDRESS, rq.LAT, rq.LONG, rq.SLA_DUE_DATETIME,
    HOURS_OVERDUE, rq.DUPLICATE_OF, rq.REPORT_CLUSTER_ID,
)
SORTABLE = (
    rq.REQUESTED_DATETIME, rq.SERVICE_REQUEST_ID, rq.CLOSED_DATETIME, rq.SLA_DUE_DATETIME, HOURS_OVERDUE,
    rq.STATUS, rq.CATEGORY, rq.DEPARTMENT, rq.DISTRICT_ID, rq.DISTRICT_NAME,
)
DEFAULT_SORT = f"-{rq.REQUESTED_DATETIME}"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"
_KEY = "_key"
_MICROS_PER_HOUR = 3_600_000_000


class PageError(ValueError):
    """A sort or cursor the list cannot use; the message says what to send instead."""


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool

    @classmethod
    def parse(cls, text: str) -> Sort:
        name = text[1:] if text.startswith(("-", "+")) else text
        if name not in SORTABLE:
            raise PageError(f"sort={text[:60]!r}: sort by one of {', '.join(SORTABLE)}, "
                            f"with a leading - for descending (default {DEFAULT_SORT})")
        return cls(name, text.startswith("-"))

    def text(self) -> str:
        return f"{'-' if self.descending else ''}{self.field}"

    def key(self) -> tuple[pl.Expr, bool]:
        """The sort key and whether it runs descending. Hours overdue grow with time, so the key is
        the due time of open requests (earliest due = most overdue), which never moves."""
        if self.field == HOURS_OVERDUE:
            return pl.when(is_open()).then(pl.col(rq.SLA_DUE_DATETIME).dt.epoch("us")), not self.descending
        column = pl.col(self.field)
        if self.field in (rq.REQUESTED_DATETIME, rq.CLOSED_DATETIME, rq.SLA_DUE_DATETIME):
            column = column.dt.epoch("us")
        return column, self.descending


def is_open() -> pl.Expr:
    return pl.col(rq.CLOSED_DATETIME).is_null() & pl.col(rq.STATUS).ne_missing(pl.lit(rq.Status.CLOSED))


def hours_overdue(as_of: datetime) -> pl.Expr:
    """Hours an open request is past its due time at `as_of` (null unless open past due)."""
    late = (pl.lit(as_of) - pl.col(rq.SLA_DUE_DATETIME)).dt.total_microseconds() / _MICROS_PER_HOUR
    return pl.when(is_open() & (pl.col(rq.SLA_DUE_DATETIME) < pl.lit(as_of))).then(late.round(2)) \
        .alias(HOURS_OVERDUE)


def filters_digest(*parts: object) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=6).hexdigest()


def encode_cursor(sort: Sort, key: object, last_id: str, digest: str) -> str:
    raw = json.dumps({"s": sort.text(), "k": key, "i": last_id, "q": digest}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort, digest: str) -> tuple[object, str]:
    """(sort key, id) of the last row served; `PageError` if it is not a cursor of this very query."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key, last_id, made_for, query = raw["k"], raw["i"], raw["s"], raw["q"]
        if not isinstance(last_id, str) or not isinstance(key, str | int | float | None):
            raise TypeError("cursor fields")
    except (ValueError, TypeError, KeyError, binascii.Error) as error:
        raise PageError("cursor: not a cursor of this feed; send the next_cursor (or the Link: rel=next "
                        "URL) of the previous page as it came, or leave cursor out for the first page") from error
    if made_for != sort.text() or query != digest:
        raise PageError(f"cursor: it belongs to another query (sort={made_for!r} or other filters); "
                        "page with the same sort and filters, or leave cursor out to start again")
    return key, last_id


def after(sort: Sort, key: object, last_id: str) -> pl.Expr:
    """Rows after (key, id) in the sort order (empty keys last, ties by ascending id)."""
    column, descending = sort.key()
    later_id = pl.col(rq.SERVICE_REQUEST_ID) > last_id
    if key is None:
        return column.is_null() & later_id
    beyond = (column < key) if descending else (column > key)
    return beyond.fill_null(True) | ((column == key) & later_id).fill_null(False)


def first_rows(rows: pl.DataFrame, descending: bool, count: int) -> pl.DataFrame:
    """The first `count` rows in (key, id) order. A sort on two columns of 200k rows costs ~100 ms,
    a top-k of the key alone ~5: the rows up to the count-th key (ties included) are found first,
    and only those are sorted; empty keys (last) are taken by id when the keys run out."""
    keys = rows[_KEY].drop_nulls()
    order = {"descending": [descending, False], "nulls_last": True}
    if keys.len() > count:
        threshold = keys.top_k(count).min() if descending else keys.bottom_k(count).max()
        candidates = rows.filter(pl.col(_KEY) >= threshold if descending else pl.col(_KEY) <= threshold)
        return candidates.sort([_KEY, rq.SERVICE_REQUEST_ID], **order).head(count)
    keyed = rows.filter(pl.col(_KEY).is_not_null()).sort([_KEY, rq.SERVICE_REQUEST_ID], **order)
    empty = rows.filter(pl.col(_KEY).is_null())
    if empty.height > count - keyed.height:
        empty = empty.bottom_k(count - keyed.height, by=rq.SERVICE_REQUEST_ID)
    return pl.concat([keyed, empty.sort(rq.SERVICE_REQUEST_ID)])


@dataclass(frozen=True)
class Page:
    rows: pl.DataFrame  # LISTED columns, times as UTC ISO text
    total: int
    next_cursor: str | None


def page(rows: pl.DataFrame, sort: Sort, limit: int, cursor: str | None, digest: str,
         as_of: datetime) -> Page:
    """One page of `rows` (already filtered) in `sort` order after `cursor`."""
    column, descending = sort.key()
    chosen = rows.with_columns(column.alias(_KEY))
    if cursor:
        key, last_id = decode_cursor(cursor, sort, digest)
        chosen = chosen.filter(after(sort, key, last_id))
    found = first_rows(chosen, descending, limit + 1)
    following = None
    if found.height > limit:
        last = found.row(limit - 1, named=True)
        following = encode_cursor(sort, last[_KEY], last[rq.SERVICE_REQUEST_ID], digest)
    listed = found.head(limit).with_columns(hours_overdue(as_of)).select(LISTED).with_columns(
        pl.col(c).dt.to_string(TIME_FORMAT) for c in (rq.REQUESTED_DATETIME, rq.CLOSED_DATETIME, rq.SLA_DUE_DATETIME)
    )
    return Page(listed, rows.height, following)
