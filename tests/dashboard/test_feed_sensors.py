"""The feed's live sensors over real HTTP: stations with their latest readings and places, hourly
figures, alerts, clear 400s and 404s, a `sensors` change event per committed segment, and one
path through the embedded MQTT broker, the lander and the running stream."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import paho.mqtt.client as mqtt
import pytest
from conftest import build_tiny_pack
from feed_fixtures import feed_in_thread, wait_until

from pipelines.land_sensors import EmbeddedBroker, MqttLander
from pipelines.stopping import STOP
from pipelines.stream_sensors import SensorSettings, catch_up, encoded, land_observations, stream
from plumbing.workspace import Workspace

CITY = "tiny"
START = datetime(2026, 3, 1, tzinfo=UTC)


def hourly_rows(station: str, parameter: str, values: list[float]) -> list[dict]:
    return [{"station_id": station, "parameter": parameter, "value": v,
             "observed_at": (START + timedelta(hours=h)).isoformat()} for h, v in enumerate(values)]


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    """Two listed stations of the tiny city (in districts N1 and S1) and one unlisted: 30 hours of
    pm25 (s-north above 15 all day: a WHO alert) and an no2 hour above 200 at s-south."""
    home = tmp_path_factory.mktemp("feed-sensors")
    build_tiny_pack(home)
    workspace = Workspace(home)
    stations = home / "stations.csv"
    stations.write_text("station_id,name,lat,lon\ns-north,North Park,55.15,37.05\ns-south,South Gate,55.05,37.05\n",
                        encoding="utf-8")
    settings = SensorSettings(workspace, CITY, stations=stations)
    land_observations(settings, "air", [encoded(hourly_rows("s-north", "pm25", [30.0] * 30))], "test")
    land_observations(settings, "air", [encoded(hourly_rows("s-south", "no2", [50.0, 260.0, 40.0])
                                                + hourly_rows("s-south", "pm25", [4.0, 5.0]))], "test")
    land_observations(settings, "air", [encoded(hourly_rows("elsewhere", "pm10", [12.0]))], "test")
    catch_up(settings)
    with feed_in_thread(workspace) as url:
        yield {"url": url, "workspace": workspace, "settings": settings}


def get(feed, path: str, **params) -> httpx.Response:
    return httpx.get(f"{feed['url']}/api/v1/sensors{path}", params=params, timeout=10)


def test_stations_have_places_and_latest_readings_with_bands(feed):
    body = get(feed, "/stations").json()
    by_id = {s["station_id"]: s for s in body["stations"]}
    assert body["city"] == CITY and set(by_id) == {"s-north", "s-south", "elsewhere"}
    north = by_id["s-north"]
    assert (north["station_name"], north["lat"], north["long"], north["district_id"]) == ("North Park", 55.15, 37.05, "N1")
    assert by_id["s-south"]["district_id"] == "S1" and by_id["elsewhere"]["station_name"] is None
    latest = north["latest"]["pm25"]
    assert latest["value"] == 30.0 and latest["band"] == "poor" and latest["unit"] == "µg/m³"
    assert latest["period_start"] == (START + timedelta(hours=29)).isoformat()
    assert by_id["s-south"]["latest"]["no2"]["band"] is None and body["dead_letters"] == {}


def test_hourly_returns_the_newest_hours(feed):
    body = get(feed, "/s-north/hourly", parameter="pm25", hours=5).json()
    assert [h["period_start"] for h in body["hours"]] == [(START + timedelta(hours=h)).isoformat() for h in range(25, 30)]
    assert all((h["mean"], h["count"]) == (30.0, 1) for h in body["hours"])
    assert len(get(feed, "/s-north/hourly").json()["hours"]) == 30  # pm25, 48 hours by default


def test_alerts_name_the_standard_and_the_day(feed):
    found = get(feed, "/alerts").json()["alerts"]
    assert {(a["station_id"], a["parameter"], a["standard"], a["averaging"]) for a in found} == {
        ("s-south", "no2", "EU 2008/50/EC", "hour"), ("s-north", "pm25", "WHO 2021", "day")}
    no2 = next(a for a in found if a["parameter"] == "no2")
    assert (no2["value"], no2["threshold"], no2["hour_start"]) == (260.0, 200.0, (START + timedelta(hours=1)).isoformat())
    later = get(feed, "/alerts", since=(datetime.now(UTC) + timedelta(hours=1)).isoformat()).json()
    assert later["alerts"] == []


def test_bad_parameters_are_400s_and_unknown_stations_404s(feed):
    bad = get(feed, "/s-north/hourly", parameter="shoe_size")
    assert bad.status_code == 400 and "pm25" in bad.json()["detail"]
    for params in ({"hours": 0}, {"hours": 100_000}):
        assert get(feed, "/s-north/hourly", **params).status_code == 400
    assert get(feed, "/alerts", since="not a time").status_code == 400
    missing = get(feed, "/nope/hourly")
    assert missing.status_code == 404 and "'nope'" in missing.json()["detail"] and "'s-north'" in missing.json()["detail"]
    none = get(feed, "/s-south/hourly", parameter="pm10")
    assert none.status_code == 404 and "no2" in none.json()["detail"]


def test_no_store_yet_lists_no_stations(tmp_path):
    with feed_in_thread(Workspace(tmp_path)) as url:
        listed = httpx.get(f"{url}/api/v1/sensors/stations", timeout=10)
        alerts = httpx.get(f"{url}/api/v1/sensors/alerts", timeout=10)
    assert listed.json() == {"city": CITY, "stations": [], "dead_letters": {}} and alerts.json()["alerts"] == []


def _sensor_events(url: str, events: list[dict], connected: threading.Event) -> None:
    with httpx.stream("GET", f"{url}/api/v1/stream", timeout=30) as response:
        connected.set()
        for line in response.iter_lines():
            if line.startswith("data: "):
                change = json.loads(line[6:])
                if change.get("kind") == "sensors":
                    events.append(change)
                    return


def test_a_committed_segment_sends_a_sensors_change_event(feed):
    events: list[dict] = []
    connected = threading.Event()
    reader = threading.Thread(target=_sensor_events, args=(feed["url"], events, connected), daemon=True)
    reader.start()
    assert connected.wait(10)
    time.sleep(0.3)  # the stream starts after the newest change
    (seq,) = land_observations(feed["settings"], "air", [encoded(hourly_rows("s-south", "so2", [400.0]))], "test")
    catch_up(feed["settings"])
    reader.join(timeout=20)
    assert events, "no sensors change event arrived"
    event = events[0]
    assert (event["segment"]["seq"], event["segment"]["records_in"], event["segment"]["accepted"]) == (seq, 1, 1)
    assert event["latest"]["rows"] == [["s-south", "so2", 400.0, START.isoformat(), None]]
    assert [(a["parameter"], a["standard"]) for a in event["alerts"]] == [("so2", "EU 2008/50/EC")]


def test_mqtt_broker_lander_stream_and_feed(tmp_path):
    """Published to the embedded broker, landed, committed by the running stream, served."""
    build_tiny_pack(tmp_path)
    workspace = Workspace(tmp_path)
    with EmbeddedBroker() as broker, MqttLander(workspace.landing(CITY), broker.url, batch_ms=50) as lander, \
            feed_in_thread(workspace) as url:
        assert lander.connected.wait(20)
        publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-publisher")
        publisher.username_pw_set("test")
        publisher.connect(broker.host, broker.port)
        publisher.loop_start()
        publisher.publish("sensors/s9", encoded(hourly_rows("s9", "no2", [30.0, 210.0])), qos=1).wait_for_publish(10)
        assert wait_until(lambda: lander.rows_landed == 2, 20)
        runner = threading.Thread(target=stream, args=(SensorSettings(workspace, CITY),), daemon=True)
        runner.start()
        try:
            hourly = lambda: httpx.get(f"{url}/api/v1/sensors/s9/hourly", params={"parameter": "no2"}, timeout=10)  # noqa: E731
            assert wait_until(lambda: hourly().status_code == 200, 60)
            publisher.publish("sensors/s9", encoded(hourly_rows("s9", "no2", [30.0, 210.0, 55.0])[2:]), qos=1)
            assert wait_until(lambda: len(hourly().json()["hours"]) == 3, 30)
        finally:
            STOP.set()
            runner.join(timeout=60)
            publisher.loop_stop()
            publisher.disconnect()
    assert [h["mean"] for h in hourly_json(url, workspace)] == [30.0, 210.0, 55.0]


def hourly_json(_url: str, workspace: Workspace) -> list[dict]:
    """The hours as the store holds them after the feed stopped."""
    from contextlib import closing

    from plumbing.live_store import sensors as st
    from plumbing.live_store.reader import LiveStoreReader

    with closing(LiveStoreReader.open(workspace.live_store(CITY))) as reader:
        return st.hourly(reader.db, "s9", "no2", START)
