"""The live demo's status line reads the feed's health and windows (regression: it crashed after
the ledger names moved to `schemas.ledger`, ending `make demo` with a traceback)."""

from __future__ import annotations

import httpx

from flows import live_demo
from schemas import ledger


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
