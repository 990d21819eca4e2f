"""The request ingest on a real Dask cluster (a scheduler and two worker processes) publishes
exactly what it publishes on FnApiRunner: every branch ran, tags kept apart, counters balanced."""

from __future__ import annotations

import socket
from pathlib import Path

import polars as pl
import pytest
from conftest import build_tiny_pack
from messy_requests import write_messy_csv
from polars.testing import assert_frame_equal

from pipelines import ingest_requests, ingest_votes
from pipelines.dask_cluster import ClusterProcesses
from pipelines.runners import RunnerSetupError
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import dead_letters as dl
from schemas import requests as rq

RUN_COLUMNS = (rq.INGESTED_AT, dl.FAILED_AT)  # when a row was ingested or refused: differs between any two runs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with ClusterProcesses(workers=2, port=free_port(), log_dir=tmp_path_factory.mktemp("dask-logs")) as running:
        yield running


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """The messy rows (dead letters, a re-sent version) and 300 generated requests of the tiny city."""
    from synthetic.requests.generator import generate_requests

    folder = tmp_path_factory.mktemp("export")
    pack = build_tiny_pack(folder / "pack-home")
    records, _truth = generate_requests(pack, 300, 7)
    messy = pl.read_csv(write_messy_csv(folder / "messy.csv"), infer_schema=False)
    generated = records.select([c for c in messy.columns if c in records.columns]).cast(pl.String)
    path = folder / "requests.csv"
    pl.concat([messy, generated], how="diagonal").write_csv(path)
    return path


def ingest(home: Path, export: Path, *beam_args: str):
    build_tiny_pack(home)
    argv = ingest_requests.pipeline_argv([str(export)], "tiny", "csv", str(home), beam_args=["--batch_rows=60",
                                                                                           *beam_args])
    return ingest_requests.run(argv)


def dataset(home: Path, name: str) -> pl.DataFrame:
    """The published dataset in a fixed row order (by every column)."""
    frame = pl.scan_parquet(Workspace(home).datasets / name / "**" / "*.parquet", hive_partitioning=True).collect()
    frame = frame.drop([c for c in RUN_COLUMNS if c in frame.columns])
    return frame.sort(sorted(c for c, dtype in frame.schema.items() if not dtype.is_nested()), nulls_last=True)


def test_dask_runner_publishes_the_same_datasets_as_fnapi(tmp_path: Path, export: Path, cluster):
    on_fnapi = ingest(tmp_path / "fnapi", export)
    on_dask = ingest(tmp_path / "dask", export, "--runner=DaskRunner", f"--dask_address={cluster.address}")

    assert on_dask.counters == on_fnapi.counters
    assert on_dask.accounting_ok and on_dask.records_in == 310 and on_dask.dead_letters >= 3
    requests = dataset(tmp_path / "dask", ds.REQUESTS)
    assert requests.height == on_dask.records_out - on_dask.counters["versions_superseded"]
    assert requests[rq.SERVICE_REQUEST_ID].n_unique() == requests.height
    assert_frame_equal(requests, dataset(tmp_path / "fnapi", ds.REQUESTS))
    daily = dataset(tmp_path / "dask", ds.REQUEST_DAILY)
    assert daily.height > 0
    assert_frame_equal(daily, dataset(tmp_path / "fnapi", ds.REQUEST_DAILY))
    dead = dataset(tmp_path / "dask", ds.DEAD_LETTERS)
    assert dead.height == on_dask.dead_letters
    assert {dl.Reason.MISSING_ID, dl.Reason.MISSING_REQUESTED, dl.Reason.BAD_TIMESTAMP} <= set(dead[dl.REASON])
    assert_frame_equal(dead, dataset(tmp_path / "fnapi", ds.DEAD_LETTERS))


def test_a_scheduler_that_does_not_answer_is_one_clear_error(tmp_path: Path, export: Path):
    with pytest.raises(RunnerSetupError, match=r"no Dask scheduler answers at --dask_address 127\.0\.0\.1:"):
        ingest(tmp_path, export, "--runner=DaskRunner", f"--dask_address=127.0.0.1:{free_port()}")
    assert not (tmp_path / "datasets").exists()


def test_a_vote_decided_on_dask_equals_fnapi(tmp_path: Path, cluster):
    """The vote ingest: a multimap side input (the elections) and one group per election."""
    from synthetic.participation.generator import generate_votes, write_pabulib

    write_pabulib(generate_votes(build_tiny_pack(tmp_path / "source"), 2000, 1, "approval", election="pb1"),
                  tmp_path / "pb1.pb")
    reports = {}
    for name, beam_args in (("fnapi", []), ("dask", ["--runner=DaskRunner", f"--dask_address={cluster.address}"])):
        build_tiny_pack(tmp_path / name)
        reports[name] = ingest_votes.run(ingest_votes.vote_argv([str(tmp_path / "pb1.pb")], "tiny",
                                                                 str(tmp_path / name), beam_args=beam_args))
    assert reports["dask"].counters == reports["fnapi"].counters
    assert reports["dask"].records_in == 2000 and reports["dask"].accounting_ok
    for name in (ds.PB_ELECTIONS, ds.PB_PROJECTS, ds.PB_TURNOUT):
        on_dask = dataset(tmp_path / "dask", name)
        assert on_dask.height > 0
        assert_frame_equal(on_dask, dataset(tmp_path / "fnapi", name))
