"""Prefect flow `ingest_requests`: run the Beam batch pipeline and leave an artifact of its counts."""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from pipelines import ingest_requests as pipeline
from pipelines.batch_runs import AccountingError
from pipelines.ingest_requests import pipeline_argv
from pipelines.transforms.guard import EnrichStepBroken
from plumbing.disk import disk_full
from schemas import ledger

# What a retry cannot fix: the input, the arguments or the data are wrong, the user said stop
# (or the disk is full: `disk_full`).
NOT_RETRIED = (ValueError, LookupError, FileNotFoundError, PermissionError, AccountingError,
               EnrichStepBroken, KeyboardInterrupt)


def worth_retrying(_task, _task_run, state) -> bool:
    """Retry only failures a second attempt may not meet (a runner or file-system hiccup)."""
    error = state.data if isinstance(state.data, BaseException) else state.result(raise_on_failure=False)
    return not isinstance(error, NOT_RETRIED) and not disk_full(error)


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=worth_retrying)
def run_ingest_pipeline(argv: list[str]) -> dict:
    """Re-running is safe: the sinks merge idempotently, so a retry never double counts."""
    return asdict(pipeline.run(argv))


@task
def publish_run_artifact(report: dict) -> None:
    counters = report["counters"]
    lines = [
        f"# Ingest run {report['run_id']} ({report['city']})",
        "",
        "| records in | records out | dead letters | versions superseded | rows published |",
        "|---:|---:|---:|---:|---:|",
        (f"| {counters[ledger.RECORDS_IN]:,} | {counters[ledger.RECORDS_OUT]:,} | {counters[ledger.DEAD_LETTERS]:,} "
        f"| {counters[ledger.VERSIONS_SUPERSEDED]:,} | {counters[ledger.REQUEST_ROWS_PUBLISHED]:,} |"),
        "",
        f"Accounting holds (in = out + dead): **{report[ledger.ACCOUNTING_OK]}**; {report['seconds']:.1f} s.",
        "",
        "| dataset | path |",
        "|---|---|",
        *[f"| {name} | `{path}` |" for name, path in report["datasets"].items()],
        "",
        "Inputs: " + ", ".join(f"`{p}`" for p in report["inputs"]),
    ]
    create_markdown_artifact(
        key=f"ingest-{report['city']}".lower().replace("_", "-"),
        markdown="\n".join(lines),
        description="UrbanPulse ingest counts and dataset paths",
    )


@flow(name="ingest_requests", log_prints=True)
def ingest_requests(paths: list[str], city: str, fmt: str, home: str, mapping: str | None = None,
                    source: str | None = None, model: str | None = None,
                    beam_args: list[str] | None = None, encoding: str | None = None) -> dict:
    """Citizen-request exports -> published datasets; fails if any record is unaccounted for."""
    report = run_ingest_pipeline(
        pipeline_argv(paths, city, fmt, home, mapping, source, model, beam_args, encoding)
    )
    publish_run_artifact(report)
    return report
