"""The live feed: window figures, district KPIs and a server-sent event stream over the live store.

    GET /api/v1/requests/windows?window=15m|1d&district=&category=&since=&limit=
    GET /api/v1/requests/kpis[?date=YYYY-MM-DD]
    GET /api/v1/stream            (text/event-stream; one `change` event per committed change)
    GET /health
    GET /docs, /openapi.json

The server only reads the store (SQLite in WAL mode), so it never slows the stream down; each
request opens its own read-only connection. Bad query parameters get a 400 that says what to fix.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

from dashboard.docs_page import docs_html
from plumbing.landing import landed_ends
from plumbing.live_store.reader import LiveStoreReader
from plumbing.workspace import Workspace
from schemas import ledger
from schemas import live as lv
from schemas import requests as rq

API = "/api/v1"
POLL_SECONDS = 0.05
HEARTBEAT_SECONDS = 15.0
MAX_ROWS = 50_000
MAX_CHANGE_ID = 2**63 - 1  # change ids are SQLite integers


class FeedError(HTTPException):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(status_code=status, detail=message)


def _store(path: Path) -> LiveStoreReader:
    if not path.exists():
        raise FeedError(503, f"no live data yet: start the stream (urbanpulse stream requests) to create {path}")
    return LiveStoreReader.open(path)


def _parse_since(since: str | None) -> datetime | None:
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


def _records(frame: pl.DataFrame) -> list[dict]:
    frame = frame.with_columns(
        pl.col(lv.WINDOW_START).dt.to_string("%Y-%m-%dT%H:%M:%SZ"),
        pl.col(rq.DISTRICT_ID).replace(lv.UNKNOWN_KEY, None),
        pl.col(rq.CATEGORY).replace(lv.UNKNOWN_KEY, None),
    )
    return frame.to_dicts()


def create_app(workspace: Workspace, city: str) -> FastAPI:
    app = FastAPI(
        title="UrbanPulse live feed",
        description=f"Live request figures of city {city!r}: event-time windows, KPIs, change stream.",
        version="1.0", docs_url=None, redoc_url=None,
    )

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors())
        return JSONResponse({"detail": f"bad query parameters: {problems}"}, status_code=400)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_html(app.openapi()))

    app.include_router(_figures(workspace.live_store(city), city), prefix=API)
    app.include_router(_stream(workspace.live_store(city)), prefix=API)
    app.include_router(_health(workspace, city))
    return app


def _figures(store_path: Path, city: str) -> APIRouter:
    router = APIRouter()

    @router.get("/requests/windows")
    def windows(
        window: str = Query(lv.DAY, description="window length: 15m or 1d (days follow the city's midnight)"),
        district: str | None = Query(None, description="district id, e.g. D-01-02"),
        category: str | None = Query(None, description="request category, e.g. road_damage"),
        since: str | None = Query(None, description="only windows starting at or after this ISO time"),
        limit: int = Query(5_000, ge=1, le=MAX_ROWS, description="most recent rows to return"),
    ) -> dict:
        """Figures per window x district x category: new, closed, backlog, median hours, SLA share."""
        if window not in lv.WINDOW_KINDS:
            raise FeedError(400, f"window={window!r}: use one of {', '.join(lv.WINDOW_KINDS)}")
        start = _parse_since(since)
        store = _store(store_path)
        try:
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
        return {"city": city, "window": window, "rows": _records(frame)}

    @router.get("/requests/kpis")
    def kpis(day: str | None = Query(None, alias="date", description="local date, default today")) -> dict:
        """Per district: the day's new requests, backlog at its end, share closed within SLA, median hours."""
        store = _store(store_path)
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
        return {"city": city, "date": local_day.isoformat(), "timezone": timezone, "districts": rows}

    return router


def _stream(store_path: Path) -> APIRouter:
    router = APIRouter()

    @router.get("/stream")
    async def stream(
        request: Request,
        last_event_id: int | None = Query(None, alias="from", ge=0, le=MAX_CHANGE_ID,
                                          description="resume after this change id"),
    ) -> StreamingResponse:
        """Server-sent events: one `change` event per commit of the stream (windows it changed)."""
        header = request.headers.get("last-event-id")
        if last_event_id is None and header and header.isdigit() and int(header) > MAX_CHANGE_ID:
            raise FeedError(400, f"Last-Event-ID {header[:30]} is not a change id (at most {MAX_CHANGE_ID})")
        store = _store(store_path)
        after = last_event_id if last_event_id is not None else (int(header) if header and header.isdigit() else None)
        if after is None:
            after = store.last_change_id()
        return StreamingResponse(_change_events(request, store, after), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return router


async def _change_events(request: Request, store: LiveStoreReader, after: int):
    """`change` events after `after` as they are committed, a heartbeat comment when quiet."""
    quiet = 0.0
    try:
        yield "retry: 1000\n\n"
        while not await request.is_disconnected():
            changes = store.changes_after(after)
            for change_id, change in changes:
                yield f"id: {change_id}\nevent: change\ndata: {json.dumps(change)}\n\n"
                after = change_id
            if changes:
                quiet = 0.0
                continue
            await asyncio.sleep(POLL_SECONDS)
            quiet += POLL_SECONDS
            if quiet >= HEARTBEAT_SECONDS:
                quiet = 0.0
                yield ": still here\n\n"
    finally:
        store.close()


def _health(workspace: Workspace, city: str) -> APIRouter:
    router = APIRouter()
    store_path = workspace.live_store(city)

    @router.get("/health")
    def health() -> dict:
        """Is the live store there, how far the stream got in each landing log, and how far behind it is."""
        landed = landed_ends(workspace.landing)
        if not store_path.exists():
            return {"status": "waiting", "city": city, "detail": "no live store yet", "landed": landed}
        store = _store(store_path)
        try:
            offsets, counts = store.offsets(), store.ledger()
            last = store.last_commit()
        finally:
            store.close()
        lag = {s: end - offsets.get(s, 0) for s, end in landed.items()}
        return {
            "status": "ok", "city": city, "landed": landed, "committed": offsets, "lag_segments": lag,
            "last_commit_at": last.isoformat() if last else None,
            "ledger": {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in counts.items()},
            ledger.ACCOUNTING_OK: ledger.balances(counts),
        }

    return router


def serve(workspace: Workspace, city: str, host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    # open event streams never end by themselves: give them 3 s to close on Ctrl-C / SIGTERM
    uvicorn.run(create_app(workspace, city), host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=3)
