"""Every request of a city once: the published datasets with the live store's newer versions on top.

A request can be in both places: the stream keeps its version in the live store within a second,
and its dataset publisher writes the same version into the Parquet datasets a little later.
Counting both would count it twice, so the view holds one row per `service_request_id`:

- the published row, unless the live store has a version of it that the datasets may not hold
  yet (`plumbing.live_requests`) and that version is newer (version time = update, else close,
  else request time, as the stream orders versions: `plumbing.live_store.versions`);
- then the live version's figures (request and close times, district, category, hours to close,
  SLA outcome) replace the published ones; what the live store does not keep (description,
  address, coordinates, the repeated-report link) stays as published, and is empty for a request
  not published yet (which is its own report cluster until the publisher links it).
  Its department and SLA due time come from the pack's taxonomy the way routing computes them
  (`models.cities.routing`, `pipelines.transforms.requests.sla`), keeping the published ones
  when the category and request time did not change.

A version both live and published with the same version time is the same version: the published
row stays (it has every field). The view is rebuilt only when the datasets' snapshot or the live
store changed (`RequestViews.current`), and shared by every request of the feed until then.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from plumbing.districts import district_names
from plumbing.live_requests import NO_STORE, LiveOverlay, read_overlay
from plumbing.live_store.versions import version_time
from plumbing.pack_files import pack_timezone, taxonomy_routes
from plumbing.published_requests import PublishedFrame, PublishedRequests
from plumbing.workspace import Workspace
from schemas import citypack as cp
from schemas import live as lv
from schemas import requests as rq
from schemas import taxonomy as tx

CLOSED_DATE = "closed_date"  # local date a request counts as closed (never before its request date)
VIEW_COLUMNS = (
    rq.SERVICE_REQUEST_ID, rq.STATUS, rq.REQUESTED_DATETIME, rq.CLOSED_DATETIME, rq.CATEGORY, rq.DEPARTMENT,
    rq.DISTRICT_ID, rq.DISTRICT_NAME, rq.DESCRIPTION, rq.ADDRESS, rq.LAT, rq.LONG, rq.H3_CELL,
    rq.SLA_DUE_DATETIME, rq.HOURS_TO_CLOSE, rq.CLOSED_WITHIN_SLA, rq.REQUEST_DATE, CLOSED_DATE, rq.DUPLICATE_OF,
    rq.REPORT_CLUSTER_ID,
)
_PUBLISHED = "_published"
_MICROS_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class RequestView:
    """One row per request, and what it was built from (for ETags and Last-Modified)."""

    rows: pl.DataFrame
    timezone: str
    version: str  # changes whenever the rows may have changed
    last_modified: datetime | None
    live_rows: int  # rows whose figures come from the live store


def _published(name: str) -> str:
    return f"{name}{_PUBLISHED}"


def local_dates(frame: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """The local request date (kept when published) and the local date it counts as closed."""
    closed_day = pl.col(rq.CLOSED_DATETIME).dt.convert_time_zone(timezone).dt.date()
    return frame.with_columns(
        pl.coalesce(rq.REQUEST_DATE, pl.col(rq.REQUESTED_DATETIME).dt.convert_time_zone(timezone).dt.date())
        .alias(rq.REQUEST_DATE),
    ).with_columns(pl.when(pl.col(rq.CLOSED_DATETIME).is_not_null())
                   .then(pl.max_horizontal(closed_day, pl.col(rq.REQUEST_DATE))).alias(CLOSED_DATE))


def prepare(published: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Published rows as the view holds them, with their version time (once per file version)."""
    return local_dates(published, timezone).select(
        *VIEW_COLUMNS, version_time().alias(lv.VERSION_TIME), rq.UPDATED_DATETIME,
    )


def combine(base: pl.DataFrame, states: pl.DataFrame, timezone: str, routes: pl.DataFrame,
            names: dict[str, str | None]) -> tuple[pl.DataFrame, int]:
    """(the view's rows, how many come from the live store) from `prepare`d published rows and the
    live store's unpublished versions: see the module docstring."""
    if states.is_empty():
        return base.select(VIEW_COLUMNS), 0
    live = states.with_columns(
        pl.col(rq.DISTRICT_ID).replace(lv.UNKNOWN_KEY, None), pl.col(rq.CATEGORY).replace(lv.UNKNOWN_KEY, None),
    )
    ids = live[rq.SERVICE_REQUEST_ID].implode()
    kept = base.filter(pl.col(rq.SERVICE_REQUEST_ID).is_in(ids))  # a few rows: join those, not the city
    joined = live.join(
        kept.select(rq.SERVICE_REQUEST_ID, *(pl.col(c).alias(_published(c)) for c in kept.columns[1:])),
        on=rq.SERVICE_REQUEST_ID, how="left",
    )
    newer = joined.filter(pl.col(_published(lv.VERSION_TIME)).is_null()
                          | (pl.col(lv.VERSION_TIME) > pl.col(_published(lv.VERSION_TIME))))
    routed = newer.join(routes.rename({tx.TAXONOMY_CATEGORY: rq.CATEGORY}), on=rq.CATEGORY, how="left")
    same_route = (pl.col(rq.CATEGORY).eq_missing(pl.col(_published(rq.CATEGORY)))
                  & pl.col(rq.REQUESTED_DATETIME).eq_missing(pl.col(_published(rq.REQUESTED_DATETIME))))
    due = pl.col(rq.REQUESTED_DATETIME) + pl.duration(microseconds=(
        pl.col(tx.TAXONOMY_SLA_DAYS).fill_null(tx.DEFAULT_SLA_DAYS) * _MICROS_PER_DAY).cast(pl.Int64))
    district_name = (pl.col(rq.DISTRICT_ID).replace_strict(names, default=None, return_dtype=pl.String)
                     if names else pl.lit(None, pl.String))
    overlay = routed.select(
        rq.SERVICE_REQUEST_ID,
        pl.when(pl.col(rq.CLOSED_DATETIME).is_not_null()).then(pl.lit(rq.Status.CLOSED))
        .otherwise(pl.lit(rq.Status.OPEN)).alias(rq.STATUS),
        rq.REQUESTED_DATETIME, rq.CLOSED_DATETIME, rq.CATEGORY,
        pl.when(same_route).then(pl.col(_published(rq.DEPARTMENT)))
        .otherwise(pl.coalesce(tx.TAXONOMY_DEPARTMENT, pl.lit(tx.UNKNOWN_DEPARTMENT))).alias(rq.DEPARTMENT),
        rq.DISTRICT_ID,
        pl.when(pl.col(rq.DISTRICT_ID).eq_missing(pl.col(_published(rq.DISTRICT_ID))))
        .then(pl.col(_published(rq.DISTRICT_NAME))).otherwise(district_name).alias(rq.DISTRICT_NAME),
        *(pl.col(_published(c)).alias(c) for c in (rq.DESCRIPTION, rq.ADDRESS, rq.LAT, rq.LONG, rq.H3_CELL)),
        pl.when(same_route).then(pl.col(_published(rq.SLA_DUE_DATETIME))).otherwise(due).alias(rq.SLA_DUE_DATETIME),
        rq.HOURS_TO_CLOSE, rq.CLOSED_WITHIN_SLA,
        pl.when(pl.col(rq.REQUESTED_DATETIME).eq_missing(pl.col(_published(rq.REQUESTED_DATETIME))))
        .then(pl.col(_published(rq.REQUEST_DATE))).otherwise(None).alias(rq.REQUEST_DATE),
        pl.lit(None, pl.Date).alias(CLOSED_DATE),
        pl.col(_published(rq.DUPLICATE_OF)).alias(rq.DUPLICATE_OF),
        pl.coalesce(_published(rq.REPORT_CLUSTER_ID), rq.SERVICE_REQUEST_ID).alias(rq.REPORT_CLUSTER_ID),
    ).cast({c: base.schema[c] for c in VIEW_COLUMNS})
    overlay = local_dates(overlay, timezone).select(VIEW_COLUMNS)
    replaced = base.filter(~pl.col(rq.SERVICE_REQUEST_ID).is_in(overlay[rq.SERVICE_REQUEST_ID].implode()))
    return pl.concat([replaced.select(VIEW_COLUMNS), overlay], rechunk=False), overlay.height


class RequestViews:
    """The current `RequestView` of one city, rebuilt when the datasets or the live store change."""

    def __init__(self, workspace: Workspace, city: str) -> None:
        self.workspace, self.city = workspace, city
        self.pack_root: Path = workspace.city(city)
        self.published = PublishedRequests(workspace, city, lambda rows: prepare(rows, self.timezone()))
        self._overlay: LiveOverlay = NO_STORE
        self._view: RequestView | None = None
        self._built_from: tuple | None = None
        self._lock = threading.Lock()

    def current(self) -> RequestView:
        with self._lock:
            overlay = read_overlay(self.workspace.live_store(self.city), self._overlay)  # before the snapshot
            self._overlay = overlay
            published = self.published.current()  # rows as `prepare` left them
            key = (overlay.version, published.snapshot)
            if self._view is None or key != self._built_from:
                self._view = self._build(published, overlay)
                self._built_from = key
            return self._view

    def timezone(self) -> str:
        """The pack's time zone, else the live store's (a city without a pack), else UTC."""
        if (self.pack_root / cp.PACK_MANIFEST_FILE).exists() or not self._overlay.timezone:
            return pack_timezone(self.pack_root)
        return self._overlay.timezone

    def _build(self, published: PublishedFrame, overlay: LiveOverlay) -> RequestView:
        timezone = self.timezone()
        rows, live_rows = combine(published.rows, overlay.states, timezone, taxonomy_routes(self.pack_root),
                                  district_names(self.pack_root))
        stamp = hashlib.blake2b(repr((published.snapshot, overlay.version)).encode(), digest_size=10).hexdigest()
        moments = [m for m in (_parse_time(published.committed_at), overlay.last_commit) if m is not None]
        return RequestView(rows, timezone, stamp, max(moments) if moments else None, live_rows)


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
