"""The Open311 GeoReport v2 server over real HTTP, with the stream running: a third-party client
reads it, our own Open311 sources read its answers back, and POSTed reports reach GET requests."""

from __future__ import annotations

import time

import defusedxml.ElementTree as SafeET
import polars as pl
import pytest
from georeport import GeoReport
from open311_fixtures import IN_N1, open311_home
from polars.testing import assert_frame_equal
from postgres_fixtures import store_contents

from pipelines.poll_open311 import Open311Poller, PollState
from pipelines.sources.requests import read_raw_batches
from plumbing.landing import LandingLog
from plumbing.live_store.open311 import requests_by_id
from plumbing.live_store.reader import LiveStoreReader
from plumbing.open311_submissions import SubmissionStore
from schemas import live as lv
from schemas import open311 as o3
from schemas import requests as rq

CITY = "tiny"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with open311_home(tmp_path_factory.mktemp("o311-home"), tmp_path_factory.mktemp("o311-feeds")) as home:
        yield home


def views(server) -> pl.DataFrame:
    store = LiveStoreReader.open(server.workspace.live_store(CITY))
    try:
        return pl.DataFrame(store.db.execute(f"SELECT {rq.SERVICE_REQUEST_ID}, {rq.DESCRIPTION} FROM "
                                             f"{lv.OPEN311_REQUESTS_TABLE.name}").fetchall(),
                            schema=[rq.SERVICE_REQUEST_ID, rq.DESCRIPTION], orient="row")
    finally:
        store.close()


def wait_for_request(server, request_id: str, seconds: float = 2.0, fmt: str = "json", **wanted) -> tuple[dict, float]:
    """GET requests/{id} until it answers with `wanted` values; (the request, seconds it took)."""
    started = time.monotonic()
    while True:
        response = server.get(f"requests/{request_id}.{fmt}")
        if response.status_code == 200:
            found = response.json()[0]
            if all(found.get(k) == v for k, v in wanted.items()):
                return found, time.monotonic() - started
        if time.monotonic() - started > seconds:
            raise AssertionError(f"{request_id} not as wanted after {seconds} s: {response.status_code} {response.text}")
        time.sleep(0.02)


def report(server, **fields) -> str:
    fields = {"api_key": server.key, "service_code": "road_damage", "attribute[size]": "large", **IN_N1, **fields}
    response = server.post("requests.json", **{k: v for k, v in fields.items() if v is not None})
    assert response.status_code == 201, response.text
    (answer,) = response.json()
    return answer[rq.SERVICE_REQUEST_ID]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_third_party_client_reads_services_definition_and_requests(server, fmt):
    client = GeoReport(server.url, jurisdiction=CITY, output_format=fmt)
    services = client.get_service_list()
    assert [s["service_code"] for s in services] == ["road_damage", "noise"]
    assert {s["service_name"] for s in services} == {"Pothole", "Noise"}
    assert [str(s["metadata"]).lower() for s in services] == ["true", "false"]
    definition = client.get_service_definition("road_damage")
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    assert [a["code"] for a in attributes] == ["size", "depth_cm"]
    values = attributes[0]["values"] if fmt == "json" else attributes[0]["values"]["value"]
    assert [v["key"] for v in values] == ["small", "large"]
    listed = client.get_service_requests()
    stored = views(server)
    assert len(listed) == stored.height and {r["service_request_id"] for r in listed} == set(stored[rq.SERVICE_REQUEST_ID])
    one = client.get_service_request(listed[0]["service_request_id"])
    assert one["service_request_id"] == listed[0]["service_request_id"] and one["status"] in ("open", "closed")


def test_answers_read_back_through_our_open311_sources_to_the_same_rows(server, tmp_path):
    frames = {}
    for fmt in ("json", "xml"):
        path = tmp_path / f"requests.{fmt}"
        path.write_bytes(server.get(f"requests.{fmt}").content)
        batches = list(read_raw_batches(path, f"open311-{fmt}"))
        frames[fmt] = pl.from_arrow(pl.concat([pl.from_arrow(b) for b in batches]).to_arrow()).drop(
            rq.SOURCE_FILE, rq.GUESSED_ENCODING)
    assert frames["json"].height == views(server).height > 300
    assert frames["json"][rq.UNREADABLE_RECORD].null_count() == frames["json"].height
    assert_frame_equal(frames["json"], frames["xml"])
    stored = views(server).sort(rq.SERVICE_REQUEST_ID)
    read = frames["json"].select(rq.SERVICE_REQUEST_ID, rq.DESCRIPTION).sort(rq.SERVICE_REQUEST_ID)
    assert_frame_equal(read, stored, check_dtypes=False)


def test_a_posted_report_is_in_get_requests_with_category_and_district_within_2_s(server):
    request_id = report(server, description="Deep pothole at the school gate")
    found, seconds = wait_for_request(server, request_id, 2.0, district_id="N1", category="road_damage")
    assert seconds < 2.0
    assert (found["service_code"], found["service_name"], found["status"]) == ("road_damage", "Pothole", "open")
    assert (found["lat"], found["long"], found["agency_responsible"]) == (55.15, 37.05, "roads")
    assert found["expected_datetime"] > found["requested_datetime"]  # the SLA due time (8 days)
    xml, _ = SafeET.fromstring(server.get(f"requests/{request_id}.xml").content), None
    assert xml.tag == "service_requests" and xml.find("request/district_id").text == "N1"


def test_an_address_string_is_a_location(server):
    request_id = report(server, lat=None, long=None, address_string="Tverskaya 1", service_code="noise",
                        **{"attribute[size]": None})
    found, _ = wait_for_request(server, request_id, 5.0)
    assert found["address"] == "Tverskaya 1" and found["service_code"] == "noise"


def test_script_text_is_stored_and_served_as_text(server):
    text = '<script>alert("x")</script> & <b>pothole</b>'
    request_id = report(server, description=text)
    found, _ = wait_for_request(server, request_id, 5.0)
    assert found["description"] == text
    raw = server.get(f"requests/{request_id}.xml").content
    assert b"<script>" not in raw and b"&lt;script&gt;" in raw
    assert SafeET.fromstring(raw).find("request/description").text == text


def test_submitters_personal_fields_are_kept_apart_and_never_served(server):
    personal = {"email": "anna.k@example.org", "first_name": "Anna", "last_name": "Karenina",
                "phone": "+7 916 555 12 34", "device_id": "dev-42", "account_id": "acc-7"}
    request_id = report(server, description="Streetlight pothole", **personal)
    wait_for_request(server, request_id, 5.0)
    served = server.get("requests.json").text + server.get(f"requests/{request_id}.xml").text
    assert not [v for v in personal.values() if v in served]
    store_file = store_contents(server.workspace.live_store(CITY))
    assert b"anna.k@example.org" not in store_file and b"Karenina" not in store_file
    submissions = SubmissionStore.of(server.workspace, CITY)
    kept = submissions.get(request_id)
    submissions.close()
    assert {k: kept[k] for k in personal} == personal and kept[o3.ATTRIBUTES] == {"size": "large"}
    assert (submissions.path.stat().st_mode & 0o777) == 0o600


def _state(server) -> tuple:
    submissions = SubmissionStore.of(server.workspace, CITY)
    count = submissions.count()
    submissions.close()
    return LandingLog(server.workspace.landing(CITY), o3.SOURCE).end(), count, views(server).height


BAD_POSTS = [
    ({"api_key": "up_000000000000_" + "x" * 43}, 403, "api_key"),
    ({"api_key": None}, 403, "api_key"),
    ({"lat": None, "long": None}, 400, "a location is required"),
    ({"long": None}, 400, "lat and long go together"),
    ({"lat": "north"}, 400, "decimal degrees"),
    ({"service_code": "volcano"}, 404, "volcano"),
    ({"service_code": None}, 400, "service_code is required"),
    ({"attribute[size]": "enormous"}, 400, "'enormous' is not a value"),
    ({"attribute[size]": None}, 400, "attribute[size] is required"),
    ({"attribute[depth_cm]": "deep"}, 400, "not a number"),
    ({"attribute[colour]": "red"}, 400, "no such attribute"),
    ({"description": "x" * 10_000_000}, 413, "at most"),
    ({"description": "x" * 20_000}, 413, "description is 20,000 characters"),
    ({"media_url": "javascript:alert(1)"}, 400, "http(s) URL"),
    ({"jurisdiction_id": "atlantis"}, 404, "atlantis"),
]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_posts_get_the_right_error_and_change_nothing(server, fmt):
    before = _state(server)
    for change, status, message in BAD_POSTS:
        fields = {"api_key": server.key, "service_code": "road_damage", "attribute[size]": "large",
                  "description": "pothole", **IN_N1, **change}
        response = server.post(f"requests.{fmt}", **{k: v for k, v in fields.items() if v is not None})
        assert response.status_code == status, (change.keys(), response.text[:200])
        if fmt == "json":
            (error,) = response.json()
            assert error["code"] == status and message in error["description"], error
        else:
            root = SafeET.fromstring(response.content)
            assert root.tag == "errors" and root.find("error/code").text == str(status)
            assert message in root.find("error/description").text
    time.sleep(0.5)
    assert _state(server) == before


def test_a_key_over_its_rate_gets_429(server):
    answers = [server.post("requests.json", api_key=server.slow, service_code="noise", **IN_N1) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 429, 429]
    assert answers[2].json()[0]["code"] == 429 and int(answers[2].headers["Retry-After"]) > 0
    for accepted in answers[:2]:
        wait_for_request(server, accepted.json()[0][rq.SERVICE_REQUEST_ID], 5.0)


def test_unknown_ids_services_and_jurisdictions_are_404_in_the_envelope(server):
    for path, params in (("requests/nope.json", {}), ("services/volcano.xml", {}),
                         ("services.json", {"jurisdiction_id": "atlantis"}), ("no/such/call.json", {})):
        response = server.get(path, **params)
        assert response.status_code == 404, path
        body = response.json()[0] if path.endswith(".json") else None
        if body:
            assert body["code"] == 404
    too_long = server.get("requests.json", start_date="2020-01-01T00:00:00Z", end_date="2020-06-01T00:00:00Z")
    assert too_long.status_code == 400 and "at most 90" in too_long.json()[0]["description"]
    assert server.get("requests.json", start_date="2020-01-01T00:00:00Z").json() == []  # 90 days from then
    assert server.get("requests.json", start_date="yesterday").status_code == 400
    assert server.get("requests.yaml").status_code == 400


def test_get_requests_filters_and_pages(server):
    everything = server.get("requests.json").json()
    page = server.get("requests.json", page_size=50, page=2)
    assert [r["service_request_id"] for r in page.json()] == [r["service_request_id"] for r in everything[50:100]]
    assert 'rel="next"' in page.headers["Link"]
    noise = server.get("requests.json", service_code="noise").json()
    assert noise and {r["service_code"] for r in noise} == {"noise"}
    ids = [everything[3]["service_request_id"], everything[1]["service_request_id"]]
    by_id = server.get("requests.json", service_request_id=",".join(ids), service_code="noise").json()
    assert [r["service_request_id"] for r in by_id] == ids  # the id list overrides the other arguments
    closed = server.get("requests.json", status="closed").json()
    assert {r["status"] for r in closed} <= {"closed"}
    assert len(closed) + len(server.get("requests.json", status="open").json()) == len(everything)


def test_back_office_updates_reach_get_requests_and_servicerequestupdates(server, tmp_path):
    request_id = report(server, description="Pothole near the bakery")
    wait_for_request(server, request_id, 5.0)
    refused = server.post("servicerequestupdates.json", api_key=server.key, service_request_id=request_id,
                          status="closed")
    assert refused.status_code == 403
    posted = server.post("servicerequestupdates.json", api_key=server.back_office, service_request_id=request_id,
                         status="in_progress", description="Crew booked for Tuesday")
    assert posted.status_code == 201, posted.text
    update_id = posted.json()[0][o3.UPDATE_ID]
    found, _ = wait_for_request(server, request_id, 5.0, status_notes="Crew booked for Tuesday")
    assert found["status"] == "open" and found["updated_datetime"] is not None
    updates = SafeET.fromstring(server.get("servicerequestupdates.xml").content)
    mine = [u for u in updates.findall("request_update") if u.find("service_request_id").text == request_id]
    # the live path keeps the spec's open / closed (`NormaliseRequests`): in_progress is open
    assert [(u.find("update_id").text, u.find("status").text, u.find("description").text) for u in mine] == [
        (update_id, "open", "Crew booked for Tuesday")]
    # the file import: a CSV of the back office closes it
    from plumbing.open311_updates import import_updates

    path = tmp_path / "updates.csv"
    path.write_text(f"service_request_id,status,status_notes\n{request_id},closed,Filled\nnope,closed,x\n")
    result = import_updates(server.workspace, CITY, path)
    assert result.landed == 1 and [n for n, _ in result.refused] == [2]
    found, _ = wait_for_request(server, request_id, 5.0, status="closed")
    assert found["status_notes"] == "Filled"
    store = LiveStoreReader.open(server.workspace.live_store(CITY))
    try:
        assert requests_by_id(store.db, [request_id])[rq.STATUS].to_list() == ["closed"]
    finally:
        store.close()


def test_a_posted_report_reaches_the_published_datasets(server):
    request_id = report(server, description="Pothole, call me on +7 916 555 12 34", email="x@example.org")
    wait_for_request(server, request_id, 5.0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        files = list(server.workspace.requests_dataset.glob("**/*.parquet"))
        published = pl.read_parquet(files).filter(pl.col(rq.SERVICE_REQUEST_ID) == request_id) if files else None
        if published is not None and published.height:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the report was not published within 60 s")
    assert published[rq.CATEGORY].to_list() == ["road_damage"] and published[rq.DISTRICT_ID].to_list() == ["N1"]
    assert "916 555" not in published[rq.DESCRIPTION][0]
    assert not [c for c in published.columns if c in o3.SUBMITTER_FIELDS]


def test_the_poller_follows_this_server_incrementally(server, tmp_path):
    log = LandingLog(tmp_path / "landing", "mirror")
    poller = Open311Poller(server.url, log, PollState(tmp_path / "poll.sqlite"))
    first = poller.poll()
    assert first.landed == len(server.get("requests.json").json()) > 300
    assert poller.poll().landed == 0
    request_id = report(server, service_code="noise", description="Loud bar", **{"attribute[size]": None})
    wait_for_request(server, request_id, 5.0)
    third = poller.poll()
    server.post("servicerequestupdates.json", api_key=server.back_office, service_request_id=request_id,
                status="closed", description="Visited")
    wait_for_request(server, request_id, 5.0, status="closed")
    fourth = poller.poll()
    assert (third.landed, fourth.landed) == (1, 1)
    landed = pl.concat([pl.from_arrow(log.read(seq).records) for seq in range(log.end())])
    mine = landed.filter(pl.col(rq.SERVICE_REQUEST_ID) == request_id)
    assert mine[rq.STATUS].to_list() == ["open", "closed"] and mine[rq.STATUS_NOTES].to_list() == [None, "Visited"]


def test_the_demo_posts_part_of_its_load_as_reports(server):
    import threading

    import pyarrow as pa

    from flows.open311_demo import post_at_rate, report_fields

    records = pa.table({rq.DESCRIPTION: ["Pothole", "Loud music", None], rq.LAT: ["55.15", None, "55.05"],
                        rq.LONG: ["37.05", None, "37.05"], rq.ADDRESS: [None, "Tverskaya 1", None]})
    reports = report_fields(records, ["noise"], server.key)
    assert reports[1][o3.ADDRESS_STRING] == "Tverskaya 1" and o3.ADDRESS_STRING not in reports[0]
    before = views(server).height
    assert post_at_rate(f"{server.url}/requests.json", reports, 50.0, threading.Event()) == 3
    deadline = time.monotonic() + 5
    while views(server).height < before + 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert views(server).height == before + 3
