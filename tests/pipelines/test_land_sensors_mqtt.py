"""MQTT landing against a real in-process amqtt broker: exactly the published rows, unreadable
messages kept, reconnects after a broker restart, a persistent session, and throughput."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pyarrow as pa
import pytest

from pipelines.land_sensors import EmbeddedBroker, MqttLander, decode_message
from plumbing.sensor_landing import SensorLandingLog

TIMEOUT = 30.0


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        yield running


class Publisher:
    """A paho publisher that waits for its connection and for every QoS 1 acknowledgement."""

    def __init__(self, broker: EmbeddedBroker) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sensor-{id(self)}",
                                  protocol=mqtt.MQTTv311)
        self.client.username_pw_set("sensor")
        ready = threading.Event()
        self.client.on_connect = lambda *_: ready.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert ready.wait(TIMEOUT)

    def publish(self, topic: str, payloads: list[bytes | str]) -> None:
        infos = [self.client.publish(topic, payload, qos=1) for payload in payloads]
        for info in infos:
            info.wait_for_publish(TIMEOUT)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _observation(i: int) -> dict[str, object]:
    return {"station_id": f"st{i % 7}", "parameter": "PM2.5", "value": i / 10, "unit": "µg/m³",
            "observed_at": f"2024-05-01T{i % 24:02d}:00:00Z"}


def _landed(root: Path, source: str = "sensors") -> pa.Table:
    log = SensorLandingLog(root, source)
    tables = [log.read(seq).records for seq in range(log.end())]
    return pa.concat_tables(tables) if tables else SensorLandingLog.SCHEMA.empty_table()


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_thousand_messages_land_exactly_once(broker: EmbeddedBroker, tmp_path: Path) -> None:
    publisher = Publisher(broker)
    with MqttLander(tmp_path, broker.url, batch_messages=250, batch_ms=50) as lander:
        assert lander.connected.wait(TIMEOUT)
        publisher.publish("sensors/berlin/mitte", [json.dumps(_observation(i)) for i in range(1000)])
        publisher.publish("sensors/berlin/mitte", [b"{not json", b"\xff\xfe"])
        _wait(lambda: lander.messages_landed == 1002, "1,002 messages")
    publisher.close()
    rows = _landed(tmp_path).to_pylist()
    readable = [r for r in rows if r["unreadable_record"] is None]
    assert len(rows) == 1002 and len(readable) == 1000
    assert sorted(float(r["value"]) for r in readable) == [i / 10 for i in range(1000)]
    first = next(r for r in readable if r["value"] == "0.0")
    assert (first["station_id"], first["parameter"], first["unit"], first["observed_at"]) == (
        "st0", "PM2.5", "µg/m³", "2024-05-01T00:00:00Z")
    assert [r["unreadable_record"] for r in rows if r["unreadable_record"]] == ["{not json", "\ufffd\ufffd"]


def test_lists_and_sensorthings_observations_in_one_message() -> None:
    thing = {"phenomenonTime": "2024-05-01T10:00:00Z/2024-05-01T11:00:00Z", "result": 4.2,
             "Datastream": {"name": "NO2", "unitOfMeasurement": {"symbol": "ug/m3"}, "Thing": {"@iot.id": 3}}}
    rows = decode_message(json.dumps([_observation(1), thing, 5, {"period_hours": "x"}]).encode())
    assert [(r["station_id"], r["value"], r["period_hours"]) for r in rows[:2]] == [
        ("st1", "0.1", None), ("3", "4.2", 1.0)]
    assert [r["unreadable_record"] for r in rows[2:]] == ["5", '{"period_hours": "x"}']
    assert decode_message(b"[]")[0]["unreadable_record"] == "[]"


def test_reconnects_after_the_broker_restarts(tmp_path: Path) -> None:
    first = EmbeddedBroker().start()
    port = first.port
    with MqttLander(tmp_path, first.url, batch_ms=20, backoff=(0.05, 0.5)) as lander:
        assert lander.connected.wait(TIMEOUT)
        publisher = Publisher(first)
        publisher.publish("sensors/a", [json.dumps(_observation(i)) for i in range(10)])
        _wait(lambda: lander.rows_landed == 10, "the first 10 rows")
        publisher.close()
        first.stop()
        _wait(lambda: not lander.connected.is_set(), "the lander to notice")
        with EmbeddedBroker(port=port) as second:
            _wait(lambda: lander.connects == 2 and lander.connected.is_set(), "a reconnect")
            publisher = Publisher(second)
            publisher.publish("sensors/a", [json.dumps(_observation(i)) for i in range(10, 20)])
            _wait(lambda: lander.rows_landed == 20, "the rows published after the restart")
            publisher.close()
    values = sorted(float(v) for v in _landed(tmp_path)["value"].to_pylist())
    assert values == [i / 10 for i in range(20)]


def test_the_persistent_session_gets_what_was_published_while_away(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    with MqttLander(tmp_path, broker.url, client_id="lander-1") as lander:
        assert lander.connected.wait(TIMEOUT)
    publisher = Publisher(broker)
    publisher.publish("sensors/a", [json.dumps(_observation(i)) for i in range(5)])
    with MqttLander(tmp_path, broker.url, client_id="lander-1", batch_ms=20) as lander:
        _wait(lambda: lander.rows_landed == 5, "the queued messages")
    publisher.close()
    assert _landed(tmp_path).num_rows == 5


def test_throughput(broker: EmbeddedBroker, tmp_path: Path) -> None:
    """20,000 observations as 200 messages of 100; prints observations landed per second."""
    batch = json.dumps([_observation(i) for i in range(100)])
    publisher = Publisher(broker)
    with MqttLander(tmp_path, broker.url, batch_messages=100, batch_ms=50) as lander:
        assert lander.connected.wait(TIMEOUT)
        started = time.perf_counter()
        publisher.publish("sensors/x", [batch] * 200)
        _wait(lambda: lander.rows_landed == 20_000, "20,000 rows")
        elapsed = time.perf_counter() - started
        single = [json.dumps(_observation(i)) for i in range(2000)]
        started_single = time.perf_counter()
        publisher.publish("sensors/x", single)
        _wait(lambda: lander.rows_landed == 22_000, "2,000 single-observation messages")
        elapsed_single = time.perf_counter() - started_single
    publisher.close()
    print(f"\nlanded {20_000 / elapsed:,.0f} observations/s (100 per message), "
          f"{2000 / elapsed_single:,.0f} messages/s (1 observation each)")
    assert _landed(tmp_path, "sensors").num_rows == 22_000
    assert 20_000 / elapsed > 2_000  # a loose floor for a shared machine; the print is the measure
