"""Department feeds over real HTTP: filters, cursor pages, formats, validators, gzip, figures.

The tiny city's live store and datasets are built by the live pipeline (`feed_home`): every
request is both in the live store and published, so the figures also show that no request is
counted twice. Requests landing while the feed answers: `test_feed_requests_live.py`.
"""

from __future__ import annotations

import csv
import gzip
import io

import httpx
import polars as pl
import pytest
import shapely
from feed_fixtures import feed_home, feed_in_thread
from live_fixtures import land_chunks

from dashboard import request_models as models
from dashboard.tabular import csv_body
from pipelines.stream_requests import replay
from plumbing.live_store.reader import LiveStoreReader
from schemas import aggregates as ag
from schemas import dead_letters as dl
from schemas import requests as rq

API = "/api/v1"


# texts a spreadsheet would run as formulas, as residents could type them
FORMULAS = ("=HYPERLINK(\"http://evil.example\",\"click\")", "+SUM(1,2)", "-2+3 potholes", "@cmd",
            "\t=1+1 tabbed", "\r=1+1 returned")


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    home = feed_home(tmp_path_factory.mktemp("requests-home"), tmp_path_factory.mktemp("feeds"),
                     landed=2_000, more=len(FORMULAS))
    crafted = home.more.with_columns(
        pl.Series(rq.SERVICE_REQUEST_ID, [f"CSV-{n}" for n in range(len(FORMULAS))]),
        pl.Series(rq.DESCRIPTION, FORMULAS), pl.Series(rq.ADDRESS, list(reversed(FORMULAS))),
    )
    first = home.log.end()
    land_chunks(home.log, crafted, len(FORMULAS), home.feeds / "crafted")
    report = replay(home.settings, from_seq=first)
    store = LiveStoreReader.open(home.workspace.live_store("tiny"))
    try:  # where each crafted record went, should one go missing
        journey = {"report": report, "ledger": store.ledger(), "dead letters": store.dead_letter_frame().filter(
            pl.col(dl.RAW_PAYLOAD).str.contains("CSV-")).drop(dl.RAW_PAYLOAD).to_dicts()}
    finally:
        store.close()
    with feed_in_thread(home.workspace) as url:
        yield {"url": url, "home": home, "journey": journey}


def get(feed, path: str, headers: dict | None = None, **params) -> httpx.Response:
    return httpx.get(f"{feed['url']}{API}{path}", params=params, headers=headers, timeout=30)


def published(feed) -> pl.DataFrame:
    folder = feed["home"].workspace.city_dataset("requests", "tiny")
    return pl.read_parquet(folder / "**" / "*.parquet", hive_partitioning=True)


def live_ids(feed) -> set[str]:
    store = LiveStoreReader.open(feed["home"].workspace.live_store("tiny"))
    try:
        return {i for (i,) in store.db.execute("SELECT service_request_id FROM requests")}
    finally:
        store.close()


def all_pages(feed, **params) -> tuple[list[dict], int]:
    items, cursor, pages = [], None, 0
    while True:
        body = get(feed, "/requests", **params, **({"cursor": cursor} if cursor else {})).json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_each_request_is_counted_once_though_published_and_live(feed):
    rows = published(feed)
    everyone = set(rows[rq.SERVICE_REQUEST_ID]) | live_ids(feed)
    assert live_ids(feed) and set(rows[rq.SERVICE_REQUEST_ID]) == live_ids(feed)  # both hold every request
    body = get(feed, "/districts/figures").json()
    new = sum(f["properties"]["new"] for f in body["features"]) + body["unplaced"]["new"]
    assert new == len(everyone) == rows.height
    listed = get(feed, "/requests", limit=1).json()
    assert listed["total"] == len(everyone)


def test_each_listed_request_names_the_problem_it_belongs_to(feed):
    """Departments answer a problem once: the feed carries every report's link and cluster as published."""
    rows = published(feed).select(rq.SERVICE_REQUEST_ID, rq.DUPLICATE_OF, rq.REPORT_CLUSTER_ID)
    items, _ = all_pages(feed, limit=1000)
    listed = pl.DataFrame([{c: item[c] for c in rows.columns} for item in items], schema=dict.fromkeys(rows.columns, pl.String))
    assert listed.height == rows.height
    assert listed.sort(rq.SERVICE_REQUEST_ID).equals(rows.sort(rq.SERVICE_REQUEST_ID))
    assert listed.select((pl.col(rq.REPORT_CLUSTER_ID) == pl.coalesce(rq.DUPLICATE_OF, rq.SERVICE_REQUEST_ID)).all()).item()


def test_district_figures_match_the_published_daily_aggregate(feed):
    folder = feed["home"].workspace.city_dataset("request_daily", "tiny")
    daily = pl.read_parquet(folder / "**" / "*.parquet")
    expected = daily.group_by(rq.DISTRICT_ID).agg(pl.col(ag.NEW).sum(), pl.col(ag.CLOSED).sum())
    body = get(feed, "/districts/figures").json()
    got = {f["properties"]["district_id"]: f["properties"] for f in body["features"]}
    assert set(got) == {"N1", "N2", "S1"}
    for district, new, closed in expected.drop_nulls(rq.DISTRICT_ID).iter_rows():
        assert (got[district]["new"], got[district]["closed"]) == (new, closed)
        assert got[district]["backlog"] == new - closed
    for props in got.values():
        share = props["share_closed_within_sla"]
        assert share is None or 0 <= share <= 1
        assert props["per_1000_residents"] is None or props["residents"] > 0


def test_district_figures_are_valid_geojson_polygons_of_the_pack(feed):
    response = get(feed, "/districts/figures")
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 3
    for feature in body["features"]:
        shape = shapely.geometry.shape(feature["geometry"])
        assert shape.is_valid and shape.geom_type in ("Polygon", "MultiPolygon") and shape.area > 0


def test_request_points_are_valid_geojson_inside_their_district(feed):
    districts = {f["id"]: shapely.geometry.shape(f["geometry"])
                 for f in get(feed, "/districts/figures").json()["features"]}
    body = get(feed, "/requests", format="geojson", limit=500).json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 500
    inside = 0
    for feature in body["features"]:
        assert feature["type"] == "Feature" and feature["id"] == feature["properties"][rq.SERVICE_REQUEST_ID]
        if feature["geometry"] is None:
            continue
        point = shapely.geometry.shape(feature["geometry"])
        assert point.geom_type == "Point" and (point.x, point.y) == (feature["properties"][rq.LONG],
                                                                     feature["properties"][rq.LAT])
        district = feature["properties"][rq.DISTRICT_ID]
        if district is not None:
            inside += districts[district].buffer(1e-9).contains(point)
    assert inside > 400


@pytest.mark.parametrize("filters", [
    {"district": "N1"},
    {"category": None, "status": "open"},
    {"department": None, "district": "S1", "status": "closed"},
])
def test_filters_return_exactly_the_matching_rows(feed, filters):
    expected = published(feed)
    filters = {name: value if value is not None else expected[name].drop_nulls().mode().sort()[0]
               for name, value in filters.items()}  # the commonest category or department
    for name, value in filters.items():
        column = {"district": rq.DISTRICT_ID}.get(name, name)
        expected = expected.filter(pl.col(column) == value)
    items, _ = all_pages(feed, limit=1000, **filters)
    assert expected.height > 0
    assert sorted(i[rq.SERVICE_REQUEST_ID] for i in items) == sorted(expected[rq.SERVICE_REQUEST_ID])
    for item in items:
        expected_row = expected.row(by_predicate=pl.col(rq.SERVICE_REQUEST_ID) == item[rq.SERVICE_REQUEST_ID],
                                    named=True)
        assert item[rq.DESCRIPTION] == expected_row[rq.DESCRIPTION]
        assert item[rq.CATEGORY] == expected_row[rq.CATEGORY]


def test_date_filters_use_the_city_local_dates(feed):
    rows = published(feed)
    day = rows[rq.REQUEST_DATE].sort()[rows.height // 2]
    body = get(feed, "/requests", date_from=day.isoformat(), date_to=day.isoformat(), limit=1000).json()
    expected = rows.filter(pl.col(rq.REQUEST_DATE) == day)
    assert body["total"] == expected.height > 0
    local = pl.Series([i[rq.REQUESTED_DATETIME] for i in body["items"]]).str.to_datetime(time_zone="UTC") \
        .dt.convert_time_zone("Europe/Moscow").dt.date()
    assert set(local.to_list()) == {day}


def test_overdue_lists_open_requests_past_due_most_overdue_first(feed):
    items, _ = all_pages(feed, overdue="true", sort="-hours_overdue", limit=200)
    assert items
    hours = [i["hours_overdue"] for i in items]
    assert all(h is not None and h > 0 for h in hours) and hours == sorted(hours, reverse=True)
    assert all(i[rq.STATUS] == "open" and i[rq.CLOSED_DATETIME] is None for i in items)
    rest = get(feed, "/requests", overdue="false", limit=1000).json()
    assert all(i["hours_overdue"] is None for i in rest["items"])
    assert rest["total"] + len(items) == published(feed).height


@pytest.mark.parametrize("sort", ["category", "-district_id", "closed_datetime", "-requested_datetime"])
def test_sort_is_stable_with_ties_broken_by_id(feed, sort):
    first, pages = all_pages(feed, sort=sort, limit=173)
    again, _ = all_pages(feed, sort=sort, limit=173)
    assert pages > 5 and [i[rq.SERVICE_REQUEST_ID] for i in first] == [i[rq.SERVICE_REQUEST_ID] for i in again]
    field, descending = sort.lstrip("-"), sort.startswith("-")
    frame = pl.DataFrame([{field: i[field], "id": i[rq.SERVICE_REQUEST_ID]} for i in first])
    expected = frame.sort([field, "id"], descending=[descending, False], nulls_last=True)
    assert frame["id"].to_list() == expected["id"].to_list()


def test_csv_has_the_listed_columns_and_a_link_to_the_next_page(feed):
    response = get(feed, "/requests", format="csv", limit=10, sort="service_request_id")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 10 and list(rows[0])[:3] == [rq.SERVICE_REQUEST_ID, rq.REQUESTED_DATETIME,
                                                    rq.CLOSED_DATETIME]
    assert [r[rq.SERVICE_REQUEST_ID] for r in rows] == sorted(published(feed)[rq.SERVICE_REQUEST_ID])[:10]
    link = response.headers["link"]
    assert link.endswith('; rel="next"')
    following = httpx.get(link[1:link.index(">")], timeout=30)
    more = list(csv.DictReader(io.StringIO(following.text)))
    assert [r[rq.SERVICE_REQUEST_ID] for r in more] == sorted(published(feed)[rq.SERVICE_REQUEST_ID])[10:20]
    assert int(response.headers["x-total-count"]) == published(feed).height


def revalidated(feed, path: str, header: str, **params) -> tuple[httpx.Response, httpx.Response]:
    """An answer and the answer to asking again with its validator (again if a minute turned between:
    answers that depend on the minute change with it)."""
    for _ in range(3):
        first = get(feed, path, **params)
        value = first.headers["etag" if header == "If-None-Match" else "last-modified"]
        again = get(feed, path, headers={header: value}, **params)
        if again.status_code == 304 or get(feed, path, **params).headers["etag"] == first.headers["etag"]:
            return first, again
    raise AssertionError(f"{path}: the answer kept changing")


@pytest.mark.parametrize("path", ["/requests/summary", "/districts/figures", "/requests", "/requests/trends"])
def test_etag_and_last_modified_give_304_while_the_data_stays(feed, path):
    first, again = revalidated(feed, path, "If-None-Match")
    assert first.headers["etag"].startswith('W/"') and first.headers["cache-control"] == "no-cache"
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
    _, since = revalidated(feed, path, "If-Modified-Since")
    assert since.status_code == 304
    other = get(feed, path, headers={"If-None-Match": first.headers["etag"]}, district="N1")
    assert other.status_code == 200 and other.headers["etag"] != first.headers["etag"]


def test_answers_are_gzipped_for_clients_that_take_it_but_the_event_stream_is_not(feed):
    raw = httpx.get(f"{feed['url']}{API}/requests", params={"limit": 500}, headers={"Accept-Encoding": "gzip"},
                    timeout=30)
    assert raw.headers["content-encoding"] == "gzip" and raw.headers["vary"] == "Accept-Encoding"
    with httpx.stream("GET", f"{feed['url']}{API}/requests", params={"limit": 500},
                      headers={"Accept-Encoding": "gzip"}, timeout=30) as response:
        packed = b"".join(response.iter_raw())
    plain = httpx.get(f"{feed['url']}{API}/requests", params={"limit": 500},
                      headers={"Accept-Encoding": "identity"}, timeout=30)
    assert "content-encoding" not in plain.headers
    assert gzip.decompress(packed) == plain.content and len(packed) < len(plain.content) / 3
    with httpx.stream("GET", f"{feed['url']}{API}/stream", params={"from": 0},
                      headers={"Accept-Encoding": "gzip"}, timeout=30) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in stream.headers
        assert next(stream.iter_lines()).startswith(("id:", "event:", ":", "retry:", "data:"))


@pytest.mark.parametrize("path, params, message", [
    ("/requests", {"format": "xlsx"}, "use one of json, geojson, csv"),
    ("/requests", {"status": "pending"}, "use open or closed"),
    ("/requests", {"sort": "-colour"}, "sort by one of"),
    ("/requests", {"limit": "5000"}, "limit"),
    ("/requests", {"cursor": "not-a-cursor"}, "not a cursor of this feed"),
    ("/requests", {"date_from": "01.11.2026"}, "use YYYY-MM-DD"),
    ("/requests/trends", {"date_from": "2026-11-02", "date_to": "2026-11-01"}, "swap them"),
    ("/districts/figures", {"district": "ZZ"}, "'ZZ' is not one of this city's: N1, N2, S1"),
    ("/requests/summary", {"category": "unicorns"}, "is not one of this city's"),
    ("/requests/density", {"resolution": "12"}, "resolution"),
])
def test_bad_parameters_get_a_400_that_says_what_to_fix(feed, path, params, message):
    response = get(feed, path, **params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_a_cursor_of_another_query_is_refused(feed):
    cursor = get(feed, "/requests", limit=5, sort="category").json()["next_cursor"]
    response = get(feed, "/requests", limit=5, sort="category", district="N1", cursor=cursor)
    assert response.status_code == 400 and "another query" in response.json()["detail"]


def test_trends_days_add_up_to_the_period_figures(feed):
    trends = get(feed, "/requests/trends").json()
    figures = get(feed, "/districts/figures").json()
    total_new = sum(f["properties"]["new"] for f in figures["features"]) + figures["unplaced"]["new"]
    assert sum(d["new"] for d in trends["days"]) == total_new
    assert sum(c["new"] for c in trends["by_category"]) == total_new
    assert sum(d["new"] for d in trends["by_department"]) == total_new
    assert sum(d["closed"] for d in trends["days"]) == sum(c["closed"] for c in trends["by_category"])
    dates = [d["date"] for d in trends["days"]]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    assert trends["date_from"] == dates[0] and trends["date_to"] == dates[-1]


def test_summary_tiles_match_the_trend_days(feed):
    summary = get(feed, "/requests/summary").json()
    days = {d["date"]: d for d in get(feed, "/requests/trends").json()["days"]}
    assert summary["today"]["new"] == days[summary["date"]]["new"]
    assert summary["today"]["closed"] == days[summary["date"]]["closed"]
    week = sorted(days)[-7:]
    assert summary["last_7_days"]["new"] == sum(days[d]["new"] for d in week)
    backlog = sum(f["properties"]["backlog"] for f in get(feed, "/districts/figures").json()["features"])
    worst = summary["worst_districts"]
    assert [w["backlog"] for w in worst] == sorted((w["backlog"] for w in worst), reverse=True)
    assert sum(w["backlog"] for w in worst) == backlog  # the tiny city has three districts


def test_density_counts_every_placed_request(feed):
    body = get(feed, "/requests/density", resolution=7).json()
    rows = published(feed)
    assert body["resolution"] == 7
    assert sum(c["count"] for c in body["cells"]) + body["unplaced"] == rows.height
    fine = get(feed, "/requests/density", resolution=10).json()
    assert sum(c["count"] for c in fine["cells"]) == sum(c["count"] for c in body["cells"])


def test_everything_is_in_the_openapi_document(feed):
    document = httpx.get(f"{feed['url']}/openapi.json", timeout=30).json()
    for path in ("/requests", "/districts/figures", "/requests/trends", "/requests/summary", "/requests/density"):
        operation = document["paths"][f"{API}{path}"]["get"]
        assert operation["description"] or operation["summary"]
        assert operation["responses"]["200"]["content"], path
        assert "400" in operation["responses"], path
    schemas = document["components"]["schemas"]
    assert {"RequestPage", "RequestFeatureCollection", "DistrictFigures", "Trends", "Summary", "Density"} <= set(schemas)


def test_csv_cells_that_start_like_formulas_are_neutralised(feed):
    rows = published(feed).filter(pl.col(rq.SERVICE_REQUEST_ID).str.starts_with("CSV-"))
    assert rows.height == len(FORMULAS), (sorted(rows[rq.SERVICE_REQUEST_ID]), feed["journey"])
    stored = {r[rq.SERVICE_REQUEST_ID]: r for r in rows.iter_rows(named=True)}
    risky = [r for r in rows.iter_rows(named=True) if r[rq.DESCRIPTION][:1] in "=+-@\t\r"]
    assert len(risky) >= 4  # the pipeline kept most of them as typed
    response = get(feed, "/requests", format="csv", limit=len(FORMULAS), sort="service_request_id")
    cells = {r[rq.SERVICE_REQUEST_ID]: r for r in csv.DictReader(io.StringIO(response.text, newline=""))}
    for request_id, row in stored.items():
        for column in (rq.DESCRIPTION, rq.ADDRESS):
            text, cell = row[column], cells[request_id][column]
            if text and text[0] in "=+-@\t\r":
                assert cell == "'" + text
            else:
                assert cell == (text or "")
    items = get(feed, "/requests", limit=len(FORMULAS), sort="service_request_id").json()["items"]
    listed = {i[rq.SERVICE_REQUEST_ID]: i for i in items}
    assert all(listed[i][rq.DESCRIPTION] == stored[i][rq.DESCRIPTION] for i in stored)  # JSON keeps the text


def test_csv_keeps_numbers_as_numbers():
    frame = pl.DataFrame({"description": ["-1", "ok", None], "long": [-73.95, 37.6, None]})
    lines = csv_body(frame).decode().splitlines()
    assert lines == ["description,long", "'-1,-73.95", "ok,37.6", ","]


@pytest.mark.parametrize("path, params, model", [
    ("/requests", {"limit": 50}, models.RequestPage),
    ("/requests", {"limit": 50, "format": "geojson"}, models.RequestFeatureCollection),
    ("/districts/figures", {}, models.DistrictFigures),
    ("/requests/trends", {}, models.Trends),
    ("/requests/summary", {}, models.Summary),
    ("/requests/density", {}, models.Density),
])
def test_answers_match_their_documented_models(feed, path, params, model):
    body = get(feed, path, **params).json()
    parsed = model.model_validate(body, strict=False)
    assert set(body) == set(type(parsed).model_fields)  # nothing undocumented, nothing missing
