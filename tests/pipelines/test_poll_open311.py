"""The Open311 poller: recorded city answers served over HTTP, retries and backoff, a kill between
landing and saving its state. (Following UrbanPulse's own server: tests/dashboard/test_open311_server.py.)"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest
from samples import sample_file

from pipelines.poll_open311 import Open311Poller, PollError, PollState
from pipelines.sources.requests import read_raw_batches
from plumbing.landing import LandingLog
from schemas import requests as rq

NOW = datetime(2026, 12, 1, tzinfo=UTC)


class Recorded:
    """A local HTTP server answering `requests.{json,xml}` with a file, after `failures` answers of
    `failure_status`; it keeps the query strings it was asked."""

    def __init__(self, body: bytes, failures: int = 0, failure_status: int = 503, retry_after: str | None = None):
        self.body, self.failures, self.failure_status, self.retry_after = body, failures, failure_status, retry_after
        self.asked: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.asked.append(self.path)
                if owner.failures:
                    owner.failures -= 1
                    self.send_response(owner.failure_status)
                    if owner.retry_after:
                        self.send_header("Retry-After", owner.retry_after)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/open311/v2"

    def close(self) -> None:
        self.server.shutdown()


def _poller(tmp_path: Path, url: str, fmt: str = "json", sleeps: list | None = None) -> tuple[Open311Poller, LandingLog]:
    log = LandingLog(tmp_path / "landing", "city-endpoint")
    state = PollState(tmp_path / "state" / "poll.sqlite")
    return Open311Poller(url, log, state, fmt=fmt, sleep=(sleeps.append if sleeps is not None else lambda _s: None)), log


def _landed(log: LandingLog) -> pl.DataFrame:
    return pl.concat([pl.from_arrow(log.read(seq).records) for seq in range(log.end())]) if log.end() else None


@pytest.mark.parametrize("name, fmt", [("bloomington_requests.json", "json"), ("san_francisco_requests.xml", "xml")])
def test_recorded_city_answers_are_landed_once(tmp_path, name, fmt):
    path = sample_file("open311", name)
    served = Recorded(path.read_bytes())
    try:
        poller, log = _poller(tmp_path, served.url, fmt)
        first = poller.poll(now=NOW)
        second = poller.poll(now=NOW + timedelta(hours=1))
    finally:
        served.close()
    expected = pl.from_arrow(pl.concat([pl.from_arrow(b) for b in read_raw_batches(path, f"open311-{fmt}")]).to_arrow())
    assert first.landed == expected.height > 0 and first.windows == 1 and log.end() == 1
    assert second.landed == 0 and second.unchanged == expected.height and log.end() == 1
    landed = _landed(log)
    assert landed[rq.SERVICE_REQUEST_ID].to_list() == expected[rq.SERVICE_REQUEST_ID].to_list()
    assert landed[rq.DESCRIPTION].to_list() == expected[rq.DESCRIPTION].to_list()
    assert "start_date=2026-09-02T00%3A00%3A02Z" in served.asked[0]  # 90 days (less 2 s) before the first poll
    assert "start_date=2026-11-24T00%3A00%3A00Z" in served.asked[1]  # the cursor minus the 7-day lookback


def test_server_errors_are_retried_with_backoff(tmp_path):
    body = sample_file("open311", "bloomington_requests.json").read_bytes()
    sleeps: list[float] = []
    served = Recorded(body, failures=3)
    try:
        poller, log = _poller(tmp_path, served.url, sleeps=sleeps)
        assert poller.poll(now=NOW).landed > 0
    finally:
        served.close()
    assert sleeps == [1.0, 2.0, 4.0] and len(served.asked) == 4
    limited = Recorded(body, failures=1, failure_status=429, retry_after="7")
    try:
        poller, _ = _poller(tmp_path / "b", limited.url, sleeps=(sleeps := []))
        poller.poll(now=NOW)
    finally:
        limited.close()
    assert sleeps == [7.0]
    down = Recorded(body, failures=100)
    try:
        poller, log = _poller(tmp_path / "c", down.url)
        with pytest.raises(PollError, match="did not answer after 6 attempts"):
            poller.poll(now=NOW)
    finally:
        down.close()
    assert log.end() == 0 and PollState(tmp_path / "c" / "state" / "poll.sqlite").cursor() is None


def test_a_kill_between_landing_and_saving_state_lands_nothing_twice(tmp_path, monkeypatch):
    body = sample_file("open311", "bloomington_requests.json").read_bytes()
    served = Recorded(body)
    try:
        poller, log = _poller(tmp_path, served.url)
        original = PollState.commit

        def killed(self, token=None):
            raise KeyboardInterrupt("killed after landing, before the state was saved")

        monkeypatch.setattr(PollState, "commit", killed)
        with pytest.raises(KeyboardInterrupt):
            poller.poll(now=NOW)
        assert log.end() == 1
        monkeypatch.setattr(PollState, "commit", original)
        again, log = _poller(tmp_path, served.url)  # a new process: state from disk
        report = again.poll(now=NOW + timedelta(minutes=5))
    finally:
        served.close()
    assert report.landed == 0 and log.end() == 1 and report.unchanged > 0
    assert again.state.cursor() == NOW + timedelta(minutes=5)
