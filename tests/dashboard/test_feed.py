"""The live feed over real HTTP: uvicorn serving a live store built by the live pipeline."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import polars as pl
import pytest
from conftest import TINY_CITY
from feed_fixtures import feed_home, feed_in_thread, raw_get
from live_fixtures import land_chunks

from pipelines.stream_requests import replay
from plumbing.live_store.reader import LiveStoreReader
from schemas import live as lv
from schemas import requests as rq

NAMES = {f["properties"]["code"]: f["properties"]["title"] for f in TINY_CITY["features"]}


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    home = feed_home(tmp_path_factory.mktemp("feed-home"), tmp_path_factory.mktemp("feeds"))
    with feed_in_thread(home.workspace) as url:
        yield {"url": url, "workspace": home.workspace, "settings": home.settings, "log": home.log,
               "more": home.more, "feeds": tmp_path_factory.mktemp("more")}


def get(feed, path: str, **params) -> httpx.Response:
    return httpx.get(f"{feed['url']}{path}", params=params, timeout=10)


def test_windows_return_the_store_figures_with_backlog(feed):
    body = get(feed, "/api/v1/requests/windows", window="1d").json()
    rows = pl.DataFrame(body["rows"])
    store = LiveStoreReader.open(feed["workspace"].live_store("tiny"))
    states = store.db.execute("SELECT count(*), count(closed_datetime) FROM requests").fetchone()
    assert body["window"] == "1d" and rows.height > 0
    assert (rows[lv.NEW].sum(), rows[lv.CLOSED].sum()) == states
    last = rows.sort(lv.WINDOW_START).group_by(rq.DISTRICT_ID, rq.CATEGORY).agg(pl.col(lv.BACKLOG).last())
    assert last[lv.BACKLOG].sum() == states[0] - states[1]


def test_windows_filter_by_district_category_and_time(feed):
    everything = pl.DataFrame(get(feed, "/api/v1/requests/windows", window="15m", limit=50_000).json()["rows"])
    known = everything.drop_nulls([rq.DISTRICT_ID, rq.CATEGORY])
    district, category = known.row(0, named=True)[rq.DISTRICT_ID], known.row(0, named=True)[rq.CATEGORY]
    since = everything[lv.WINDOW_START].sort()[everything.height // 2]
    body = get(feed, "/api/v1/requests/windows", window="15m", district=district, category=category,
               since=since).json()
    expected = everything.filter((pl.col(rq.DISTRICT_ID) == district) & (pl.col(rq.CATEGORY) == category)
                                 & (pl.col(lv.WINDOW_START) >= since))
    assert expected.height > 0 and len(body["rows"]) == expected.height
    assert {(r[rq.DISTRICT_ID], r[rq.CATEGORY]) for r in body["rows"]} == {(district, category)}


@pytest.mark.parametrize("params, message", [
    ({"window": "2h"}, "use one of 15m, 1d"),
    ({"since": "last tuesday"}, "not an ISO 8601 time"),
    ({"limit": "0"}, "limit"),
    ({"since": "0001-01-01T00:00:00+14:00"}, "outside the years 1-9999"),
    ({"since": "9999-12-31T23:59:59-14:00"}, "outside the years 1-9999"),
])
def test_bad_parameters_get_a_400_that_says_why(feed, params, message):
    response = get(feed, "/api/v1/requests/windows", **params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


@pytest.mark.parametrize("params, headers, message", [
    ({"from": str(2**63)}, {}, "from"),
    ({"from": "-1"}, {}, "from"),
    ({}, {"Last-Event-ID": str(2**70)}, "not a change id"),
])
def test_event_stream_refuses_change_ids_beyond_the_store(feed, params, headers, message):
    """Before the fix these answered 200 and then broke the event stream."""
    response = httpx.get(f"{feed['url']}/api/v1/stream", params=params, headers=headers, timeout=10)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_kpis_per_district_match_the_day_windows(feed):
    days = pl.DataFrame(get(feed, "/api/v1/requests/windows", window="1d", limit=50_000).json()["rows"])
    latest = days[lv.WINDOW_START].max()
    local_day = pl.Series([latest]).str.to_datetime(time_zone="UTC").dt.convert_time_zone("Europe/Moscow").dt.date()[0]
    body = get(feed, "/api/v1/requests/kpis", date=local_day.isoformat()).json()
    kpis = {row[rq.DISTRICT_ID]: row for row in body["districts"]}
    today = days.filter(pl.col(lv.WINDOW_START) == latest).group_by(rq.DISTRICT_ID).agg(pl.col(lv.NEW).sum())
    for district, new in today.iter_rows():
        assert kpis[district][lv.NEW] == new
    backlog = days.group_by(rq.DISTRICT_ID).agg((pl.col(lv.NEW) - pl.col(lv.CLOSED)).sum())
    for district, open_requests in backlog.iter_rows():
        assert kpis[district][lv.BACKLOG] == open_requests
    assert get(feed, "/api/v1/requests/kpis", date="yesterday").status_code == 400


def test_health_docs_and_openapi(feed):
    health = get(feed, "/health").json()
    assert health["status"] == "ok" and health["accounting_ok"] is True
    assert health["lag_segments"] == {"city311": 0}
    docs = get(feed, "/docs")
    assert docs.status_code == 200 and "/api/v1/requests/windows" in docs.text and "<script" not in docs.text
    assert "/api/v1/stream" in get(feed, "/openapi.json").json()["paths"]


def test_stream_pushes_a_committed_change(feed):
    """A client on /api/v1/stream receives the change of a segment landed after it connected."""
    received: list[dict] = []
    connected = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{feed['url']}/api/v1/stream", timeout=30) as response:
            connected.set()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    received.append(json.loads(line[len("data: "):]))
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert connected.wait(10)
    time.sleep(0.3)
    first_new = feed["log"].end()
    land_chunks(feed["log"], feed["more"], 500, Path(feed["feeds"]))
    replay(feed["settings"], from_seq=first_new)
    listener.join(timeout=20)
    assert received, "no change arrived on the stream"
    change = received[0]
    assert change["segment"]["seq"] == first_new and change["segment"]["source"] == "city311"
    windows = [dict(zip(change["windows"]["columns"], row)) for row in change["windows"]["rows"]]
    assert sum(w[lv.NEW] for w in windows if w[lv.WINDOW] == lv.DAY) > 0


def test_rows_name_their_districts_from_the_city_pack(feed):
    rows = get(feed, "/api/v1/requests/windows", window="1d", limit=50_000).json()["rows"]
    kpis = get(feed, "/api/v1/requests/kpis").json()["districts"]
    for row in rows + kpis:
        assert row["district_name"] == NAMES.get(row[rq.DISTRICT_ID]), row
    assert {r[rq.DISTRICT_ID] for r in rows} >= set(NAMES)
    assert list(rows[0])[list(rows[0]).index(rq.DISTRICT_ID) + 1] == "district_name"
    listed = get(feed, "/api/v1/districts").json()["districts"]
    assert {(d[rq.DISTRICT_ID], d["district_name"], d["parent_name"]) for d in listed} == {
        ("N1", "North One", "North"), ("N2", "North Two", "North"), ("S1", "South One", "South")}


def test_an_unknown_district_gets_a_404_naming_the_city_districts(feed):
    """Before: 200 with no rows, as if the district had no requests."""
    response = get(feed, "/api/v1/requests/windows", window="15m", district="NOPE")
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "'NOPE' is not a district of city 'tiny'" in detail
    assert all(f"{code} ({name})" in detail for code, name in NAMES.items())
    known = get(feed, "/api/v1/requests/windows", window="15m", district="S1")
    assert known.status_code == 200 and {r["district_name"] for r in known.json()["rows"]} == {"South One"}


@pytest.mark.parametrize("part, size, status", [
    ("query", 1_000_000, 414),  # beyond what the server buffers of a request head
    ("query", 12_000, 414),     # reaches the app: over the 8 KB request line limit
    ("header", 1_000_000, 431),
    ("header", 20_000, 431),    # reaches the app: over the 16 KB header limit
])
def test_oversized_requests_get_414_or_431_with_a_short_body(feed, part, size, status):
    """Before: 1 MB reset the connection; 12 KB and 20 KB went through (200)."""
    query = "window=1d&district=" + ("x" * size if part == "query" else "N1")
    headers = {"X-Filler": "y" * size} if part == "header" else {}
    answered, body = raw_get(feed["url"], f"/api/v1/requests/windows?{query}", headers)
    assert answered == status
    detail = json.loads(body)["detail"]
    assert len(body) < 300 and ("8,192 bytes" if status == 414 else "16,384 bytes") in detail
    assert get(feed, "/health").status_code == 200  # the server carries on
