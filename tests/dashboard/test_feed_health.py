"""/health says when the live path is not keeping up (regression: "ok" while a source landed
after the stream's start was never read, or while the stream was stopped)."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
import pytest
from conftest import build_tiny_pack
from feed_fixtures import CITY, feed_home, feed_in_thread
from live_fixtures import land_chunks

from dashboard.limits import FeedLimits
from pipelines.stream_requests import replay
from plumbing.landing import LandingLog
from plumbing.workspace import Workspace
from synthetic.replayer import recent_requests

ALARM = 3.0  # seconds a landed segment may wait for the stream


def _health(url: str) -> tuple[int, dict]:
    response = httpx.get(f"{url}/health", timeout=10)
    return response.status_code, response.json()


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return feed_home(tmp_path_factory.mktemp("health-home"), tmp_path_factory.mktemp("feeds"),
                     landed=1_000, more=1_000)


def test_health_turns_lagging_then_not_following_then_ok(home, tmp_path):
    with feed_in_thread(home.workspace, FeedLimits(lag_alarm_seconds=ALARM)) as url:
        code, body = _health(url)
        assert (code, body["status"], body["lag_segments"], body["detail"]) == (200, "ok", {"city311": 0}, "")

        # a stopped stream: segments land and nobody commits them
        land_chunks(home.log, home.more.head(500), 500, tmp_path)
        code, body = _health(url)  # just landed: a running stream would commit it in a moment
        assert (code, body["status"], body["lag_segments"]) == (200, "ok", {"city311": 1})
        time.sleep(ALARM + 0.5)
        code, body = _health(url)
        assert (code, body["status"], body["lagging"], body["not_following"]) == (503, "lagging", ["city311"], [])
        assert body["lag_segments"] == {"city311": 1} and body["behind_seconds"]["city311"] > ALARM
        assert "'city311'" in body["detail"] and "urbanpulse stream requests --city tiny" in body["detail"]

        # a source that lands while the stream follows only the others
        later = LandingLog(home.workspace.landing(CITY), "mobile-app").create("csv")
        land_chunks(later, home.more.tail(500), 250, tmp_path)
        time.sleep(ALARM + 0.5)
        replay(replace(home.settings, sources=["city311"]))
        code, body = _health(url)
        assert (code, body["status"], body["lagging"], body["not_following"]) == (
            503, "not_following", [], ["mobile-app"])
        assert body["lag_segments"] == {"city311": 0, "mobile-app": 2} and "mobile-app" not in body["committed"]
        assert "'mobile-app'" in body["detail"] and "restart" in body["detail"]
        assert "'city311'" not in body["detail"]

        replay(home.settings)  # every source, caught up
        code, body = _health(url)
        assert (code, body["status"], body["lag_segments"]) == (200, "ok", {"city311": 0, "mobile-app": 0})
        assert body["accounting_ok"] is True


def test_health_without_a_stream_ever(tmp_path):
    build_tiny_pack(tmp_path)
    workspace = Workspace(tmp_path)
    with feed_in_thread(workspace, FeedLimits(lag_alarm_seconds=ALARM)) as url:
        code, body = _health(url)
        assert (code, body["status"], body["landed"]) == (200, "waiting", {})
        log = LandingLog(workspace.landing(CITY), "city311").create("csv")
        land_chunks(log, recent_requests(build_tiny_pack(tmp_path), 100, seed=3), 100, tmp_path)
        assert _health(url)[1]["status"] == "waiting"
        time.sleep(ALARM + 0.5)
        code, body = _health(url)
        assert (code, body["status"], body["not_following"]) == (503, "not_following", ["city311"])
        assert "urbanpulse stream requests --city tiny" in body["detail"]
