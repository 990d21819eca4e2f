"""Prefect flow `ingest_sensors`: run the Beam sensor pipeline and leave an artifact of what it made."""

from __future__ import annotations

from dataclasses import asdict

import polars as pl
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flows.ingest import worth_retrying
from pipelines import ingest_sensors as pipeline
from pipelines.ingest_sensors import sensor_argv
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import ledger
from schemas import sensors as sn


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=worth_retrying)
def run_sensor_pipeline(argv: list[str]) -> dict:
    """Re-running is safe: a station's observations of a period replace the published ones."""
    return asdict(pipeline.run(argv))


def daily_summary(workspace: Workspace, city: str) -> list[tuple]:
    """Per parameter: station-days, the share of valid days, the mean of valid daily means."""
    folder = workspace.city_dataset(ds.SENSOR_DAILY, city)
    files = sorted(folder.glob("**/*.parquet"))
    if not files:
        return []
    daily = pl.read_parquet(files, hive_partitioning=False)
    summary = daily.group_by(sn.PARAMETER).agg(
        pl.len().alias("days"), pl.col(sn.VALID).mean().alias("valid_share"),
        pl.col(sn.MEAN).filter(pl.col(sn.VALID)).mean().alias("mean_of_valid_days"))
    return summary.sort(sn.PARAMETER).rows()


@task
def publish_sensor_artifact(report: dict, summary: list[tuple]) -> None:
    counters = report["counters"]
    lines = [f"# Sensor ingest {report['run_id']} ({report['city']})", "",
             f"Observations read {counters[ledger.RECORDS_IN]:,} = kept {counters[ledger.RECORDS_OUT]:,} + dead letters "
             f"{counters[ledger.DEAD_LETTERS]:,} (accounting holds: **{report[ledger.ACCOUNTING_OK]}**).", "",
             "| parameter | station-days | valid (>= 75% of hours) | mean of valid days |", "|---|---:|---:|---:|"]
    lines += [f"| {p} | {d:,} | {v:.1%} | {m:.1f} |" if m is not None else f"| {p} | {d:,} | {v:.1%} | |"
              for p, d, v, m in summary]
    create_markdown_artifact(key=f"sensors-{report['city']}".lower().replace("_", "-"), markdown="\n".join(lines),
                             description="UrbanPulse sensor ingest: counts and daily validity")


@flow(name="ingest_sensors", log_prints=True)
def ingest_sensors(paths: list[str], city: str, home: str, fmt: str = "uci", stations: str | None = None,
                   timezone: str | None = None, beam_args: list[str] | None = None, mapping: str | None = None) -> dict:
    """Sensor files -> observations, hourly and daily figures; fails if any observation is lost."""
    report = run_sensor_pipeline(sensor_argv(paths, city, home, fmt, stations, timezone, beam_args, mapping))
    summary = daily_summary(Workspace.resolve(home), city)
    publish_sensor_artifact(report, summary)
    return {**report, "summary": summary}
