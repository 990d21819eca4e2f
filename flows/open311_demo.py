"""The Open311 part of `make demo`: a demo API key, and part of the live load sent as `POST requests`.

`flows.live_demo` starts the stream and the server; with these, a share of its generated requests
reaches UrbanPulse the way a citizen app's reports would: form-encoded POSTs to
`/open311/v2/requests.json`, at a steady rate, from a thread beside the landing producer.
"""

from __future__ import annotations

import threading
import time

import httpx
import pyarrow as pa

from plumbing.api_keys import KeyStore
from plumbing.landing import LandingLog
from plumbing.open311_services import city_services
from plumbing.workspace import Workspace
from schemas import open311 as o3
from schemas import requests as rq

DEMO_KEY_NAME = "make demo"


def prepare_open311(workspace: Workspace, city: str) -> str:
    """The `open311` landing log (so the stream follows it from its start) and a new demo key."""
    LandingLog(workspace.landing(city), o3.SOURCE).create()
    keys = KeyStore.of(workspace)
    try:
        _, key = keys.create(DEMO_KEY_NAME, rate_per_minute=1_000_000)
    finally:
        keys.close()
    return key


def report_fields(records: pa.Table, services: list[str], key: str) -> list[dict]:
    """POST fields of generated raw records: the citizen picks a service, gives text and a point."""
    rows = records.select([rq.DESCRIPTION, rq.LAT, rq.LONG, rq.ADDRESS]).to_pylist()
    fields = []
    for number, row in enumerate(rows):
        location = ({rq.LAT: row[rq.LAT], rq.LONG: row[rq.LONG]} if row[rq.LAT] and row[rq.LONG]
                    else {o3.ADDRESS_STRING: row[rq.ADDRESS] or "unknown"})
        fields.append({o3.API_KEY: key, rq.SERVICE_CODE: services[number % len(services)],
                       rq.DESCRIPTION: row[rq.DESCRIPTION] or "", **location})
    return fields


def post_at_rate(url: str, reports: list[dict], rate: float, stop: threading.Event) -> int:
    """POST `reports` to `url` (…/open311/v2/requests.json) at `rate` a second until `stop`; the
    number accepted. A refused or failed POST is skipped (the demo goes on)."""
    accepted = 0
    with httpx.Client(timeout=10) as client:
        _wait_for_server(client, url.rsplit("/", 1)[0] + "/services.json", stop)
        started = time.monotonic()
        for number, fields in enumerate(reports):
            if stop.is_set():
                break
            wait = started + number / rate - time.monotonic()
            if wait > 0 and stop.wait(wait):
                break
            try:
                accepted += client.post(url, data=fields).status_code == 201
            except httpx.HTTPError:
                continue
    return accepted


def _wait_for_server(client: httpx.Client, url: str, stop: threading.Event, seconds: float = 60.0) -> None:
    """Until the server answers (it starts beside the demo's producer), or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop.is_set():
        try:
            if client.get(url).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        stop.wait(0.5)


def start_posting(workspace: Workspace, city: str, base: str, records: pa.Table, rate: float, key: str,
                  stop: threading.Event) -> threading.Thread:
    """A thread posting `records` as reports to the server at `base` at `rate` a second."""
    services = list(city_services(workspace.city(city))) or ["unclassified"]
    reports = report_fields(records, services, key)
    thread = threading.Thread(target=post_at_rate, args=(f"{base}{o3.ROOT}/requests.json", reports, rate, stop),
                              name="urbanpulse-open311-demo", daemon=True)
    thread.start()
    return thread
