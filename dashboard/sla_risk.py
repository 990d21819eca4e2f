"""`/api/v1/requests/sla-risk`: the city's open requests by their risk of missing the SLA.

    GET /api/v1/requests/sla-risk?district=N1&category=potholes&department=roads
        &min_probability=0.5&limit=100&format=json|csv

Read from the published `sla_breach_risk` dataset (`urbanpulse train sla-risk` computes it from
one snapshot of the city's requests; `as_of` says which), so a department's tool gets the same
rows a researcher reads. Rows come most at risk first, ties broken by id; `total` counts every
row that matches, `limit` caps the rows listed. Until the city has the dataset, a 404 says how
to make it. Answers carry the feed's validators (`dashboard.tabular`): a 304 while the file stays.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
from fastapi import APIRouter, Query, Request, Response

from dashboard import request_queries as q
from dashboard.store import FeedError
from dashboard.tabular import (
    CSV,
    JSON,
    Answers,
    GzipRoute,
    conditional,
    csv_body,
    etag_for,
    json_rows,
)
from plumbing.pack_files import file_version
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import requests as rq
from schemas import sla

PART_FILE = "part-0.parquet"
DEFAULT_LIMIT, MAX_LIMIT = 100, 10_000
MAX_FILTER_CHARS = 200
FORMATS = ("json", "csv")


def sla_risk_router(workspace: Workspace, city: str) -> APIRouter:
    """The route of the module docstring, over the city's published `sla_breach_risk`."""
    router = APIRouter(route_class=GzipRoute)
    answers = Answers()
    path = workspace.city_dataset(ds.SLA_BREACH_RISK, city) / PART_FILE

    @router.get("/requests/sla-risk", response_model=None)
    def sla_risk(
        request: Request,
        district: str | None = Query(None, max_length=MAX_FILTER_CHARS, description="district_id"),
        category: str | None = Query(None, max_length=MAX_FILTER_CHARS),
        department: str | None = Query(None, max_length=MAX_FILTER_CHARS),
        min_probability: float = Query(0.0, ge=0.0, le=1.0, description="only rows at least this likely to breach"),
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
        format: str = Query("json", description="json or csv"),  # noqa: A002 (the feeds' parameter name)
    ) -> Response:
        """Open requests with the calibrated probability that each misses its due time, most at
        risk first; `already_overdue` rows are past their due time (probability 1)."""
        if format not in FORMATS:
            raise FeedError(400, f"format={format[:20]!r}: use json or csv")
        version = file_version(path)
        if version is None:
            raise FeedError(404, f"city {city!r} has no SLA breach risk yet: run `urbanpulse train sla-risk "
                                 f"--city {city}` after its requests are ingested")
        modified = datetime.fromtimestamp(version[0] / 1e9, UTC)
        filters = q.RequestFilters(district=district, category=category, department=department)
        etag = etag_for("sla-risk", version, filters.key(), min_probability, limit, format)

        def compute() -> tuple[bytes, str, dict[str, str]]:
            rows = q.without_dates(pl.scan_parquet(path), filters)
            if min_probability > 0:
                rows = rows.filter(pl.col(sla.BREACH_PROBABILITY) >= min_probability)
            rows = rows.sort([sla.BREACH_PROBABILITY, rq.SERVICE_REQUEST_ID], descending=[True, False]).collect()
            listed = rows.head(limit)
            headers = {"X-Total-Count": str(rows.height)}
            if format == "csv":
                return csv_body(listed), CSV, headers
            as_of = rows[sla.AS_OF].max() if rows.height else None
            head = json.dumps({"city": city, "as_of": as_of.isoformat() if as_of else None, "total": rows.height})
            body = head[:-1] + ',"items":' + json_rows(listed) + "}"
            return body.encode(), JSON, headers

        return conditional(request, answers, etag, modified, compute)

    return router
