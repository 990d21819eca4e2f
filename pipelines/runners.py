"""Which Beam runner a batch ingest runs on, chosen by `--runner` once for every ingest.

    (none) / FnApiRunner   in this process (the default)
    DaskRunner             a dask.distributed cluster: `--dask_address HOST:PORT` of a running
                           scheduler (`urbanpulse cluster start`, `dask scheduler`), else a local
                           cluster started for the run and closed after it
    FlinkRunner,           a running Beam job server for the engine: `--job_endpoint HOST:PORT`
    SparkRunner,           (the job server jars cannot be fetched at run time, so UrbanPulse never
    PortableRunner         lets Beam start one); workers need UrbanPulse installed
                           (`--environment_type=PROCESS` / `--sdk_container_image`)
    DataflowRunner         `--project`, `--region`, `--temp_location gs://...` and apache-beam[gcp]

A runner that cannot start says so in one line (`RunnerSetupError`, a ValueError: exit 2 on the
command line) before anything is read or published. Every runner but FnApiRunner writes the
datasets from its workers: the UrbanPulse home must be on a file system each worker mounts at
the same path.
"""

from __future__ import annotations

import importlib.util
import socket

from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PipelineOptions,
    PortableOptions,
    StandardOptions,
)
from apache_beam.runners.dask.dask_runner import DaskRunner
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.runners.runner import PipelineResult, PipelineRunner, PipelineState

ENGINES = ("FnApiRunner", "DaskRunner", "FlinkRunner", "SparkRunner", "PortableRunner", "DataflowRunner")
JOB_SERVER_RUNNERS = ("FlinkRunner", "SparkRunner", "PortableRunner")
CONNECT_SECONDS = 5.0


class RunnerSetupError(ValueError):
    """The chosen runner cannot run here as configured (no scheduler, no job server, no project)."""


class ClusterOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--dask_address", default=None,
                            help="HOST:PORT of a running Dask scheduler (default: a local cluster for the run)")
        parser.add_argument("--dask_workers", type=int, default=None,
                            help="workers of the local cluster started for a run (default: one per core)")
        parser.add_argument("--dask_spread", type=int, default=None,
                            help="partitions a source step's output is spread over (default: the cluster's threads)")


def runner_name(options: PipelineOptions) -> str:
    """The canonical name of `--runner` (Beam accepts `dask`, `DaskRunner`, `daskrunner`)."""
    given = options.view_as(StandardOptions).runner
    if given is None:
        return "FnApiRunner"
    wanted = given.lower().removesuffix("runner")
    for name in ENGINES:
        if name.lower().removesuffix("runner") == wanted:
            return name
    raise RunnerSetupError(f"--runner {given!r} is not one UrbanPulse runs batch ingests on; use one of "
                           f"{', '.join(ENGINES)}")


def batch_runner(options: PipelineOptions) -> PipelineRunner:
    """The runner for `options`, checked: what `beam.Pipeline(runner=...)` of every batch ingest gets."""
    name = runner_name(options)
    if name == "FnApiRunner":
        return FnApiRunner()
    if name == "DaskRunner":
        return ClusterDaskRunner()
    if name in JOB_SERVER_RUNNERS:
        _check_job_server(name, options.view_as(PortableOptions).job_endpoint)
    else:
        _check_dataflow(options.view_as(GoogleCloudOptions))
    from apache_beam.runners.runner import create_runner

    return create_runner(name)


def _check_job_server(name: str, endpoint: str | None) -> None:
    if not endpoint:
        raise RunnerSetupError(f"{name} needs a running Beam job server: pass --job_endpoint=HOST:PORT "
                               "(UrbanPulse does not download one at run time)")
    host, _, port = endpoint.rpartition(":")
    try:
        with socket.create_connection((host or "localhost", int(port)), timeout=CONNECT_SECONDS):
            pass
    except (OSError, ValueError) as error:
        raise RunnerSetupError(f"no Beam job server answers at --job_endpoint {endpoint} ({error}): start "
                               f"the {name.removesuffix('Runner')} job server first") from None


def _check_dataflow(cloud: GoogleCloudOptions) -> None:
    missing = [f"--{flag}" for flag, value in (("project", cloud.project), ("region", cloud.region),
                                               ("temp_location", cloud.temp_location)) if not value]
    if missing:
        raise RunnerSetupError(f"DataflowRunner needs {', '.join(missing)} (a Google Cloud project, its "
                               "region and a gs:// folder for staging)")
    if importlib.util.find_spec("apitools") is None:
        raise RunnerSetupError("DataflowRunner needs Beam's Google Cloud extras: pip install 'apache-beam[gcp]'")


class ClusterDaskRunner(DaskRunner):
    """Beam's DaskRunner with the translation of `pipelines.dask_translation` (every branch, tags,
    side inputs once, counters), a scheduler by address or a local cluster owned by the run."""

    def run_pipeline(self, pipeline, options: PipelineOptions) -> PipelineResult:
        from apache_beam.runners.dask.overrides import dask_overrides

        from pipelines.dask_cluster import connect
        from pipelines.dask_translation import pipeline_graph

        cluster = options.view_as(ClusterOptions)
        client, owned = connect(cluster.dask_address, cluster.dask_workers)
        try:
            pipeline.replace_all(dask_overrides())
            spread = cluster.dask_spread or sum(client.nthreads().values()) or 1
            future = client.compute(pipeline_graph(pipeline, spread))
        except BaseException:
            _close(client, owned)
            raise
        return DaskRunResult(client, owned, future)


class DaskRunResult(PipelineResult):
    def __init__(self, client, owned, future) -> None:
        super().__init__(PipelineState.RUNNING)
        self.client, self.owned, self.future = client, owned, future
        self.found: list = []

    def wait_until_finish(self, duration=None) -> str:
        """Waits for every step; a step's error is raised here, as the worker raised it."""
        try:
            self.found = [part for part in self.future.result() if isinstance(part, dict)]
            self._state = PipelineState.DONE
        except BaseException:
            self._state = PipelineState.FAILED
            raise
        finally:
            _close(self.client, self.owned)
        return self._state

    def cancel(self) -> str:
        self.client.cancel(self.future)
        _close(self.client, self.owned)
        self._state = PipelineState.CANCELLED
        return self._state

    def metrics(self):
        from pipelines.dask_translation import BundleMetrics

        return BundleMetrics(self.found)


def _close(client, owned) -> None:
    client.close()
    if owned is not None:
        owned.close()
