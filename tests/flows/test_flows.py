"""Prefect flows under a session-scoped test harness, and their tasks through `.fn()`."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from messy_requests import write_messy_csv
from polars.testing import assert_frame_equal

from models.cities.pack import CityPack
from plumbing.workspace import Workspace
from schemas import live as lv
from schemas import requests as rq


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


def messy_csv(tmp_path: Path) -> Path:
    return write_messy_csv(tmp_path / "messy.csv")


def test_pipeline_argv_passes_beam_options_through():
    from pipelines.ingest_requests import pipeline_argv

    argv = pipeline_argv(["/a.csv", "/b.csv"], "tiny", "csv", "/home", mapping="/m.toml",
                         beam_args=["--runner=DaskRunner"])
    assert argv == ["--input=/a.csv", "--input=/b.csv", "--city=tiny", "--format=csv", "--home=/home",
                    "--mapping=/m.toml", "--runner=DaskRunner"]


def test_ingest_task_logic_without_prefect(tmp_path: Path, tiny_pack: CityPack):
    from flows.ingest import run_ingest_pipeline
    from pipelines.ingest_requests import pipeline_argv

    report = run_ingest_pipeline.fn(pipeline_argv([str(messy_csv(tmp_path))], "tiny", "csv", str(tmp_path)))
    assert report["counters"]["records_in"] == 10 and report["accounting_ok"]


def test_ingest_flow_publishes_datasets_and_an_artifact(prefect_harness, tmp_path: Path, tiny_pack: CityPack):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.ingest import ingest_requests

    report = ingest_requests([str(messy_csv(tmp_path))], "tiny", "csv", str(tmp_path))
    assert report["counters"]["records_in"] == 10
    assert report["counters"]["records_out"] + report["counters"]["dead_letters"] == 10
    rows = pl.scan_parquet(Workspace(tmp_path).requests_dataset / "**" / "*.parquet").collect()
    assert rows[rq.SERVICE_REQUEST_ID].n_unique() == rows.height == 6

    async def artifacts():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ingest-tiny"]))
            )

    found = asyncio.run(artifacts())
    assert found, "the flow run left no artifact"
    assert "| 10 | 7 | 3 |" in found[0].data


def test_stream_and_replay_flows_agree_and_leave_artifacts(prefect_harness, tmp_path: Path, tiny_pack: CityPack):
    """A timed stream, and a replay of its landing log into a fresh home, give the same figures."""
    from live_fixtures import land_chunks
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.stream import replay_requests, stream_requests
    from plumbing.landing import LandingLog
    from synthetic.replayer import recent_requests

    live, reference = Workspace(tmp_path), Workspace(tmp_path / "reference")
    log = LandingLog(live.landing("tiny"), "city311").create("csv")
    land_chunks(log, recent_requests(tiny_pack, 1_500, seed=3), 500, tmp_path)
    streamed = stream_requests(str(live.root), "tiny", run_seconds=8, handover_seconds=1)
    shutil.copytree(live.cities, reference.cities)
    shutil.copytree(live.landing("tiny"), reference.landing("tiny"))
    replayed = replay_requests(str(reference.root), "tiny", from_seq=0, rebuild=True)
    assert streamed["counters"] == replayed["counters"]
    assert streamed["counters"]["records_in"] == 1_500
    assert streamed["offsets"] == replayed["offsets"] == {"city311": 3}

    windows, ledger = live_figures(live)
    assert windows[lv.NEW].sum() > 0 and windows[lv.CLOSED].sum() > 0
    assert ledger["records_in"] == 1_500
    assert_frame_equal(windows, live_figures(reference)[0])
    assert ledger == live_figures(reference)[1]
    published = published_rows(live)
    assert published.height == published[rq.SERVICE_REQUEST_ID].n_unique() > 0
    assert_frame_equal(published, published_rows(reference))

    async def keys() -> set[str]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["stream-tiny", "replay-tiny"]))
            )
            return {artifact.key for artifact in found}

    assert asyncio.run(keys()) == {"stream-tiny", "replay-tiny"}


def live_figures(workspace: Workspace) -> tuple[pl.DataFrame, dict]:
    """The tiny city's live store as readers see it: every window row (sorted), and the ledger."""
    from plumbing.live_store.reader import LiveStoreReader

    store = LiveStoreReader.open(workspace.live_store("tiny"))
    try:
        windows = store.window_frame().sort(lv.WINDOW, lv.WINDOW_START, rq.DISTRICT_ID, rq.CATEGORY)
        return windows, store.ledger()
    finally:
        store.close()


def published_rows(workspace: Workspace) -> pl.DataFrame:
    """datasets/requests as one frame by id, without `ingested_at`: each run stamps its own start time."""
    from pipelines.sinks.requests.dataset import published_requests

    rows = pl.concat(list(published_requests(workspace.city_dataset("requests", "tiny"))))
    return rows.drop(rq.INGESTED_AT).sort(rq.SERVICE_REQUEST_ID)


def test_vote_flow_publishes_outcomes_and_an_artifact(prefect_harness, tmp_path: Path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.votes import ingest_votes

    votes = [f"v{i};p1{',p2' if i % 2 else ''};40;F;x" for i in range(30)]
    path = tmp_path / "spring-vote.pb"
    path.write_text("\n".join(["META", "key;value", "budget;300", "vote_type;approval", "PROJECTS",
                               "project_id;cost;name", "p1;100;Park", "p2;250;Road", "VOTES",
                               "voter_id;vote;age;sex;neighborhood", *votes]) + "\n", encoding="utf-8")
    report = ingest_votes([str(path)], "tiny", str(tmp_path))
    assert report["accounting_ok"] and report["counters"]["records_out"] == 30
    [summary] = report["summaries"]
    assert summary["greedy"] == ["Park"] and summary["ballots"] == 30  # Road no longer fits

    async def artifacts():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["votes-tiny"]))
            )

    found = asyncio.run(artifacts())
    assert found and "| greedy | 1 |" in found[0].data
