"""The live half of `make demo`: stream, feed server and a steady flow of requests, until Ctrl-C.

The stream (`urbanpulse stream requests`) and the feed (`urbanpulse serve`) run as their own
processes, as they would on a department's server; this process plays the city's intake, landing
generated requests of the last three days at a steady rate, and prints what the feed shows. Ctrl-C
reaches all three: the stream drains and commits, the server closes its event streams, and the
demo prints the live store's ledger.
"""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pyarrow as pa

from flows.cli_steps import free_port, stop_processes, urbanpulse_process
from flows.live_demo_sensors import LiveSensors
from flows.live_demo_votes import LiveVote
from flows.open311_demo import prepare_open311, start_posting
from models.cities.pack import CityPack
from plumbing.landing import LandingLog
from plumbing.live_store.reader import LiveStoreReader
from plumbing.workspace import Workspace
from schemas import ledger
from schemas import open311 as o3
from synthetic.replayer import land_at_rate, raw_records, recent_requests

SOURCE = "demo-311"
LIVE_SEED = 7
STATUS_EVERY_SECONDS = 10.0


def _status(base: str, timezone: str) -> str:
    """One line: what the stream committed, and the busiest district of the latest day in the feed."""
    try:
        health = httpx.get(f"{base}/health", timeout=2).json()
        days = httpx.get(f"{base}/api/v1/requests/windows", params={"window": "1d"}, timeout=5).json()["rows"]
    except (httpx.HTTPError, KeyError, ValueError):
        return "waiting for the stream..."
    counts = health.get("ledger", {})
    line = (f"committed {counts.get(ledger.RECORDS_OUT, 0):,} requests + {counts.get(ledger.DEAD_LETTERS, 0):,} dead letters; "
            f"lag {sum(health.get('lag_segments', {}).values())} segments")
    latest = max((row["window_start"] for row in days), default=None)
    per_district: dict[str, int] = {}
    for row in days:
        if row["window_start"] == latest and row["district_id"]:
            per_district[row["district_id"]] = per_district.get(row["district_id"], 0) + row["new"]
    if per_district:
        busiest = max(per_district, key=per_district.get)
        day = datetime.fromisoformat(latest).astimezone(ZoneInfo(timezone)).date()
        line += f"; {day}: busiest district {busiest} ({per_district[busiest]:,} new)"
    return line


def live_requests(pack: CityPack, count: int, first_id: int, seed: int = LIVE_SEED) -> pa.Table:
    """The raw records the live part lands: requests of the last three days, numbered from
    `first_id` on, so they never reuse an id of the batch part (which would publish one
    request twice, on two dates)."""
    return raw_records(recent_requests(pack, count, seed, days=3, first_id=first_id), SOURCE, "live-demo")


def run_live_demo(workspace: Workspace, city: str, rate: float, seconds: float | None, port: int = 8000,
                  first_id: int = 1, sensors: LiveSensors | None = None, vote: LiveVote | None = None) -> dict:
    """Until Ctrl-C (or `seconds`): land `rate` requests/s, stream them, serve the feed.
    `first_id`: the first request id after those the city already has (the batch part's);
    `sensors`: the sensor part (MQTT broker, lander, stream, publisher), `vote`: a vote open live
    (its stream and ballots), both started and stopped here."""
    pack = CityPack.load(workspace.city(city))
    count = round(rate * (seconds or 3_600))
    records = live_requests(pack, count, first_id)
    log = LandingLog(workspace.landing(city), SOURCE).create()
    demo_key = prepare_open311(workspace, city)  # a tenth of the load comes in by Open311 POST requests
    share = records.num_rows // 10
    posted, records = records.slice(0, share), records.slice(share)
    port = free_port(port)
    base = f"http://127.0.0.1:{port}"
    stream = urbanpulse_process(workspace.root, "stream", "requests", "--city", city, "--source", SOURCE,
                                "--source", o3.SOURCE, "--handover-seconds", "10")
    server = urbanpulse_process(workspace.root, "serve", "--city", city, "--port", str(port))
    print(f"\nlive: landing {rate:,.0f} requests/s into {log.root}; press Ctrl-C to stop")
    print(f"  feed (server-sent events): curl -N {base}/api/v1/stream")
    print(f"  windows:  {base}/api/v1/requests/windows?window=15m   KPIs: {base}/api/v1/requests/kpis")
    print(f"  health:   {base}/health   API reference: {base}/docs", flush=True)
    print(f"  dashboard: {base}/   (open it in a browser: it updates live)", flush=True)
    print(f"  Open311:  {base}{o3.ROOT}/discovery.json   demo API key: {demo_key}")
    print(f"  report:   curl -d api_key={demo_key} -d service_code=road_damage -d lat=55.75 -d long=37.62 "
          f"-d description=Pothole {base}{o3.ROOT}/requests.json", flush=True)
    if sensors is not None:
        sensors.start()
    if vote is not None:
        vote.start(base)
    stop = threading.Event()
    if seconds:
        threading.Timer(seconds, stop.set).start()

    # Ctrl-C: stop landing; the stream and the server are told below (a second signal is harmless)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    producer = threading.Thread(target=land_at_rate, args=(log, records, rate * 0.9, 0.5, stop), daemon=True)
    producer.start()
    poster = start_posting(workspace, city, base, posted, rate * 0.1, demo_key, stop)
    while not stop.wait(STATUS_EVERY_SECONDS):
        print(f"  {_status(base, pack.timezone)}", flush=True)
    print("\nstopping: the stream drains and commits what it has read...", flush=True)
    producer.join()
    poster.join(timeout=15)
    if sensors is not None:
        sensors.stop()
        print(f"  sensors: {sensors.published:,} observations published over MQTT", flush=True)
    if vote is not None:
        vote.stop()
        print(f"  vote: {vote.landed:,} ballots landed into {vote.election_id!r}", flush=True)
    stop_processes((stream, server), 120)
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    store = LiveStoreReader.open(workspace.live_store(city))
    try:
        counts = store.ledger()
    finally:
        store.close()
    print(f"live store {workspace.live_store(city)}: {counts[ledger.RECORDS_IN]:,} records landed = "
          f"{counts[ledger.RECORDS_OUT]:,} out + {counts[ledger.DEAD_LETTERS]:,} dead letters ({counts[ledger.TOO_LATE]:,} too late)")
    print(f"dashboard: `urbanpulse --home {workspace.root} serve --city {city} --port {port}`, then open {base}/")
    return counts
