"""Live sensors benchmark (`make bench-live-sensors`): publish observations to the embedded MQTT
broker at a fixed rate while the lander, the stream of sensors and the feed run, and measure
landed -> visible in the feed.

    python -m bench.live_sensors [--rate 20000] [--seconds 60] [--per-message 100] [--stations 500]

As a city would run it, each in its own process: `urbanpulse serve`, the MQTT lander with its
embedded broker (`mqtt land`), the stream of sensors (`stream sensors`). A publisher here sends
`rate * tick / per_message` QoS 1 messages every `tick` seconds: every series (stations x pm25,
pm10, no2, temperature) gets one observation per tick, one simulated second apart, and a probe
station one more. Latencies: landed -> committed (the store's ledger), landed -> the segment's
`sensors` change event on /api/v1/stream, and published -> visible in
/api/v1/sensors/probe/hourly (polled every 50 ms: a tick is visible once the probe's count covers
it). At the end the stored hourly means are checked against a direct computation.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import psutil

from bench.live import _percentiles, _start, _wait_for
from bench.report import code_state, machine_info, save_report
from bench.workload import build_city
from flows.cli_steps import stop_processes, urbanpulse_command
from plumbing.live_store.reader import LiveStoreReader
from plumbing.workspace import Workspace
from schemas import live as lv
from schemas import live_sensors as ls

OUT = Path(__file__).resolve().parent / "out"
CITY, PORT, MQTT_PORT = "demo", 8767, 18830
PARAMETERS = {"pm25": 12.0, "pm10": 25.0, "no2": 40.0, "temperature": 8.0}
START = datetime(2026, 3, 1, tzinfo=UTC)
POLL_SECONDS = 0.05


def _say(message: str) -> None:
    print(f"[bench-live-sensors] {message}", flush=True)


def role(name: str, home: Path) -> int:
    """Run one of the benchmark's processes (`lander` or `stream`) as the commands do."""
    from flows import cli_live, cli_live_sensors

    parser = argparse.ArgumentParser()
    commands, groups = parser.add_subparsers(dest="command"), {}
    cli_live.register(commands, groups)
    cli_live_sensors.register(commands, groups)
    argv = (["mqtt", "land", "--city", CITY, "--port", str(MQTT_PORT)] if name == "lander"
            else ["stream", "sensors", "--city", CITY])
    args, extra = parser.parse_known_args(argv)
    return args.handler(args, extra, Workspace(home))


def _process(name: str, home: Path) -> subprocess.Popen:
    """One of the benchmark's roles in its own process."""
    command = [sys.executable, "-m", "bench.live_sensors", "--role", name, "--home", str(home)]
    return _start(command, OUT / "logs" / f"sensors-{name}.log")


def tick_messages(tick: int, stations: int, per_message: int) -> list[bytes]:
    """One tick's messages: every series one observation at START + tick seconds, and the probe."""
    at = (START + timedelta(seconds=tick)).isoformat()
    rows = [f'{{"station_id":"st{s:04d}","parameter":"{p}","value":{level + (s * 7 + tick) % 11 * (30 if p == "no2" and s < 5 else 1)},'
            f'"observed_at":"{at}"}}' for s in range(stations) for p, level in PARAMETERS.items()]
    messages = [("[" + ",".join(rows[i:i + per_message]) + "]").encode() for i in range(0, len(rows), per_message)]
    return [*messages, json.dumps({"station_id": "probe", "parameter": "count", "value": 1, "observed_at": at}).encode()]


class Watchers:
    """The event-stream reader and the probe poller."""

    def __init__(self, url: str) -> None:
        self.url, self.stop = url, threading.Event()
        self.events: list[tuple[float, int]] = []  # (landed -> event seconds, records in)
        self.probe: list[tuple[float, int]] = []  # (monotonic time, probe observations visible)
        self.threads = [threading.Thread(target=self._events, daemon=True), threading.Thread(target=self._poll, daemon=True)]
        for thread in self.threads:
            thread.start()

    def _events(self) -> None:
        """Landed -> arrival of every `sensors` change event."""
        while not self.stop.is_set():
            try:
                with httpx.stream("GET", f"{self.url}/api/v1/stream", timeout=None) as response:
                    for line in response.iter_lines():
                        if line.startswith("data: ") and '"kind": "sensors"' in line:
                            segment = json.loads(line[6:])["segment"]
                            latency = (datetime.now(UTC) - datetime.fromisoformat(segment["landed_at"])).total_seconds()
                            self.events.append((latency, segment["records_in"]))
            except httpx.HTTPError:
                time.sleep(0.2)

    def _poll(self) -> None:
        """How many probe observations the feed shows, every 50 ms."""
        with httpx.Client(timeout=10) as client:
            while not self.stop.wait(POLL_SECONDS):
                try:
                    answer = client.get(f"{self.url}/api/v1/sensors/probe/hourly", params={"parameter": "count"})
                except httpx.HTTPError:
                    continue
                if answer.status_code == 200:
                    self.probe.append((time.monotonic(), sum(h["count"] for h in answer.json()["hours"])))

    def visible_after(self, published: list[float]) -> list[float]:
        """Published -> first poll that showed each tick's probe observation."""
        found, position = [], 0
        for when, count in self.probe:
            while position < len(published) and position < count:
                found.append(when - published[position])
                position += 1
        return found


def publish(stations: int, per_message: int, seconds: float, tick: float, first: int = 0) -> tuple[list[float], int, int]:
    """Publish ticks `first`... for `seconds`; returns (publish time of each tick, messages, late ticks)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.username_pw_set("bench")
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", MQTT_PORT)
    client.loop_start()
    published, messages, late, started = [], 0, 0, time.monotonic()
    ticks = round(seconds / tick)
    for number in range(ticks):
        due = started + number * tick
        if time.monotonic() < due:
            time.sleep(due - time.monotonic())
        elif time.monotonic() - due > tick:
            late += 1
        batch = tick_messages(first + number, stations, per_message)
        published.append(time.monotonic())
        for payload in batch:
            client.publish("sensors/bench", payload, qos=1)
        messages += len(batch)
    time.sleep(1.0)
    client.loop_stop()
    client.disconnect()
    return published, messages, late


def measure(home: Path, stations: int, per_message: int, rate: float, seconds: float, tick: float) -> dict:
    """Start the three processes, publish, wait for the last tick to be visible, stop, compute."""
    server = _start(urbanpulse_command(home, "serve", "--city", CITY, "--port", str(PORT)), OUT / "logs" / "sensors-serve.log")
    lander = _process("lander", home)
    url, streamer, watchers = f"http://127.0.0.1:{PORT}", None, None
    try:
        _wait_for(f"{url}/api/v1/sensors/stations")
        time.sleep(3)  # the broker and lander start
        warm_up = len(publish(stations, per_message, 1.0, tick)[0])  # the first segments create the log
        streamer = _process("stream", home)
        watchers = Watchers(url)
        deadline = time.monotonic() + 120
        while (watchers.probe[-1][1] if watchers.probe else 0) < warm_up and time.monotonic() < deadline:
            time.sleep(0.1)
        watchers.events.clear()
        before, started = warm_up, datetime.now(UTC)
        processes = [psutil.Process(p.pid) for p in (server, lander, streamer)]
        for process in processes:
            process.cpu_percent()
        load_before = os.getloadavg()
        published, messages, late = publish(stations, per_message, seconds, tick, warm_up)
        cpu = {n: round(p.cpu_percent(), 1) for n, p in zip(("feed", "lander", "stream"), processes)}
        deadline = time.monotonic() + 120
        while (watchers.probe[-1][1] if watchers.probe else 0) < before + len(published) and time.monotonic() < deadline:
            time.sleep(0.2)
        load_after = os.getloadavg()
    finally:
        if watchers is not None:
            watchers.stop.set()
        stop_processes([p for p in (streamer, lander) if p is not None], 60)
        server.terminate()
        server.wait(timeout=30)
    ticks = published
    shown = watchers.visible_after([0.0] * before + ticks)[before:]
    return {
        "offered_rate": rate, "observations": len(ticks) * (stations * len(PARAMETERS) + 1), "messages": messages,
        "publish_seconds": round(ticks[-1] - ticks[0] + tick, 1), "late_ticks": late, "segments_with_event": len(watchers.events),
        "commit_latency_seconds": _percentiles(_commit_latencies(home, started)),
        "event_latency_seconds": _percentiles([latency for latency, _ in watchers.events]),
        "published_to_visible_seconds": _percentiles(shown), "ticks_visible": len(shown),
        "rows_per_segment": _percentiles([float(rows) for _, rows in watchers.events]),
        "cpu_percent_during_publishing": cpu, "load_average_before_after": [load_before, load_after],
    }


def _commit_latencies(home: Path, since: datetime) -> list[float]:
    """Landed -> committed of the segments that landed from `since` on (not the warm-up)."""
    reader = LiveStoreReader.open(Workspace(home).live_store(CITY))
    try:
        rows = reader.db.execute(f"SELECT {lv.COMMITTED_AT} - {lv.LANDED_AT} FROM {ls.SEGMENTS_TABLE.name} "
                                 f"WHERE {lv.LANDED_AT} >= ? ORDER BY {lv.SEQ}", (int(since.timestamp() * 1e6),)).fetchall()
    finally:
        reader.close()
    return [micros / 1e6 for (micros,) in rows]


def render(report: dict) -> str:
    """The report as Markdown: the machine and its load, the run, the three latencies."""
    machine, run = report["machine"], report["run"]
    row = lambda name, lat: f"| {name} | {lat.get('p50')} | {lat.get('p95')} | {lat.get('p99')} | {lat.get('max')} |"  # noqa: E731
    return "\n".join([
        "# Live sensors benchmark", "",
        f"Machine: {machine['nproc']} cores, {machine['cpu_model']}, {machine['ram_gb']} GB; commit "
        f"{report['code'].get('commit', '')}; load average before / after {run['load_average_before_after'][0][0]:.2f} / "
        f"{run['load_average_before_after'][1][0]:.2f}; CPU % during publishing {run['cpu_percent_during_publishing']} "
        "(the publisher and the benchmark's watchers run beside them)", "",
        f"{run['observations']:,} observations at {run['offered_rate']:,.0f}/s in {run['messages']:,} MQTT messages "
        f"({run['publish_seconds']} s, {run['late_ticks']} late ticks); {run['segments_with_event']} segments, rows per "
        f"segment p50 {run['rows_per_segment'].get('p50')}", "",
        "| | p50 s | p95 s | p99 s | max s |", "|---|---:|---:|---:|---:|",
        row("landed -> committed in the live store", run["commit_latency_seconds"]),
        row("landed -> `sensors` change event on /api/v1/stream", run["event_latency_seconds"]),
        row("published -> visible in /sensors/probe/hourly (50 ms polls)", run["published_to_visible_seconds"]), "",
    ])


def main(argv: list[str] | None = None) -> int:
    """Prepare, measure, and write bench/out/live_sensors_report.{json,md}."""
    parser = argparse.ArgumentParser(prog="python -m bench.live_sensors", description=__doc__)
    parser.add_argument("--rate", type=float, default=20_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--per-message", type=int, default=100)
    parser.add_argument("--role", choices=("lander", "stream"), help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, default=OUT / "live-sensors-home", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role:
        return role(args.role, args.home)
    stations = max(1, round(args.rate * 0.1 / len(PARAMETERS)))  # one observation per series per 0.1 s tick
    shutil.rmtree(args.home, ignore_errors=True)
    build_city(Workspace(args.home))
    _say(f"publishing {args.rate:,.0f} observations/s ({stations} stations x {len(PARAMETERS)} parameters) "
         f"for {args.seconds:.0f} s")
    report = {"machine": machine_info(), "code": code_state(), "settings": vars(args) | {"home": str(args.home)},
              "run": measure(args.home, stations, args.per_message, args.rate, args.seconds, 0.1)}
    save_report(OUT, "live_sensors_report", report, render(report))
    print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
