"""`--runner` and its options, for every batch ingest: what each engine's options parse into, and
the one-line error (exit 2) when its scheduler or job server is not there. (Flink, Spark and
Dataflow themselves cannot run here: their job servers are not downloadable at run time.)"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import (
    FlinkRunnerOptions,
    GoogleCloudOptions,
    PipelineOptions,
    PortableOptions,
    SparkRunnerOptions,
    WorkerOptions,
)
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from conftest import build_tiny_pack, forget_prefect_settings
from messy_requests import write_messy_csv

from flows.cli import main
from pipelines.runners import (
    ClusterDaskRunner,
    ClusterOptions,
    RunnerSetupError,
    batch_runner,
    runner_name,
)


@pytest.fixture(autouse=True)
def isolated_prefect_settings(monkeypatch):
    forget_prefect_settings(monkeypatch)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


@pytest.mark.parametrize(("given", "name"), [(None, "FnApiRunner"), ("FnApiRunner", "FnApiRunner"),
                                             ("DaskRunner", "DaskRunner"), ("dask", "DaskRunner"),
                                             ("flink", "FlinkRunner"), ("SparkRunner", "SparkRunner"),
                                             ("DataflowRunner", "DataflowRunner")])
def test_runner_names_are_read_as_beam_reads_them(given, name):
    options = PipelineOptions([f"--runner={given}"] if given else [])
    assert runner_name(options) == name


def test_the_default_and_dask_runners_are_built_here():
    assert isinstance(batch_runner(PipelineOptions([])), FnApiRunner)
    options = PipelineOptions(["--runner=DaskRunner", "--dask_address=10.0.0.5:8786", "--dask_spread=16"])
    assert isinstance(batch_runner(options), ClusterDaskRunner)
    cluster = options.view_as(ClusterOptions)
    assert (cluster.dask_address, cluster.dask_spread, cluster.dask_workers) == ("10.0.0.5:8786", 16, None)


def test_flink_options_parse_into_the_portable_and_flink_views():
    options = PipelineOptions(["--runner=FlinkRunner", "--job_endpoint=jobs.city.example:8099",
                               "--flink_master=flink.city.example:8081", "--environment_type=PROCESS",
                               '--environment_config={"command": "/opt/urbanpulse/boot"}', "--parallelism=8"])
    portable = options.view_as(PortableOptions)
    assert (portable.job_endpoint, portable.environment_type) == ("jobs.city.example:8099", "PROCESS")
    assert portable.environment_config == '{"command": "/opt/urbanpulse/boot"}'
    flink = options.view_as(FlinkRunnerOptions)
    assert (flink.flink_master, flink.parallelism) == ("flink.city.example:8081", 8)


def test_spark_options_parse_into_the_spark_view():
    options = PipelineOptions(["--runner=SparkRunner", "--job_endpoint=localhost:8099",
                               "--spark_master_url=spark://spark.city.example:7077",
                               "--environment_type=DOCKER", "--sdk_container_image=registry.city.example/urbanpulse:1"])
    assert options.view_as(SparkRunnerOptions).spark_master_url == "spark://spark.city.example:7077"
    assert options.view_as(WorkerOptions).sdk_container_image == "registry.city.example/urbanpulse:1"


def test_dataflow_options_parse_and_say_what_is_missing():
    options = PipelineOptions(["--runner=DataflowRunner", "--project=city-data", "--region=europe-west1",
                               "--temp_location=gs://city-data-tmp/beam", "--max_num_workers=20"])
    cloud = options.view_as(GoogleCloudOptions)
    assert (cloud.project, cloud.region, cloud.temp_location) == ("city-data", "europe-west1", "gs://city-data-tmp/beam")
    assert options.view_as(WorkerOptions).max_num_workers == 20
    with pytest.raises(RunnerSetupError, match=r"apache-beam\[gcp\]"):  # not installed here
        batch_runner(options)
    with pytest.raises(RunnerSetupError, match="DataflowRunner needs --region, --temp_location"):
        batch_runner(PipelineOptions(["--runner=DataflowRunner", "--project=city-data"]))


@pytest.mark.parametrize("runner", ["FlinkRunner", "SparkRunner", "PortableRunner"])
def test_a_job_server_runner_without_a_job_server_is_refused(runner):
    with pytest.raises(RunnerSetupError, match=f"{runner} needs a running Beam job server: pass --job_endpoint"):
        batch_runner(PipelineOptions([f"--runner={runner}"]))
    port = closed_port()
    with pytest.raises(RunnerSetupError, match=f"no Beam job server answers at --job_endpoint 127.0.0.1:{port}"):
        batch_runner(PipelineOptions([f"--runner={runner}", f"--job_endpoint=127.0.0.1:{port}"]))


def test_an_unknown_runner_is_refused_with_the_choices():
    with pytest.raises(RunnerSetupError, match="use one of FnApiRunner, DaskRunner, FlinkRunner"):
        batch_runner(PipelineOptions(["--runner=SamzaRunner"]))


@pytest.mark.parametrize("command", [
    ["ingest", "requests", "{csv}", "--city", "tiny"],
    ["ingest", "votes", "{csv}", "--city", "tiny", "--format", "csv"],
])
def test_the_command_line_says_it_in_one_line_and_exits_2(tmp_path: Path, capsys, command):
    build_tiny_pack(tmp_path)
    csv = write_messy_csv(tmp_path / "messy.csv")
    argv = [part.format(csv=csv) for part in command]
    code = main(["--home", str(tmp_path), *argv, "--no-prefect", "--runner=FlinkRunner",
                 f"--job_endpoint=127.0.0.1:{closed_port()}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("urbanpulse: error: no Beam job server answers at --job_endpoint 127.0.0.1:")
    assert not any("Traceback" in line for line in err)
    assert not (tmp_path / "datasets").exists()
