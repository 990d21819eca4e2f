"""Dask clusters for the batch ingests: a client to a running scheduler, a local cluster for one
run, and a scheduler with workers as separate processes (`urbanpulse cluster start`).

The separate processes are what an operator runs on several machines (`dask scheduler` on one,
`dask worker tcp://SCHEDULER:8786` on each of the others), here on one: the runs reach them by
`--dask_address`, exactly as they would reach a cluster elsewhere.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

DEFAULT_PORT = 8786
CONNECT_TIMEOUT = "10s"


def scheduler_url(address: str) -> str:
    """`HOST:PORT` or `tcp://HOST:PORT` -> `tcp://HOST:PORT`."""
    return address if "://" in address else f"tcp://{address}"


def connect(address: str | None, workers: int | None = None):
    """(client, cluster the caller owns or None): to the scheduler at `address`, else to a local
    cluster of `workers` single-threaded worker processes started now."""
    from dask.distributed import Client, LocalCluster

    from pipelines.runners import RunnerSetupError

    if address:
        try:
            return Client(scheduler_url(address), timeout=CONNECT_TIMEOUT), None
        except (OSError, TimeoutError) as error:
            raise RunnerSetupError(f"no Dask scheduler answers at --dask_address {address} ({error}); start "
                                   "one with `urbanpulse cluster start` or give the right HOST:PORT") from None
    logging.getLogger("distributed").setLevel(logging.WARNING)  # the run's own lines, not the cluster's
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.WARNING)
    return Client(cluster), cluster


@dataclass
class ClusterProcesses:
    """A scheduler and `workers` worker processes on this machine, started and stopped together."""

    workers: int = 2
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    threads: int = 1
    log_dir: Path | None = None
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> ClusterProcesses:
        """Starts them and returns once every worker has joined the scheduler."""
        self.processes.append(self._spawn("scheduler", ["distributed.cli.dask_scheduler", "--host", self.host,
                                                        "--port", str(self.port), "--dashboard-address", ":0"]))
        for number in range(self.workers):
            self.processes.append(self._spawn(f"worker-{number}", [
                "distributed.cli.dask_worker", scheduler_url(self.address), "--nthreads", str(self.threads),
                "--nworkers", "1", "--host", self.host, "--name", f"urbanpulse-{number}", "--no-dashboard"]))
        try:
            self._wait_for_workers(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab") if self.log_dir else subprocess.DEVNULL  # noqa: SIM115
        return subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)

    def _wait_for_workers(self, timeout: float) -> None:
        from dask.distributed import Client

        deadline = time.monotonic() + timeout
        while True:
            dead = [p.args[2] for p in self.processes if p.poll() is not None]
            if dead:
                raise RuntimeError(f"Dask process {dead[0]} stopped at start (port {self.port} taken?)")
            try:
                with Client(scheduler_url(self.address), timeout="2s") as client:
                    client.wait_for_workers(self.workers, timeout=max(1.0, deadline - time.monotonic()))
                    return
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the Dask cluster at {self.address} did not get {self.workers} "
                                       f"workers within {timeout:.0f} s") from None
                time.sleep(0.5)

    def stop(self) -> None:
        """Workers first (they would try to reconnect), then the scheduler."""
        for process in reversed(self.processes):
            process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
