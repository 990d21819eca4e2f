"""The deployments against a real `prefect server start` (SQLite, loopback, a temporary
PREFECT_HOME), served by `urbanpulse serve-flows` in its own process: a scheduled run fires and
publishes the dropped export, and two ingests of one city never overlap."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from conftest import build_tiny_pack, forget_prefect_settings
from messy_requests import write_messy_csv

from flows.deployments import DeploymentPlan, LocalServer, deployments
from plumbing.workspace import Workspace
from schemas import requests as rq

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
# what the test does not use, off: the server starts and runs faster on a shared machine
QUIET_SERVER = {"PREFECT_SERVER_UI_ENABLED": "false", **{
    f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false"
    for name in ("CANCELLATION_CLEANUP", "EVENT_LOGGER", "FOREMAN", "LATE_RUNS", "PAUSE_EXPIRATIONS", "TRIGGERS")}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("urbanpulse-home")
    build_tiny_pack(root)
    inbox = root / "inbox" / "tiny" / "requests"
    inbox.mkdir(parents=True)
    write_messy_csv(inbox / "export-1.csv")
    return root


@pytest.fixture(scope="module")
def served(tmp_path_factory, home: Path):
    """A Prefect server, and `urbanpulse serve-flows` serving the city's request deployments on a
    15 s interval (instead of their cron schedules) against it."""
    patch = pytest.MonkeyPatch()
    forget_prefect_settings(patch)
    prefect_home = tmp_path_factory.mktemp("prefect-home")
    server = LocalServer(prefect_home, free_port(), QUIET_SERVER).start()
    env = {**os.environ, "PREFECT_API_URL": server.api_url, "PREFECT_HOME": str(prefect_home),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    try:
        with serving_flows(home, env, server.api_url, prefect_home / "serve-flows.log", "--only", "ingest-requests-tiny",
                           "--only", "backfill-requests-tiny", "--interval", "15"):
            yield server
    finally:
        server.stop()
        patch.undo()


@contextmanager
def serving_flows(home: Path, env: dict, api_url: str, log_path: Path, *options: str) -> Iterator[None]:
    """`urbanpulse serve-flows --city tiny OPTIONS` in its own process, its output in `log_path`;
    this process's Prefect client talks to `api_url` meanwhile."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    log = open(log_path, "wb")  # noqa: SIM115
    runner = subprocess.Popen([sys.executable, "-m", "flows.cli", "--home", str(home), "serve-flows", "--city", "tiny",
                               *options], env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            yield
    finally:
        runner.terminate()
        try:
            runner.wait(timeout=30)
        except subprocess.TimeoutExpired:
            runner.kill()
        log.close()


def client():
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def deployment_id(name: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        with client() as api:
            try:
                return api.read_deployment_by_name(name).id
            except Exception:  # not registered yet by the serving process
                if time.monotonic() > deadline:
                    raise
        time.sleep(1)


def finished_runs(deployment, wanted: int, timeout: float, **match) -> list:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with client() as api:
            runs = api.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment])))
        done = [r for r in runs if r.state_type.value in FINAL
                and all(r.parameters.get(k) == v for k, v in match.items())]
        if len(done) >= wanted:
            return done
        time.sleep(1)
    raise TimeoutError(f"fewer than {wanted} finished runs of {deployment} within {timeout:.0f} s")


def published_requests(home: Path) -> pl.DataFrame:
    return pl.scan_parquet(Workspace(home).requests_dataset / "**" / "*.parquet", hive_partitioning=True).collect()


def test_every_flow_has_a_deployment_with_its_schedule_tags_and_limit(tmp_path: Path):
    build_tiny_pack(tmp_path)
    found = {d.name: d for d in deployments(DeploymentPlan(tmp_path, ("tiny",)))}
    assert set(found) == {"ingest-requests-tiny", "ingest-votes-tiny", "ingest-surveys-tiny", "ingest-sensors-tiny",
                          "backfill-requests-tiny", "stream-requests-tiny", "replay-requests-tiny",
                          "train-classifier-tiny", "verify-datasets"}
    ingest = found["ingest-requests-tiny"]
    assert [s.schedule.cron for s in ingest.schedules] == ["*/15 * * * *"]
    assert {"urbanpulse", "city:tiny", "stream:requests", "ingest"} <= set(ingest.tags)
    assert ingest.parameters["folder"] == str(tmp_path / "inbox" / "tiny" / "requests")
    assert ingest.concurrency_limit is None  # the city's global limit serialises the ingests
    assert found["stream-requests-tiny"].concurrency_limit == 1  # never two live streams
    assert found["train-classifier-tiny"].paused  # no labelled history yet
    assert not found["backfill-requests-tiny"].schedules


def test_a_scheduled_run_fires_and_publishes_the_dropped_export(served, home: Path):
    runs = finished_runs(deployment_id("ingest_drop_folder/ingest-requests-tiny"), 1, timeout=90)
    first = min(runs, key=lambda r: r.expected_start_time)
    assert first.auto_scheduled and first.state_type.value == "COMPLETED", first.state
    requests = published_requests(home)
    assert sorted(requests[rq.SERVICE_REQUEST_ID].to_list()) == ["r1", "r2", "r3", "r4", "r5", "r9"]
    assert not (home / "inbox" / "tiny" / "requests" / "export-1.csv").exists()
    assert (home / "inbox" / "tiny" / "requests" / "ingested" / "export-1.csv").is_file()
    with client() as api:  # the short interval has shown what it had to: no more runs on the shared machine
        api.pause_deployment(first.deployment_id)


def test_two_ingests_of_one_city_never_overlap(served, home: Path, tmp_path: Path):
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterName,
    )
    from prefect.deployments import run_deployment

    with client() as api:  # no scheduled runs meanwhile (whichever test ran first)
        api.pause_deployment(deployment_id("ingest_drop_folder/ingest-requests-tiny"))
    began = datetime.now(UTC)
    exports = {}
    for prefix in ("a", "b"):  # two backfills of city 'tiny' at once, other request ids each
        exports[prefix] = tmp_path / prefix
        exports[prefix].mkdir()
        messy = pl.read_csv(write_messy_csv(tmp_path / f"{prefix}.csv"), infer_schema=False)
        messy.with_columns(pl.col(rq.SERVICE_REQUEST_ID).str.replace("^r", prefix)).write_csv(
            exports[prefix] / "requests-2026-10-01.csv")
    started = [run_deployment("backfill_requests/backfill-requests-tiny", timeout=0, parameters={
        "pattern": str(folder / "requests-{day:%Y-%m-%d}.csv"), "start": date(2026, 10, 1),
        "end": date(2026, 10, 2)}) for folder in exports.values()]
    ids = [run.id for run in started]
    deadline = time.monotonic() + 150
    while True:  # the pipeline tasks run in each run's subflow (the city-serialised ingest flow)
        with client() as api:
            runs = api.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
            tasks = [t for t in api.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(
                like_="run_ingest_pipeline"))) if t.start_time and t.start_time >= began and t.end_time]
        if (all(r.state_type.value in FINAL for r in runs) and len(tasks) >= 2) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert [r.state_type.value for r in runs] == ["COMPLETED", "COMPLETED"], [r.state for r in runs]
    assert len(tasks) == 2 and all(t.start_time and t.end_time for t in tasks)
    first, second = sorted(tasks, key=lambda t: t.start_time)
    assert first.end_time <= second.start_time, "two ingests of city 'tiny' ran at the same time"
    published_ids = set(published_requests(home)[rq.SERVICE_REQUEST_ID])
    assert {"r1", "a1", "a9", "b1", "b9"} <= published_ids  # both backfills published


def test_each_listed_open311_feed_gets_a_poll_deployment_without_its_key(tmp_path: Path, monkeypatch):
    build_tiny_pack(tmp_path)
    (tmp_path / "poll").mkdir()
    (tmp_path / "poll" / "open311.toml").write_text(
        '[[feed]]\ncity = "tiny"\nsource = "city-app"\nurl = "https://311.tiny.example/open311/v2"\n'
        'every_seconds = 120\napi_key_env = "TINY_311_KEY"\n\n'
        '[[feed]]\ncity = "elsewhere"\nsource = "x"\nurl = "https://x.example/open311/v2"\n', encoding="utf-8")
    found = {d.name: d for d in deployments(DeploymentPlan(tmp_path, ("tiny",)))}
    poll = found["poll-open311-tiny-city-app"]
    assert [s.schedule.interval for s in poll.schedules] == [timedelta(seconds=120)]
    assert poll.parameters["root"] == "https://311.tiny.example/open311/v2" and poll.parameters["source"] == "city-app"
    assert poll.parameters["api_key_env"] == "TINY_311_KEY" and "api_key" not in poll.parameters
    assert poll.concurrency_limit == 1 and {"poll", "open311", "city:tiny"} <= set(poll.tags)
    assert not any(name.startswith("poll-open311-elsewhere") for name in found)  # a city this plan does not serve


@pytest.mark.parametrize(("text", "message"), [
    ('[[feed]]\ncity = "tiny"\nsource = "a"\n', "feed 1: give url"),
    ('[[feed]]\ncity = "tiny"\nsource = "a"\nurl = "ftp://x"\n', r"is not an http\(s\) address"),
    ('[[feed]]\ncity = "tiny"\nsource = "a"\nurl = "https://x"\nevery = 5\n', "unknown keys every"),
    ('[[feed]\n', "is not valid TOML"),
])
def test_a_poll_file_that_cannot_be_followed_says_what_to_fix(tmp_path: Path, text: str, message: str):
    from flows.poll_open311 import poll_feeds

    (tmp_path / "poll").mkdir()
    (tmp_path / "poll" / "open311.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        poll_feeds(tmp_path)


def test_the_poll_flow_reads_its_key_from_the_named_variable(monkeypatch):
    from flows import poll_open311

    seen = {}
    monkeypatch.setattr(poll_open311, "poll_cycle", lambda *args: seen.setdefault("key", args[4]))
    monkeypatch.setenv("TINY_311_KEY", "k-123")
    poll_open311.poll_open311_flow.fn("home", "tiny", "https://x", "a", api_key_env="TINY_311_KEY")
    assert seen["key"] == "k-123"
    monkeypatch.delenv("TINY_311_KEY")
    with pytest.raises(ValueError, match="TINY_311_KEY, which is not set"):
        poll_open311.poll_open311_flow.fn("home", "tiny", "https://x", "a", api_key_env="TINY_311_KEY")


def test_serve_flows_on_its_own_server_runs_deployments_that_hold_a_concurrency_limit(tmp_path: Path):
    """The default path (no PREFECT_API_URL): `serve-flows` starts its own server, and a run of a
    deployment with a concurrency limit completes (it used to lose its slot to a temporary server)."""
    patch = pytest.MonkeyPatch()
    forget_prefect_settings(patch)
    build_tiny_pack(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_RUNNER_POLL_FREQUENCY": "1", **QUIET_SERVER}
    log = tmp_path / "serve-flows.log"
    try:
        with serving_flows(tmp_path, env, f"http://127.0.0.1:{port}/api", log, "--port", str(port),
                           "--only", "verify-datasets", "--interval", "5"):
            runs = finished_runs(deployment_id("verify_published_datasets/verify-datasets", 180), 1, 180)
        assert {r.state_type.value for r in runs} == {"COMPLETED"}, log.read_text()[-3000:]
    finally:
        patch.undo()
