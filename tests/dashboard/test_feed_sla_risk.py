"""`/api/v1/requests/sla-risk` over real HTTP: the published risk rows, most at risk first,
filtered, counted, as JSON and CSV, with validators; a city without the dataset is told how."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import polars as pl
import pytest
from conftest import build_tiny_pack
from feed_fixtures import feed_in_thread

from plumbing.atomic import write_atomic
from plumbing.publishing import publishing
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import requests as rq
from schemas import sla

URL = "/api/v1/requests/sla-risk"
AS_OF = datetime(2026, 11, 30, 12, tzinfo=UTC)


def risk_rows(count: int = 300, seed: int = 4) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    requested = [AS_OF - timedelta(hours=int(h)) for h in rng.integers(1, 400, count)]
    probability = np.round(rng.random(count), 2)  # rounded: ties, broken by id
    return pl.DataFrame({
        rq.SERVICE_REQUEST_ID: [f"R{n:04d}" for n in range(count)],
        rq.CATEGORY: rng.choice(["potholes", "noise", "trash"], count).tolist(),
        rq.DEPARTMENT: rng.choice(["roads", "environment"], count).tolist(),
        rq.DISTRICT_ID: rng.choice(["N1", "N2", "S1"], count).tolist(),
        rq.REQUESTED_DATETIME: requested,
        rq.SLA_DUE_DATETIME: [t + timedelta(days=3) for t in requested],
        sla.BACKLOG: rng.integers(0, 50, count).tolist(),
        sla.BREACH_PROBABILITY: probability.tolist(),
        sla.ALREADY_OVERDUE: (probability == 1.0).tolist(),
        sla.AS_OF: [AS_OF] * count,
        sla.RISK_MODEL: ["tiny-sla-risk 1"] * count,
        rq.SCHEMA_VERSION_COLUMN: [sla.SLA_SCHEMA_VERSION] * count,
    })


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    home = tmp_path_factory.mktemp("sla-risk-home")
    build_tiny_pack(home)
    workspace = Workspace(home)
    with feed_in_thread(workspace) as url:
        missing = httpx.get(f"{url}{URL}", timeout=30)
        rows = risk_rows()
        with publishing(workspace, "tiny", "test", "test sla risk") as transaction:
            folder = transaction.dataset(ds.SLA_BREACH_RISK)
            write_atomic(rows.to_arrow().cast(sla.SLA_BREACH_RISK), folder / "part-0.parquet", folder, sync=False)
        yield {"url": url, "rows": rows, "missing": missing}


def get(feed, **params) -> httpx.Response:
    return httpx.get(f"{feed['url']}{URL}", params=params, timeout=30)


def expected(rows: pl.DataFrame) -> list[str]:
    ordered = rows.sort([sla.BREACH_PROBABILITY, rq.SERVICE_REQUEST_ID], descending=[True, False])
    return ordered[rq.SERVICE_REQUEST_ID].to_list()


def test_a_city_without_the_dataset_is_told_how_to_make_it(feed):
    assert feed["missing"].status_code == 404
    assert "urbanpulse train sla-risk --city tiny" in feed["missing"].json()["detail"]


def test_rows_come_most_at_risk_first_with_ties_by_id(feed):
    body = get(feed, limit=10_000).json()
    assert body["total"] == feed["rows"].height and body["as_of"].startswith("2026-11-30T12:00")
    assert [item[rq.SERVICE_REQUEST_ID] for item in body["items"]] == expected(feed["rows"])
    assert get(feed).json()["items"] == body["items"][:100]  # the default limit


@pytest.mark.parametrize("filters", [{"district": "N1"}, {"category": "noise", "department": "roads"},
                                     {"min_probability": 0.8}, {"district": "S1", "min_probability": 0.5}])
def test_filters_return_exactly_the_matching_rows(feed, filters):
    rows = feed["rows"]
    for name, column in (("district", rq.DISTRICT_ID), ("category", rq.CATEGORY), ("department", rq.DEPARTMENT)):
        if name in filters:
            rows = rows.filter(pl.col(column) == filters[name])
    rows = rows.filter(pl.col(sla.BREACH_PROBABILITY) >= filters.get("min_probability", 0))
    body = get(feed, limit=10_000, **filters).json()
    assert body["total"] == rows.height > 0
    assert [item[rq.SERVICE_REQUEST_ID] for item in body["items"]] == expected(rows)


def test_csv_holds_the_same_rows_and_counts_them(feed):
    response = get(feed, format="csv", limit=20, district="N2")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    listed = get(feed, limit=20, district="N2").json()["items"]
    assert [r[rq.SERVICE_REQUEST_ID] for r in rows] == [i[rq.SERVICE_REQUEST_ID] for i in listed]
    assert [float(r[sla.BREACH_PROBABILITY]) for r in rows] == [i[sla.BREACH_PROBABILITY] for i in listed]
    assert int(response.headers["x-total-count"]) == feed["rows"].filter(pl.col(rq.DISTRICT_ID) == "N2").height


def test_validators_give_a_304_and_bad_parameters_a_400(feed):
    first = get(feed, district="N1")
    again = httpx.get(f"{feed['url']}{URL}", params={"district": "N1"}, headers={"If-None-Match": first.headers["etag"]},
                      timeout=30)
    assert again.status_code == 304
    assert get(feed, format="xml").status_code == 400 and "use json or csv" in get(feed, format="xml").text
    for params, named in (({"min_probability": 2}, "min_probability"), ({"limit": 0}, "limit")):
        refused = get(feed, **params)
        assert refused.status_code == 400 and named in refused.text
