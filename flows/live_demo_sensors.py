"""The sensor part of the live demo: an embedded MQTT broker with its lander, the sensor stream,
and this process publishing the demo stations' observations over MQTT at a steady rate.

    urbanpulse mqtt land --city demo --port P --source demo-sensors   broker + lander (a process)
    urbanpulse stream sensors --city demo --stations FILE              live hourly figures, alerts
    this process: paho-mqtt, QoS 1, JSON lists of 20 observations of the last day's hours in
                  time order (as stations send them), with the generator's late and repeated messages

The feed then serves them at /api/v1/sensors/stations, /{station}/hourly and /alerts.
"""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt

from flows.cli_steps import free_port, stop_processes, urbanpulse_process
from models.cities.pack import CityPack
from plumbing.workspace import Workspace
from synthetic.sensors import generate_observations, generate_stations, mqtt_messages

SOURCE = "demo-sensors"
TOPIC = "sensors/demo"
PER_MESSAGE = 20
CONNECT_SECONDS = 30.0


class LiveSensors:
    """Broker, lander and stream processes, and a publisher thread, until `stop()`."""

    def __init__(self, workspace: Workspace, city: str, stations_file: Path, stations: int, seed: int,
                 rate: float) -> None:
        self.workspace, self.city, self.stations_file = workspace, city, stations_file
        self.stations, self.seed, self.rate = stations, seed, rate
        self.port = free_port(1883)
        self.published = 0
        self._stop = threading.Event()
        self._processes: list[subprocess.Popen] = []
        self._thread: threading.Thread | None = None

    def start(self) -> LiveSensors:
        self._processes = [
            urbanpulse_process(self.workspace.root, "mqtt", "land", "--city", self.city, "--port", str(self.port),
                               "--source", SOURCE),
            urbanpulse_process(self.workspace.root, "stream", "sensors", "--city", self.city,
                               "--stations", str(self.stations_file)),
        ]
        self._thread = threading.Thread(target=self._publish, daemon=True)
        self._thread.start()
        print(f"  sensors:  MQTT broker mqtt://127.0.0.1:{self.port}/{TOPIC} -> {self.rate:,.0f} observations/s; "
              f"stations /api/v1/sensors/stations, alerts /api/v1/sensors/alerts", flush=True)
        return self

    def messages(self) -> list[bytes]:
        """The stations' observations of the last 24 hours up to the current one."""
        pack = CityPack.load(self.workspace.city(self.city))
        stations = generate_stations(pack, self.stations, seed=self.seed)
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        generated = generate_observations(pack, stations, now - timedelta(hours=23), 24, seed=self.seed + 1)
        in_time_order = generated.observations.sort("period_start", "station_id", maintain_order=True)  # as stations send
        return mqtt_messages(in_time_order, per_message=PER_MESSAGE, seed=self.seed, timezone=pack.timezone)

    def _publish(self) -> None:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"urbanpulse-demo-{self.port}")
        client.username_pw_set("demo-sensors")
        deadline = time.monotonic() + CONNECT_SECONDS
        while not self._stop.is_set():
            try:
                client.connect("127.0.0.1", self.port)
                break
            except OSError:  # the lander's broker is still starting
                if time.monotonic() > deadline:
                    print("  sensors: the MQTT broker did not start; no sensor observations in this demo")
                    return
                time.sleep(0.5)
        client.loop_start()
        pause = PER_MESSAGE / max(self.rate, 1.0)
        try:
            for message in self.messages():
                if self._stop.wait(pause):
                    break
                client.publish(TOPIC, message, qos=1)
                self.published += PER_MESSAGE
        finally:
            client.loop_stop()
            client.disconnect()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        stop_processes(self._processes, 60)
