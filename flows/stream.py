"""Prefect flows of the live path: `stream_requests` (runs until stopped or for a set time) and
`replay_requests`. A deployment can `serve` `stream_requests` with `run_seconds` on a schedule
(e.g. every hour for an hour) so that a crashed stream is restarted by the next run; the live
store's offsets make the restart exactly-once."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from pipelines.stopping import stopping_after
from pipelines.stream_requests import LiveSettings, replay, stream
from plumbing.workspace import Workspace
from schemas import ledger


def _settings(home: str, city: str, sources: list[str] | None, lateness_days: float,
              handover_seconds: float = 30.0) -> LiveSettings:
    return LiveSettings(Workspace(Path(home)), city, sources, timedelta(days=lateness_days), handover_seconds)


@task
def run_stream(settings: LiveSettings, run_seconds: float | None) -> dict:
    """The Beam live pipeline; no retries: a restart resumes from the committed offsets anyway."""
    with stopping_after(run_seconds):
        return asdict(stream(settings))


@task
def run_replay(settings: LiveSettings, from_seq: int | None, since: str | None, rebuild: bool) -> dict:
    return asdict(replay(settings, from_seq, datetime.fromisoformat(since) if since else None, rebuild))


@task
def publish_live_artifact(report: dict, kind: str) -> None:
    c = report["counters"]
    create_markdown_artifact(
        key=f"{kind}-{report['city']}".lower().replace("_", "-"),
        markdown="\n".join([
            f"# {kind} of {report['city']}",
            "",
            "| records in | records out | dead letters | too late | seconds |",
            "|---:|---:|---:|---:|---:|",
            (f"| {c[ledger.RECORDS_IN]:,} | {c[ledger.RECORDS_OUT]:,} | {c[ledger.DEAD_LETTERS]:,} | {c[ledger.TOO_LATE]:,} "
             f"| {report['seconds']:.1f} |"),
            "",
            "Committed offsets: " + ", ".join(f"`{s}` {n}" for s, n in report["offsets"].items()),
        ]),
        description="UrbanPulse live path counts and offsets",
    )


@flow(name="stream_requests", log_prints=True)
def stream_requests(home: str, city: str, sources: list[str] | None = None, lateness_days: float = 14.0,
                    run_seconds: float | None = None, handover_seconds: float = 30.0) -> dict:
    """Follow the landing logs into the live store and datasets (until stopped, or `run_seconds`)."""
    report = run_stream(_settings(home, city, sources, lateness_days, handover_seconds), run_seconds)
    publish_live_artifact(report, "stream")
    return report


@flow(name="replay_requests", log_prints=True)
def replay_requests(home: str, city: str, from_seq: int | None = None, since: str | None = None,
                    rebuild: bool = False, sources: list[str] | None = None, lateness_days: float = 14.0) -> dict:
    """Apply the landing log again (from a segment or a landing time) up to its current end."""
    report = run_replay(_settings(home, city, sources, lateness_days), from_seq, since, rebuild)
    publish_live_artifact(report, "replay")
    return report
