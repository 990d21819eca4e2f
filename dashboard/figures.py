"""`/api/v1/requests/windows`, `/api/v1/requests/kpis`, `/api/v1/districts`: the store's figures as JSON.

Rows name their district (`district_name`, from the city pack); a district the city does not
have gets a 404 that lists the ones it has, instead of an empty answer that looks like no work.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from fastapi import APIRouter, Query

from dashboard.store import FeedError, open_store
from plumbing.districts import District, district_names, read_districts
from plumbing.live_store.reader import LiveStoreReader
from schemas import citypack as cp
from schemas import live as lv
from schemas import requests as rq

MAX_ROWS = 50_000
LISTED_DISTRICTS = 30  # named in a 404; /api/v1/districts has them all


def figures_router(store_path: Path, pack_root: Path, city: str) -> APIRouter:
    router = APIRouter()

    @router.get("/requests/windows")
    def windows(
        window: str = Query(lv.DAY, description="window length: 15m or 1d (days follow the city's midnight)"),
        district: str | None = Query(None, description="district id, e.g. D-01-02 (GET /api/v1/districts)"),
        category: str | None = Query(None, description="request category, e.g. road_damage"),
        since: str | None = Query(None, description="only windows starting at or after this ISO time"),
        limit: int = Query(5_000, ge=1, le=MAX_ROWS, description="most recent rows to return"),
    ) -> dict:
        """Figures per window x district x category: new, closed, backlog, median hours, SLA share."""
        if window not in lv.WINDOW_KINDS:
            raise FeedError(400, f"window={window!r}: use one of {', '.join(lv.WINDOW_KINDS)}")
        start = parse_since(since)
        store = open_store(store_path)
        try:
            if district is not None:
                check_district(district, read_districts(pack_root), store, city)
            frame = store.window_frame(window)
        finally:
            store.close()
        if district is not None:
            frame = frame.filter(pl.col(rq.DISTRICT_ID) == district)
        if category is not None:
            frame = frame.filter(pl.col(rq.CATEGORY) == category)
        if start is not None:
            frame = frame.filter(pl.col(lv.WINDOW_START) >= start)
        frame = frame.sort(lv.WINDOW_START, rq.DISTRICT_ID, rq.CATEGORY).tail(limit)
        return {"city": city, "window": window, "rows": _records(frame, district_names(pack_root))}

    @router.get("/requests/kpis")
    def kpis(day: str | None = Query(None, alias="date", description="local date, default today")) -> dict:
        """Per district: the day's new requests, backlog at its end, share closed within SLA, median hours."""
        store = open_store(store_path)
        try:
            timezone = store.meta().get("timezone", "UTC")
            try:
                local_day = date.fromisoformat(day) if day else datetime.now(ZoneInfo(timezone)).date()
            except ValueError as error:
                raise FeedError(400, f"date={day!r} is not a date like 2026-11-01") from error
            start = datetime(local_day.year, local_day.month, local_day.day, tzinfo=ZoneInfo(timezone))
            rows = store.district_day(lv.DAY, start)
        finally:
            store.close()
        names = district_names(pack_root)
        return {"city": city, "date": local_day.isoformat(), "timezone": timezone,
                "districts": [_named(row, names) for row in rows]}

    _add_districts(router, store_path, pack_root, city)
    return router


def _add_districts(router: APIRouter, store_path: Path, pack_root: Path, city: str) -> None:
    @router.get("/districts")
    def districts() -> dict:
        """The city's districts (id, name, parent area) from its city pack, else the ids the store has."""
        known = read_districts(pack_root)
        if not known:
            store = open_store(store_path)
            try:
                known = tuple(District(d) for d in store.district_ids())
            finally:
                store.close()
        return {"city": city, "districts": [
            {cp.DISTRICT_ID: d.district_id, cp.DISTRICT_NAME: d.district_name, cp.PARENT_ID: d.parent_id,
             cp.PARENT_NAME: d.parent_name} for d in known]}


def parse_since(since: str | None) -> datetime | None:
    if since is None:
        return None
    try:
        moment = datetime.fromisoformat(since)
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))).astimezone(UTC)
    except ValueError as error:
        raise FeedError(400, f"since={since!r} is not an ISO 8601 time, e.g. 2026-11-01T00:00:00Z") from error
    except OverflowError as error:  # a time zone offset pushes it past year 1 or 9999
        raise FeedError(400, f"since={since!r} is outside the years 1-9999 in UTC") from error
    return moment


def check_district(district: str, known: tuple[District, ...], store: LiveStoreReader, city: str) -> None:
    """A 404 naming the city's districts unless the pack or the store knows `district`."""
    if any(d.district_id == district for d in known) or store.has_district(district):
        return
    listed = [f"{d.district_id} ({d.district_name})" for d in known] or store.district_ids()
    more = len(listed) - LISTED_DISTRICTS
    listing = ", ".join(listed[:LISTED_DISTRICTS]) + (f" and {more} more" if more > 0 else "")
    raise FeedError(404, f"district={district[:60]!r} is not a district of city {city!r}; "
                         f"its districts: {listing or 'none yet'} (all of them: GET /api/v1/districts)")


def _records(frame: pl.DataFrame, names: dict[str, str]) -> list[dict]:
    columns = frame.columns
    at = columns.index(rq.DISTRICT_ID) + 1
    frame = frame.with_columns(
        pl.col(lv.WINDOW_START).dt.to_string("%Y-%m-%dT%H:%M:%SZ"),
        pl.col(rq.DISTRICT_ID).replace(lv.UNKNOWN_KEY, None),
        pl.col(rq.CATEGORY).replace(lv.UNKNOWN_KEY, None),
        (pl.col(rq.DISTRICT_ID).replace_strict(names, default=None, return_dtype=pl.String) if names
         else pl.lit(None, pl.String)).alias(cp.DISTRICT_NAME),
    )
    return frame.select(*columns[:at], cp.DISTRICT_NAME, *columns[at:]).to_dicts()


def _named(row: dict, names: dict[str, str]) -> dict:
    """A KPI row with its district's name right after its id."""
    named = {}
    for key, value in row.items():
        named[key] = value
        if key == rq.DISTRICT_ID:
            named[cp.DISTRICT_NAME] = names.get(value) if value is not None else None
    return named
