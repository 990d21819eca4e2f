"""Prefect flows `ingest_votes` and `ingest_surveys`: run the Beam pipeline, leave an artifact of the outcome."""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flows.ingest import worth_retrying
from flows.vote_summary import election_summaries, survey_summaries
from pipelines import ingest_surveys as survey_pipeline
from pipelines import ingest_votes as pipeline
from pipelines.ingest_surveys import survey_argv
from pipelines.ingest_votes import vote_argv
from plumbing.workspace import Workspace
from schemas import ledger


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=worth_retrying)
def run_vote_pipeline(argv: list[str]) -> dict:
    """Re-running is safe: an election's tables are recomputed from all its ballots and replaced."""
    return asdict(pipeline.run(argv))


@task
def publish_vote_artifact(report: dict, summaries: list[dict]) -> None:
    counters = report["counters"]
    lines = [
        f"# Vote ingest {report['run_id']} ({report['city']})", "",
        f"Ballots read {counters[ledger.RECORDS_IN]:,} = counted {counters[ledger.RECORDS_OUT]:,} + dead letters "
        f"{counters[ledger.DEAD_LETTERS]:,} (accounting holds: **{report[ledger.ACCOUNTING_OK]}**), "
        f"{report['seconds']:.1f} s.", "",
    ]
    for summary in summaries:
        lines += [f"## {summary['election_id']}: {summary['ballots']:,} ballots", "",
                  "| rule | projects funded | spent |", "|---|---:|---:|",
                  f"| greedy | {len(summary['greedy'])} | {summary['spent_greedy']:,.0f} |",
                  f"| equal shares | {len(summary['mes'])} | {summary['spent_mes']:,.0f} |", ""]
    create_markdown_artifact(key=f"votes-{report['city']}".lower().replace("_", "-"), markdown="\n".join(lines),
                             description="UrbanPulse vote ingest: counts and outcomes")


@flow(name="ingest_votes", log_prints=True)
def ingest_votes(paths: list[str], city: str, home: str, fmt: str = "pabulib", election: str | None = None,
                 repeated_voter: str | None = None, encoding: str | None = None,
                 beam_args: list[str] | None = None, budget: str | None = None,
                 mes_completion: str | None = None) -> dict:
    """Vote files -> published tallies and outcomes; fails if any ballot is unaccounted for."""
    report = run_vote_pipeline(vote_argv(paths, city, home, fmt, election, repeated_voter, encoding, beam_args, budget,
                                           mes_completion))
    summaries = election_summaries(Workspace.resolve(home), city, report["elections"])
    publish_vote_artifact(report, summaries)
    return {**report, "summaries": summaries}


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=worth_retrying)
def run_survey_pipeline(argv: list[str]) -> dict:
    """Re-running is safe: a survey's results are recomputed from all its answers and replaced."""
    return asdict(survey_pipeline.run(argv))


@task
def publish_survey_artifact(report: dict, summaries: list[dict]) -> None:
    counters = report["counters"]
    lines = [f"# Survey ingest {report['run_id']} ({report['city']})", "",
             f"Answers read {counters[ledger.RECORDS_IN]:,} = counted {counters[ledger.RECORDS_OUT]:,} + dead letters "
             f"{counters[ledger.DEAD_LETTERS]:,} (accounting holds: **{report[ledger.ACCOUNTING_OK]}**).", ""]
    for summary in summaries:
        lines += [f"## {summary['survey_id']} ({summary['weighting']})", "", "| question | answer | share | weighted |",
                  "|---|---|---:|---:|"]
        lines += [f"| {q} | {a} | {s:.1%} | {w:.1%} |" for q, a, s, w in summary["leaders"]]
    create_markdown_artifact(key=f"surveys-{report['city']}".lower().replace("_", "-"), markdown="\n".join(lines),
                             description="UrbanPulse survey ingest: counts and leading answers")


@flow(name="ingest_surveys", log_prints=True)
def ingest_surveys(paths: list[str], city: str, home: str, fmt: str = "csv", mapping: str | None = None,
                   survey: str | None = None, population: str | None = None, encoding: str | None = None,
                   beam_args: list[str] | None = None) -> dict:
    """Survey answer files -> published shares with intervals and weights; fails if any answer is lost."""
    report = run_survey_pipeline(survey_argv(paths, city, home, fmt, mapping, survey, population, encoding, beam_args))
    summaries = survey_summaries(Workspace.resolve(home), city, report["surveys"])
    publish_survey_artifact(report, summaries)
    return {**report, "summaries": summaries}
