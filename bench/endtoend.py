"""End-to-end runs: each tool on the same feed, in its own process, from a clean output folder."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import Measured, run_measured
from bench.workload import DEMO_CITY, REPO_ROOT, BenchPaths
from plumbing.publishing import remove_published
from schemas.citypack import DISTRICT_NAME

# The child: the batch pipeline as `urbanpulse ingest requests --no-prefect` runs it.
INGEST_CHILD = "import sys; from pipelines.ingest_requests import run; run(sys.argv[1:])"


@dataclass(frozen=True)
class EndToEndRun:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    other_cpu_seconds: float  # what the rest of the machine used meanwhile
    counts: dict[str, int | float] = field(default_factory=dict)
    machine_busy_before: float | None = None  # busy share of the CPUs just before the start

    @classmethod
    def of(cls, measured: Measured, counts: dict[str, int | float]) -> EndToEndRun:
        return cls(
            measured.seconds,
            measured.peak_rss_mb,
            measured.cpu_seconds,
            measured.other_cpu_seconds,
            counts,
        )


def _fresh(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def run_urbanpulse(paths: BenchPaths, beam_args: list[str], attempt: int) -> EndToEndRun:
    """One ingest of the feed into an empty datasets folder; counts come from the run's record."""
    workspace = paths.workspace
    remove_published(workspace)
    _fresh(workspace.runs)
    command = [
        sys.executable,
        "-c",
        INGEST_CHILD,
        f"--input={paths.feed}",
        f"--city={DEMO_CITY}",
        "--format=csv",
        f"--home={workspace.root}",
        *beam_args,
    ]
    measured = run_measured(command, REPO_ROOT, paths.logs / f"urbanpulse_run{attempt}")
    (record,) = workspace.runs.glob("*.json")
    report = json.loads(record.read_text())
    counts = {**report["counters"], "pipeline_seconds": report["seconds"]}
    return EndToEndRun.of(measured, counts)


def parse_peer_summary(stdout: str) -> dict[str, int | float]:
    """The peer's one line `in=... out=... dead=... groups=... seconds=...` as numbers."""
    line = stdout.strip().splitlines()[-1]
    pairs = (pair.split("=") for pair in line.split())
    return {key: int(value) if value.isdigit() else float(value) for key, value in pairs}


def run_peer(paths: BenchPaths, peer_script: Path, attempt: int) -> EndToEndRun:
    _fresh(paths.peer_output)
    command = [
        sys.executable,
        str(peer_script),
        "run",
        str(paths.peer_input),
        str(paths.peer_model),
        str(paths.districts),
        str(paths.peer_output),
        "--name-field",
        DISTRICT_NAME,
    ]
    measured = run_measured(command, REPO_ROOT, paths.logs / f"peer_run{attempt}")
    return EndToEndRun.of(measured, parse_peer_summary(measured.stdout))
