"""The live demo's status line reads the feed's health and windows (regression: it crashed after
the ledger names moved to `schemas.ledger`, ending `make demo` with a traceback)."""

from __future__ import annotations

import httpx
import polars as pl

from flows import live_demo
from flows.demo import DEMO_CITY, build_city, generate_feed, next_request_id
from models.cities.pack import CityPack
from plumbing.workspace import Workspace
from schemas import ledger
from schemas import requests as rq


class _Answer:
    def __init__(self, body: dict) -> None:
        self.body = body

    def json(self) -> dict:
        return self.body


def test_status_line_counts_and_names_the_busiest_district(monkeypatch) -> None:
    health = {"ledger": {ledger.RECORDS_OUT: 1_234, ledger.DEAD_LETTERS: 5}, "lag_segments": {"demo-311": 2}}
    rows = [{"window_start": "2026-12-01T21:00:00Z", "district_id": "D-01", "new": 7},
            {"window_start": "2026-12-01T21:00:00Z", "district_id": "D-02", "new": 9},
            {"window_start": "2026-11-30T21:00:00Z", "district_id": "D-01", "new": 50}]
    answers = {"/health": health, "/api/v1/requests/windows": {"rows": rows}}
    monkeypatch.setattr(live_demo.httpx, "get", lambda url, **_: _Answer(answers[url.split("8000")[1]]))
    line = live_demo._status("http://127.0.0.1:8000", "Europe/Moscow")
    assert line == ("committed 1,234 requests + 5 dead letters; lag 2 segments; "
                    "2026-12-02: busiest district D-02 (9 new)")


def test_status_line_waits_while_the_feed_is_not_up(monkeypatch) -> None:
    def refused(*_args, **_kwargs):
        raise httpx.ConnectError("refused")

    monkeypatch.setattr(live_demo.httpx, "get", refused)
    assert live_demo._status("http://127.0.0.1:8000", "UTC") == "waiting for the stream..."


def test_the_live_part_never_reuses_an_id_of_the_batch_part(tmp_path) -> None:
    """Regression: both parts numbered their requests from 1, so the published dataset held two
    rows (on two dates) for one id. Same generator, same seed: only the id range tells them apart."""
    home, count, seed = str(tmp_path), 4_000, live_demo.LIVE_SEED
    build_city.fn(home)
    batch = pl.read_csv(generate_feed.fn(home, count, seed, "requests", 60), infer_schema=False)
    pack = CityPack.load(Workspace(tmp_path).city(DEMO_CITY))
    batch_ids = set(batch[rq.SERVICE_REQUEST_ID].drop_nulls())

    live = live_demo.live_requests(pack, 1_500, next_request_id(count))
    live_ids = set(live.column(rq.SERVICE_REQUEST_ID).drop_null().to_pylist())
    assert len(batch_ids) > count * 0.9 and len(live_ids) > 1_500 * 0.9
    assert not batch_ids & live_ids
    assert min(live_ids) > max(batch_ids)  # filed later, numbered later
    numbered_from_one = live_demo.live_requests(pack, 1_500, 1)
    assert batch_ids & set(numbered_from_one.column(rq.SERVICE_REQUEST_ID).drop_null().to_pylist())
