"""Land sensor observations published over MQTT into the city's sensor landing logs.

`MqttLander` subscribes (paho-mqtt, QoS 1) to `mqtt://host:port/<topic filter>` and appends
what arrives to `SensorLandingLog`s of RAW_OBSERVATION rows, a batch every `batch_messages`
messages or `batch_ms` milliseconds. A message is UTF-8 JSON: one observation `{"station_id",
"parameter", "value", "unit", "observed_at", "period_hours"?, "source_valid"?}`, a list of them,
or SensorThings Observations (with their expanded Datastream, as in `sensorthings`). A message
that is not that (not UTF-8, not JSON, too large or deep, an element that is no observation)
lands as an unreadable row keeping its text: nothing is dropped. The source is the message
topic's first level (or the `source` given), made a landing source name by `sensor_source`.

Guarantees. A message is acknowledged to the broker only after its rows are published (fsynced)
in the log, so a lander that dies loses nothing the broker still holds: landing is at least
once, and a message landed but not yet acknowledged when the connection broke is delivered and
landed again (consumers deduplicate on station, parameter and period). The session is
persistent (fixed client id, clean_session False): while the lander is away, a broker that keeps
the session queues QoS 1 messages for it and delivers them on reconnect. The lander reconnects
with exponential backoff and subscribes again on every connect. Not guaranteed: messages a
broker drops (a restarted broker without persistence, as `EmbeddedBroker`, forgets sessions and
queues; amqtt queues only for sessions that gave a user name), and QoS 0 publications.

`EmbeddedBroker` is an in-process amqtt broker on 127.0.0.1 for demos and tests; it accepts any
client that gives a user name, without a password check.
"""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pyarrow as pa

from pipelines.sources.sensors.mqtt_json import decode_message
from pipelines.sources.sensors.sensorthings import Row
from plumbing.sensor_landing import SensorLandingLog, sensor_source
from schemas import requests as rq
from schemas import sensors as sn

DEFAULT_TOPIC = "sensors/#"


@dataclass(frozen=True)
class BrokerUrl:
    host: str
    port: int
    topic: str

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        """`mqtt://host:port/topic/filter/#` (port 1883 and topic `sensors/#` by default); the
        topic is everything after the address, `#` and `+` included (they are not URL syntax)."""
        address, _, topic = url.partition("://")[2].partition("/")
        parts = urlsplit(f"mqtt://{address}")
        if not url.startswith("mqtt://") or not parts.hostname:
            raise ValueError(f"broker URL {url!r}: use mqtt://host:port/topic/#")
        return cls(parts.hostname, parts.port or 1883, topic or DEFAULT_TOPIC)


class EmbeddedBroker:
    """An amqtt broker running its asyncio loop in a thread; `with EmbeddedBroker() as b:`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, topic: str = DEFAULT_TOPIC) -> None:
        self.host, self.port, self.topic = host, port or _free_port(host), topic
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}/{self.topic}"

    def start(self) -> EmbeddedBroker:
        from amqtt.broker import Broker  # imported here: only the demo broker needs amqtt

        config = {"listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
                  "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False}}}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mqtt-broker", daemon=True)
        self._thread.start()

        async def started() -> object:
            broker = Broker(config)
            await broker.start()
            return broker

        self._broker = asyncio.run_coroutine_threadsafe(started(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop).result(timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()
            self._loop = self._broker = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class _Message:
    topic: str
    payload: bytes
    mid: int
    qos: int
    connection: int  # which connection it came on: only that one can acknowledge it


class MqttLander:
    """Subscribe to a broker and land its messages (see the module docstring for guarantees)."""

    def __init__(self, landing_root: Path, url: str, *, source: str | None = None,
                 client_id: str = "urbanpulse-sensor-lander", username: str = "urbanpulse",
                 password: str | None = None, batch_messages: int = 1000, batch_ms: int = 200,
                 backoff: tuple[float, float] = (0.1, 30.0)) -> None:
        self.landing_root, self.broker, self.source = Path(landing_root), BrokerUrl.parse(url), source
        self.batch_messages, self.batch_seconds = batch_messages, batch_ms / 1000
        self.messages_landed = self.rows_landed = self.connects = 0
        self.connected = threading.Event()
        self._queue: queue.SimpleQueue[_Message] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._connection = 0
        self._backoff = backoff
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                   clean_session=False, protocol=mqtt.MQTTv311, manual_ack=True)
        self._client.username_pw_set(username, password)
        self._client.reconnect_delay_set(backoff[0], backoff[1])  # type: ignore[arg-type]
        self._client.on_connect, self._client.on_disconnect = self._on_connect, self._on_disconnect
        self._client.on_message, self._client.on_subscribe = self._on_message, self._on_subscribe
        self._writer = threading.Thread(target=self._run, name="mqtt-lander", daemon=True)

    def start(self) -> MqttLander:
        self._client.connect_async(self.broker.host, self.broker.port, keepalive=15)
        self._client.loop_start()  # the network thread: connects, reconnects with backoff
        self._writer.start()
        return self

    def stop(self) -> None:
        """Land what has arrived, acknowledge it, then disconnect."""
        self._stopping.set()
        self._writer.join()
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> MqttLander:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _on_connect(self, client: mqtt.Client, _userdata, _flags, reason, _props) -> None:
        if reason.is_failure:
            return
        self._connection += 1
        self.connects += 1
        client.subscribe(self.broker.topic, qos=1)  # again on every connect: the broker may be new

    def _on_subscribe(self, *_: object) -> None:
        self.connected.set()  # connected and subscribed: what is published now reaches the lander

    def _on_disconnect(self, *_: object) -> None:
        self.connected.clear()

    def _on_message(self, _client: mqtt.Client, _userdata, message: mqtt.MQTTMessage) -> None:
        self._queue.put(_Message(message.topic, message.payload, message.mid, message.qos, self._connection))

    def _run(self) -> None:
        while not (self._stopping.is_set() and self._queue.empty()):
            batch = self._take()
            delay = self._backoff[0]
            while batch:
                try:
                    self._land(batch)
                    break
                except OSError:  # a full or unwritable disk: keep the batch, try again
                    time.sleep(delay)
                    delay = min(delay * 2, self._backoff[1])

    def _take(self) -> list[_Message]:
        """The next batch: up to `batch_messages`, waiting at most `batch_ms` after the first."""
        batch: list[_Message] = []
        deadline = time.monotonic() + self.batch_seconds
        while len(batch) < self.batch_messages:
            try:
                batch.append(self._queue.get(timeout=max(deadline - time.monotonic(), 0.001)))
            except queue.Empty:
                if batch or self._stopping.is_set():
                    break
                deadline = time.monotonic() + self.batch_seconds
        return batch

    def _land(self, batch: list[_Message]) -> None:
        by_source: dict[str, list[Row]] = {}
        for message in batch:
            source = sensor_source(self.source or message.topic.split("/", 1)[0] or "sensors")
            rows = by_source.setdefault(source, [])
            for row in decode_message(message.payload):
                row.update({rq.SOURCE: source, rq.SOURCE_FILE: f"mqtt:{message.topic}",
                            rq.SOURCE_POSITION: len(rows)})
                rows.append(row)
        origin = f"mqtt://{self.broker.host}:{self.broker.port}"
        for source, rows in by_source.items():
            table = pa.Table.from_pylist(rows, schema=sn.RAW_OBSERVATION)
            SensorLandingLog(self.landing_root, source).append(table, origin)
            self.rows_landed += len(rows)
        for message in batch:  # only now: a crash before this leaves them with the broker
            if message.qos and message.connection == self._connection:
                self._client.ack(message.mid, message.qos)
        self.messages_landed += len(batch)
