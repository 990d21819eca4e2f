"""Department feeds: every request and the dashboard's figures, from published and live data.

    GET /api/v1/requests?format=json|geojson|csv&status=&overdue=&sort=&limit=&cursor=&(filters)
    GET /api/v1/districts/figures?(filters)   GeoJSON: the pack's district polygons with figures
    GET /api/v1/requests/trends?(filters)     per day, per category, per department
    GET /api/v1/requests/summary?(filters)    KPI tiles: today, last 7 days, previous periods
    GET /api/v1/requests/density?resolution=  requests per H3 cell

Filters (all optional): date_from, date_to (the city's local dates, inclusive), district,
category, department. Every answer is computed over one `plumbing.request_view.RequestView`:
each request once, its newest version from the published datasets or the live store, so a
request the stream commits shows in the figures at once (the view is rebuilt when the store
commits) and a request both published and live is never counted twice. Answers carry an ETag
and Last-Modified and are gzipped (`dashboard.tabular`); bad parameters get a 400 saying what to fix.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import polars as pl
from fastapi import APIRouter, Depends, Query, Request, Response

from dashboard import request_models as models
from dashboard import request_queries as q
from dashboard.request_pages import (
    DEFAULT_SORT,
    PageError,
    Sort,
    filters_digest,
    hours_overdue,
    page,
)
from dashboard.store import FeedError
from dashboard.tabular import (
    CSV,
    GEOJSON,
    JSON,
    Answers,
    GzipRoute,
    conditional,
    csv_body,
    etag_for,
    geojson_features,
    json_rows,
)
from plumbing.pack_files import district_shapes, taxonomy_routes
from plumbing.request_view import RequestView, RequestViews
from plumbing.workspace import Workspace
from schemas import requests as rq
from schemas import taxonomy as tx

LOG = logging.getLogger("urbanpulse")
FORMATS = ("json", "geojson", "csv")
MAX_LIMIT, DEFAULT_LIMIT = 1_000, 100
WORST_DISTRICTS = 5
LISTED_VALUES = 30
H3_RESOLUTIONS = (5, 10)
DATE_HELP = "the city's local date, YYYY-MM-DD, inclusive"


def _parse_date(name: str, text: str | None) -> date | None:
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FeedError(400, f"{name}={text[:40]!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-01") from None


def _check_value(name: str, value: str | None, known: list[str]) -> None:
    if value is None or value in known:
        return
    listed = ", ".join(known[:LISTED_VALUES]) + (f" and {len(known) - LISTED_VALUES} more"
                                                  if len(known) > LISTED_VALUES else "")
    raise FeedError(400, f"{name}={value[:60]!r} is not one of this city's: {listed or 'none yet'}")


class FeedData:
    """What the routes share: the city's request views, its districts, computed answers."""

    def __init__(self, workspace: Workspace, city: str) -> None:
        self.city, self.pack_root = city, workspace.city(city)
        self.views = RequestViews(workspace, city)
        self.answers = Answers()
        self._known: tuple[str, dict[str, list[str]]] | None = None

    def known(self, view: RequestView) -> dict[str, list[str]]:
        """Districts, categories and departments a filter may name (pack's and data's)."""
        if self._known is None or self._known[0] != view.version:
            values = {column: sorted(v for v in view.rows[column].unique().to_list() if v is not None)
                      for column in (rq.DISTRICT_ID, rq.CATEGORY, rq.DEPARTMENT)}
            routes = taxonomy_routes(self.pack_root)
            for column, listed in ((rq.DISTRICT_ID, [shape.district_id for shape in district_shapes(self.pack_root)]),
                                   (rq.CATEGORY, routes[tx.TAXONOMY_CATEGORY].to_list()),
                                   (rq.DEPARTMENT, routes[tx.TAXONOMY_DEPARTMENT].to_list())):
                values[column] = sorted(set(values[column]) | set(listed))
            self._known = (view.version, values)
        return self._known[1]

    def filters(self, view: RequestView, date_from: str | None, date_to: str | None, district: str | None,
                category: str | None, department: str | None) -> q.RequestFilters:
        filters = q.RequestFilters(_parse_date("date_from", date_from), _parse_date("date_to", date_to),
                                   district or None, category or None, department or None)
        if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
            raise FeedError(400, f"date_from={filters.date_from} is after date_to={filters.date_to}: swap them")
        known = self.known(view)
        _check_value("district", filters.district, known[rq.DISTRICT_ID])
        _check_value("category", filters.category, known[rq.CATEGORY])
        _check_value("department", filters.department, known[rq.DEPARTMENT])
        return filters


def as_of_minute() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(value: dict) -> tuple[bytes, str, dict[str, str]]:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), JSON, {}


def requests_router(workspace: Workspace, city: str) -> APIRouter:
    router = APIRouter(route_class=GzipRoute, tags=["department feeds"], responses={
        400: {"model": models.Problem, "description": "bad parameters: `detail` says what to fix"},
        304: {"description": "not modified: the copy the client holds (If-None-Match) is current"}})
    data = FeedData(workspace, city)
    threading.Thread(target=_warm_up, args=(data,), daemon=True, name="requests-view").start()

    def filter_params(date_from: str | None = Query(None, description=DATE_HELP),
                      date_to: str | None = Query(None, description=DATE_HELP),
                      district: str | None = Query(None, description="district id (GET /api/v1/districts)"),
                      category: str | None = Query(None, description="request category, e.g. road_damage"),
                      department: str | None = Query(None, description="department, e.g. roads")) -> tuple:
        return date_from, date_to, district, category, department

    @router.get("/requests", response_model=None, responses={200: {
        "model": models.RequestPage | models.RequestFeatureCollection,
        "description": "json: a page of requests (`RequestPage`); geojson: a FeatureCollection of Point "
        "features (`RequestFeatureCollection`); csv: the same columns, the next page in a Link header",
        "content": {GEOJSON: {}, "text/csv": {"schema": {"type": "string"}}}}})
    def list_requests(
        request: Request, params: tuple = Depends(filter_params),
        format: str = Query("json", description="json, geojson or csv"),
        status: str | None = Query(None, description="open or closed"),
        overdue: bool | None = Query(None, description="true: only open requests past their SLA due time"),
        sort: str = Query(DEFAULT_SORT, description="a field, - in front for descending; ties by service_request_id"),
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="rows per page"),
        cursor: str | None = Query(None, description="next_cursor of the previous page"),
    ) -> Response:
        """Requests as published (scrubbed), newest version, with filters, a stable sort and cursor pages."""
        if format not in FORMATS:
            raise FeedError(400, f"format={format[:30]!r}: use one of {', '.join(FORMATS)}")
        if status is not None and status not in (rq.Status.OPEN, rq.Status.CLOSED):
            raise FeedError(400, f"status={status[:30]!r}: use open or closed")
        try:
            order = Sort.parse(sort)
        except PageError as error:
            raise FeedError(400, str(error)) from None
        view = data.views.current()
        filters = data.filters(view, *params)
        as_of = as_of_minute()
        digest = filters_digest(filters.key(), status, overdue)
        etag = etag_for("requests", view.version, as_of, digest, format, order.text(), limit, cursor)

        def compute() -> tuple[bytes, str, dict[str, str]]:
            rows = q.made_between(view.rows, filters)
            if status is not None:
                rows = rows.filter(pl.col(rq.STATUS) == status)
            if overdue is not None:
                late = hours_overdue(as_of).is_not_null()
                rows = rows.filter(late if overdue else ~late)
            try:
                found = page(rows, order, limit, cursor, digest, as_of)
            except PageError as error:
                raise FeedError(400, str(error)) from None
            tail = (f',"next_cursor":{json.dumps(found.next_cursor)},"total":{found.total},'
                    f'"as_of":"{iso(as_of)}"}}')
            if format == "csv":
                headers = {"X-Total-Count": str(found.total)}
                if found.next_cursor:
                    following = request.url.include_query_params(cursor=found.next_cursor)
                    headers["Link"] = f'<{following}>; rel="next"'
                return csv_body(found.rows), CSV, headers
            if format == "geojson":
                body = '{"type":"FeatureCollection","features":' + geojson_features(found.rows) + tail
                return body.encode(), GEOJSON, {}
            return ('{"items":' + json_rows(found.rows) + tail).encode(), JSON, {}

        return conditional(request, data.answers, etag, _later(view.last_modified, as_of), compute)

    @router.get("/districts/figures", response_model=None,
                responses={200: {"model": models.DistrictFigures, "content": {GEOJSON: {}}}})
    def district_figures(request: Request, params: tuple = Depends(filter_params)) -> Response:
        """One Feature per district of the city pack (its polygon) with the period's figures."""
        view = data.views.current()
        filters = data.filters(view, *params)
        today = _today(view)
        etag = etag_for("districts", view.version, today, filters.key())

        def compute() -> tuple[bytes, str, dict[str, str]]:
            rows = q.without_dates(view.rows, filters)
            start, end = q.period(rows, filters, today)
            grouped = {row[rq.DISTRICT_ID]: row for row in
                       q.grouped_figures(rows, rq.DISTRICT_ID, start, end).iter_rows(named=True)}
            empty = q.period_figures(rows.clear(), start, end)
            features = []
            for shape in district_shapes(data.pack_root):
                figures = {k: v for k, v in grouped.get(shape.district_id, empty).items() if k in q.FIGURES}
                per_1000 = figures[q.NEW] / shape.residents * 1000 if shape.residents else None
                features.append({"type": "Feature", "id": shape.district_id, "geometry": shape.geometry,
                                 "properties": {"district_id": shape.district_id, "name": shape.name,
                                                "residents": shape.residents, **figures,
                                                "per_1000_residents": per_1000}})
            unplaced = {k: v for k, v in grouped.get(None, empty).items() if k in q.FIGURES}
            body = {"type": "FeatureCollection", "features": features, "date_from": start.isoformat(),
                    "date_to": end.isoformat(), "unplaced": unplaced}
            encoded, _, headers = _json(body)
            return encoded, GEOJSON, headers

        return conditional(request, data.answers, etag, view.last_modified, compute)

    @router.get("/requests/trends", response_model=None, responses={200: {"model": models.Trends}})
    def trends(request: Request, params: tuple = Depends(filter_params)) -> Response:
        """Daily new vs closed with SLA share and median hours; the period per category and department."""
        view = data.views.current()
        filters = data.filters(view, *params)
        today = _today(view)
        etag = etag_for("trends", view.version, today, filters.key())

        def compute() -> tuple[bytes, str, dict[str, str]]:
            rows = q.without_dates(view.rows, filters)
            start, end = q.period(rows, filters, today)
            days = q.daily_figures(rows, start, end).with_columns(pl.col(q.DAY).cast(pl.String))
            drop = [q.BACKLOG, q.MEDIAN_HOURS]
            return _json({
                "date_from": start.isoformat(), "date_to": end.isoformat(), "days": days.to_dicts(),
                "by_category": q.grouped_figures(rows, rq.CATEGORY, start, end).drop(drop).to_dicts(),
                "by_department": q.grouped_figures(rows, rq.DEPARTMENT, start, end).drop(drop).to_dicts(),
            })

        return conditional(request, data.answers, etag, view.last_modified, compute)

    @router.get("/requests/summary", response_model=None, responses={200: {"model": models.Summary}})
    def summary(request: Request, params: tuple = Depends(filter_params)) -> Response:
        """KPI tiles around the reference day (date_to, else today; date_from is not used)."""
        view = data.views.current()
        filters = data.filters(view, *params)
        as_of = as_of_minute()
        reference = filters.date_to or _today(view)
        etag = etag_for("summary", view.version, as_of, reference, filters.key())

        def compute() -> tuple[bytes, str, dict[str, str]]:
            rows = q.without_dates(view.rows, filters)
            periods = q.summary_periods(reference)
            tiles = {name: q.period_figures(rows, *span) for name, span in periods.items()}
            names = {shape.district_id: shape.name for shape in district_shapes(data.pack_root)}
            week = q.grouped_figures(rows.filter(pl.col(rq.DISTRICT_ID).is_not_null()), rq.DISTRICT_ID,
                                     *periods["last_7_days"])
            worst = week.sort([q.BACKLOG, rq.DISTRICT_ID], descending=[True, False]).head(WORST_DISTRICTS)
            return _json({
                "date": reference.isoformat(), **tiles,
                "worst_districts": [{"district_id": row[rq.DISTRICT_ID], "name": names.get(row[rq.DISTRICT_ID]),
                                     "backlog": row[q.BACKLOG], "share_closed_within_sla": row[q.SHARE_WITHIN_SLA]}
                                    for row in worst.iter_rows(named=True)],
                "as_of": iso(as_of), "live_rows": view.live_rows,
            })

        return conditional(request, data.answers, etag, _later(view.last_modified, as_of), compute)

    @router.get("/requests/density", response_model=None, responses={200: {"model": models.Density}})
    def density(request: Request, params: tuple = Depends(filter_params),
                resolution: int = Query(8, ge=H3_RESOLUTIONS[0], le=H3_RESOLUTIONS[1],
                                        description="H3 resolution, 5 (coarse) to 10 (fine)")) -> Response:
        """Requests made in the period per H3 cell (cells without requests are left out)."""
        view = data.views.current()
        filters = data.filters(view, *params)
        etag = etag_for("density", view.version, resolution, filters.key())

        def compute() -> tuple[bytes, str, dict[str, str]]:
            rows = q.made_between(view.rows, filters)
            cells = q.density(rows, resolution)
            return _json({"resolution": resolution, "cells": cells.to_dicts(),
                          "unplaced": rows.height - int(cells["count"].sum())})

        return conditional(request, data.answers, etag, view.last_modified, compute)

    return router


def _later(modified: datetime | None, as_of: datetime) -> datetime:
    """An answer that depends on the minute (hours overdue, today) changed at that minute at the latest."""
    return as_of if modified is None else max(modified, as_of)


def _warm_up(data: FeedData) -> None:
    """Read the datasets while the server starts, so the first page load does not wait for them."""
    try:
        data.views.current()
    except Exception:  # the first request reads again, and says what is wrong
        LOG.debug("reading the requests ahead of the first request failed", exc_info=True)


def _today(view: RequestView) -> date:
    return datetime.now(ZoneInfo(view.timezone)).date()
