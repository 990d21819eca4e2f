"""Prefect flow `cross_streams`: requests against sensors and residents, with a summary artifact."""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flows.ingest import worth_retrying
from pipelines import cross_streams as pipeline


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=worth_retrying)
def run_cross_pipeline(argv: list[str]) -> dict:
    """Re-running is safe: both tables are recomputed in full from one snapshot."""
    return asdict(pipeline.run(argv))


@task
def publish_cross_artifact(report: dict) -> None:
    share = report["corroborated"] / report["environmental"] if report["environmental"] else 0.0
    lines = [f"# Requests and sensors of {report['city']} ({report['run_id']})", "",
             f"{report['requests']:,} requests counted per district and day (rates per 1,000 residents); "
             f"{report['environmental']:,} of environmental categories, **{report['corroborated']:,} ({share:.0%}) "
             "corroborated** by a sensor anomaly nearby.", "", "| not corroborated because | requests |", "|---|---:|"]
    lines += [f"| {reason} | {count:,} |" for reason, count in sorted(report["reasons"].items())]
    create_markdown_artifact(key=f"cross-{report['city']}".lower().replace("_", "-"), markdown="\n".join(lines),
                             description="UrbanPulse: requests against sensors")


@flow(name="cross_streams", log_prints=True)
def cross_streams(city: str, home: str, distance_m: float | None = None, hours_before: float | None = None,
                  hours_after: float | None = None, rule: str | None = None,
                  beam_args: list[str] | None = None) -> dict:
    """The city's published requests and sensors -> request_sensor_context and request_rates."""
    report = run_cross_pipeline(pipeline.cross_argv(city, home, distance_m, hours_before, hours_after, rule,
                                                    beam_args=beam_args))
    publish_cross_artifact(report)
    return report
